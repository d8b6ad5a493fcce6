//! `Plan`: an engine plan ([`chunkwise::engine::EnginePlan`]) held by Python, for
//! `chunkwise.distributed`: the graph cut into engine tasks, each run where Dask places it.
//!
//! Values crossing engine tasks are NumPy arrays (blocks) and tuples of NumPy arrays
//! (reduction states); an engine task's result is a dict from task id to value.

use crate::array::RawArray;
use crate::convert::{from_numpy, to_numpy};
use crate::error::{IntoPyResult, PyResult};
use crate::{run_detached, with_options, RunArgs};
use chunkwise::engine::{EngineOptions, EnginePlan};
use chunkwise::Value;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A graph optimized, lowered and cut into engine tasks.
#[pyclass(module = "chunkwise._core", name = "Plan", frozen)]
pub struct Plan {
    inner: Arc<EnginePlan>,
}

/// A value crossing engine tasks as a Python object.
fn value_to_py(py: Python<'_>, v: Value) -> PyResult<Bound<'_, PyAny>> {
    match v {
        Value::Array(a) => Ok(to_numpy(py, a)),
        Value::State(parts) => {
            let items: Vec<_> = parts.iter().map(|a| to_numpy(py, a.clone())).collect();
            Ok(PyTuple::new(py, items)?.into_any())
        }
        other => Err(PyTypeError::new_err(format!(
            "an engine task's value cannot leave it: {other:?}"
        ))),
    }
}

/// A Python object (a NumPy array, or a tuple of them) as a value.
fn value_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    if let Ok(t) = obj.cast::<PyTuple>() {
        let parts = t
            .iter()
            .map(|p| from_numpy(&p))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Value::State(parts.into()));
    }
    Ok(Value::Array(from_numpy(obj)?))
}

/// The values of the tasks `wanted` in result dicts (task id to value).
fn values_of(
    results: &[Bound<'_, PyDict>],
    wanted: impl Fn(u32) -> bool,
) -> PyResult<HashMap<u32, Value>> {
    let mut out = HashMap::new();
    for d in results {
        for (k, v) in d.iter() {
            let t: u32 = k.extract()?;
            if wanted(t) {
                out.insert(t, value_from_py(&v)?);
            }
        }
    }
    Ok(out)
}

#[pymethods]
impl Plan {
    /// Optimizes, lowers and partitions the graph of `xs` (planning runs with the GIL
    /// released).
    #[new]
    #[pyo3(signature = (xs, *, target_seconds=0.1, memory_bound=None, max_groups=10_000))]
    fn new(
        py: Python<'_>,
        xs: Vec<PyRef<'_, RawArray>>,
        target_seconds: f64,
        memory_bound: Option<u64>,
        max_groups: u64,
    ) -> PyResult<Plan> {
        let arrays: Vec<chunkwise::Array> = xs.iter().map(|a| a.inner.clone()).collect();
        let opts = EngineOptions {
            target_seconds,
            memory_bound,
            max_groups,
            max_tasks: None,
        };
        let cancel = AtomicBool::new(false);
        let plan = run_detached(py, &cancel, || {
            let refs: Vec<&chunkwise::Array> = arrays.iter().collect();
            EnginePlan::new(&refs, &opts)
        })?;
        Ok(Plan {
            inner: Arc::new(plan),
        })
    }

    /// The plan's structural hash, hex (equal wherever the same arrays were planned).
    #[getter]
    fn fingerprint(&self) -> String {
        format!("{:016x}", self.inner.fingerprint())
    }

    /// Number of engine tasks.
    #[getter]
    fn num_groups(&self) -> usize {
        self.inner.groups().len()
    }

    /// Number of chunkwise tasks of the lowered graph.
    #[getter]
    fn num_tasks(&self) -> usize {
        self.inner.graph().len()
    }

    /// Engine task `g`: a dict with `deps` (the engine tasks it reads), `label`, `tasks`,
    /// `work_bytes`, `held_bytes` and `exports` (the number of values it hands on).
    fn group<'py>(&self, py: Python<'py>, g: usize) -> PyResult<Bound<'py, PyDict>> {
        let gr = self.inner.groups().get(g).ok_or_else(|| {
            PyValueError::new_err(format!(
                "no engine task {g}: the plan has {}",
                self.num_groups()
            ))
        })?;
        let d = PyDict::new(py);
        d.set_item("deps", gr.deps.clone())?;
        d.set_item("label", self.inner.label(g))?;
        d.set_item("tasks", gr.tasks.len())?;
        d.set_item("work_bytes", gr.work)?;
        d.set_item("held_bytes", gr.held)?;
        d.set_item("exports", gr.exports.len())?;
        Ok(d)
    }

    /// Per output, per block in C order: `(engine task, task id)` of the block's value.
    fn output_tasks(&self) -> Vec<Vec<(u32, u32)>> {
        let groups = self.inner.task_group();
        self.inner
            .graph()
            .outputs
            .iter()
            .map(|o| o.tasks.iter().map(|&t| (groups[t as usize], t)).collect())
            .collect()
    }

    /// Runs engine task `g` given the results (dicts from task id to value) of the engine
    /// tasks it reads, any order; returns its own result dict. Kernels run with the GIL
    /// released on `threads` threads (0: all cores) under `memory_limit`.
    #[pyo3(signature = (g, deps, *, threads=0, memory_limit=None, spill_dir=None))]
    fn run<'py>(
        &self,
        py: Python<'py>,
        g: usize,
        deps: Vec<Bound<'py, PyDict>>,
        threads: usize,
        memory_limit: Option<u64>,
        spill_dir: Option<std::path::PathBuf>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let wanted: std::collections::HashSet<u32> = self
            .inner
            .groups()
            .get(g)
            .map_or_else(Default::default, |gr| gr.inputs.iter().copied().collect());
        let inputs = values_of(&deps, |t| wanted.contains(&t))?
            .into_iter()
            .collect();
        let args = RunArgs {
            threads,
            memory_limit,
            spill_dir,
            progress: None,
        };
        let plan = self.inner.clone();
        let values = with_options(py, &args, |opts| plan.run_group(g, inputs, opts))?;
        let out = PyDict::new(py);
        for (t, v) in values {
            out.set_item(t, value_to_py(py, v)?)?;
        }
        Ok(out)
    }

    /// The requested arrays as NumPy arrays, from the result dicts of the engine tasks
    /// holding their blocks.
    fn assemble<'py>(
        &self,
        py: Python<'py>,
        results: Vec<Bound<'py, PyDict>>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let wanted: std::collections::HashSet<u32> = self
            .inner
            .graph()
            .outputs
            .iter()
            .flat_map(|o| o.tasks.iter().copied())
            .collect();
        let values = values_of(&results, |t| wanted.contains(&t))?;
        let arrays = self.inner.assemble(&values).py()?;
        Ok(arrays.into_iter().map(|a| to_numpy(py, a)).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "Plan({} engine tasks, {} tasks, fingerprint {})",
            self.num_groups(),
            self.num_tasks(),
            self.fingerprint()
        )
    }
}
