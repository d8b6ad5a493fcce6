//! The chunkwise side of `benches/compare/run_zarr.sh` (the Dask / zarr-python side is
//! `dask_zarr.py`, on the same stores from `make_zarr_bench_stores.py`): one JSON line per
//! measurement, the best of three runs in one process when the first takes under 10 s.
//!
//! ```text
//! cargo run --release --example zarr_compare -- mean --store S [--memory-limit-mb M]
//! cargo run --release --example zarr_compare -- decode --store S
//! cargo run --release --example zarr_compare -- rechunk --src S --dst D --chunks R,C --memory-limit-mb M
//! ```

mod common;
use common::arg;
#[path = "common/timing.rs"]
mod timing;
use timing::timed_runs;

// As in flagship_compare: large buffers are reused instead of being returned to the kernel
// and faulted in again (glibc's behaviour above its mmap threshold).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chunkwise::zarr::{rechunk_zarr, ZarrWrite};
use chunkwise::{Array, ComputeOptions};
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;

fn mib(name: &str) -> Option<u64> {
    let m: f64 = arg(name, 0.0);
    (m > 0.0).then_some((m * 1048576.0) as u64)
}

fn main() -> chunkwise::Result<()> {
    let case = std::env::args().nth(1).unwrap_or_default();
    let store: String = arg("--store", String::new());
    let mut row = match case.as_str() {
        "mean" => {
            let limit = mib("--memory-limit-mb");
            let x = Array::from_zarr(&store)?;
            let bytes = x.shape().iter().product::<u64>() * x.dtype().size() as u64;
            let mut out = timed_runs(|| {
                let t = Instant::now();
                let x = Array::from_zarr(&store)?;
                let opts = ComputeOptions {
                    memory_limit: limit,
                    ..ComputeOptions::default()
                };
                let m = x.mean(Some(&[0]), false)?.compute_dyn_with(&opts)?;
                let secs = t.elapsed().as_secs_f64();
                let m = m.cast(chunkwise::DType::F64);
                let sum: f64 = m.as_typed::<f64>().map_or(f64::NAN, |a| a.sum());
                Ok((
                    secs,
                    serde_json::json!({"checksum": sum, "out_dtype": x.dtype().to_string()}),
                ))
            })?;
            out["gbps"] = (bytes as f64 / out["seconds"].as_f64().unwrap_or(f64::NAN) / 1e9).into();
            out["bytes"] = bytes.into();
            out["mem_limit_mb"] = (limit.unwrap_or(0) as f64 / 1048576.0).into();
            out
        }
        "decode" => {
            // zarrs alone: every chunk decoded once, on as many threads as cores.
            let fs = zarrs::filesystem::FilesystemStore::new(&store).map_err(|e| {
                chunkwise::Error::File {
                    path: store.clone(),
                    message: e.to_string(),
                }
            })?;
            let array = zarrs::array::Array::open(Arc::new(fs), "/").map_err(|e| {
                chunkwise::Error::File {
                    path: store.clone(),
                    message: e.to_string(),
                }
            })?;
            let grid = array.chunk_grid_shape().to_vec();
            let bytes = array.shape().iter().product::<u64>() * 4;
            let mut out = timed_runs(|| {
                let t = Instant::now();
                let n: u64 = grid.iter().product();
                let decoded: u64 = (0..n)
                    .into_par_iter()
                    .map(|i| {
                        let mut idx = vec![0u64; grid.len()];
                        chunkwise_ir::grid::unravel_into(i, &grid, &mut idx);
                        let opts = zarrs::array::CodecOptions::default().with_concurrent_target(1);
                        let v: Vec<f32> = array
                            .retrieve_chunk_opt(&idx, &opts)
                            .expect("chunk decodes");
                        v.len() as u64
                    })
                    .sum();
                let secs = t.elapsed().as_secs_f64();
                Ok((secs, serde_json::json!({"elements": decoded})))
            })?;
            out["gbps"] = (bytes as f64 / out["seconds"].as_f64().unwrap_or(f64::NAN) / 1e9).into();
            out["impl"] = "zarrs".into();
            out
        }
        "rechunk" => {
            let (src, dst): (String, String) =
                (arg("--src", String::new()), arg("--dst", String::new()));
            let chunks: Vec<u64> = arg("--chunks", String::new())
                .split(',')
                .map(|c| c.trim().parse().expect("--chunks R,C"))
                .collect();
            let limit = mib("--memory-limit-mb");
            // The source's codec (zstd level 1), as dask_zarr.py writes.
            let opts = ZarrWrite {
                overwrite: true,
                codec: chunkwise::zarr::Codec::Zstd { level: 1 },
                ..ZarrWrite::default()
            };
            let run = ComputeOptions {
                memory_limit: limit,
                ..ComputeOptions::default()
            };
            let x = Array::from_zarr(&src)?;
            let bytes = x.shape().iter().product::<u64>() * x.dtype().size() as u64;
            let mut out = timed_runs(|| {
                let _ = std::fs::remove_dir_all(&dst);
                let t = Instant::now();
                let plan = rechunk_zarr(&src, &dst, &chunks, &opts, &run)?;
                let secs = t.elapsed().as_secs_f64();
                let stages: Vec<String> = plan
                    .stages
                    .iter()
                    .map(|s| format!("{:?}->{:?}", s.read, s.write))
                    .collect();
                Ok((secs, serde_json::json!({"stages": stages})))
            })?;
            // Checked after the clock: the first column equals the source's.
            let a = Array::from_zarr(&dst)?.slice(&[chunkwise::s(..), chunkwise::s(0)])?;
            let b = x.slice(&[chunkwise::s(..), chunkwise::s(0)])?;
            out["same_first_column"] = (a.compute_dyn()? == b.compute_dyn()?).into();
            out["gbps"] = (bytes as f64 / out["seconds"].as_f64().unwrap_or(f64::NAN) / 1e9).into();
            out["mem_limit_mb"] = (limit.unwrap_or(0) as f64 / 1048576.0).into();
            out
        }
        _ => {
            eprintln!("usage: zarr_compare mean|decode|rechunk [options]");
            std::process::exit(2);
        }
    };
    row["case"] = case.clone().into();
    if row.get("impl").is_none() {
        row["impl"] = "chunkwise".into();
    }
    println!("{row}");
    Ok(())
}
