//! Running a graph on a remote engine (Dask distributed): the graph cut into engine tasks,
//! each a sub-graph run by chunkwise's own runtime where the engine places it.
//!
//! The pipeline is the local one ([`crate::compute`]) with one step added between
//! lowering and execution: layers → passes → lower → **partition** ([`partition()`]) →
//! per engine task, [`EnginePlan::run_group`] on a worker (the runtime and the backend as in
//! a local run, on the group's tasks, with the values of other groups' tasks provided) →
//! [`EnginePlan::assemble`] of the output blocks. The engine only moves the values crossing
//! group borders ([`Group::inputs`] / [`Group::exports`]: arrays and reduction states).
//!
//! The client and every worker build the same plan from the same arrays (the Python
//! package replays the calls that made them); [`EnginePlan::fingerprint`] is a hash of the
//! lowered graph's structure and the grouping, so a worker whose plan differs (another
//! chunkwise version) refuses to run rather than compute the wrong tasks.
//!
//! ```
//! use chunkwise::engine::{EngineOptions, EnginePlan};
//! use chunkwise::{Array, ComputeOptions, UnaryOp};
//! use std::collections::HashMap;
//! let x = Array::from_ndarray(ndarray::Array1::from_iter((0..1000).map(f64::from)), &[100]).unwrap();
//! let y = x.unary(UnaryOp::Sqrt).unwrap().sum(None, false).unwrap();
//! let opts = EngineOptions { target_seconds: 1e-6, ..EngineOptions::default() };
//! let plan = EnginePlan::new(&[&y], &opts).unwrap();
//! assert!(plan.groups().len() > 1);
//! // What an engine does: run each group once its inputs exist, hand on the exports.
//! let mut values: HashMap<u32, chunkwise::Value> = HashMap::new();
//! for g in 0..plan.groups().len() {
//!     let inputs = plan.groups()[g].inputs.iter().map(|t| (*t, values[t].clone())).collect();
//!     for (t, v) in plan.run_group(g, inputs, &ComputeOptions::default()).unwrap() {
//!         values.insert(t, v);
//!     }
//! }
//! let total = plan.assemble(&values).unwrap()[0].as_typed::<f64>().unwrap().sum();
//! assert!((total - (0..1000).map(|v| f64::from(v).sqrt()).sum::<f64>()).abs() < 1e-9);
//! ```

pub mod partition;

pub use partition::{partition, Group, Partition, PartitionOptions};

use crate::compute::{run_sub_graph, SubGraph};
use crate::error::{Error, Result};
use crate::{Array, ComputeOptions};
use chunkwise_backends::Value;
use chunkwise_ir::{DynArray, Node, TaskGraph};
use chunkwise_runtime::{Dag, OnFailure};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

/// The rate the cost model's bytes of work are turned into seconds at, per worker thread:
/// elementwise programs and reductions stream about this much; GEMM-bound work is faster
/// per byte of its blocks, so its engine tasks come out longer than the target, never
/// shorter.
pub const WORK_BYTES_PER_SECOND: f64 = 1e9;

/// Options of an [`EnginePlan`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineOptions {
    /// Estimated seconds of work per engine task (at [`WORK_BYTES_PER_SECOND`]).
    pub target_seconds: f64,
    /// Bytes an engine task may receive and hand on (`None`: no bound); set it below the
    /// worker's memory limit.
    pub memory_bound: Option<u64>,
    /// The most engine tasks per plan (every engine task costs the engine milliseconds of
    /// scheduling); a larger graph gets longer engine tasks.
    pub max_groups: u64,
    /// The most tasks lowering may make (`None`: the local default).
    pub max_tasks: Option<u64>,
}

impl Default for EngineOptions {
    /// 100 ms per engine task, no memory bound, at most 10,000 engine tasks.
    fn default() -> Self {
        EngineOptions {
            target_seconds: 0.1,
            memory_bound: None,
            max_groups: 10_000,
            max_tasks: None,
        }
    }
}

/// A graph optimized, lowered and partitioned into engine tasks.
#[derive(Debug)]
pub struct EnginePlan {
    outputs: Vec<Node>,
    graph: TaskGraph,
    partition: Partition,
    fingerprint: u64,
}

impl EnginePlan {
    /// Optimizes (the standard passes), lowers and partitions the graph of `outputs`.
    pub fn new(outputs: &[&Array], opts: &EngineOptions) -> Result<EnginePlan> {
        if !(opts.target_seconds.is_finite() && opts.target_seconds >= 0.0) {
            return Err(Error::Engine(format!(
                "target_seconds must be a finite number of seconds >= 0, not {}",
                opts.target_seconds
            )));
        }
        let outputs = outputs
            .iter()
            .map(|a| a.node().cloned())
            .collect::<Result<Vec<_>>>()?;
        let graph = crate::compute::plan_with(
            &outputs,
            &ComputeOptions {
                max_tasks: opts.max_tasks,
                ..ComputeOptions::default()
            },
        )?;
        graph.check().map_err(Error::InvalidGraph)?;
        let popts = PartitionOptions {
            target_work: (opts.target_seconds * WORK_BYTES_PER_SECOND) as u64,
            memory_bound: opts.memory_bound.unwrap_or(u64::MAX),
            max_groups: opts.max_groups,
        };
        let partition = partition(&graph, &popts).map_err(|e| Error::InvalidGraph(e.0))?;
        let fingerprint = fingerprint(&graph, &partition);
        Ok(EnginePlan {
            outputs,
            graph,
            partition,
            fingerprint,
        })
    }

