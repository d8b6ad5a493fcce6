//! Parallel executor (see the crate documentation).

use std::any::Any;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::order::{plan, NONE};
use crate::{workers, Dag, OnFailure, Progress, RunError, RunOptions};

/// Graph in compact form: task `p` is the `p`-th task of the static order.
struct Compact {
    /// Original task id of each compact task.
    task: Vec<u32>,
    dep_off: Vec<u32>,
    deps: Vec<u32>,
    out_off: Vec<u32>,
    outs: Vec<u32>,
}

impl Compact {
    #[inline]
    fn deps(&self, p: u32) -> &[u32] {
        &self.deps[self.dep_off[p as usize] as usize..self.dep_off[p as usize + 1] as usize]
    }
    #[inline]
    fn dependents(&self, p: u32) -> &[u32] {
        &self.outs[self.out_off[p as usize] as usize..self.out_off[p as usize + 1] as usize]
    }
}

/// Mutable scheduler state, guarded by one mutex.
struct State<V, E> {
    /// Ready tasks, lowest static position first.
    ready: BinaryHeap<Reverse<u32>>,
    /// Unfinished dependency edges per task.
    pending: Vec<u32>,
    /// Consumer edges that have not run yet, per task.
    consumers: Vec<u32>,
    /// Values of finished tasks that are still needed.
    values: Vec<Option<V>>,
    /// With `deliver`: per task, the stand-in of a delivered output.
    delivered: Vec<Option<V>>,
    done: u64,
    error: Option<RunError<E>>,
    stop: bool,
    idle: usize,
    /// With `keep_going`: per task, the index in `errors` of the failure that stopped it
    /// (its own or an input's), or `NONE`.
    failed: Vec<u32>,
    /// With `keep_going`: every task failure, in the order observed.
    errors: Vec<RunError<E>>,
    /// Bytes of the values held, plus those reserved by running tasks.
    held: u64,
    /// Per task: its value was spilled (no longer counted in `held`).
    spilled: Vec<bool>,
    /// Tasks running.
    running: usize,
}

struct Shared<'a, V, E, F> {
    graph: Compact,
    keep: Vec<bool>,
    state: Mutex<State<V, E>>,
    wake: Condvar,
    total: u64,
    exec: &'a F,
    cancel: Option<&'a AtomicBool>,
    progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    progress_step: u64,
    /// Last `done` value reported; serialises progress calls and keeps them monotone.
    reported: Mutex<u64>,
    /// A failing task fails only what depends on it; independent tasks still run.
    keep_going: bool,
    /// Bytes of each task's value (compact ids) and the bound on the bytes held, if any.
    memory: Option<(Vec<u64>, u64)>,
    /// Moves a value out of memory (see [`Spill`]).
    spill: Option<&'a Spill<'a, V>>,
    /// Takes each output value as it is computed (see [`Deliver`]).
    deliver: Option<&'a Deliver<'a, V, E>>,
    /// Per task: the run holds its value until the end, to return it (an output, without
    /// `deliver`).
    hold: Vec<bool>,
}

/// A spill store: moves a value out of memory, returning its stand-in (or `None` when the
/// value cannot be spilled).
///
/// With a memory bound, when the next task does not fit and nothing runs (ordering and
/// back-pressure cannot help), held values that it does not read are handed to the store,
/// those read last first, and replaced by what it returns (a stand-in that the task
/// function must read back, e.g. a file), until the task fits. Spilled values no longer
/// count as held; values the store declines stay.
pub type Spill<'a, V> = dyn Fn(&V) -> Option<V> + Sync + 'a;

/// A delivery of outputs: `deliver(task, &value)` is called once per output task (by its
/// task id), on the worker that computed it, outside the scheduler's lock, as soon as the
/// value is computed; it returns the stand-in that the [`crate::Outcome`] keeps for the
/// output (typically a token: the caller has copied the value where it belongs), or an
/// error that fails the task like the task function's own. The value itself is then
/// released like any other as soon as no task reads it, so outputs are never held to the
/// end of the run. A panic in `deliver` is caught like one in the task function.
pub type Deliver<'a, V, E> = dyn Fn(u32, &V) -> Result<V, E> + Sync + 'a;

