//! The chunkwise side of `benches/compare/run_flagship.sh` (the Dask side is
//! `dask_flagship.py`): one JSON line per measurement, the best of three runs in one process
//! when the first takes under 10 s (the rule of `dask_flagship.py`), with all run times.
//!
//! ```text
//! cargo run --release --example flagship_compare -- distance --metric euclidean --n 10000 --d 2000 --col-chunk 250 --row-chunk 2500
//!     (--metric: any SciPy name of chunkwise::distance::Metric; minkowski takes --p, default 2;
//!     --dtype f32 rounds the input to f32)
//! cargo run --release --example flagship_compare -- faer_gemm --n 10000 --d 2000 --threads 2
//! cargo run --release --example flagship_compare -- roofline --threads 2
//! cargo run --release --example flagship_compare -- svd_compressed --n 200000 --d 2000 --chunk 20000 --k 10 --iters 2 [--recompute 1]
//! cargo run --release --example flagship_compare -- tsqr_svd --n 1000000 --d 50 --chunk 100000
//! cargo run --release --example flagship_compare -- sum_exp --n 24000 --chunk 1000
//! cargo run --release --example flagship_compare -- chain --n 24000 --chunk 1000
//! cargo run --release --example flagship_compare -- rechunk --n 24000 --chunk 1000
//! ```
//!
//! The elementwise cases (issue 16's table) work on `x`, n x n uniform f64 in [0, 1)
//! generated in the graph in chunk x chunk blocks (rechunk: chunk x n row blocks):
//! `sum_exp` computes `sum(exp(x + 1) - 1 / (x + 1))`; `chain` the 13 operations of
//! [`chain`] and the sums over axis 0; `rechunk` assembles `x` rechunked to n x chunk column
//! blocks in memory.

mod common;
use common::arg;
#[path = "common/roofline.rs"]
mod roofline;
#[path = "common/timing.rs"]
mod timing;
use timing::timed_runs;

// Large blocks are allocated and freed in every pass; mimalloc reuses the memory instead of
// returning it to the kernel and faulting fresh pages in again (glibc's behaviour above its
// mmap threshold).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chunkwise::distance::{pairwise_distance, Metric};
use chunkwise::linalg::{svd, svd_compressed, CompressedSvd};
use chunkwise::{Array, DType};
use std::time::Instant;

/// faer's GEMM throughput on this machine: `x x^T` for `x` of `n x d`, on `threads` threads.
fn faer_gemm_gflops(n: usize, d: usize, threads: usize) -> f64 {
    let x = faer::Mat::<f64>::from_fn(n, d, |i, j| ((i * 31 + j * 17) % 101) as f64 / 101.0);
    let mut out = faer::Mat::<f64>::zeros(n, n);
    let par = if threads > 1 {
        faer::Par::rayon(threads)
    } else {
        faer::Par::Seq
    };
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        faer::linalg::matmul::matmul(
            out.as_mut(),
            faer::Accum::Replace,
            x.as_ref(),
            x.transpose(),
            1.0,
            par,
        );
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n * n * d) as f64 / best / 1e9
}

/// Thirteen elementwise operations with transcendental functions and divisions:
/// `(sin x cos x + sqrt x / (1 + x) - log1p x / (2 + x)) / 3 + x` (the same expression in
/// `dask_flagship.py`).
fn chain(x: &Array) -> Array {
    (x.sin() * x.cos() + x.sqrt() / (1.0 + x) - x.log1p() / (2.0 + x)) / 3.0 + x
}