    /// The lowered graph.
    pub fn graph(&self) -> &TaskGraph {
        &self.graph
    }

    /// The engine tasks, numbered so that each reads only smaller numbers.
    pub fn groups(&self) -> &[Group] {
        &self.partition.groups
    }

    /// The group computing each task (`u32::MAX` for tasks no output needs).
    pub fn task_group(&self) -> &[u32] {
        &self.partition.task_group
    }

    /// A hash of the lowered graph's structure (stages, blocks, dependencies, outputs) and
    /// of the grouping: equal on every process that built the plan from the same arrays
    /// with the same chunkwise build.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// A name for group `g`: the label of the layer doing most of its work (as
    /// `exp-sub-div`), for engine keys and dashboards.
    pub fn label(&self, g: usize) -> String {
        let mut work: HashMap<u32, u64> = HashMap::new();
        for &t in self.groups().get(g).map_or(&[][..], |gr| &gr.tasks) {
            let s = self.graph.task_stage[t as usize];
            let m = &self.graph.stages[s as usize].memory;
            *work.entry(s).or_default() += m.task_peak.max(1);
        }
        work.into_iter()
            .max_by_key(|&(s, w)| (w, std::cmp::Reverse(s)))
            .map_or_else(
                || "empty".into(),
                |(s, _)| self.graph.stages[s as usize].label(),
            )
    }

    /// Runs group `g` with the values of its inputs (task id and value, one per
    /// [`Group::inputs`] entry, any order) and returns its exports' values in
    /// [`Group::exports`] order, in host memory. The options' backend, threads, memory
    /// limit (over the group's own tasks), cancellation and trace apply as in a local run.
    pub fn run_group(
        &self,
        g: usize,
        inputs: Vec<(u32, Value)>,
        opts: &ComputeOptions<'_>,
    ) -> Result<Vec<(u32, Value)>> {
        let group = self.groups().get(g).ok_or_else(|| {
            Error::Engine(format!(
                "no engine task {g}: the plan has {}",
                self.groups().len()
            ))
        })?;
        let mut given: HashMap<u32, Value> = inputs.into_iter().collect();
        let mut local: HashMap<u32, u32> =
            HashMap::with_capacity(group.inputs.len() + group.tasks.len());
        let mut provided = Vec::with_capacity(group.inputs.len());
        for &t in &group.inputs {
            let v = given.remove(&t).ok_or_else(|| {
                Error::Engine(format!(
                    "engine task {g} needs the value of task {t} ({} block {:?}), which was not given",
                    self.stage_label(t),
                    self.graph.block_of(t)
                ))
            })?;
            local.insert(t, provided.len() as u32);
            provided.push(v);
        }
        if let Some(t) = given.keys().next() {
            return Err(Error::Engine(format!(
                "engine task {g} was given the value of task {t}, which it does not read"
            )));
        }
        let k = provided.len() as u32;
        for (i, &t) in group.tasks.iter().enumerate() {
            local.insert(t, k + i as u32);
        }
        let mut offsets = vec![0u32; provided.len() + 1];
        let mut deps = Vec::new();
        for &t in &group.tasks {
            deps.extend(self.graph.deps_of(t).iter().map(|d| local[d]));
            offsets.push(deps.len() as u32);
        }
        let targets: Vec<u32> = group.exports.iter().map(|t| local[t]).collect();
        // The memory bound's bytes per local task (the group's only: a group is a small
        // part of a large graph).
        let task_bytes = opts.memory_limit.map(|_| {
            let g = &self.graph;
            group
                .inputs
                .iter()
                .chain(&group.tasks)
                .map(|&t| {
                    g.stages[g.task_stage[t as usize] as usize]
                        .memory
                        .value_bytes
                })
                .collect::<Vec<u64>>()
        });
        let sub = SubGraph {
            dag: Dag {
                offsets: &offsets,
                deps: &deps,
            },
            provided,
            global: Some(&group.tasks),
            targets,
        };
        let values = run_sub_graph(
            &self.graph,
            &sub,
            task_bytes.as_deref(),
            opts,
            OnFailure::Stop,
            None,
        )?;
        group
            .exports
            .iter()
            .zip(values)
            .map(|(&t, v)| v.map(|v| (t, v)))
            .collect()
    }

