//! Tests of the parallel executor: results, releases, errors, panics, cancellation, progress.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chunkwise_runtime::{Dag, MemoryLimit, OnFailure, Progress, RunError, RunOptions};
use common::*;

/// The runtime's one entry point, stopping at the first failure: every output's value.
fn execute<V, E, F>(
    dag: Dag<'_>,
    outputs: &[u32],
    exec: F,
    opts: &RunOptions<'_, V, E>,
) -> Result<Vec<V>, RunError<E>>
where
    V: Clone + Send + Sync,
    E: Send,
    F: Fn(u32, &[V]) -> Result<V, E> + Sync,
{
    chunkwise_runtime::execute(dag, outputs, exec, opts)?.into_values()
}

fn opts<V, E>(threads: usize) -> RunOptions<'static, V, E> {
    RunOptions {
        threads,
        ..RunOptions::default()
    }
}

fn value_of(task: u32, inputs: &[u64]) -> u64 {
    inputs
        .iter()
        .enumerate()
        .fold(task as u64 + 1, |acc, (i, &v)| {
            acc.wrapping_add(v.wrapping_mul(i as u64 * 2 + 3))
        })
}

/// Sequential reference evaluation (the tasks are in topological order by id in random_dag).
fn reference(g: &Graph) -> Vec<u64> {
    let mut vals: Vec<u64> = Vec::with_capacity(g.n());
    for t in 0..g.n() as u32 {
        let inputs: Vec<u64> = g.row(t).iter().map(|&d| vals[d as usize]).collect();
        vals.push(value_of(t, &inputs));
    }
    vals
}

#[test]
fn random_dags_match_sequential_evaluation() {
    let mut rng = Rng(1234);
    for case in 0..150 {
        let n = 1 + rng.below(400) as usize;
        let g = random_dag(&mut rng, n, 6);
        let expected = reference(&g);
        let k = 1 + rng.below(6);
        let outs: Vec<u32> = (0..k).map(|_| rng.below(n as u64) as u32).collect();
        for threads in [1, 2, 3, 8] {
            let runs: Vec<AtomicU32> = (0..n).map(|_| AtomicU32::new(0)).collect();
            let got = execute(
                g.dag(),
                &outs,
                |t, inputs: &[u64]| {
                    runs[t as usize].fetch_add(1, Ordering::Relaxed);
                    assert_eq!(inputs.len(), g.row(t).len());
                    Ok::<_, String>(value_of(t, inputs))
                },
                &opts(threads),
            )
            .unwrap();
            let want: Vec<u64> = outs.iter().map(|&o| expected[o as usize]).collect();
            assert_eq!(got, want, "case {case}, threads {threads}");
            // every needed task ran exactly once, the others never
            let order = chunkwise_runtime::order(g.dag(), &outs).unwrap();
            let mut needed = vec![false; n];
            for &t in &order {
                needed[t as usize] = true;
            }
            for t in 0..n {
                assert_eq!(
                    runs[t].load(Ordering::Relaxed),
                    needed[t] as u32,
                    "task {t}"
                );
            }
        }
    }
}

