//! Static ordering and parallel execution of task graphs.
//!
//! A task graph is a DAG of `u32` task ids `0..n` given in CSR form ([`Dag`]). The runtime
//! computes each task needed by the requested outputs exactly once, by calling a
//! user-supplied function with the values of the task's dependencies. Values are generic:
//! the runtime only clones and drops them (think `Arc<Chunk>`).
//!
//! # Ordering
//!
//! [`order`] computes, once and before running anything, a *static priority order*: the
//! sequence in which the tasks would run on a single thread. It is chosen to keep the number
//! of simultaneously held values low, in the spirit of `dask.order`:
//!
//! * a depth-first **post-order** walk from each output in turn (iterative, so chains of
//!   millions of tasks are fine), which finishes one subtree before starting the next: a
//!   tree reduction over `N` leaves holds `O(depth × fan-in)` values, not `O(N)`;
//! * among a task's dependencies, the one whose subgraph needs the most memory is visited
//!   first (a Sethi–Ullman "register need" computed bottom-up in topological order), so
//!   small intermediate results are not held while large subgraphs run; ties keep the CSR
//!   order;
//! * **eager completion**: whenever a task becomes runnable and running it would release
//!   one of its inputs (it is that input's last consumer), or an input is left with a single
//!   runnable consumer, that consumer is placed next. This "finishes what frees memory
//!   first" across output subtrees (e.g. a value shared by two reductions is consumed by
//!   both promptly) and never increases the number of live values.
//!
//! Ordering runs in `O((n + e) log d)` time (`e` edges, `d` the largest fan-in) and
//! `O(n + e)` memory; it also validates the graph (CSR shape, ids in range, no cycle
//! among the tasks that will run).
//!
//! # Scheduling
//!
//! [`execute`] runs the tasks reachable from the outputs on [`RunOptions::threads`] worker
//! threads (the calling thread is one of them). Ready tasks sit in a single binary heap keyed
//! by their static position, so execution follows the static order as closely as
//! parallelism allows. Each task has a counter of unfinished dependencies and one of
//! consumers that have not run yet; a value is released as soon as its last consumer has run
//! (requested outputs are kept until returned). All bookkeeping happens under one mutex, held
//! only briefly: a worker finishes its previous task, pops the next one and clones its inputs
//! (into a reused per-worker buffer) in a single critical section, then runs the task without
//! any lock; released values are dropped outside the lock.
//!
//! By default the first failing task (an error, or a caught panic) stops scheduling: tasks
//! already running finish, all workers are joined and the error is returned; with
//! [`OnFailure::KeepGoing`] a failure fails only its dependents. The optional cancel flag is
//! checked between tasks. With a [`MemoryLimit`], a task starts only when its value fits in
//! what the held values and the running tasks leave of the limit, and an optional [`Spill`]
//! store takes held values out of memory when nothing else can make room. A [`Deliver`]
//! function takes each output value as it is computed (to copy it into its final place), so
//! outputs are not held to the end. [`execute`] is the one entry point for all of these.
//!
//! # Example
//!
//! ```
//! use chunkwise_runtime::{execute, Dag, RunOptions};
//!
//! // 0 and 1 are leaves, 2 = 0 + 1, 3 = 2 * 2 (task 2 listed twice).
//! let offsets = [0, 0, 0, 2, 4];
//! let deps = [0, 1, 2, 2];
//! let dag = Dag { offsets: &offsets, deps: &deps };
//! let exec = |task: u32, inputs: &[u64]| -> Result<u64, String> {
//!     Ok(match task {
//!         0 => 3,
//!         1 => 4,
//!         2 => inputs[0] + inputs[1],
//!         _ => inputs[0] * inputs[1],
//!     })
//! };
//! let values = execute(dag, &[3, 2], exec, &RunOptions::default()).unwrap().into_values().unwrap();
//! assert_eq!(values, vec![49, 7]);
//! ```

#![warn(missing_docs)]

mod exec;
mod order;

