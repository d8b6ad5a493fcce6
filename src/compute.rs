//! The pipeline in one place ([`compute_nodes`]): layers -> optimization passes -> lowering
//! -> parallel execution on the CPU backend -> assembled results.

use crate::error::{Error, Result};
use crate::trace::{TaskEvent, Trace};
use chunkwise_backends::{cpu, KernelError, SpillFile, Value};
use chunkwise_ir::{DynArray, Layer, Node, StageOp, TaskGraph};
use chunkwise_passes::{Optimized, PassManager};
use chunkwise_runtime::{Dag, MemoryLimit, Progress, RunError, RunOptions};
use std::sync::atomic::AtomicBool;

/// Options of a computation.
#[derive(Default, Clone, Copy)]
pub struct ComputeOptions<'a> {
    /// The optimization passes (`None`: [`PassManager::standard`]; pass
    /// `Some(&PassManager::none())` to run the graph as built).
    pub passes: Option<&'a PassManager>,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Called with (tasks done, tasks total) as the run progresses.
    pub progress: Option<&'a (dyn Fn(Progress) + Sync)>,
    /// Set from another thread to stop the run ([`Error::Cancelled`]).
    pub cancel: Option<&'a AtomicBool>,
    /// Records every task's layer, block, thread, times and output bytes.
    pub trace: Option<&'a Trace>,
    /// A memory limit in bytes. A graph with a task projected to need more (inputs, output
    /// and temporaries, [`chunkwise_passes::stats::task_memory`]) is refused with
    /// [`Error::MemoryLimit`] before anything runs; while it runs, a task starts only when
    /// the blocks held plus its own stay within what the workers' projected task peaks
    /// leave of the limit (back-pressure; see [`chunkwise_runtime::MemoryLimit`]); when
    /// nothing runs and the next task still does not fit, chunks it does not read are
    /// spilled to local files (those needed last first) and read back when needed.
    pub memory_limit: Option<u64>,
}

/// Optimizes the graph of `outputs` with `passes` (`None`: the standard pipeline).
pub fn optimize(outputs: &[Node], passes: Option<&PassManager>) -> Result<Optimized> {
    Ok(match passes {
        Some(p) => p.run(outputs)?,
        None => PassManager::standard().run(outputs)?,
    })
}

/// Optimizes `outputs` and lowers them to a task graph (all blocks).
pub fn plan(outputs: &[Node], passes: Option<&PassManager>) -> Result<TaskGraph> {
    let optimized = optimize(outputs, passes)?;
    Ok(chunkwise_passes::lower(&optimized.outputs)?)
}

