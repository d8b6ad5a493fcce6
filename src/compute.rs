//! The pipeline in one place ([`compute_nodes`]): layers -> optimization passes ->
//! lowering -> parallel execution on a backend -> assembled results.
//!
//! The run half reads everything it needs from the [`TaskGraph`]: the stages to hand the
//! backend, the per-stage memory figures lowering recorded ([`chunkwise_ir::memory`]), and
//! labels for errors. It never goes back to the passes.

use crate::error::{Error, Result};
use crate::spill::SpillStore;
use crate::trace::Trace;
use chunkwise_backends::cpu::gather::Assembly;
use chunkwise_backends::{cpu::CpuBackend, Backend, KernelError, Value};
use chunkwise_ir::{DynArray, Layer, Node, TaskGraph};
use chunkwise_passes::{Optimized, PassManager};
use chunkwise_runtime::{Dag, Deliver, MemoryLimit, OnFailure, Progress, RunError, RunOptions};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Options of a computation.
#[derive(Default, Clone, Copy)]
pub struct ComputeOptions<'a> {
    /// The optimization passes (`None`: [`PassManager::standard`]; pass
    /// `Some(&PassManager::none())` to run the graph as built).
    pub passes: Option<&'a PassManager>,
    /// The backend that computes the tasks (`None`: the CPU backend, [`CpuBackend`]).
    pub backend: Option<&'a dyn Backend>,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Called with (tasks done, tasks total) as the run progresses.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// Set from another thread to stop the run ([`Error::Cancelled`]).
    pub cancel: Option<&'a AtomicBool>,
    /// Records every task's layer, block, thread, times and output bytes, and the chunks
    /// spilled.
    pub trace: Option<&'a Trace>,
    /// A memory limit in bytes. A graph with a task projected to need more (inputs, output
    /// and temporaries, [`chunkwise_ir::memory::task_peak`]) is refused with
    /// [`Error::MemoryLimit`] before anything runs; while it runs, a task starts only when
    /// the blocks held plus its own stay within what the workers' projected task peaks
    /// leave of the limit (back-pressure; see [`chunkwise_runtime::MemoryLimit`]); when
    /// nothing runs and the next task still does not fit, chunks it does not read are
    /// spilled to local files (those needed last first) and read back when needed.
    pub memory_limit: Option<u64>,
    /// Where a run with a memory limit spills chunks: a private directory of the run's own
    /// is made inside (`chunkwise-spill-<pid>-*`) and removed when the run ends. `None`:
    /// the system's temporary directory.
    pub spill_dir: Option<&'a std::path::Path>,
    /// The most tasks lowering may make (`None`:
    /// [`chunkwise_passes::lower::DEFAULT_MAX_TASKS`], 10^8): a larger graph is refused
    /// from an estimate, before it is lowered ([`chunkwise_passes::LowerError::TooManyTasks`]
    /// names the numbers).
    pub max_tasks: Option<u64>,
}

/// Optimizes the graph of `outputs` with `passes` (`None`: the standard pipeline).
pub fn optimize(outputs: &[Node], passes: Option<&PassManager>) -> Result<Optimized> {
    Ok(match passes {
        Some(p) => p.run(outputs)?,
        None => PassManager::standard().run(outputs)?,
    })
}

/// Optimizes `outputs` and lowers them to a task graph (all blocks), with at most
/// [`chunkwise_passes::lower::DEFAULT_MAX_TASKS`] tasks.
pub fn plan(outputs: &[Node], passes: Option<&PassManager>) -> Result<TaskGraph> {
    plan_with(
        outputs,
        &ComputeOptions {
            passes,
            ..ComputeOptions::default()
        },
    )
}

/// [`plan`] with the options' passes and task limit ([`ComputeOptions::max_tasks`]).
pub fn plan_with(outputs: &[Node], opts: &ComputeOptions<'_>) -> Result<TaskGraph> {
    let optimized = optimize(outputs, opts.passes)?;
    let max_tasks = opts
        .max_tasks
        .unwrap_or(chunkwise_passes::lower::DEFAULT_MAX_TASKS);
    Ok(chunkwise_passes::lower_limited(
        &optimized.outputs,
        None,
        max_tasks,
    )?)
}

