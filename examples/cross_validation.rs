//! Nested cross-validation of ridge regression on a generated dataset, as a `delayed` graph:
//! an inner K-fold search over the penalty inside each outer fold, and the outer folds'
//! test scores. Every (outer fold, penalty, inner fold) fit is an independent task.
//!
//! ```text
//! cargo run --release --example cross_validation -- [--samples 20000] [--features 40]
//! ```
//!
//! It checks the delayed result against the same computation in a plain loop.

// Delayed functions take `&T` for the `T` a value is stored as (`&String`, `&Vec<_>`).
#![allow(clippy::ptr_arg)]

mod common;
use common::arg;

use chunkwise::delayed::{call1, call2, call3, call4, gather, value, Delayed};
use std::sync::Arc;
use std::time::Instant;

/// A regression dataset: `x` row-major `n x p`, targets `y`.
struct Data {
    x: Vec<f64>,
    y: Vec<f64>,
    p: usize,
}

const ALPHAS: [f64; 6] = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0];
const OUTER: usize = 5;
const INNER: usize = 4;

fn generate(n: usize, p: usize) -> Data {
    let mut s = 42u64;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let w: Vec<f64> = (0..p)
        .map(|j| {
            if j % 3 == 0 {
                0.0
            } else {
                (j as f64).sin() * 3.0
            }
        })
        .collect();
    let mut x = Vec::with_capacity(n * p);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let row: Vec<f64> = (0..p).map(|_| next() * 2.0).collect();
        y.push(row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + next() * 4.0);
        x.extend(row);
    }
    Data { x, y, p }
}

/// Rows of fold `k` of `folds` among `rows` (a contiguous split).
fn fold(rows: &[usize], k: usize, folds: usize) -> (Vec<usize>, Vec<usize>) {
    let (a, b) = (rows.len() * k / folds, rows.len() * (k + 1) / folds);
    let test = rows[a..b].to_vec();
    let train = rows[..a].iter().chain(&rows[b..]).copied().collect();
    (train, test)
}

/// Ridge regression on `rows`: solves (X'X + alpha I) w = X'y by Gaussian elimination.
fn fit(d: &Data, rows: &[usize], alpha: f64) -> Vec<f64> {
    let p = d.p;
    let mut a = vec![0.0; p * (p + 1)];
    for &r in rows {
        let xr = &d.x[r * p..(r + 1) * p];
        for i in 0..p {
            for j in 0..p {
                a[i * (p + 1) + j] += xr[i] * xr[j];
            }
            a[i * (p + 1) + p] += xr[i] * d.y[r];
        }
    }
    for i in 0..p {
        a[i * (p + 1) + i] += alpha;
    }
    for c in 0..p {
        let piv = a[c * (p + 1) + c];
        for r in c + 1..p {
            let f = a[r * (p + 1) + c] / piv;
            for k in c..=p {
                a[r * (p + 1) + k] -= f * a[c * (p + 1) + k];
            }
        }
    }
    let mut w = vec![0.0; p];
    for c in (0..p).rev() {
        let s: f64 = (c + 1..p).map(|k| a[c * (p + 1) + k] * w[k]).sum();
        w[c] = (a[c * (p + 1) + p] - s) / a[c * (p + 1) + c];
    }
    w
}

/// Mean squared error of `w` on `rows`.
fn mse(d: &Data, rows: &[usize], w: &[f64]) -> f64 {
    rows.iter()
        .map(|&r| {
            let pred: f64 = d.x[r * d.p..(r + 1) * d.p]
                .iter()
                .zip(w)
                .map(|(a, b)| a * b)
                .sum();
            (pred - d.y[r]) * (pred - d.y[r])
        })
        .sum::<f64>()
        / rows.len() as f64
}

fn outer_split(d: &Data, o: usize) -> (Vec<usize>, Vec<usize>) {
    fold(&(0..d.y.len()).collect::<Vec<_>>(), o, OUTER)
}

/// Inner score of `alpha` on inner fold `i` of outer fold `o`.
fn inner_score(d: &Data, o: &usize, i: &usize, alpha: &f64) -> f64 {
    let (train, _) = outer_split(d, *o);
    let (fit_rows, val_rows) = fold(&train, *i, INNER);
    mse(d, &val_rows, &fit(d, &fit_rows, *alpha))
}

/// The penalty with the lowest mean inner score.
fn select(scores: &Vec<Arc<f64>>) -> f64 {
    let per_alpha: Vec<f64> = (0..ALPHAS.len())
        .map(|a| (0..INNER).map(|i| *scores[a * INNER + i]).sum::<f64>() / INNER as f64)
        .collect();
    let best = (0..ALPHAS.len())
        .min_by(|&a, &b| per_alpha[a].total_cmp(&per_alpha[b]))
        .expect("alphas");
    ALPHAS[best]
}

/// Outer test score of outer fold `o`, refitting on its whole training part.
fn outer_score(d: &Data, o: &usize, alpha: &f64) -> (f64, f64) {
    let (train, test) = outer_split(d, *o);
    (*alpha, mse(d, &test, &fit(d, &train, *alpha)))
}

fn main() -> chunkwise::Result<()> {
    let (n, p): (usize, usize) = (arg("--samples", 20_000), arg("--features", 40));
    let data: Delayed<Data> = value("data", generate(n, p));
    let mut outer: Vec<Delayed<(f64, f64)>> = Vec::new();
    for o in 0..OUTER {
        let mut scores = Vec::new();
        for &alpha in &ALPHAS {
            for i in 0..INNER {
                scores.push(call4(
                    "inner_score",
                    |d: &Data, o: &usize, i: &usize, a: &f64| inner_score(d, o, i, a),
                    &data,
                    o,
                    i,
                    alpha,
                ));
            }
        }
        let best = call1("select", select, gather("inner-scores", &scores));
        outer.push(call3("outer_score", outer_score, &data, o, &best));
    }
    let report = call2(
        "report",
        |all: &Vec<Arc<(f64, f64)>>, _n: &usize| {
            let mean = all.iter().map(|s| s.1).sum::<f64>() / all.len() as f64;
            (all.iter().map(|s| **s).collect::<Vec<_>>(), mean)
        },
        gather("outer-scores", &outer),
        n,
    );
    let tasks = chunkwise::compute::plan(&[report.node().clone()], None)?.len();
    let t = Instant::now();
    let result = report.compute()?;
    let parallel = t.elapsed();
    let (folds, mean) = &*result;
    for (o, (alpha, score)) in folds.iter().enumerate() {
        println!("outer fold {o}: alpha {alpha:<6} test MSE {score:.4}");
    }
    println!(
        "nested CV ({OUTER} outer x {INNER} inner folds x {} penalties, {tasks} tasks): mean test MSE {mean:.4} in {:.2} s",
        ALPHAS.len(),
        parallel.as_secs_f64()
    );

    // The same computation in a plain loop.
    let t = Instant::now();
    let d = generate(n, p);
    let want: Vec<(f64, f64)> = (0..OUTER)
        .map(|o| {
            let scores: Vec<Arc<f64>> = ALPHAS
                .iter()
                .flat_map(|a| (0..INNER).map(move |i| (a, i)))
                .map(|(a, i)| Arc::new(inner_score(&d, &o, &i, a)))
                .collect();
            outer_score(&d, &o, &select(&scores))
        })
        .collect();
    let ok = want == *folds;
    println!(
        "plain loop: {:.2} s; results {}",
        t.elapsed().as_secs_f64(),
        if ok { "identical" } else { "MISMATCH" }
    );
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
