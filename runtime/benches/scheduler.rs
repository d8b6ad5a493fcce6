//! Scheduler overhead: 100,000 trivial tasks in several shapes, on 1 and 2 threads.
//!
//! Reported times are per *run* of 100,000 tasks: divide by 10^5 for the per-task overhead
//! (e.g. 50 ms per run = 0.5 µs per task). Ordering alone is measured separately.

use std::hint::black_box;
use std::sync::Arc;

use chunkwise_runtime::{execute, order, Dag, RunOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Options with `threads` workers.
fn run_opts<V, E>(threads: usize) -> RunOptions<'static, V, E> {
    RunOptions {
        threads,
        ..RunOptions::default()
    }
}

const N: usize = 100_000;

struct Graph {
    offsets: Vec<u32>,
    deps: Vec<u32>,
    outputs: Vec<u32>,
}

impl Graph {
    fn new() -> Self {
        Graph {
            offsets: vec![0],
            deps: Vec::new(),
            outputs: Vec::new(),
        }
    }
    fn add(&mut self, deps: &[u32]) -> u32 {
        self.deps.extend_from_slice(deps);
        self.offsets.push(self.deps.len() as u32);
        (self.offsets.len() - 2) as u32
    }
    fn dag(&self) -> Dag<'_> {
        Dag {
            offsets: &self.offsets,
            deps: &self.deps,
        }
    }
}

/// N independent tasks, all outputs.
fn independent() -> Graph {
    let mut g = Graph::new();
    g.outputs = (0..N).map(|_| g.add(&[])).collect();
    g
}

/// N / 10 chains of 10 tasks; the chain ends are the outputs.
fn chains() -> Graph {
    let mut g = Graph::new();
    for _ in 0..N / 10 {
        let mut t = g.add(&[]);
        for _ in 1..10 {
            t = g.add(&[t]);
        }
        g.outputs.push(t);
    }
    g
}

/// Tree reduction with fan-in 4 (about N tasks in total).
fn tree() -> Graph {
    let mut g = Graph::new();
    let mut level: Vec<u32> = (0..N * 3 / 4).map(|_| g.add(&[])).collect();
    while level.len() > 1 {
        level = level.chunks(4).map(|c| g.add(c)).collect();
    }
    g.outputs.push(level[0]);
    g
}

fn bench(c: &mut Criterion) {
    let shapes = [
        ("independent", independent()),
        ("chains", chains()),
        ("tree", tree()),
    ];
    let mut group = c.benchmark_group("execute");
    group.sample_size(20);
    for (name, g) in &shapes {
        let n_tasks = order(g.dag(), &g.outputs).unwrap().len() as u64;
        group.throughput(Throughput::Elements(n_tasks));
        for threads in [1usize, 2] {
            group.bench_with_input(
                BenchmarkId::new(format!("{name}/u64"), threads),
                g,
                |b, g| {
                    b.iter(|| {
                        execute(
                            g.dag(),
                            &g.outputs,
                            |t, inputs: &[u64]| Ok::<_, ()>(inputs.iter().sum::<u64>() + t as u64),
                            &run_opts(threads),
                        )
                        .unwrap()
                        .into_values()
                        .unwrap()
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("{name}/arc"), threads),
                g,
                |b, g| {
                    b.iter(|| {
                        execute(
                            g.dag(),
                            &g.outputs,
                            |t, inputs: &[Arc<[u64; 4]>]| {
                                let s = inputs.iter().map(|x| x[0]).sum::<u64>() + t as u64;
                                Ok::<_, ()>(Arc::new([s; 4]))
                            },
                            &run_opts(threads),
                        )
                        .unwrap()
                        .into_values()
                        .unwrap()
                    })
                },
            );
        }
    }
    group.finish();

    let mut group = c.benchmark_group("order");
    group.sample_size(20);
    for (name, g) in &shapes {
        group.throughput(Throughput::Elements(g.offsets.len() as u64 - 1));
        group.bench_function(*name, |b| b.iter(|| black_box(order(g.dag(), &g.outputs))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
