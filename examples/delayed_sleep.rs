//! The inc/dec/add exercise of the Dask delayed tutorial: every call sleeps, so the run time
//! shows how many calls the runtime's thread pool runs at once.
//!
//! ```text
//! cargo run --release --example delayed_sleep -- [--workers 10] [--sleep-ms 100] [--n 30]
//! ```
//!
//! It runs the same graph with 1 worker and with `--workers` workers, prints both times and
//! the speed-up, and checks the result against plain Rust.

// Delayed functions take `&T` for the `T` a value is stored as (`&String`, `&Vec<_>`).
#![allow(clippy::ptr_arg)]

mod common;
use common::arg;

use chunkwise::delayed::{call1, gather, Delayed};
use chunkwise::{delayed, ComputeOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static SLEEP_MS: AtomicU64 = AtomicU64::new(100);

fn nap() {
    std::thread::sleep(Duration::from_millis(SLEEP_MS.load(Ordering::Relaxed)));
}

fn inc(x: &i64) -> i64 {
    nap();
    x + 1
}

fn dec(x: &i64) -> i64 {
    nap();
    x - 1
}

fn add(a: &i64, b: &i64) -> i64 {
    nap();
    a + b
}

fn main() -> chunkwise::Result<()> {
    let workers: usize = arg("--workers", 10);
    let n: i64 = arg("--n", 30);
    SLEEP_MS.store(arg::<u64>("--sleep-ms", 100), Ordering::Relaxed);

    // Build the graph: nothing runs yet.
    let sums: Vec<Delayed<i64>> = (0..n)
        .map(|x| {
            let a = delayed!(inc(x));
            let b = delayed!(dec(x));
            delayed!(add(&a, &b))
        })
        .collect();
    let total = call1(
        "total",
        |parts: &Vec<Arc<i64>>| parts.iter().map(|p| **p).sum::<i64>(),
        gather("sums", &sums),
    );
    let calls = 3 * n;
    let mut times = Vec::new();
    let mut result = 0;
    for w in [1, workers] {
        let t = Instant::now();
        let opts = ComputeOptions {
            threads: w,
            ..ComputeOptions::default()
        };
        result = *total.compute_with(&opts)?;
        times.push(t.elapsed().as_secs_f64());
        println!(
            "{w:>3} worker(s): {calls} sleeping calls of {} ms in {:.2} s",
            SLEEP_MS.load(Ordering::Relaxed),
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "speed-up with {workers} workers: {:.1}x",
        times[0] / times[1]
    );
    let want: i64 = (0..n).map(|x| (x + 1) + (x - 1)).sum();
    let ok = result == want;
    println!(
        "result {result}, plain Rust {want}: {}",
        if ok { "OK" } else { "MISMATCH" }
    );
    if ok {
        Ok(())
    } else {
        std::process::exit(1)
    }
}
