//! A load / clean / analyze / store pipeline over many input files, built with `delayed`:
//! every file's chain runs in parallel with the others, and a summary combines them.
//!
//! ```text
//! cargo run --release --example delayed_pipeline -- [--files 24] [--rows 200000]
//! ```
//!
//! The example writes its own input files (CSV lines `id,value`, with some unreadable
//! values and outliers) to a temporary folder, runs the pipeline, checks every result
//! against a plain sequential loop, and removes the folder.

// Delayed functions take `&T` for the `T` a value is stored as (`&String`, `&Vec<_>`).
#![allow(clippy::ptr_arg)]

mod common;
use common::arg;

use chunkwise::delayed::{call1, call2, gather, try_call1, Delayed};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Summary statistics of one file.
#[derive(Debug, Clone, PartialEq)]
struct Stats {
    file: String,
    n: usize,
    dropped: usize,
    mean: f64,
    std: f64,
}

fn load(path: &PathBuf) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// Parses the values, dropping unreadable ones and outliers (|v| > 1000).
fn clean(text: &String) -> (Vec<f64>, usize) {
    let mut dropped = 0;
    let mut values = Vec::new();
    for line in text.lines().skip(1) {
        match line
            .split(',')
            .nth(1)
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            Some(v) if v.is_finite() && v.abs() <= 1000.0 => values.push(v),
            _ => dropped += 1,
        }
    }
    (values, dropped)
}

fn analyze(name: &String, cleaned: &(Vec<f64>, usize)) -> Stats {
    let (v, dropped) = cleaned;
    let n = v.len();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n as f64 - 1.0);
    Stats {
        file: name.clone(),
        n,
        dropped: *dropped,
        mean,
        std: var.sqrt(),
    }
}

fn store(stats: &Stats, out_dir: &PathBuf) -> std::io::Result<PathBuf> {
    let path = out_dir.join(format!("{}.stats", stats.file));
    std::fs::write(
        &path,
        format!(
            "n={} dropped={} mean={} std={}\n",
            stats.n, stats.dropped, stats.mean, stats.std
        ),
    )?;
    Ok(path)
}

/// Writes the input files: values from a fixed pseudo-random sequence per file.
fn write_inputs(dir: &PathBuf, files: usize, rows: usize) -> Vec<(String, PathBuf)> {
    std::fs::create_dir_all(dir).expect("temporary folder");
    (0..files)
        .map(|f| {
            let mut s = 0x9e37_79b9_7f4a_7c15u64 ^ f as u64;
            let mut text = String::from("id,value\n");
            for i in 0..rows {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64;
                let value = match i % 97 {
                    0 => "not-a-number".to_string(),
                    1 => "".to_string(),
                    2 => format!("{}", 1e6 * (u + 1.0)),
                    _ => format!("{}", (u - 0.5) * 20.0 + f as f64),
                };
                text.push_str(&format!("{i},{value}\n"));
            }
            let name = format!("part-{f:03}");
            let path = dir.join(format!("{name}.csv"));
            std::fs::write(&path, text).expect("input file");
            (name, path)
        })
        .collect()
}

fn main() -> chunkwise::Result<()> {
    let files: usize = arg("--files", 24);
    let rows: usize = arg("--rows", 200_000);
    let root = std::env::temp_dir().join(format!("chunkwise-pipeline-{}", std::process::id()));
    let out_dir = root.join("out");
    std::fs::create_dir_all(&out_dir).expect("output folder");
    let inputs = write_inputs(&root.join("in"), files, rows);

    // The graph: load -> clean -> analyze -> store per file, and a summary over all files.
    let t = Instant::now();
    let mut stats: Vec<Delayed<Stats>> = Vec::new();
    let mut stored: Vec<Delayed<PathBuf>> = Vec::new();
    for (name, path) in &inputs {
        let text = try_call1("load", load, path.clone());
        let cleaned = call1("clean", clean, &text);
        let s = call2("analyze", analyze, name.clone(), &cleaned);
        stored.push(chunkwise::delayed::try_call2(
            "store",
            store,
            &s,
            out_dir.clone(),
        ));
        stats.push(s);
    }
    let summary = call2(
        "summary",
        |all: &Vec<Arc<Stats>>, written: &Vec<Arc<PathBuf>>| {
            let n: usize = all.iter().map(|s| s.n).sum();
            let mean = all.iter().map(|s| s.mean * s.n as f64).sum::<f64>() / n as f64;
            (n, mean, written.len())
        },
        gather("all-stats", &stats),
        gather("all-stored", &stored),
    );
    let built = t.elapsed();
    let (n, mean, written) = *summary.compute()?;
    let parallel = t.elapsed() - built;
    println!(
        "{files} files x {rows} rows: graph built in {:.1} ms, run in {:.2} s on all cores",
        built.as_secs_f64() * 1e3,
        parallel.as_secs_f64()
    );
    println!("{n} clean values, overall mean {mean:.6}, {written} result files written");

    // Check: the same steps in a plain sequential loop.
    let t = Instant::now();
    let want: Vec<Stats> = inputs
        .iter()
        .map(|(name, path)| analyze(name, &clean(&load(path).expect("readable"))))
        .collect();
    let sequential = t.elapsed();
    let got = chunkwise::delayed::compute_many(&stats, &Default::default())?;
    let mut ok = written == files && want.iter().map(|s| s.n).sum::<usize>() == n;
    for ((name, _), (w, g)) in inputs.iter().zip(want.iter().zip(&got)) {
        ok &= **g == *w && out_dir.join(format!("{name}.stats")).exists();
    }
    println!(
        "plain sequential loop (without the stores): {:.2} s; results {}",
        sequential.as_secs_f64(),
        if ok { "OK" } else { "MISMATCH" }
    );
    std::fs::remove_dir_all(&root).ok();
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