/// Runs a task graph; returns the values of each output's blocks (in the output's block
/// order), in host memory. The first failing task stops the run.
pub fn run_graph(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<Vec<Value>>> {
    let values = run_tasks(g, opts, OnFailure::Stop, None)?
        .into_iter()
        .collect::<Result<Vec<Value>>>()?;
    Ok(per_output(g, values))
}

/// Runs a task graph where a failing task fails only what depends on it: per output block,
/// its value (in host memory) or the error of the task that prevented it.
pub fn run_graph_each(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<Vec<Result<Value>>>> {
    Ok(per_output(
        g,
        run_tasks(g, opts, OnFailure::KeepGoing, None)?,
    ))
}

/// The array of each output block (an error naming the output if a block is not one).
pub fn output_arrays(g: &TaskGraph, values: Vec<Vec<Value>>) -> Result<Vec<Vec<DynArray>>> {
    g.outputs
        .iter()
        .zip(values)
        .map(|(o, vs)| {
            vs.into_iter()
                .map(|v| match v {
                    Value::Array(a) => Ok(a),
                    other => Err(Error::Task {
                        layer: g.stages[o.stage as usize].label(),
                        block: vec![],
                        inputs: vec![],
                        source: KernelError::BadInput(format!("output is not an array: {other:?}")),
                    }),
                })
                .collect()
        })
        .collect()
}

/// Splits the flat list of output-block results into one list per output.
fn per_output<T>(g: &TaskGraph, flat: Vec<T>) -> Vec<Vec<T>> {
    let mut it = flat.into_iter();
    g.outputs
        .iter()
        .map(|o| it.by_ref().take(o.tasks.len()).collect())
        .collect()
}

/// Runs the output tasks of `g` on the options' backend: the task function, the memory
/// budget and the error mapping below, handed to the runtime's one entry point. Without
/// `deliver`, the output blocks are held until the run ends (and must fit the limit).
fn run_tasks(
    g: &TaskGraph,
    opts: &ComputeOptions<'_>,
    on_failure: OnFailure,
    deliver: Option<&Deliver<'_, Value, KernelError>>,
) -> Result<Vec<Result<Value>>> {
    g.check().map_err(Error::InvalidGraph)?;
    let targets: Vec<u32> = g.outputs.iter().flat_map(|o| o.tasks.clone()).collect();
    let sub = SubGraph {
        dag: Dag {
            offsets: &g.dep_offsets,
            deps: &g.deps,
        },
        provided: Vec::new(),
        global: None,
        targets,
    };
    if let Some(limit) = opts.memory_limit {
        peaks_fit(g, limit)?;
        if deliver.is_none() {
            outputs_fit(g, limit)?;
        }
    }
    let task_bytes = opts.memory_limit.map(|_| g.task_value_bytes());
    run_sub_graph(g, &sub, task_bytes.as_deref(), opts, on_failure, deliver)
}

/// Part of a task graph to run ([`run_sub_graph`]), in local task ids: first the
/// `provided` values (tasks computed elsewhere, with no dependencies), then the tasks to
/// compute. The whole graph is the case with nothing provided and local ids = task ids.
pub(crate) struct SubGraph<'a> {
    /// The local graph.
    pub dag: Dag<'a>,
    /// Values of the local tasks `0..provided.len()`.
    pub provided: Vec<Value>,
    /// The task id of each computed local task (local id minus `provided.len()`); `None`:
    /// the identity.
    pub global: Option<&'a [u32]>,
    /// Local ids of the tasks whose values are returned.
    pub targets: Vec<u32>,
}

impl SubGraph<'_> {
    /// The task id of a computed local task (`None` for a provided one).
    fn task_id(&self, local: u32) -> Option<u32> {
        let k = self.provided.len() as u32;
        local
            .checked_sub(k)
            .map(|i| self.global.map_or(i, |m| m[i as usize]))
    }
}