pub use exec::{Deliver, Spill};

use std::fmt;
use std::sync::atomic::AtomicBool;

/// A task graph in CSR form.
///
/// Tasks are the ids `0..n` with `n = offsets.len() - 1`. The dependencies of task `i` are
/// `deps[offsets[i] as usize..offsets[i + 1] as usize]`, in the order in which their values
/// are passed to the task. The same dependency may be listed several times (its value is
/// then passed several times). `offsets[0]` must be 0 and `offsets[n]` must equal
/// `deps.len()`; an empty `offsets` denotes the empty graph.
#[derive(Debug, Clone, Copy)]
pub struct Dag<'a> {
    /// Row offsets into `deps`, `n + 1` entries.
    pub offsets: &'a [u32],
    /// Concatenated dependency lists.
    pub deps: &'a [u32],
}

impl Dag<'_> {
    /// Number of tasks `n`.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the graph has no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a run does when a task fails (returns an error or panics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// The first failure stops scheduling: running tasks finish, then [`execute`] returns
    /// that failure.
    #[default]
    Stop,
    /// A failure fails only the tasks that depend on it: every other task still runs, and
    /// each output gets its value or the failure that prevented it ([`Outcome::into_each`]).
    KeepGoing,
}

/// Options of [`execute`]; `V` is the value type (for the spill store), `E` the task error
/// type (for the delivery of outputs).
pub struct RunOptions<'a, V, E = ()> {
    /// Number of worker threads (including the calling thread); 0 means
    /// [`std::thread::available_parallelism`] (see [`workers`]).
    pub threads: usize,
    /// Called as tasks complete: once with `done == 0` at the start, then throttled (about
    /// every 1/1000 of the tasks), and, on success, always a last time with
    /// `done == total`. Calls are serialised and `done` never decreases.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// When set to `true` (from another thread), the run stops after the tasks currently
    /// running and returns [`RunError::Cancelled`].
    pub cancel: Option<&'a AtomicBool>,
    /// Memory back-pressure: the bytes of each task's value (by task id), the largest
    /// projected task peak and the limit (see [`MemoryLimit`]).
    pub memory: Option<MemoryLimit<'a>>,
    /// Stop at the first failure, or keep going around failures.
    pub on_failure: OnFailure,
    /// With a memory bound, where held values go when the next task does not fit and
    /// nothing runs (see [`Spill`]); `None`: they stay in memory.
    pub spill: Option<&'a Spill<'a, V>>,
    /// Where output values go as soon as they are computed (see [`Deliver`]); `None`: the
    /// run holds them until it ends and returns them.
    pub deliver: Option<&'a Deliver<'a, V, E>>,
}

impl<V, E> Default for RunOptions<'_, V, E> {
    fn default() -> Self {
        RunOptions {
            threads: 0,
            progress: None,
            cancel: None,
            memory: None,
            on_failure: OnFailure::Stop,
            spill: None,
            deliver: None,
        }
    }
}

impl<V, E> Clone for RunOptions<'_, V, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V, E> Copy for RunOptions<'_, V, E> {}

/// The worker threads a run with `threads` uses (0: all cores). Every part of chunkwise that
/// needs the worker count (the runtime, the memory budget, the Zarr rechunk planner) asks
/// this function.
///
/// ```
/// assert_eq!(chunkwise_runtime::workers(3), 3);
/// assert!(chunkwise_runtime::workers(0) >= 1);
/// ```
pub fn workers(threads: usize) -> usize {
    match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
}