fn main() -> chunkwise::Result<()> {
    let case = std::env::args().nth(1).unwrap_or_default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let row = match case.as_str() {
        "distance" => {
            let metric_name: String = arg("--metric", "euclidean".to_string());
            let (n, d): (u64, u64) = (arg("--n", 10_000), arg("--d", 2_000));
            let (cc, rc): (u64, u64) = (arg("--col-chunk", 250), arg("--row-chunk", 2_500));
            // The metric asked for, or a refusal: a row is never labelled with a metric it
            // did not compute.
            let metric = match Metric::from_name(&metric_name) {
                Some(Metric::Minkowski(_)) => Metric::Minkowski(arg("--p", 2.0)),
                Some(m) => m,
                None => {
                    eprintln!(
                        "flagship_compare distance: unknown --metric {metric_name:?} (SciPy names: euclidean, sqeuclidean, cityblock, minkowski [--p P], chebyshev, cosine, correlation, hamming, jaccard, braycurtis, canberra)"
                    );
                    std::process::exit(2);
                }
            };
            // --dtype f32: the same data rounded to f32 (the direct metrics compute in f32).
            let single = arg("--dtype", "f64".to_string()) == "f32";
            let mut x = Array::random_uniform(&[n, d], &[rc, cc], 1)?;
            if single {
                x = x.astype(DType::F32)?;
            }
            let flops = 2.0 * (n * n * d) as f64;
            let mut out = timed_runs(|| {
                let t = Instant::now();
                let dist = pairwise_distance(&x, None, metric)?;
                // Reduce to a checksum in the graph, so the n x n result is not assembled.
                let total = dist.sum(None, false)?.compute::<f64>()?;
                let secs = t.elapsed().as_secs_f64();
                Ok((secs, serde_json::json!({"checksum": total.iter().next()})))
            })?;
            let secs = out["seconds"].as_f64().unwrap_or(f64::NAN);
            // The GEMM rate: only the GEMM metrics do the 2 n^2 d flops of `x x^T`. The
            // direct metrics' rate in entry-pair steps: n (n + 1) / 2 pairs (the upper
            // triangle with the diagonal) of d entries each.
            if metric.uses_gemm() {
                out["gflops"] = (flops / secs / 1e9).into();
            } else {
                out["gsteps"] = ((n * (n + 1) / 2 * d) as f64 / secs / 1e9).into();
                out["workers"] = threads.into();
            }
            out["metric"] = metric.name().into();
            if single {
                out["impl"] = "chunkwise (f32)".into();
            }
            if let Metric::Minkowski(p) = metric {
                out["p"] = p.into();
            }
            out["param"] = n.into();
            out
        }
        "faer_gemm" => {
            let (n, d): (usize, usize) = (arg("--n", 10_000), arg("--d", 2_000));
            let th: usize = arg("--threads", threads);
            serde_json::json!({"impl": "faer", "threads": th, "param": n,
                "gflops": faer_gemm_gflops(n, d, th)})
        }
        "roofline" => {
            use roofline::{peak_steps, Acc};
            let th: usize = arg("--threads", threads);
            let rounds: u64 = arg("--rounds", 200_000_000);
            let mut row = serde_json::json!({"impl": "peak", "threads": th, "param": th});
            for (name, acc) in [("add", Acc::Add), ("max", Acc::Max)] {
                for (ty, single) in [("f64", false), ("f32", true)] {
                    // Best of three: the rate is a property of the machine.
                    let best = (0..3)
                        .filter_map(|_| peak_steps(acc, single, th, rounds))
                        .fold(None, |b: Option<f64>, r| Some(b.map_or(r, |b| b.max(r))));
                    let Some(best) = best else {
                        eprintln!("flagship_compare roofline: needs x86_64 with AVX2 (the vector instructions the kernels use); not measured");
                        std::process::exit(2);
                    };
                    row[format!("{name}_{ty}_gsteps")] = (best / 1e9).into();
                }
            }
            row
        }
        "svd_compressed" => {
            let (n, d, chunk): (u64, u64, u64) = (
                arg("--n", 200_000),
                arg("--d", 2_000),
                arg("--chunk", 20_000),
            );
            let (k, iters): (usize, usize) = (arg("--k", 10), arg("--iters", 2));
            // --recompute 1: recompute the input in every pass instead of holding it.
            let recompute = arg("--recompute", 0u8) == 1;
            let mut out = timed_runs(|| {
                let t = Instant::now();
                let x = Array::random_uniform(&[n, d], &[chunk, d], 0)?.astype(DType::F32)?;
                let opts = CompressedSvd {
                    n_power_iter: iters,
                    n_oversamples: 10,
                    seed: 1,
                    recompute_input: recompute,
                };
                let (u, s, vt) = svd_compressed(&x, k, opts)?;
                let out = chunkwise::compute_all(&[&u, &s, &vt], &Default::default())?;
                let secs = t.elapsed().as_secs_f64();
                let s: Vec<f64> = out[1]
                    .as_typed::<f64>()
                    .map(|a| a.iter().copied().collect())
                    .unwrap_or_default();
                Ok((secs, serde_json::json!({"s": s, "param": n})))
            })?;
            if recompute {
                out["impl"] = "chunkwise (recompute)".into();
            }
            out
        }
        "tsqr_svd" => {
            let (n, d, chunk): (u64, u64, u64) = (
                arg("--n", 1_000_000),
                arg("--d", 50),
                arg("--chunk", 100_000),
            );
            timed_runs(|| {
                let t = Instant::now();
                let x = Array::random_uniform(&[n, d], &[chunk, d], 0)?;
                let (u, s, vt) = svd(&x)?;
                // U is n x d: reduce it in the graph (its column norms are 1) instead of
                // assembling it.
                let unorm = (&u * &u).sum(Some(&[0]), false)?;
                let out = chunkwise::compute_all(&[&unorm, &s, &vt], &Default::default())?;
                let secs = t.elapsed().as_secs_f64();
                let s: Vec<f64> = out[1]
                    .as_typed::<f64>()
                    .map(|a| a.iter().copied().collect())
                    .unwrap_or_default();
                Ok((
                    secs,
                    serde_json::json!({"s_max": s.first(), "s_min": s.last(), "param": n}),
                ))
            })?
        }
        "sum_exp" | "chain" | "rechunk" => {
            let (n, chunk): (u64, u64) = (arg("--n", 24_000), arg("--chunk", 1_000));
            let mut out = timed_runs(|| {
                let t = Instant::now();
                let summary = match case.as_str() {
                    "rechunk" => {
                        let x = Array::random_uniform(&[n, n], &[chunk, n], 3)?;
                        let a = x.rechunk(&[n, chunk])?.compute::<f64>()?;
                        // Two entries to cross-check (the values are chunking-independent).
                        serde_json::json!({"x00": a.first(), "x_last": a.iter().last()})
                    }
                    _ => {
                        let x = Array::random_uniform(&[n, n], &[chunk, chunk], 3)?;
                        let r = if case == "chain" {
                            chain(&x).sum(Some(&[0]), false)?
                        } else {
                            let x1 = &x + 1.0;
                            (x1.exp() - 1.0 / &x1).sum(None, false)?
                        };
                        let v = r.compute::<f64>()?;
                        serde_json::json!({"checksum": v.sum(), "shape": v.shape()})
                    }
                };
                Ok((t.elapsed().as_secs_f64(), summary))
            })?;
            out["param"] = n.into();
            out["chunk"] = chunk.into();
            // Which math the unary functions ran on (CHUNKWISE_NO_MVEC=1: scalar libm).
            out["math"] = chunkwise_backends::cpu::vector_math().into();
            out
        }
        _ => {
            eprintln!(
                "usage: flagship_compare distance|faer_gemm|roofline|svd_compressed|tsqr_svd|sum_exp|chain|rechunk [options]"
            );
            std::process::exit(2);
        }
    };
    let mut row = row;
    row["case"] = case.clone().into();
    if row.get("impl").is_none() {
        row["impl"] = "chunkwise".into();
    }
    println!("{row}");
    Ok(())
}