/// Runs `sub` of `g` (its memory figures per local task in `task_bytes` when the options
/// set a memory limit); returns the targets' values in host memory, in order (with
/// `deliver`, what it returned for them, as they are).
pub(crate) fn run_sub_graph(
    g: &TaskGraph,
    sub: &SubGraph<'_>,
    task_bytes: Option<&[u64]>,
    opts: &ComputeOptions<'_>,
    on_failure: OnFailure,
    deliver: Option<&Deliver<'_, Value, KernelError>>,
) -> Result<Vec<Result<Value>>> {
    let backend = opts.backend.unwrap_or(&CpuBackend);
    let memory = match (opts.memory_limit, task_bytes) {
        (Some(limit), Some(bytes)) => Some(memory_budget(g, limit, bytes)?),
        _ => None,
    };
    let store = SpillStore::new(opts.spill_dir, opts.trace);
    let spill = |v: &Value| store.spill(v);
    let run = RunOptions {
        threads: opts.threads,
        progress: opts.progress,
        cancel: opts.cancel,
        memory,
        on_failure,
        spill: memory.map(|_| &spill as &chunkwise_runtime::Spill<'_, Value>),
        deliver,
    };
    let compute = task_fn(g, backend, opts.trace);
    let exec = |t: u32, inputs: &[Value]| match sub.task_id(t) {
        None => Ok(sub.provided[t as usize].clone()),
        Some(id) => compute(id, inputs),
    };
    let global = |t: u32| sub.task_id(t).unwrap_or(t);
    let outcome = chunkwise_runtime::execute(sub.dag, &sub.targets, exec, &run)
        .map_err(|e| run_error(g, e, global))?;
    Ok(outcome
        .into_each()
        .into_iter()
        .zip(&sub.targets)
        .map(|(r, &t)| {
            let v = r.map_err(|e| run_error(g, e, global))?;
            if deliver.is_some() {
                // The delivery's stand-in: the value came to the host there.
                return Ok(v);
            }
            backend
                .to_host(v)
                .map_err(|source| task_error(g, global(t), source))
        })
        .collect())
}

/// The function the runtime calls per task: spilled inputs read back, then the backend's
/// kernel (timed when the run is traced).
fn task_fn<'a>(
    g: &'a TaskGraph,
    backend: &'a dyn Backend,
    trace: Option<&'a Trace>,
) -> impl Fn(u32, &[Value]) -> Result<Value, KernelError> + Sync + 'a {
    move |t, inputs| {
        let stage = &g.stages[g.task_stage[t as usize] as usize];
        let block = g.task_block[t as usize];
        let inputs = SpillStore::read_back(inputs)?;
        let run = || backend.execute(stage, block, &inputs);
        match trace {
            None => run(),
            Some(trace) => trace.time_task(t, stage.label(), g.block_of(t), inputs.len(), run),
        }
    }
}

/// Refuses a graph with a task projected over `limit`, naming its layer.
fn peaks_fit(g: &TaskGraph, limit: u64) -> Result<()> {
    match g.stages.iter().find(|s| s.memory.task_peak > limit) {
        Some(stage) => Err(Error::MemoryLimit {
            layer: stage.node.label(),
            projected: stage.memory.task_peak,
            limit,
        }),
        None => Ok(()),
    }
}

/// The runtime's memory bound for `limit` ([`peaks_fit`] first): the value bytes of every
/// task and the largest projected task peak, both recorded by lowering.
fn memory_budget<'b>(g: &TaskGraph, limit: u64, task_bytes: &'b [u64]) -> Result<MemoryLimit<'b>> {
    peaks_fit(g, limit)?;
    Ok(MemoryLimit {
        task_bytes,
        task_peak: g.max_task_peak(),
        limit,
    })
}

/// Refuses a graph whose output blocks, held until the run ends, take more than `limit`
/// bytes, with [`Error::OutputsOverMemoryLimit`]. (An assembled run,
/// [`run_assembled`], holds the arrays instead of the blocks.)
pub fn outputs_fit(g: &TaskGraph, limit: u64) -> Result<()> {
    // Every block of an output is a task of the output's stage.
    let held = g
        .outputs
        .iter()
        .map(|o| {
            let bytes = g
                .stages
                .get(o.stage as usize)
                .map_or(0, |s| s.memory.value_bytes);
            bytes.saturating_mul(o.tasks.len() as u64)
        })
        .fold(0u64, u64::saturating_add);
    if held > limit {
        return Err(Error::OutputsOverMemoryLimit {
            what: "their blocks, held until the run ends",
            projected: held,
            limit,
        });
    }
    Ok(())
}

/// A runtime error as a facade error naming the failing task's layer, block and inputs
/// (`global` maps the runtime's task ids to the graph's).
fn run_error(g: &TaskGraph, e: RunError<KernelError>, global: impl Fn(u32) -> u32) -> Error {
    match e {
        RunError::Task { task, error } => task_error(g, global(task), error),
        RunError::Panicked { task, message } => {
            let task = global(task);
            Error::Panicked {
                layer: g.stages[g.task_stage[task as usize] as usize].label(),
                block: g.block_of(task),
                inputs: input_labels(g, task),
                message,
            }
        }
        RunError::Cancelled => Error::Cancelled,
        RunError::InvalidGraph(m) => Error::InvalidGraph(m),
    }
}

/// A task's error, naming its layer, block and inputs.
fn task_error(g: &TaskGraph, task: u32, source: KernelError) -> Error {
    Error::Task {
        layer: g.stages[g.task_stage[task as usize] as usize].label(),
        block: g.block_of(task),
        inputs: input_labels(g, task),
        source,
    }
}