/// Runs a task graph and returns the blocks of each output (in the output's block order).
pub fn run_graph(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<Vec<DynArray>>> {
    let values = run_graph_values(g, opts)?;
    let mut out = Vec::with_capacity(g.outputs.len());
    for (o, vs) in g.outputs.iter().zip(values) {
        let blocks = vs
            .into_iter()
            .map(|v| match v {
                Value::Array(a) => Ok(a),
                other => Err(Error::Task {
                    layer: g.stages[o.stage as usize].label(),
                    block: vec![],
                    inputs: vec![],
                    source: KernelError::BadInput(format!("output is not an array: {other:?}")),
                }),
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(blocks);
    }
    Ok(out)
}

/// Optimizes, lowers and runs `outputs`; returns the values of each output's blocks.
pub fn run_values(outputs: &[Node], opts: &ComputeOptions<'_>) -> Result<Vec<Vec<Value>>> {
    run_graph_values(&plan(outputs, opts.passes)?, opts)
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

/// Runs a task graph and returns the values of each output's blocks.
pub fn run_graph_values(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<Vec<Value>>> {
    let values = run_tasks(g, opts, false)?
        .into_iter()
        .collect::<Result<Vec<Value>>>()?;
    let mut it = values.into_iter();
    Ok(g.outputs
        .iter()
        .map(|o| it.by_ref().take(o.tasks.len()).collect())
        .collect())
}

/// Runs a task graph where a failing task fails only what depends on it: per output block,
/// its value or the error of the task that prevented it.
pub fn run_graph_each(g: &TaskGraph, opts: &ComputeOptions<'_>) -> Result<Vec<Vec<Result<Value>>>> {
    let mut it = run_tasks(g, opts, true)?.into_iter();
    Ok(g.outputs
        .iter()
        .map(|o| it.by_ref().take(o.tasks.len()).collect())
        .collect())
}

/// Refuses a graph with a task projected to need more than `limit` bytes, naming its layer;
/// else returns the largest projection.
fn check_memory(g: &TaskGraph, limit: u64) -> Result<u64> {
    let mut peak = 0;
    for stage in &g.stages {
        let projected = chunkwise_passes::stats::task_memory(&stage.node);
        if projected > limit {
            return Err(Error::MemoryLimit {
                layer: stage.node.label(),
                projected,
                limit,
            });
        }
        peak = peak.max(projected);
    }
    Ok(peak)
}

/// Bytes of each task's value: its block; for a reduction step, its state (at most two
/// arrays of the reduced block's shape); 0 for a delayed call (not an array).
fn task_bytes(g: &TaskGraph) -> Vec<u64> {
    let per_stage: Vec<u64> = g
        .stages
        .iter()
        .map(|st| match (st.node.layer(), st.op) {
            (Layer::Task(_), _) => 0,
            (Layer::Reduction(r), op) if op != StageOp::Layer => {
                let grid = r.input.chunks();
                (0..grid.ndim())
                    .filter(|a| !r.axes.contains(a))
                    .fold(2 * 8u64, |acc, a| {
                        acc.saturating_mul(grid.axis(a).max_chunk())
                    })
            }
            _ => chunkwise_passes::stats::block_bytes(&st.node),
        })
        .collect();
    g.task_stage
        .iter()
        .map(|&s| per_stage[s as usize])
        .collect()
}

static SPILLED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Chunks spilled to local files so far in this process (runs with a
/// [`ComputeOptions::memory_limit`] spill when ordering and back-pressure cannot keep the
/// chunks held under the limit).
pub fn spilled_chunks() -> u64 {
    SPILLED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Writes an array chunk to a local `.npy` file (in the system's temporary directory) to
/// take it out of memory; other values are not spilled.
fn spill(v: &Value) -> Option<Value> {
    let Value::Array(a) = v else {
        return None;
    };
    let n = SPILLED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("chunkwise-spill-{}-{n}.npy", std::process::id()));
    crate::npy::write_npy(&path, a).ok()?;
    Some(Value::Spilled(std::sync::Arc::new(SpillFile { path })))
}

/// A spilled chunk read back (other values as they are).
fn unspill(v: &Value) -> Result<Value, KernelError> {
    match v {
        Value::Spilled(f) => crate::npy::read_npy(&f.path)
            .map(Value::Array)
            .map_err(|e| KernelError::BadInput(format!("reading back a spilled chunk: {e}"))),
        other => Ok(other.clone()),
    }
}

/// Runs the output tasks of `g`; with `keep_going`, failures fail only their dependents.
fn run_tasks(
    g: &TaskGraph,
    opts: &ComputeOptions<'_>,
    keep_going: bool,
) -> Result<Vec<Result<Value>>> {
    let dag = Dag {
        offsets: &g.dep_offsets,
        deps: &g.deps,
    };
    let targets: Vec<u32> = g
        .outputs
        .iter()
        .flat_map(|o| o.tasks.iter().copied())
        .collect();
    let exec = |t: u32, inputs: &[Value]| -> Result<Value, KernelError> {
        let stage = &g.stages[g.task_stage[t as usize] as usize];
        let unspilled;
        let inputs = if inputs.iter().any(|v| matches!(v, Value::Spilled(_))) {
            unspilled = inputs
                .iter()
                .map(unspill)
                .collect::<Result<Vec<_>, KernelError>>()?;
            &unspilled[..]
        } else {
            inputs
        };
        let Some(trace) = opts.trace else {
            return cpu::execute(stage, g.task_block[t as usize], inputs);
        };
        let start = trace.now_us();
        // A panicking task is recorded too, then the panic goes on to the runtime.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cpu::execute(stage, g.task_block[t as usize], inputs)
        }));
        let end = trace.now_us();
        let failed = !matches!(caught, Ok(Ok(_)));
        trace.record(TaskEvent {
            task: t,
            label: stage.label(),
            block: g.block_of(t),
            thread: Trace::thread_id(),
            start_us: start,
            duration_us: end - start,
            bytes: match &caught {
                Ok(Ok(v)) => v.nbytes() as u64,
                _ => 0,
            },
            deps: inputs.len(),
            failed,
        });
        caught.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    };
    // The values held may use what the running tasks' own projected peaks leave of the
    // limit, so that both together stay within it.
    let (bytes, held_limit) = match opts.memory_limit {
        Some(limit) => {
            let peak = check_memory(g, limit)?;
            let workers = match opts.threads {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
                t => t,
            } as u64;
            (
                task_bytes(g),
                limit.saturating_sub(workers.saturating_mul(peak)),
            )
        }
        None => (Vec::new(), 0),
    };
    let run = RunOptions {
        threads: opts.threads,
        progress: opts.progress,
        cancel: opts.cancel,
        memory: opts.memory_limit.map(|_| MemoryLimit {
            task_bytes: &bytes,
            limit: held_limit,
        }),
    };
    let error = |e: RunError<KernelError>| match e {
        RunError::Task { task, error } => Error::Task {
            layer: g.stages[g.task_stage[task as usize] as usize].label(),
            block: g.block_of(task),
            inputs: input_labels(g, task),
            source: error,
        },
        RunError::Panicked { task, message } => Error::Panicked {
            layer: g.stages[g.task_stage[task as usize] as usize].label(),
            block: g.block_of(task),
            inputs: input_labels(g, task),
            message,
        },
        RunError::Cancelled => Error::Cancelled,
        RunError::InvalidGraph(m) => Error::Task {
            layer: "task graph".into(),
            block: vec![],
            inputs: vec![],
            source: KernelError::BadInput(m),
        },
    };
    if keep_going {
        let each = chunkwise_runtime::execute_each(dag, &targets, exec, &run).map_err(error)?;
        Ok(each.into_iter().map(|r| r.map_err(error)).collect())
    } else {
        let values = match opts.memory_limit {
            Some(_) => chunkwise_runtime::execute_spilling(dag, &targets, exec, &run, &spill),
            None => chunkwise_runtime::execute(dag, &targets, exec, &run),
        }
        .map_err(error)?;
        Ok(values.into_iter().map(Ok).collect())
    }
}

/// Computes `outputs` to in-memory arrays, sharing common work.
pub fn compute_nodes(outputs: &[Node], opts: &ComputeOptions<'_>) -> Result<Vec<DynArray>> {
    let g = plan(outputs, opts.passes)?;
    let blocks = run_graph(&g, opts)?;
    outputs
        .iter()
        .zip(blocks)
        .map(|(n, b)| assemble(n, b))
        .collect()
}

/// Joins the blocks of `node` (all of them, C order) into one array.
pub fn assemble(node: &Node, blocks: Vec<DynArray>) -> Result<DynArray> {
    cpu::gather::assemble(node.chunks(), node.dtype(), blocks).map_err(|source| Error::Task {
        layer: node.label(),
        block: vec![],
        inputs: vec![],
        source,
    })
}
