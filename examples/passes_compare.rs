//! The chunkwise side of `benches/compare/run.sh` (the Dask side is `dask_passes.py`): each
//! case prints one JSON line `{"case", "param", "seconds", "tasks", ...}`.
//!
//! ```text
//! cargo run --release --example passes_compare -- optimize_lower --blocks 100000
//! cargo run --release --example passes_compare -- slice_cull --chunks 1000000000 --expr first
//! cargo run --release --example passes_compare -- sum_exp --gib 2 --chunk-mib 64
//! cargo run --release --example passes_compare -- chain_bandwidth --gib 1 [--assembled 1]
//! ```

mod common;
use common::arg;

use chunkwise::compute::{output_arrays, run_graph, ComputeOptions};
use chunkwise::{s, Array, DType, PassManager};
use std::time::Instant;

/// The ten operations of the Dask script, written as ordinary array code.
fn ten_ops(x: &Array) -> Array {
    (((((((((x + 1.0) * 2.0) - 3.0) / 4.0) + x) * x) - 1.0) * 0.5) + 2.0) * 3.0
}

/// Best wall time of `f` over `reps` runs, and its last result.
fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one run"))
}

fn main() -> Result<(), chunkwise::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let case = args.first().map(String::as_str).unwrap_or("");
    match case {
        "optimize_lower" => {
            let n: u64 = arg("--blocks", 100000);
            let x = Array::ones(&[n * 10], &[10], DType::F64)?;
            let y = ten_ops(&x).sum(None, false)?;
            let node = y.node()?.clone();
            let pm = PassManager::standard();
            let (secs, (tasks, layers)) = best(3, || {
                let opt = pm.run(std::slice::from_ref(&node)).expect("optimizes");
                let g = chunkwise_passes::lower(&opt.outputs).expect("lowers");
                (g.len(), chunkwise_ir::layer::dep_order(&opt.outputs).len())
            });
            let unopt = chunkwise_passes::lower(std::slice::from_ref(&node))
                .expect("lowers")
                .len();
            println!(
                "{}",
                serde_json::json!({"case": case, "param": n, "seconds": secs, "tasks": tasks,
                    "layers": layers, "unoptimized_tasks": unopt,
                    "us_per_block": secs * 1e6 / n as f64})
            );
        }
        "slice_cull" => {
            let c: u64 = arg("--chunks", 1000000);
            let expr: String = arg("--expr", "first".to_string());
            let (secs, tasks) = best(3, || {
                let x = Array::ones(&[c * 10], &[10], DType::F64).expect("valid") + 1.0;
                let y = match expr.as_str() {
                    "first" => x.slice(&[s(0)]),
                    _ => x.slice(&[s(..100)]).and_then(|v| v.slice(&[s(5)])),
                }
                .expect("valid slice");
                y.plan().expect("plans").len()
            });
            println!(
                "{}",
                serde_json::json!({"case": case, "param": c, "expr": expr, "seconds": secs, "tasks": tasks})
            );
        }
        "sum_exp" => {
            let gib: f64 = arg("--gib", 2.0);
            let mib: u64 = arg("--chunk-mib", 64);
            let n = (gib * (1u64 << 30) as f64 / 8.0) as u64;
            let chunk = mib * (1 << 20) / 8;
            let t = Instant::now();
            let x = Array::random_uniform(&[n], &[chunk], 42)? + 1.0;
            let r = (x.exp() - 1.0 / &x).sum(None, false)?;
            let tasks = r.plan()?.len();
            let v = r.compute_with::<f64>(&ComputeOptions {
                threads: 2,
                ..ComputeOptions::default()
            })?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"case": case, "param": gib, "seconds": secs, "tasks": tasks,
                    "result": v.iter().next().copied().unwrap_or(f64::NAN)})
            );
        }
        "chain_bandwidth" => {
            let gib: f64 = arg("--gib", 1.0);
            let n = (gib * (1u64 << 30) as f64 / 8.0) as usize;
            let data = ndarray::Array1::from_shape_fn(n, |i| 1.0 + (i % 1000) as f64 * 1e-3);
            let chunk = (64 << 20) / 8;
            // Memory copy of the same bytes into new 64 MiB buffers (the chain also makes a
            // new block per chunk, so both pay the same page faults), on all cores as the
            // chain runs.
            let src = data.as_slice().expect("contiguous");
            let threads = chunkwise_runtime::workers(0);
            let parts: Vec<&[f64]> = src.chunks(chunk).collect();
            let per = parts.len().div_ceil(threads);
            let (copy, _) = best(3, || {
                std::thread::scope(|sc| {
                    let hs: Vec<_> = parts
                        .chunks(per)
                        .map(|ps| {
                            sc.spawn(move || ps.iter().map(|p| p.to_vec()).collect::<Vec<_>>())
                        })
                        .collect();
                    hs.into_iter()
                        .map(|h| h.join().expect("copy thread").len())
                        .sum::<usize>()
                })
            });
            let x = Array::from_ndarray(data.clone(), &[chunk as u64])?;
            let y = ten_ops(&x);
            // --assembled 1: plan, run and assemble one array per run (what `compute` and
            // the Python side do); by default the blocks of a plan made once.
            let assembled = arg("--assembled", 0u8) == 1;
            let (chain, first) = if assembled {
                let (secs, out) = best(5, || y.compute::<f64>().expect("runs"));
                (secs, out.iter().next().copied().unwrap_or(f64::NAN))
            } else {
                let g = y.plan()?;
                let opts = ComputeOptions::default();
                let (secs, blocks) = best(5, || {
                    output_arrays(&g, run_graph(&g, &opts).expect("runs")).expect("arrays")
                });
                let first = blocks[0][0].as_typed::<f64>().map(|a| a[0]);
                (secs, first.unwrap_or(f64::NAN))
            };
            let v = data[0];
            let want = (((((((((v + 1.0) * 2.0) - 3.0) / 4.0) + v) * v) - 1.0) * 0.5) + 2.0) * 3.0;
            assert_eq!(first, want, "the chain computes the expression");
            println!(
                "{}",
                serde_json::json!({"case": case, "param": gib, "seconds": chain, "copy_seconds": copy,
                    "fraction_of_copy": copy / chain, "threads": threads, "assembled": assembled,
                    "tasks": y.plan()?.len(), "layers": y.optimize()?.num_layers()?,
                    "gb_per_s": 2.0 * gib * 1.073741824 / chain})
            );
        }
        _ => {
            eprintln!(
                "usage: passes_compare optimize_lower|slice_cull|sum_exp|chain_bandwidth [options]"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