/// Labels of the layers a task reads (each once, in order).
fn input_labels(g: &TaskGraph, task: u32) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for &d in g.deps_of(task) {
        let l = g.stages[g.task_stage[d as usize] as usize].label();
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Computes `outputs` to in-memory arrays, sharing common work.
///
/// A rechunk as an output's last step is dropped first ([`without_final_rechunks`]): an
/// assembled array does not depend on its chunking. Then [`run_assembled`].
pub fn compute_nodes(outputs: &[Node], opts: &ComputeOptions<'_>) -> Result<Vec<DynArray>> {
    let outputs: Vec<Node> = outputs.iter().map(without_final_rechunks).collect();
    run_assembled(&plan_with(&outputs, opts)?, opts)
}

/// `node` without the rechunks it ends with: the same array, in its input's chunks.
///
/// For a result that is assembled in memory (or written to a `.npy` file) the chunking of
/// its last step only decides how the data is cut before it is joined again, so a final
/// rechunk, which must hold every input block it reads (for rows to columns: all of them),
/// is pure cost. Not for a Zarr output, whose chunks are the store's.
pub fn without_final_rechunks(node: &Node) -> Node {
    let mut node = node;
    while let Layer::Rechunk { input } = node.layer() {
        node = input;
    }
    node.clone()
}

/// Runs `g` and assembles each output into one array, copying every block into place as
/// soon as it is computed ([`Assembly`]) and releasing it then: the outputs take their size
/// once, never their blocks and the arrays together. With a memory limit, the arrays are
/// counted first (refused with [`Error::OutputsOverMemoryLimit`] when they alone exceed
/// it) and the tasks run in what they leave of it.
pub fn run_assembled(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<DynArray>> {
    let nodes: Vec<&Node> = g
        .outputs
        .iter()
        .map(|o| &g.stages[o.stage as usize].node)
        .collect();
    let mut opts = *opts;
    let mut assembled = 0;
    if let Some(limit) = opts.memory_limit {
        let bytes = nodes
            .iter()
            .map(|n| {
                n.shape()
                    .iter()
                    .fold(n.dtype().size() as u64, |a, &s| a.saturating_mul(s))
            })
            .fold(0u64, u64::saturating_add);
        if bytes > limit {
            return Err(Error::OutputsOverMemoryLimit {
                what: "the assembled arrays",
                projected: bytes,
                limit,
            });
        }
        opts.memory_limit = Some(limit - bytes);
        assembled = bytes;
    }
    let assemblies = nodes
        .iter()
        .zip(&g.outputs)
        .map(|(n, o)| {
            if n.chunks().total_blocks() != o.tasks.len() as u64 {
                return Err(Error::InvalidGraph(format!(
                    "output {} has {} tasks for {} blocks",
                    n.label(),
                    o.tasks.len(),
                    n.chunks().total_blocks()
                )));
            }
            Assembly::new(n.chunks(), n.dtype()).map_err(|source| assembly_error(n, source))
        })
        .collect::<Result<Vec<_>>>()?;
    // Where each output task's block goes: (output, block index), for every output it is
    // a block of (the same array may be requested twice).
    let mut places: HashMap<u32, Vec<(usize, u64)>> = HashMap::new();
    for (i, o) in g.outputs.iter().enumerate() {
        for (b, &t) in o.tasks.iter().enumerate() {
            places.entry(t).or_default().push((i, b as u64));
        }
    }
    let backend = opts.backend.unwrap_or(&CpuBackend);
    let deliver = |t: u32, v: &Value| -> std::result::Result<Value, KernelError> {
        let host = backend.to_host(v.clone())?;
        let block = host
            .as_array()
            .ok_or_else(|| KernelError::BadInput(format!("output is not an array: {host:?}")))?;
        for &(i, b) in places.get(&t).map_or(&[][..], Vec::as_slice) {
            assemblies[i].place(b, block)?;
        }
        // The block is in place; the run keeps only this token for it.
        Ok(Value::Any(Arc::new(())))
    };
    // A task over what the arrays leave is reported against the caller's limit, with the
    // arrays counted in its projection.
    let results = run_tasks(g, &opts, OnFailure::Stop, Some(&deliver)).map_err(|e| match e {
        Error::MemoryLimit {
            layer,
            projected,
            limit,
        } => Error::MemoryLimit {
            layer,
            projected: projected.saturating_add(assembled),
            limit: limit + assembled,
        },
        e => e,
    })?;
    for r in results {
        r?;
    }
    nodes
        .iter()
        .zip(assemblies)
        .map(|(n, a)| a.finish().map_err(|source| assembly_error(n, source)))
        .collect()
}

/// An error assembling `node`, naming it.
fn assembly_error(node: &Node, source: KernelError) -> Error {
    Error::Task {
        layer: node.label(),
        block: vec![],
        inputs: vec![],
        source,
    }
}

/// Joins the blocks of `node` (all of them, C order) into one array.
pub fn assemble(node: &Node, blocks: Vec<DynArray>) -> Result<DynArray> {
    chunkwise_backends::assemble(node.chunks(), node.dtype(), blocks)
        .map_err(|source| assembly_error(node, source))
}
