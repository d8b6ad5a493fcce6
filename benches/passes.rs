//! Optimization passes: optimize + lower a 10-op chain + sum; slices of arrays of 10^4 to
//! 10^9 chunks (time should not grow with the array); a 10-op chain written as array code
//! over 1 GiB of f64, fused by the passes, against a copy of the same bytes (both on all
//! cores, into new 64 MiB blocks). The side-by-side comparison with Dask is
//! `benches/compare/run.sh`.
//!
//! `cargo bench --bench passes -- --noplot`

use chunkwise::compute::{run_graph, ComputeOptions};
use chunkwise::{s, Array, DType, PassManager};
use chunkwise_passes::lower;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

fn bandwidth(c: &mut Criterion) {
    let n = (1usize << 30) / 8;
    let chunk = (64 << 20) / 8;
    let data = ndarray::Array1::from_shape_fn(n, |i| 1.0 + (i % 1000) as f64 * 1e-3);
    let src = data.as_slice().unwrap();
    let parts: Vec<&[f64]> = src.chunks(chunk).collect();
    let threads = chunkwise_runtime::workers(0);
    let mut g = c.benchmark_group("bandwidth");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(1 << 30));
    g.bench_function("copy_1GiB", |b| {
        b.iter(|| {
            std::thread::scope(|sc| {
                let hs: Vec<_> = parts
                    .chunks(parts.len().div_ceil(threads))
                    .map(|ps| sc.spawn(move || ps.iter().map(|p| p.to_vec()).collect::<Vec<_>>()))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap().len())
                    .sum::<usize>()
            })
        })
    });
    let x = Array::from_ndarray(data.clone(), &[chunk as u64]).unwrap();
    let graph = ten_ops(&x).plan().unwrap();
    assert_eq!(graph.len(), 16, "one fused task per chunk");
    g.bench_function("chain10_fused_1GiB", |b| {
        b.iter(|| run_graph(&graph, &ComputeOptions::default()).unwrap().len())
    });
    g.finish();
}

criterion_group!(benches, optimize_lower, slice_cull, bandwidth);
criterion_main!(benches);