#[test]
fn big_random_dag_many_threads() {
    let mut rng = Rng(99);
    let n = 50_000;
    let g = random_dag(&mut rng, n, 4);
    let expected = reference(&g);
    let outs: Vec<u32> = vec![(n - 1) as u32, 0, (n / 2) as u32, (n - 1) as u32];
    for threads in [0, 2, 16] {
        let got = execute(
            g.dag(),
            &outs,
            |t, i: &[u64]| Ok::<_, ()>(value_of(t, i)),
            &opts(threads),
        )
        .unwrap();
        let want: Vec<u64> = outs.iter().map(|&o| expected[o as usize]).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn edge_cases() {
    let exec = |t: u32, i: &[u64]| Ok::<_, String>(value_of(t, i));
    // empty outputs: nothing runs
    let g = Graph::from_rows(&[vec![], vec![0]]);
    let got: Vec<u64> = execute(
        g.dag(),
        &[],
        |_, _: &[u64]| -> Result<u64, String> { panic!("ran") },
        &opts(2),
    )
    .unwrap();
    assert!(got.is_empty());
    // n == 0
    let empty = Dag {
        offsets: &[0],
        deps: &[],
    };
    assert_eq!(
        execute(empty, &[], exec, &opts(0)).unwrap(),
        Vec::<u64>::new()
    );
    // an output listed twice, an output that is also a dependency, a repeated dependency
    let g = Graph::from_rows(&[vec![], vec![0, 0], vec![1, 0], vec![]]);
    let r = reference(&g);
    for threads in [1, 2, 4] {
        let got = execute(g.dag(), &[2, 1, 2, 0, 3], exec, &opts(threads)).unwrap();
        assert_eq!(got, vec![r[2], r[1], r[2], r[0], r[3]]);
    }
    // invalid graph / output
    let err = execute(g.dag(), &[9], exec, &opts(2)).unwrap_err();
    assert!(matches!(err, RunError::InvalidGraph(_)), "{err}");
    let cyclic = Dag {
        offsets: &[0, 1, 2],
        deps: &[1, 0],
    };
    let err = execute(cyclic, &[0], exec, &opts(2)).unwrap_err();
    assert!(
        matches!(&err, RunError::InvalidGraph(m) if m.contains("cycle")),
        "{err}"
    );
}

/// A value that counts how many instances are alive.
#[derive(Debug)]
struct Tracked {
    live: Arc<AtomicUsize>,
    value: u64,
}

impl Tracked {
    /// A value counted nowhere.
    fn dummy() -> Tracked {
        Tracked {
            live: Arc::new(AtomicUsize::new(1)),
            value: 0,
        }
    }

    fn new(live: &Arc<AtomicUsize>, max: &AtomicUsize, value: u64) -> Arc<Tracked> {
        let now = live.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(now, Ordering::SeqCst);
        Arc::new(Tracked {
            live: live.clone(),
            value,
        })
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn intermediate_values_are_released() {
    for (g, root, bound1) in [
        {
            let (g, r) = tree_reduction(4usize.pow(7), 4);
            (g, r, 7 * 3 + 2)
        },
        {
            let (g, r) = chains_then_reduce(4000, 10, 4);
            (g, r, 6 * 3 + 3)
        },
    ] {
        for threads in [1, 2, 4] {
            let live = Arc::new(AtomicUsize::new(0));
            let max = AtomicUsize::new(0);
            let mut sum_check = 0u64;
            let out = execute(
                g.dag(),
                &[root],
                |t, inputs: &[Arc<Tracked>]| {
                    let v = if inputs.is_empty() {
                        t as u64
                    } else {
                        inputs.iter().map(|x| x.value).sum()
                    };
                    Ok::<_, ()>(Tracked::new(&live, &max, v))
                },
                &opts(threads),
            )
            .unwrap();
            // only the output is left alive once the run is over
            assert_eq!(live.load(Ordering::SeqCst), 1);
            let max = max.load(Ordering::SeqCst);
            // a few extra values per additional worker (each worker runs ahead on its own
            // subtree)
            let bound = bound1 * threads + 2 * threads;
            assert!(max <= bound, "threads {threads}: max live {max} > {bound}");
            for t in 0..g.n() as u32 {
                if g.row(t).is_empty() {
                    sum_check += t as u64;
                }
            }
            assert_eq!(out[0].value, sum_check);
            drop(out);
            assert_eq!(live.load(Ordering::SeqCst), 0);
        }
    }
}

#[test]
fn delivered_outputs_are_not_held() {
    // Every leaf of a tree reduction is an output, and so is the root: delivered as they are
    // computed, none is held to the end; the outcome keeps the stand-ins.
    let (g, root) = tree_reduction(4usize.pow(5), 4);
    let leaves: Vec<u32> = (0..g.n() as u32).filter(|&t| g.row(t).is_empty()).collect();
    let outputs: Vec<u32> = leaves.iter().copied().chain([root, root]).collect();
    for threads in [1, 2, 4] {
        let live = Arc::new(AtomicUsize::new(0));
        let max = AtomicUsize::new(0);
        let (kept, kept_max) = (Arc::new(AtomicUsize::new(0)), AtomicUsize::new(0));
        let got = Mutex::new(Vec::new());
        let deliver = |t: u32, v: &Arc<Tracked>| {
            got.lock().unwrap().push((t, v.value));
            Ok::<_, ()>(Tracked::new(&kept, &kept_max, u64::MAX - t as u64))
        };
        let run = RunOptions {
            threads,
            deliver: Some(&deliver),
            ..RunOptions::default()
        };
        let out = execute(
            g.dag(),
            &outputs,
            |t, inputs: &[Arc<Tracked>]| {
                let v = if inputs.is_empty() {
                    t as u64
                } else {
                    inputs.iter().map(|x| x.value).sum()
                };
                Ok(Tracked::new(&live, &max, v))
            },
            &run,
        )
        .unwrap();
        // Once per output task (the root is listed twice), with the computed value.
        let mut got = got.into_inner().unwrap();
        got.sort_unstable();
        let mut want: Vec<(u32, u64)> = leaves.iter().map(|&t| (t, t as u64)).collect();
        want.push((root, leaves.iter().map(|&t| t as u64).sum()));
        want.sort_unstable();
        assert_eq!(got, want);
        let values: Vec<u64> = out.iter().map(|v| v.value).collect();
        let standins: Vec<u64> = outputs.iter().map(|&t| u64::MAX - t as u64).collect();
        assert_eq!(values, standins);
        // Only the stand-ins are alive: every computed value was released.
        assert_eq!(live.load(Ordering::SeqCst), 0);
        assert_eq!(kept.load(Ordering::SeqCst), leaves.len() + 1);
    }
    // 1000 independent outputs: each is released once delivered, so no more are alive at
    // once than the workers compute (held to the end, all 1000 would be).
    let offsets = vec![0u32; 1001];
    let dag = Dag {
        offsets: &offsets,
        deps: &[],
    };
    let all: Vec<u32> = (0..1000).collect();
    for threads in [1, 2, 4] {
        let live = Arc::new(AtomicUsize::new(0));
        let max = AtomicUsize::new(0);
        let deliver = |_: u32, _: &Arc<Tracked>| Ok::<_, ()>(Arc::new(Tracked::dummy()));
        let run = RunOptions {
            threads,
            deliver: Some(&deliver),
            ..RunOptions::default()
        };
        execute(
            dag,
            &all,
            |t, _| Ok(Tracked::new(&live, &max, t as u64)),
            &run,
        )
        .unwrap();
        let max = max.load(Ordering::SeqCst);
        assert!(
            max <= 2 * threads,
            "threads {threads}: {max} values alive at once"
        );
    }
}

#[test]
fn a_failed_delivery_fails_the_task() {
    let (g, root) = tree_reduction(64, 4);
    let deliver = |t: u32, _: &u64| if t == root { Err("no room") } else { Ok(0) };
    let run = RunOptions {
        threads: 2,
        deliver: Some(&deliver),
        ..RunOptions::default()
    };
    let r = execute(g.dag(), &[0, root], |_, _: &[u64]| Ok(1u64), &run);
    assert_eq!(
        r,
        Err(RunError::Task {
            task: root,
            error: "no room"
        })
    );
}

#[test]
fn values_are_released_on_error_too() {
    let (g, root) = tree_reduction(1000, 4);
    let live = Arc::new(AtomicUsize::new(0));
    let max = AtomicUsize::new(0);
    let err = execute(
        g.dag(),
        &[root],
        |t, _: &[Arc<Tracked>]| {
            if t == 700 {
                Err("boom")
            } else {
                Ok(Tracked::new(&live, &max, 0))
            }
        },
        &opts(3),
    )
    .unwrap_err();
    assert_eq!(
        err,
        RunError::Task {
            task: 700,
            error: "boom"
        }
    );
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

#[test]
fn first_error_stops_the_run() {
    let (g, root) = tree_reduction(10_000, 4);
    for threads in [1, 2, 8, 32] {
        let ran = AtomicUsize::new(0);
        let err = execute(
            g.dag(),
            &[root],
            |t, _: &[u64]| {
                ran.fetch_add(1, Ordering::SeqCst);
                if t % 7 == 3 {
                    Err(format!("task {t} is bad"))
                } else {
                    Ok(0)
                }
            },
            &opts(threads),
        )
        .unwrap_err();
        match &err {
            RunError::Task { task, error } => {
                assert_eq!(task % 7, 3);
                assert_eq!(error, &format!("task {task} is bad"));
            }
            other => panic!("unexpected {other:?}"),
        }
        // scheduling stopped early: at most one task per worker after the failure
        assert!(
            ran.load(Ordering::SeqCst) <= 4 + threads,
            "threads {threads}"
        );
        let msg = err.to_string();
        assert!(msg.contains("failed"), "{msg}");
        let _: &dyn std::error::Error = &err;
    }
}

#[test]
fn every_task_fails_with_many_threads() {
    let mut rng = Rng(5);
    let g = random_dag(&mut rng, 2000, 3);
    for threads in [2, 8, 64] {
        let err = execute(
            g.dag(),
            &[1999, 1500, 3],
            |t, _: &[u64]| Err::<u64, _>(t),
            &opts(threads),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Task { task, error } if task == error));
    }
}

#[test]
fn panics_are_caught() {
    let (g, root) = tree_reduction(2000, 4);
    for threads in [1, 2, 8] {
        let err = execute(
            g.dag(),
            &[root],
            |t, _: &[u64]| -> Result<u64, String> {
                if t == 1234 {
                    panic!("bad task {t}");
                }
                if t == 1500 {
                    std::panic::panic_any(17u8);
                }
                Ok(1)
            },
            &opts(threads),
        )
        .unwrap_err();
        match err {
            RunError::Panicked {
                task: 1234,
                message,
            } => assert_eq!(message, "bad task 1234"),
            RunError::Panicked {
                task: 1500,
                message,
            } => {
                assert!(message.contains("non-string"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // &'static str payload
    let g = Graph::from_rows(&[vec![]]);
    let err = execute(
        g.dag(),
        &[0],
        |_, _: &[u64]| -> Result<u64, ()> { panic!("static") },
        &opts(1),
    )
    .unwrap_err();
    assert_eq!(
        err,
        RunError::Panicked {
            task: 0,
            message: "static".into()
        }
    );
}

#[test]
fn cancellation_from_a_task() {
    let (g, root) = tree_reduction(10_000, 4);
    for threads in [1, 2, 8] {
        let cancel = AtomicBool::new(false);
        let ran = AtomicUsize::new(0);
        let err = execute(
            g.dag(),
            &[root],
            |_, _: &[u64]| {
                if ran.fetch_add(1, Ordering::SeqCst) == 100 {
                    cancel.store(true, Ordering::SeqCst);
                }
                Ok::<_, ()>(0)
            },
            &RunOptions {
                threads,
                cancel: Some(&cancel),
                ..RunOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(err, RunError::Cancelled);
        assert!(ran.load(Ordering::SeqCst) <= 101 + threads);
    }
}

#[test]
fn cancellation_from_another_thread() {
    // Independent slow-ish tasks; cancel while running.
    let g = Graph::from_rows(&vec![vec![]; 100_000]);
    let outs: Vec<u32> = (0..100_000).collect();
    let cancel = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    let ran = AtomicUsize::new(0);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            while !started.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            cancel.store(true, Ordering::SeqCst);
        });
        execute(
            g.dag(),
            &outs,
            |_, _: &[u64]| {
                started.store(true, Ordering::SeqCst);
                ran.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_micros(50));
                Ok::<_, ()>(0)
            },
            &RunOptions {
                threads: 4,
                cancel: Some(&cancel),
                ..RunOptions::default()
            },
        )
    });
    assert_eq!(result.unwrap_err(), RunError::Cancelled);
    assert!(ran.load(Ordering::SeqCst) < 100_000);
}

#[test]
fn progress_is_reported() {
    let (g, root) = chains_then_reduce(3000, 10, 4);
    let total = chunkwise_runtime::order(g.dag(), &[root]).unwrap().len() as u64;
    for threads in [1, 2, 4] {
        let calls: Mutex<Vec<Progress>> = Mutex::new(Vec::new());
        let cb = |p: Progress| calls.lock().unwrap().push(p);
        execute(
            g.dag(),
            &[root],
            |_, _: &[u64]| Ok::<_, ()>(0),
            &RunOptions {
                threads,
                progress: Some(&cb),
                ..RunOptions::default()
            },
        )
        .unwrap();
        let calls = calls.into_inner().unwrap();
        assert!(calls.iter().all(|p| p.total == total));
        assert!(calls.windows(2).all(|w| w[0].done < w[1].done), "monotone");
        assert_eq!(calls.last().unwrap().done, total);
        assert_eq!(calls.first().unwrap().done, 0);
        assert!(calls.len() <= 1002, "throttled: {} calls", calls.len());
        assert!(
            calls.len() > 100,
            "not too throttled: {} calls",
            calls.len()
        );
    }
    // tiny graph: the final call still happens
    let g = Graph::from_rows(&[vec![], vec![0]]);
    let calls = Mutex::new(Vec::new());
    let cb = |p: Progress| calls.lock().unwrap().push(p);
    execute(
        g.dag(),
        &[1],
        |_, _: &[u64]| Ok::<_, ()>(0),
        &RunOptions {
            threads: 2,
            progress: Some(&cb),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let calls = calls.into_inner().unwrap();
    assert_eq!(calls.last(), Some(&Progress { done: 2, total: 2 }));
}

#[test]
fn unreachable_tasks_are_not_run() {
    let g = Graph::from_rows(&[vec![], vec![0], vec![0], vec![2]]);
    let ran = Mutex::new(Vec::new());
    let got = execute(
        g.dag(),
        &[1],
        |t, _: &[u64]| {
            ran.lock().unwrap().push(t);
            Ok::<_, ()>(t as u64)
        },
        &opts(4),
    )
    .unwrap();
    assert_eq!(got, vec![1]);
    let mut ran = ran.into_inner().unwrap();
    ran.sort();
    assert_eq!(ran, vec![0, 1]);
}

#[test]
fn single_thread_follows_the_static_order() {
    let (g, root) = chains_then_reduce(50, 5, 3);
    let order = chunkwise_runtime::order(g.dag(), &[root]).unwrap();
    let ran = Mutex::new(Vec::new());
    execute(
        g.dag(),
        &[root],
        |t, _: &[u64]| {
            ran.lock().unwrap().push(t);
            Ok::<_, ()>(0)
        },
        &opts(1),
    )
    .unwrap();
    assert_eq!(ran.into_inner().unwrap(), order);
}

/// With a memory bound, the bytes held never pass the bound by more than one task's value
/// (a task starts alone when nothing runs).
#[test]
fn memory_limit_applies_back_pressure() {
    // 64 leaves of 100 bytes, each read by a slow consumer of 1 byte, whose values a final
    // task reads.
    let n = 64u32;
    let mut offsets = vec![0u32];
    let mut deps = Vec::new();
    for _ in 0..n {
        offsets.push(deps.len() as u32);
    }
    for leaf in 0..n {
        deps.push(leaf);
        offsets.push(deps.len() as u32);
    }
    deps.extend(n..2 * n);
    offsets.push(deps.len() as u32);
    let dag = Dag {
        offsets: &offsets,
        deps: &deps,
    };
    let mut bytes = vec![100u64; n as usize];
    bytes.extend(std::iter::repeat_n(1u64, n as usize));
    bytes.push(0);
    struct Token(Arc<AtomicUsize>, usize);
    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_sub(self.1, Ordering::SeqCst);
        }
    }
    for limit in [250u64, 100, 1] {
        let live = Arc::new(AtomicUsize::new(0));
        let max = AtomicUsize::new(0);
        let run = |t: u32, _: &[Arc<Token>]| -> Result<Arc<Token>, ()> {
            if t >= n && t < 2 * n {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let b = bytes[t as usize] as usize;
            let now = live.fetch_add(b, Ordering::SeqCst) + b;
            max.fetch_max(now, Ordering::SeqCst);
            Ok(Arc::new(Token(live.clone(), b)))
        };
        let opts = RunOptions {
            threads: 4,
            memory: Some(MemoryLimit {
                task_bytes: &bytes,
                task_peak: 0,
                limit,
            }),
            ..RunOptions::default()
        };
        execute(dag, &[2 * n], run, &opts).unwrap();
        let peak = max.load(Ordering::SeqCst) as u64;
        assert!(peak <= limit.max(100) + 100, "limit {limit}: peak {peak}");
    }
}

/// When the order must hold more than the bound (leaves read by a chain, then again after
/// it), held values are spilled, those read last first: in-memory bytes stay within the
/// bound plus one task's value, and the results are unchanged.
#[test]
fn spilling_keeps_held_bytes_under_the_bound() {
    // Leaves L0..L7 (10 bytes); chain A_i = A_{i-1} + L_i (1 byte); B_i = L_i * A_7.
    let n = 8u32;
    let (leaf, a, b) = (|i: u32| i, |i: u32| n + i, |i: u32| 2 * n + i);
    let mut rows: Vec<Vec<u32>> = (0..n).map(|_| vec![]).collect();
    for i in 0..n {
        rows.push(if i == 0 {
            vec![leaf(0)]
        } else {
            vec![a(i - 1), leaf(i)]
        });
    }
    for i in 0..n {
        rows.push(vec![leaf(i), a(n - 1)]);
    }
    let mut offsets = vec![0u32];
    let mut deps = Vec::new();
    for r in &rows {
        deps.extend(r);
        offsets.push(deps.len() as u32);
    }
    let dag = Dag {
        offsets: &offsets,
        deps: &deps,
    };
    let bytes: Vec<u64> = (0..3 * n).map(|t| if t < n { 10 } else { 1 }).collect();
    #[derive(Clone)]
    enum V {
        // The handle is held for its drop, which counts the bytes as released.
        Mem { value: u64, _live: Arc<Live> },
        Disk(u64),
    }
    struct Live(Arc<AtomicUsize>, usize);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.fetch_sub(self.1, Ordering::SeqCst);
        }
    }
    let live = Arc::new(AtomicUsize::new(0));
    let max = AtomicUsize::new(0);
    let spills = AtomicUsize::new(0);
    let value = |v: &V| match v {
        V::Mem { value: x, .. } | V::Disk(x) => *x,
    };
    let run = |t: u32, inputs: &[V]| -> Result<V, ()> {
        let x = inputs
            .iter()
            .map(value)
            .fold(t as u64 + 1, |s, v| s.wrapping_mul(3) + v);
        let size = bytes[t as usize] as usize;
        let now = live.fetch_add(size, Ordering::SeqCst) + size;
        max.fetch_max(now, Ordering::SeqCst);
        Ok(V::Mem {
            value: x,
            _live: Arc::new(Live(live.clone(), size)),
        })
    };
    let spill = |v: &V| {
        spills.fetch_add(1, Ordering::SeqCst);
        Some(V::Disk(value(v)))
    };
    let outputs: Vec<u32> = (0..n).map(b).collect();
    let plain = execute(dag, &outputs, run, &opts(1)).unwrap();
    let free_peak = max.swap(0, Ordering::SeqCst);
    // 2 workers, 25 bytes held at most, spilling, stopping or keeping going on failures.
    let bounded_opts = |on_failure| RunOptions {
        threads: 2,
        memory: Some(MemoryLimit {
            task_bytes: &bytes,
            task_peak: 0,
            limit: 25,
        }),
        spill: Some(&spill),
        on_failure,
        ..RunOptions::default()
    };
    let bounded = execute(dag, &outputs, run, &bounded_opts(OnFailure::Stop)).unwrap();
    assert_eq!(
        plain.iter().map(value).collect::<Vec<_>>(),
        bounded.iter().map(value).collect::<Vec<_>>()
    );
    assert!(free_peak >= 80, "{free_peak}");
    assert!(spills.load(Ordering::SeqCst) > 0);
    let peak = max.load(Ordering::SeqCst);
    assert!(peak <= 25 + 10, "peak {peak}");

    // Keeping going around a failing output spills the same way and only that output fails
    // (the first run's outputs are dropped, so they do not count in the peak).
    drop(bounded);
    let (spilled_before, bad) = (spills.load(Ordering::SeqCst), b(3));
    max.store(0, Ordering::SeqCst);
    let failing = |t: u32, inputs: &[V]| if t == bad { Err(()) } else { run(t, inputs) };
    let each =
        chunkwise_runtime::execute(dag, &outputs, failing, &bounded_opts(OnFailure::KeepGoing))
            .unwrap()
            .into_each();
    for (i, r) in each.iter().enumerate() {
        match r {
            Err(RunError::Task { task, .. }) => assert_eq!((*task, outputs[i]), (bad, bad)),
            Err(e) => panic!("output {i}: {e:?}"),
            Ok(v) => assert_eq!(value(v), value(&plain[i]), "output {i}"),
        }
    }
    assert!(each[3].is_err());
    assert!(spills.load(Ordering::SeqCst) > spilled_before);
    let peak = max.load(Ordering::SeqCst);
    assert!(peak <= 25 + 10, "keep going: peak {peak}");
}