/// Per output: its value, or the index of the failure that prevented it; and the failures.
pub(crate) type Results<V, E> = (Vec<Result<V, usize>>, Vec<RunError<E>>);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// See [`crate::execute`].
pub(crate) fn execute<V, E, F>(
    dag: Dag<'_>,
    outputs: &[u32],
    exec: F,
    opts: &RunOptions<'_, V, E>,
) -> Result<Results<V, E>, RunError<E>>
where
    V: Clone + Send + Sync,
    E: Send,
    F: Fn(u32, &[V]) -> Result<V, E> + Sync,
{
    let plan = plan(dag, outputs).map_err(|e| RunError::InvalidGraph(e.0))?;
    if outputs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let m = plan.order.len();
    let graph = compact(dag, plan.order, &plan.pos);
    let graph_task = graph.task.clone();
    let mut keep = vec![false; m];
    for &o in outputs {
        keep[plan.pos[o as usize] as usize] = true;
    }
    let pending: Vec<u32> = (0..m)
        .map(|p| graph.dep_off[p + 1] - graph.dep_off[p])
        .collect();
    let consumers: Vec<u32> = (0..m)
        .map(|p| graph.out_off[p + 1] - graph.out_off[p])
        .collect();
    let ready: BinaryHeap<Reverse<u32>> = (0..m as u32)
        .filter(|&p| pending[p as usize] == 0)
        .map(Reverse)
        .collect();
    let mut values = Vec::with_capacity(m);
    values.resize_with(m, || None);
    let total = m as u64;
    let keep_going = opts.on_failure == OnFailure::KeepGoing;
    let spill = opts.spill;
    let threads = workers(opts.threads).min(m).max(1);
    let hold: Vec<bool> = keep.iter().map(|&k| k && opts.deliver.is_none()).collect();
    let shared = Shared {
        graph,
        keep,
        state: Mutex::new(State {
            ready,
            pending,
            consumers,
            values,
            delivered: Vec::new(),
            done: 0,
            error: None,
            stop: false,
            idle: 0,
            failed: vec![NONE; m],
            errors: Vec::new(),
            held: 0,
            spilled: vec![false; if spill.is_some() { m } else { 0 }],
            running: 0,
        }),
        wake: Condvar::new(),
        total,
        exec: &exec,
        cancel: opts.cancel,
        progress: opts.progress,
        progress_step: (total / 1000).max(1),
        reported: Mutex::new(0),
        keep_going,
        memory: opts.memory.map(|mem| {
            let bytes = (0..m)
                .map(|p| {
                    mem.task_bytes
                        .get(graph_task[p] as usize)
                        .copied()
                        .unwrap_or(0)
                })
                .collect();
            // The bound counts the workers the user asked for, not the fewer this graph
            // may use: the projection is of the run's configuration.
            (bytes, mem.held_limit(workers(opts.threads)))
        }),
        spill,
        deliver: opts.deliver,
        hold,
    };
    if opts.deliver.is_some() {
        lock(&shared.state).delivered.resize_with(m, || None);
    }
    if let Some(p) = shared.progress {
        p(Progress { done: 0, total });
    }
    if threads == 1 {
        worker(&shared);
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(|| worker(&shared));
            }
            worker(&shared);
        });
    }
    let mut st = shared
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = st.error.take() {
        return Err(e);
    }
    debug_assert_eq!(st.done, total);
    if let Some(p) = shared.progress {
        let reported = shared
            .reported
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if reported < total {
            p(Progress { done: total, total });
        }
    }
    let results = outputs
        .iter()
        .map(|&o| {
            let p = plan.pos[o as usize] as usize;
            let value = if shared.deliver.is_some() {
                &st.delivered[p]
            } else {
                &st.values[p]
            };
            match st.failed[p] {
                NONE => Ok(value.clone().expect("output value present")),
                k => Err(k as usize),
            }
        })
        .collect();
    Ok((results, std::mem::take(&mut st.errors)))
}

fn compact(dag: Dag<'_>, order: Vec<u32>, pos: &[u32]) -> Compact {
    let m = order.len();
    let mut dep_off = Vec::with_capacity(m + 1);
    dep_off.push(0u32);
    let mut deps = Vec::new();
    let mut out_off = vec![0u32; m + 1];
    for &t in &order {
        let r = dag.offsets[t as usize] as usize..dag.offsets[t as usize + 1] as usize;
        for &d in &dag.deps[r] {
            let q = pos[d as usize];
            debug_assert_ne!(q, NONE);
            deps.push(q);
            out_off[q as usize + 1] += 1;
        }
        dep_off.push(deps.len() as u32);
    }
    for i in 0..m {
        out_off[i + 1] += out_off[i];
    }
    let mut outs = vec![0u32; deps.len()];
    let mut fill: Vec<u32> = out_off[..m].to_vec();
    for p in 0..m {
        for &q in &deps[dep_off[p] as usize..dep_off[p + 1] as usize] {
            outs[fill[q as usize] as usize] = p as u32;
            fill[q as usize] += 1;
        }
    }
    Compact {
        task: order,
        dep_off,
        deps,
        out_off,
        outs,
    }
}