/// A bound on the bytes held by the values of finished tasks (and reserved for the values
/// of running ones).
///
/// Each running task may itself need up to `task_peak` bytes (its inputs, output and
/// temporaries), so the values held may use what the workers' peaks leave of the limit:
/// `limit - workers(threads) × task_peak`. A task starts only if the bytes held, plus its
/// own value's, stay within that; else it waits until running tasks finish and release
/// their inputs. When nothing is running the next task starts anyway (after spilling, with
/// a spill store), so the bound can be passed only by a single task's value over what the
/// static order already holds. With the static order (which finishes what frees memory
/// first), a tree reduction or a stream of independent blocks stays within a few blocks
/// per worker.
#[derive(Clone, Copy, Debug)]
pub struct MemoryLimit<'a> {
    /// Bytes of the value of each task, indexed by task id.
    pub task_bytes: &'a [u64],
    /// The largest projected peak of one running task (0: values may use the whole limit).
    pub task_peak: u64,
    /// The memory limit in bytes.
    pub limit: u64,
}

impl MemoryLimit<'_> {
    /// The bytes values may hold with `workers` tasks running.
    pub fn held_limit(&self, workers: usize) -> u64 {
        self.limit
            .saturating_sub((workers as u64).saturating_mul(self.task_peak))
    }
}

impl<V, E> fmt::Debug for RunOptions<'_, V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("threads", &self.threads)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel)
            .field("memory", &self.memory)
            .field("on_failure", &self.on_failure)
            .field("spill", &self.spill.is_some())
            .field("deliver", &self.deliver.is_some())
            .finish()
    }
}

/// Progress report passed to [`RunOptions::progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tasks finished so far.
    pub done: u64,
    /// Tasks that will run in total (those reachable from the outputs).
    pub total: u64,
}

/// Error of [`execute`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError<E> {
    /// A task returned an error (the first one observed).
    #[error("task {task} failed: {error}")]
    Task {
        /// The failing task.
        task: u32,
        /// Its error.
        error: E,
    },
    /// A task panicked; the panic was caught.
    #[error("task {task} panicked: {message}")]
    Panicked {
        /// The panicking task.
        task: u32,
        /// The panic message (or a placeholder if the payload is not a string).
        message: String,
    },
    /// The run was cancelled through [`RunOptions::cancel`].
    #[error("run cancelled")]
    Cancelled,
    /// The graph or the outputs are malformed (see [`GraphError`]).
    #[error("invalid graph: {0}")]
    InvalidGraph(String),
}

/// A malformed graph: bad CSR shape, dependency or output id out of range, or a cycle among
/// the tasks reachable from the outputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid graph: {0}")]
pub struct GraphError(pub String);

/// Returns the static priority order of the tasks needed by `outputs`: the sequence in
/// which they would run on one thread (see the crate documentation).
///
/// Every task reachable from `outputs` appears exactly once, after all its dependencies;
/// unreachable tasks are omitted. Runs in `O((n + e) log d)` time.
///
/// ```
/// use chunkwise_runtime::{order, Dag};
/// // 2 = f(0, 1)
/// let dag = Dag { offsets: &[0, 0, 0, 2], deps: &[0, 1] };
/// assert_eq!(order(dag, &[2]).unwrap(), vec![0, 1, 2]);
/// assert_eq!(order(dag, &[1]).unwrap(), vec![1]);
/// ```
pub fn order(dag: Dag<'_>, outputs: &[u32]) -> Result<Vec<u32>, GraphError> {
    order::plan(dag, outputs).map(|p| p.order)
}

/// What a run produced: per requested output, its value or the failure that prevented it.
///
/// With [`OnFailure::Stop`] a failure ends the run with an error, so every output has its
/// value; with [`OnFailure::KeepGoing`] an output may carry the failure of one of its
/// dependencies (the first one observed).
#[derive(Debug)]
pub struct Outcome<V, E> {
    results: Vec<Result<V, usize>>,
    failures: Vec<RunError<E>>,
}

impl<V, E> Outcome<V, E> {
    /// Every output's value, in the order requested, or the first failure observed.
    pub fn into_values(mut self) -> Result<Vec<V>, RunError<E>> {
        if !self.failures.is_empty() {
            return Err(self.failures.swap_remove(0));
        }
        Ok(self
            .results
            .into_iter()
            .map(|r| r.unwrap_or_else(|_| unreachable!("no failure was recorded")))
            .collect())
    }

