//! Optimization passes: optimize + lower a 10-op chain + sum, and slices of arrays of 10^4 to
//! 10^9 chunks (time should not grow with the array). The side-by-side comparison with Dask
//! is `benches/compare/run.sh`.
//!
//! `cargo bench --bench passes -- --noplot`

use chunkwise::{s, Array, DType, PassManager};
use chunkwise_passes::lower;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

fn ten_ops(x: &Array) -> Array {
    (((((((((x + 1.0) * 2.0) - 3.0) / 4.0) + x) * x) - 1.0) * 0.5) + 2.0) * 3.0
}

fn optimize_lower(c: &mut Criterion) {
    let mut g = c.benchmark_group("optimize_lower");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for blocks in [100_000u64, 1_000_000] {
        let x = Array::ones(&[blocks * 10], &[10], DType::F64).unwrap();
        let y = ten_ops(&x).sum(None, false).unwrap();
        let node = y.node().unwrap().clone();
        let pm = PassManager::standard();
        g.bench_with_input(BenchmarkId::from_parameter(blocks), &node, |b, n| {
            b.iter(|| {
                let opt = pm.run(std::slice::from_ref(n)).unwrap();
                lower(&opt.outputs).unwrap().len()
            })
        });
    }
    g.finish();
}

fn slice_cull(c: &mut Criterion) {
    let mut g = c.benchmark_group("slice_cull");
    g.sample_size(20).measurement_time(Duration::from_secs(2));
    for chunks in [10_000u64, 1_000_000, 100_000_000, 1_000_000_000] {
        let x = Array::ones(&[chunks * 10], &[10], DType::F64).unwrap() + 1.0;
        g.bench_with_input(BenchmarkId::new("slice_of_slice", chunks), &x, |b, x| {
            b.iter(|| {
                let y = x.slice(&[s(..100)]).unwrap().slice(&[s(5)]).unwrap();
                y.plan().unwrap().len()
            })
        });
        g.bench_with_input(BenchmarkId::new("first", chunks), &x, |b, x| {
            b.iter(|| x.slice(&[s(0)]).unwrap().plan().unwrap().len())
        });
    }
    g.finish();
}

criterion_group!(benches, optimize_lower, slice_cull);
criterion_main!(benches);
