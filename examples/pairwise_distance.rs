//! Pairwise distances between samples, as in genomics studies (sgkit's `pairwise_distance`):
//! a chunked map-reduce over column chunks, so the feature axis may be far larger than
//! memory.
//!
//! ```text
//! cargo run --release --example pairwise_distance -- [--n 4000] [--d 20000] [--col-chunk 2000]
//! ```
//!
//! It computes euclidean and correlation distances between the rows of a random matrix,
//! prints the time and throughput, and checks a sample of entries against a direct
//! computation.

mod common;
use common::arg;

use chunkwise::distance::{pairwise_distance, Metric};
use chunkwise::Array;
use std::time::Instant;

fn main() -> chunkwise::Result<()> {
    let (n, d): (u64, u64) = (arg("--n", 4_000), arg("--d", 20_000));
    let (cc, rc): (u64, u64) = (arg("--col-chunk", 2_000), arg("--row-chunk", 1_000));
    let x = Array::random_uniform(&[n, d], &[rc, cc], 7)?;
    println!("{n} vectors of {d} features, chunks {rc} x {cc}");
    let xs = x.compute::<f64>()?; // for the check only
    let mut ok = true;
    for metric in [Metric::Euclidean, Metric::Correlation] {
        let t = Instant::now();
        let dist = pairwise_distance(&x, None, metric)?.compute::<f64>()?;
        let secs = t.elapsed().as_secs_f64();
        let gflops = 2.0 * (n * n * d) as f64 / secs / 1e9;
        // Check 50 entries against a direct computation.
        let mut worst = 0.0f64;
        for k in 0..50u64 {
            let (i, j) = ((k * 7919 % n) as usize, (k * 104_729 % n) as usize);
            let (a, b) = (xs.row_view(i), xs.row_view(j));
            let want = direct(metric, &a, &b);
            let rel = (dist[[i, j]] - want).abs() / want.abs().max(1e-300);
            worst = worst.max(if i == j { dist[[i, j]].abs() } else { rel });
        }
        ok &= worst < 1e-9;
        println!(
            "{:<12} {secs:.2} s ({gflops:.1} GFLOP/s as GEMM), worst relative error on 50 entries {worst:.1e}",
            metric.name()
        );
    }
    println!("check: {}", if ok { "OK" } else { "MISMATCH" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}

trait RowView {
    fn row_view(&self, i: usize) -> Vec<f64>;
}

impl RowView for ndarray::ArrayD<f64> {
    fn row_view(&self, i: usize) -> Vec<f64> {
        self.index_axis(ndarray::Axis(0), i)
            .iter()
            .copied()
            .collect()
    }
}

fn direct(metric: Metric, a: &[f64], b: &[f64]) -> f64 {
    match metric {
        Metric::Correlation => {
            let (ma, mb) = (mean(a), mean(b));
            let (mut num, mut na, mut nb) = (0.0, 0.0, 0.0);
            for (x, y) in a.iter().zip(b) {
                num += (x - ma) * (y - mb);
                na += (x - ma) * (x - ma);
                nb += (y - mb) * (y - mb);
            }
            1.0 - num / (na * nb).sqrt()
        }
        _ => a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f64>()
            .sqrt(),
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}