fn worker<V, E, F>(sh: &Shared<'_, V, E, F>)
where
    V: Clone + Send + Sync,
    E: Send,
    F: Fn(u32, &[V]) -> Result<V, E> + Sync,
{
    let mut inputs: Vec<V> = Vec::new();
    let mut released: Vec<V> = Vec::new();
    // The last task run: its id, and its value with the stand-in of a delivered output.
    type Finished<V, E> = (u32, Result<(V, Option<V>), RunError<E>>);
    let mut finished: Option<Finished<V, E>> = None;
    loop {
        inputs.clear();
        let mut report = None;
        let mut st = lock(&sh.state);
        if let Some((p, result)) = finished.take() {
            st.running -= 1;
            if sh.memory.is_some() {
                // A task waiting for memory may fit now.
                sh.wake.notify_all();
            }
            match result {
                Ok((v, standin)) if !st.stop => {
                    if let Some(standin) = standin {
                        st.delivered[p as usize] = Some(standin);
                    }
                    complete(sh, &mut st, p, v, &mut released);
                    if st.done.is_multiple_of(sh.progress_step) || st.done == sh.total {
                        report = Some(st.done);
                    }
                }
                Ok((v, _)) => released.push(v),
                Err(e) if sh.keep_going && !st.stop => {
                    release(sh, &mut st, p);
                    let k = st.errors.len() as u32;
                    st.errors.push(e);
                    fail(sh, &mut st, p, k, &mut released);
                }
                Err(e) => {
                    if st.error.is_none() {
                        st.error = Some(e);
                    }
                    st.stop = true;
                    sh.wake.notify_all();
                }
            }
        }
        let next = loop {
            if st.stop {
                break None;
            }
            if sh.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                st.error.get_or_insert(RunError::Cancelled);
                st.stop = true;
                sh.wake.notify_all();
                break None;
            }
            if let Some(&Reverse(p)) = st.ready.peek() {
                if st.failed[p as usize] != NONE {
                    // An input failed: the task was counted when it was marked.
                    st.ready.pop();
                    continue;
                }
                if admit(sh, &mut st, p) {
                    st.ready.pop();
                    st.running += 1;
                    break Some(p);
                }
            }
            if st.done == sh.total {
                break None;
            }
            st.idle += 1;
            st = sh.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.idle -= 1;
        };
        let Some(p) = next else {
            drop(st);
            released.clear();
            report_progress(sh, report);
            return;
        };
        for &q in sh.graph.deps(p) {
            inputs.push(
                st.values[q as usize]
                    .clone()
                    .expect("dependency value present"),
            );
        }
        if st.idle > 0 && !st.ready.is_empty() {
            sh.wake.notify_one();
        }
        drop(st);
        released.clear();
        report_progress(sh, report);

        let task = sh.graph.task[p as usize];
        // The task, then (for an output) its delivery.
        let run = || {
            let v = (sh.exec)(task, &inputs)?;
            let standin = match sh.deliver {
                Some(deliver) if sh.keep[p as usize] => Some(deliver(task, &v)?),
                _ => None,
            };
            Ok((v, standin))
        };
        let result = match catch_unwind(AssertUnwindSafe(run)) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(error)) => Err(RunError::Task { task, error }),
            Err(payload) => Err(RunError::Panicked {
                task,
                message: panic_message(&*payload),
            }),
        };
        finished = Some((p, result));
    }
}

/// Records the value of finished task `p`, releases inputs whose consumers have all run
/// (into `released`, to be dropped outside the lock) and queues newly ready tasks.
fn complete<V, E, F>(
    sh: &Shared<'_, V, E, F>,
    st: &mut State<V, E>,
    p: u32,
    v: V,
    released: &mut Vec<V>,
) {
    let st = &mut *st;
    st.done += 1;
    if st.consumers[p as usize] > 0 || sh.hold[p as usize] {
        st.values[p as usize] = Some(v);
    } else {
        release(sh, st, p);
        released.push(v);
    }
    release_inputs(sh, st, p, released);
    for &d in sh.graph.dependents(p) {
        let c = &mut st.pending[d as usize];
        *c -= 1;
        if *c == 0 {
            st.ready.push(Reverse(d));
        }
    }
    if st.done == sh.total {
        sh.wake.notify_all();
    }
}