    /// The requested arrays, joined from the values of their blocks' tasks (the output
    /// tasks of [`TaskGraph::outputs`], as [`EnginePlan::run_group`] returned them).
    pub fn assemble(&self, values: &HashMap<u32, Value>) -> Result<Vec<DynArray>> {
        self.outputs
            .iter()
            .zip(&self.graph.outputs)
            .map(|(node, o)| {
                let blocks = o
                    .tasks
                    .iter()
                    .map(|t| match values.get(t) {
                        Some(Value::Array(a)) => Ok(a.clone()),
                        Some(other) => Err(Error::Engine(format!(
                            "the value of output task {t} ({}) is not an array: {other:?}",
                            self.stage_label(*t)
                        ))),
                        None => Err(Error::Engine(format!(
                            "the value of output task {t} ({} block {:?}) is missing",
                            self.stage_label(*t),
                            self.graph.block_of(*t)
                        ))),
                    })
                    .collect::<Result<Vec<_>>>()?;
                crate::compute::assemble(node, blocks)
            })
            .collect()
    }

    fn stage_label(&self, t: u32) -> String {
        self.graph
            .task_stage
            .get(t as usize)
            .map_or_else(|| "?".into(), |&s| self.graph.stages[s as usize].label())
    }
}

/// The plan's structural hash (see [`EnginePlan::fingerprint`]).
fn fingerprint(g: &TaskGraph, p: &Partition) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for s in &g.stages {
        (
            s.op,
            &s.nblocks,
            s.node.dtype(),
            s.node.meta().shape(),
            &s.inputs,
        )
            .hash(&mut h);
    }
    (&g.task_stage, &g.task_block, &g.dep_offsets, &g.deps).hash(&mut h);
    for o in &g.outputs {
        (o.stage, &o.tasks).hash(&mut h);
    }
    p.task_group.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DType, Distribution, UnaryOp};

    /// Runs every group in order, as an engine would; returns the assembled outputs.
    fn run_all(plan: &EnginePlan) -> Vec<DynArray> {
        let mut values: HashMap<u32, Value> = HashMap::new();
        for g in 0..plan.groups().len() {
            let inputs = plan.groups()[g]
                .inputs
                .iter()
                .map(|t| (*t, values[t].clone()))
                .collect();
            values.extend(
                plan.run_group(g, inputs, &ComputeOptions::default())
                    .unwrap(),
            );
        }
        plan.assemble(&values).unwrap()
    }

    fn small_groups() -> EngineOptions {
        EngineOptions {
            target_seconds: 1e-4,
            ..EngineOptions::default()
        }
    }

    #[test]
    fn groups_run_one_by_one_equal_the_local_run() {
        let uniform = Distribution::Uniform {
            low: 1.0,
            high: 2.0,
        };
        let x = Array::random(&[600, 300], &[100, 60], 3, DType::F64, uniform).unwrap();
        let a = (x.unary(UnaryOp::Exp).unwrap() - x.clone() / 3.0)
            .sum(Some(&[1]), false)
            .unwrap();
        let b = x.rechunk(&[300, 30]).unwrap().transpose(&[1, 0]).unwrap();
        let c = x.matmul(&x.transpose(&[1, 0]).unwrap()).unwrap();
        let outs = [&a, &b, &c];
        let plan = EnginePlan::new(&outs, &small_groups()).unwrap();
        assert!(plan.groups().len() > 3);
        let local = crate::compute_all(&outs, &ComputeOptions::default()).unwrap();
        assert_eq!(run_all(&plan), local);
        let again = EnginePlan::new(&outs, &small_groups()).unwrap();
        assert_eq!(plan.fingerprint(), again.fingerprint());
    }

    #[test]
    fn distances_run_by_groups() {
        let uniform = Distribution::Uniform {
            low: 0.0,
            high: 1.0,
        };
        let x = Array::random(&[500, 40], &[100, 20], 5, DType::F64, uniform).unwrap();
        let d = crate::distance::pairwise_distance(&x, None, crate::distance::Metric::Cityblock)
            .unwrap();
        let plan = EnginePlan::new(&[&d], &small_groups()).unwrap();
        assert!(plan.groups().len() > 1);
        let local = d.compute_dyn().unwrap();
        assert_eq!(run_all(&plan), vec![local]);
    }

    #[test]
    fn missing_or_extra_inputs_are_errors() {
        let x = Array::from_ndarray(ndarray::Array1::from_iter((0..400).map(f64::from)), &[10])
            .unwrap();
        let s = x.sum(None, false).unwrap();
        let plan = EnginePlan::new(&[&s], &small_groups()).unwrap();
        let last = plan.groups().len() - 1;
        assert!(!plan.groups()[last].inputs.is_empty());
        let e = plan
            .run_group(last, vec![], &ComputeOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("was not given"), "{e}");
        let e = plan
            .run_group(
                0,
                vec![(
                    9999,
                    Value::Array(DynArray::new(ndarray::arr0(1.0).into_dyn())),
                )],
                &ComputeOptions::default(),
            )
            .unwrap_err();
        assert!(e.to_string().contains("does not read"), "{e}");
        let e = plan
            .run_group(last + 1, vec![], &ComputeOptions::default())
            .unwrap_err();
        assert!(e.to_string().contains("no engine task"), "{e}");
        assert!(plan
            .assemble(&HashMap::new())
            .unwrap_err()
            .to_string()
            .contains("missing"));
        let bad = EngineOptions {
            target_seconds: f64::NAN,
            ..EngineOptions::default()
        };
        assert!(EnginePlan::new(&[&s], &bad).is_err());
    }
}