    /// Per output, in the order requested: its value or the failure that prevented it.
    pub fn into_each(self) -> Vec<Result<V, RunError<E>>>
    where
        E: Clone,
    {
        let failures = self.failures;
        self.results
            .into_iter()
            .map(|r| r.map_err(|k| failures[k].clone()))
            .collect()
    }
}

/// Runs every task needed for `outputs`, in parallel, and returns the outputs' values in the
/// order given.
///
/// `exec(task, inputs)` computes `task` from the values of its dependencies, listed in CSR
/// order. Tasks not reachable from `outputs` are not run; each reachable task runs exactly
/// once (unless the run stops early). An output may be listed several times and may also
/// be a dependency of other tasks. Empty `outputs` return no values without running
/// anything.
///
/// [`RunOptions`] choose the threads, progress reports, cancellation, a memory bound
/// ([`MemoryLimit`]) with an optional spill store ([`Spill`]), the delivery of outputs as
/// they are computed ([`Deliver`]), and what a failure does ([`OnFailure`]).
///
/// # Errors
///
/// * [`RunError::InvalidGraph`] if the graph or an output id is malformed (nothing runs);
/// * with [`OnFailure::Stop`], [`RunError::Task`] / [`RunError::Panicked`] for the first
///   failing task observed: no new task is started, running tasks finish, then the error
///   is returned (with [`OnFailure::KeepGoing`] failures are in the [`Outcome`] instead);
/// * [`RunError::Cancelled`] if the cancel flag was raised.
///
/// # Examples
///
/// Keep going around a failure:
///
/// ```
/// use chunkwise_runtime::{execute, Dag, OnFailure, RunError, RunOptions};
/// // Tasks 0 and 1 are independent; task 2 reads task 1, which fails.
/// let dag = Dag { offsets: &[0, 0, 0, 1], deps: &[1] };
/// let run = |t: u32, _: &[u32]| if t == 1 { Err("bad input") } else { Ok(t) };
/// let opts = RunOptions { on_failure: OnFailure::KeepGoing, ..RunOptions::default() };
/// let out = execute(dag, &[0, 2], run, &opts).unwrap().into_each();
/// assert_eq!(out[0], Ok(0));
/// assert_eq!(out[1], Err(RunError::Task { task: 1, error: "bad input" }));
/// ```
///
/// Spill under a memory bound:
///
/// ```
/// use chunkwise_runtime::{execute, Dag, MemoryLimit, RunOptions};
/// // 0 and 1 are leaves of 10 bytes; 2 = 0 + 1 must hold both, over a limit of 15.
/// let dag = Dag { offsets: &[0, 0, 0, 2], deps: &[0, 1] };
/// let bytes = [10, 10, 0];
/// // Values are (data, on disk?); spilling marks them, reading back is `exec`'s work.
/// let spill = |v: &(u64, bool)| Some((v.0, true));
/// let opts = RunOptions {
///     threads: 1,
///     memory: Some(MemoryLimit { task_bytes: &bytes, task_peak: 0, limit: 15 }),
///     spill: Some(&spill),
///     ..RunOptions::default()
/// };
/// let run = |t: u32, inputs: &[(u64, bool)]| -> Result<(u64, bool), ()> {
///     Ok((inputs.iter().map(|v| v.0).sum::<u64>() + t as u64, false))
/// };
/// assert_eq!(execute(dag, &[2], run, &opts).unwrap().into_values().unwrap(), vec![(3, false)]);
/// ```
pub fn execute<V, E, F>(
    dag: Dag<'_>,
    outputs: &[u32],
    exec: F,
    opts: &RunOptions<'_, V, E>,
) -> Result<Outcome<V, E>, RunError<E>>
where
    V: Clone + Send + Sync,
    E: Send,
    F: Fn(u32, &[V]) -> Result<V, E> + Sync,
{
    let (results, failures) = exec::execute(dag, outputs, exec, opts)?;
    Ok(Outcome { results, failures })
}
