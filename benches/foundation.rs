//! Foundation benchmarks (see BENCHMARKS.md for results and commands):
//! - `lower/chain10_sum`: lowering a 10-op elementwise chain + sum over 10^6 blocks;
//! - `program/1GiB`: one 10-op expression program over 1 GiB of f64 on the CPU backend
//!   vs a plain copy of the same bytes, both on all cores, in the same run;
//! - `pipeline/1GiB`: the same program as a graph (from-array source + blockwise layer),
//!   lowered and run by the runtime.

use chunkwise::compute::{plan, run_graph, ComputeOptions};
use chunkwise::{Array, PassManager};
use chunkwise_backends::cpu::program::eval;
use chunkwise_ir::program::{BinaryOp, Program, UnaryOp};
use chunkwise_ir::{Blockwise, ChunkGrid, DType, DynArray, Kernel, Node};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::sync::Arc;
use std::time::Duration;

/// `((((x * 1.5 + 2) * x - 3) / 4) + abs(x)) * 0.5 + sqrt(x) - x * x`: 10 operations.
fn program10() -> Program {
    Program::build(vec![DType::F64], |b, i| {
        let x = i[0];
        let c = |b: &mut chunkwise_ir::program::ProgramBuilder, v: f64| b.constant(v.into());
        let k = c(b, 1.5);
        let t = b.binary(BinaryOp::Mul, x, k)?;
        let k = c(b, 2.0);
        let t = b.binary(BinaryOp::Add, t, k)?;
        let t = b.binary(BinaryOp::Mul, t, x)?;
        let k = c(b, 3.0);
        let t = b.binary(BinaryOp::Sub, t, k)?;
        let k = c(b, 4.0);
        let t = b.binary(BinaryOp::Div, t, k)?;
        let a = b.unary(UnaryOp::Abs, x)?;
        let t = b.binary(BinaryOp::Add, t, a)?;
        let k = c(b, 0.5);
        let t = b.binary(BinaryOp::Mul, t, k)?;
        let s = b.unary(UnaryOp::Sqrt, x)?;
        let t = b.binary(BinaryOp::Add, t, s)?;
        let sq = b.binary(BinaryOp::Mul, x, x)?;
        b.binary(BinaryOp::Sub, t, sq)
    })
    .expect("valid program")
}

fn lowering(c: &mut Criterion) {
    let mut g = c.benchmark_group("lower");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for &blocks in &[100_000u64, 1_000_000] {
        let x = Array::full(&[blocks * 10], &[10], 1.0f64).unwrap();
        let mut y = x;
        for i in 0..10 {
            y = if i % 2 == 0 { &y + 1.0 } else { &y * 0.5 };
        }
        let s = y.sum(None, false).unwrap();
        let n = s.node().unwrap().clone();
        let tasks = plan(std::slice::from_ref(&n), Some(&PassManager::none()))
            .unwrap()
            .len() as u64;
        g.throughput(Throughput::Elements(tasks));
        g.bench_function(format!("chain10_sum/{blocks}_blocks/{tasks}_tasks"), |b| {
            b.iter(|| {
                plan(std::slice::from_ref(&n), Some(&PassManager::none()))
                    .unwrap()
                    .len()
            })
        });
    }
    g.finish();
}

fn gib_chunks() -> Vec<DynArray> {
    // 1 GiB of f64 in 16 chunks of 64 MiB, values in [0, 1).
    (0..16)
        .map(|k| {
            let v: Vec<f64> = (0..(1usize << 23))
                .map(|i| ((i * 7 + k) % 1000) as f64 / 1000.0)
                .collect();
            DynArray::new(ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[1 << 23]), v).unwrap())
        })
        .collect()
}

fn par_over<T: Send>(chunks: &[DynArray], f: impl Fn(&DynArray) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let out: std::sync::Mutex<Vec<(usize, T)>> = Default::default();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= chunks.len() {
                    break;
                }
                let r = f(&chunks[i]);
                out.lock().unwrap().push((i, r));
            });
        }
    });
    let mut v = out.into_inner().unwrap();
    v.sort_by_key(|p| p.0);
    v.into_iter().map(|p| p.1).collect()
}

fn program_vs_copy(c: &mut Criterion) {
    let chunks = gib_chunks();
    let p = program10();
    let mut g = c.benchmark_group("program");
    g.sample_size(10).measurement_time(Duration::from_secs(15));
    g.throughput(Throughput::Bytes(1 << 30));
    g.bench_function("copy_1GiB", |b| {
        b.iter(|| {
            par_over(&chunks, |a| {
                a.as_typed::<f64>()
                    .unwrap()
                    .as_slice()
                    .unwrap()
                    .to_vec()
                    .len()
            })
        })
    });
    g.bench_function("eval10_1GiB", |b| {
        b.iter(|| {
            par_over(&chunks, |a| {
                eval(&p, std::slice::from_ref(a), &[1 << 23]).unwrap().len()
            })
        })
    });
    // The same through the whole pipeline: source layer + program layer, lowered and run.
    let data = DynArray::new(
        ndarray::concatenate(
            ndarray::Axis(0),
            &chunks
                .iter()
                .map(|a| a.as_typed::<f64>().unwrap().view())
                .collect::<Vec<_>>(),
        )
        .unwrap(),
    );
    drop(chunks);
    let src = Node::from_array(data, ChunkGrid::regular(&[1 << 27], &[1 << 23]).unwrap()).unwrap();
    let node = Node::blockwise(Blockwise {
        out_ind: b"a".to_vec(),
        inputs: vec![(src, b"a".to_vec())],
        new_axes: vec![],
        kernel: Kernel::Program(Arc::new(p)),
    })
    .unwrap();
    g.bench_function("pipeline10_1GiB", |b| {
        b.iter(|| {
            let tg = plan(std::slice::from_ref(&node), Some(&PassManager::none())).unwrap();
            run_graph(&tg, &ComputeOptions::default()).unwrap().len()
        })
    });
    g.finish();
}

criterion_group!(benches, lowering, program_vs_copy);
criterion_main!(benches);
