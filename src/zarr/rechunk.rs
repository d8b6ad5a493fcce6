//! Rechunking a store: [`plan_rechunk`] and [`rechunk_zarr`] (direct or in two stages).

use super::{open, store_name, Codec, ZarrFormat, ZarrWrite};
use crate::error::{Error, Result};
use crate::{Array, ComputeOptions};
use chunkwise_ir::memory::task_peak_bytes;
use chunkwise_ir::{StoreError, StoreErrorKind};
use std::path::Path;

/// One stage of a [`RechunkPlan`]: read in blocks of `read`, write chunks of `write`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RechunkStage {
    /// Compute blocks (each reads its region of the stage's source).
    pub read: Vec<u64>,
    /// Chunks written.
    pub write: Vec<u64>,
    /// Projected bytes of one task, by the memory model's sum
    /// ([`chunkwise_ir::memory::task_peak_bytes`]): the block read (its output), the same
    /// block again as the writer's input (encoded while written) and one decoded source
    /// chunk.
    pub task_bytes: u64,
}

/// How [`rechunk_zarr`] moves an array from one chunking to another under a memory limit
/// (Dask's `plan_rechunk` and rechunker's rule).
///
/// The direct plan reads each target block from the source chunks it overlaps. When that
/// reads the source many times over (more than 4 x (source chunks + target chunks) chunk
/// reads, Dask's threshold), the data goes through an intermediate store whose chunks are
/// the per-axis minimum of source and target chunks (their greatest common divisor when
/// the smaller does not divide the larger) of stage 1's read blocks and the target chunks:
/// stage 1 reads whole source chunks and writes intermediate chunks, stage 2 reads whole
/// intermediate chunks and writes target chunks.
/// Every chunk is then read once per stage, whatever the two chunkings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RechunkPlan {
    /// The stages, in order (one or two).
    pub stages: Vec<RechunkStage>,
    /// Source chunk reads of the direct plan.
    pub direct_reads: u64,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Chunks of `chunk` along an axis of length `n` overlapped by the blocks of `block`.
fn overlaps(n: u64, chunk: u64, block: u64) -> u64 {
    (0..n.div_ceil(block))
        .map(|j| {
            let (lo, hi) = (j * block, ((j + 1) * block).min(n));
            (hi - 1) / chunk - lo / chunk + 1
        })
        .sum()
}

/// Plans the rechunking of an array of `shape` and `itemsize` from `source` chunks to
/// `target` chunks for `workers` parallel tasks (a run's count is
/// [`chunkwise_runtime::workers`] of its threads); an error when a stage's task would not
/// fit in `memory_limit`. Stage 1 of a two-stage plan reads as many whole source chunks per
/// task as `workers` such tasks fit in the limit.
pub fn plan_rechunk(
    shape: &[u64],
    itemsize: u64,
    source: &[u64],
    target: &[u64],
    memory_limit: u64,
    workers: usize,
) -> Result<RechunkPlan> {
    if source.len() != shape.len() || target.len() != shape.len() || target.contains(&0) {
        return Err(chunkwise_ir::IrError::InvalidChunks(format!(
            "cannot rechunk shape {shape:?} from {source:?} to {target:?}"
        ))
        .into());
    }
    let bytes = |c: &[u64]| {
        c.iter()
            .zip(shape)
            .fold(itemsize, |a, (&c, &n)| a.saturating_mul(c.min(n).max(1)))
    };
    let stage = |read: &[u64], write: &[u64], decoded: &[u64]| RechunkStage {
        read: read.to_vec(),
        write: write.to_vec(),
        task_bytes: task_peak_bytes(bytes(read), bytes(read), bytes(decoded)),
    };
    let direct_reads: u64 = (0..shape.len())
        .map(|a| overlaps(shape[a], source[a], target[a]))
        .fold(1, u64::saturating_mul);
    let blocks = |c: &[u64]| -> u64 { c.iter().zip(shape).map(|(&c, &n)| n.div_ceil(c)).product() };
    let stages = if direct_reads <= 4 * (blocks(source) + blocks(target)) {
        vec![stage(target, target, source)]
    } else {
        // Stage 1 reads whole source chunks, several at a time along the axes where the
        // target's chunks are longer, as long as the workers' tasks fit in the limit
        // together: fewer, larger intermediate chunks.
        let budget = memory_limit / workers.max(1) as u64;
        let mut read = source.to_vec();
        for a in 0..shape.len() {
            while target[a] > read[a] && read[a] < shape[a] && target[a].is_multiple_of(2 * read[a])
            {
                read[a] *= 2;
                if stage(&read, &read, source).task_bytes > budget {
                    read[a] /= 2;
                    break;
                }
            }
        }
        let inter: Vec<u64> = read
            .iter()
            .zip(target)
            .map(|(&s, &t)| {
                let (lo, hi) = (s.min(t), s.max(t));
                if hi.is_multiple_of(lo) {
                    lo
                } else {
                    gcd(s, t)
                }
            })
            .collect();
        vec![stage(&read, &inter, source), stage(target, target, &inter)]
    };
    for (i, st) in stages.iter().enumerate() {
        if st.task_bytes > memory_limit {
            return Err(Error::MemoryLimit {
                layer: format!("rechunk stage {} (blocks {:?})", i + 1, st.read),
                projected: st.task_bytes,
                limit: memory_limit,
            });
        }
    }
    Ok(RechunkPlan {
        stages,
        direct_reads,
    })
}

/// Rechunks the Zarr array at `src` into a new Zarr array at `dst` with chunks `target`,
/// writing with `opts`' format and codec, each stage run with `run` under
/// `run.memory_limit` (required). Arrays larger than memory go through an intermediate
/// store next to `dst` (`<dst>.rechunk-tmp`, uncompressed, removed at the end) when
/// [`plan_rechunk`] says so. Returns the plan.
pub fn rechunk_zarr(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    target: &[u64],
    opts: &ZarrWrite,
    run: &ComputeOptions<'_>,
) -> Result<RechunkPlan> {
    let (src, dst) = (src.as_ref(), dst.as_ref());
    let limit = run.memory_limit.ok_or_else(|| {
        Error::Store(StoreError::new(
            StoreErrorKind::Refused,
            store_name(dst),
            "rechunk_zarr needs ComputeOptions::memory_limit",
        ))
    })?;
    let source = open(src)?;
    let workers = chunkwise_runtime::workers(run.threads);
    let plan = plan_rechunk(
        &source.shape,
        source.dtype.size() as u64,
        &source.store_chunks,
        target,
        limit,
        workers,
    )?;
    let tmp = dst.with_extension("rechunk-tmp");
    let mut from = src.to_path_buf();
    for (i, st) in plan.stages.iter().enumerate() {
        let last = i + 1 == plan.stages.len();
        let to = if last { dst.to_path_buf() } else { tmp.clone() };
        let write = if last {
            ZarrWrite {
                chunks: Some(st.write.clone()),
                shards: None,
                ..opts.clone()
            }
        } else {
            ZarrWrite {
                format: ZarrFormat::V3,
                codec: Codec::None,
                chunks: Some(st.write.clone()),
                shards: None,
                overwrite: true,
                checksum: true,
            }
        };
        let result =
            Array::from_zarr_chunks(&from, &st.read).and_then(|a| a.to_zarr_with(&to, &write, run));
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        from = to;
    }
    if plan.stages.len() > 1 {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(plan)
}
