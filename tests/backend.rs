//! The backend seam: the pipeline runs every task through `ComputeOptions::backend`, and
//! brings the outputs to the host through it.

use chunkwise::{Array, ComputeOptions};
use chunkwise_backends::{cpu::CpuBackend, Backend, KernelError, Location, MemoryInfo, Value};
use chunkwise_ir::Stage;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The CPU backend, counting what the pipeline asks of it.
#[derive(Default)]
struct Counting {
    tasks: AtomicUsize,
    to_host: AtomicUsize,
}

impl Backend for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }
    fn execute(&self, stage: &Stage, block: u64, inputs: &[Value]) -> Result<Value, KernelError> {
        self.tasks.fetch_add(1, Ordering::Relaxed);
        CpuBackend.execute(stage, block, inputs)
    }
    fn memory(&self) -> MemoryInfo {
        CpuBackend.memory()
    }
    fn to_host(&self, value: Value) -> Result<Value, KernelError> {
        self.to_host.fetch_add(1, Ordering::Relaxed);
        CpuBackend.to_host(value)
    }
}

#[test]
fn every_task_runs_on_the_chosen_backend_and_outputs_come_to_the_host_through_it() {
    let x = Array::random_uniform(&[300, 200], &[100, 50], 7).unwrap();
    let y = ((&x * 2.0).exp() - &x).sum(Some(&[0]), false).unwrap();
    let want = y.compute::<f64>().unwrap();
    let backend = Counting::default();
    let opts = ComputeOptions {
        backend: Some(&backend),
        threads: 2,
        ..ComputeOptions::default()
    };
    let got = y.compute_with::<f64>(&opts).unwrap();
    assert_eq!(got, want);
    let g = y.plan().unwrap();
    assert_eq!(backend.tasks.load(Ordering::Relaxed), g.len());
    let output_blocks: usize = g.outputs.iter().map(|o| o.tasks.len()).sum();
    assert_eq!(backend.to_host.load(Ordering::Relaxed), output_blocks);
}

#[test]
fn the_cpu_backend_computes_in_host_memory() {
    let m = CpuBackend.memory();
    assert_eq!(m.location, Location::Host);
    if std::path::Path::new("/proc/meminfo").exists() {
        let (total, free) = (m.total.unwrap(), m.available.unwrap());
        assert!(free <= total && total > 1 << 20, "{m:?}");
    }
    let v = Value::Array(
        Array::zeros(&[3], &[3], chunkwise::DType::F64)
            .unwrap()
            .compute_dyn()
            .unwrap(),
    );
    assert_eq!(v.location(), Location::Host);
}