/// Whether task `p` may start now under the memory bound (always, without one); if so, its
/// value's bytes are reserved. It waits while its value does not fit and other tasks run;
/// when nothing runs it starts anyway, after spilling held values if it still does not
/// fit.
fn admit<V, E, F>(sh: &Shared<'_, V, E, F>, st: &mut State<V, E>, p: u32) -> bool {
    let Some((bytes, limit)) = &sh.memory else {
        return true;
    };
    if st.held + bytes[p as usize] > *limit {
        if st.running > 0 {
            return false;
        }
        if let Some(spill) = sh.spill {
            spill_for(sh, st, p, bytes, *limit, spill);
        }
    }
    st.held += bytes[p as usize];
    true
}

/// Counts the value of task `p` as no longer held.
fn release<V, E, F>(sh: &Shared<'_, V, E, F>, st: &mut State<V, E>, p: u32) {
    if let Some((bytes, _)) = &sh.memory {
        if !st.spilled.get(p as usize).copied().unwrap_or(false) {
            st.held = st.held.saturating_sub(bytes[p as usize]);
        }
    }
}

/// Spills held values that task `p` does not read, those whose next reader comes last in
/// the static order first, until `p`'s value fits in `limit` (or nothing is left to spill).
fn spill_for<V, E, F>(
    sh: &Shared<'_, V, E, F>,
    st: &mut State<V, E>,
    p: u32,
    bytes: &[u64],
    limit: u64,
    spill: &Spill<'_, V>,
) {
    let reads = sh.graph.deps(p);
    let mut candidates: Vec<(u32, u32)> = (0..st.values.len() as u32)
        .filter(|&q| {
            st.values[q as usize].is_some()
                && !st.spilled[q as usize]
                && bytes[q as usize] > 0
                && !sh.hold[q as usize]
                && !reads.contains(&q)
        })
        .map(|q| {
            let next = sh
                .graph
                .dependents(q)
                .iter()
                .copied()
                .filter(|&d| d > p)
                .min()
                .unwrap_or(u32::MAX);
            (next, q)
        })
        .collect();
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    for (_, q) in candidates {
        if st.held + bytes[p as usize] <= limit {
            break;
        }
        let Some(v) = st.values[q as usize].as_ref().and_then(spill) else {
            continue;
        };
        st.values[q as usize] = Some(v);
        st.spilled[q as usize] = true;
        st.held = st.held.saturating_sub(bytes[q as usize]);
    }
}

/// Counts task `p`'s reads of its inputs as done; inputs no task needs any more (and that the
/// run does not hold to return) go to `released`.
fn release_inputs<V, E, F>(
    sh: &Shared<'_, V, E, F>,
    st: &mut State<V, E>,
    p: u32,
    released: &mut Vec<V>,
) {
    for &q in sh.graph.deps(p) {
        let c = &mut st.consumers[q as usize];
        *c -= 1;
        if *c == 0 && !sh.hold[q as usize] {
            if let Some(v) = st.values[q as usize].take() {
                release(sh, st, q);
                released.push(v);
            }
        }
    }
}

/// Marks task `p` and everything that depends on it as failed by failure `k`, counts them
/// as done, and releases inputs nobody else needs.
fn fail<V, E, F>(
    sh: &Shared<'_, V, E, F>,
    st: &mut State<V, E>,
    p: u32,
    k: u32,
    released: &mut Vec<V>,
) {
    let mut stack = vec![p];
    while let Some(q) = stack.pop() {
        if st.failed[q as usize] != NONE {
            continue;
        }
        st.failed[q as usize] = k;
        st.done += 1;
        release_inputs(sh, st, q, released);
        stack.extend(
            sh.graph
                .dependents(q)
                .iter()
                .filter(|&&d| st.failed[d as usize] == NONE),
        );
    }
    if st.done == sh.total {
        sh.wake.notify_all();
    }
}

fn report_progress<V, E, F>(sh: &Shared<'_, V, E, F>, done: Option<u64>) {
    let (Some(f), Some(done)) = (sh.progress, done) else {
        return;
    };
    let mut reported = lock(&sh.reported);
    if done > *reported {
        *reported = done;
        f(Progress {
            done,
            total: sh.total,
        });
    }
}
