//! `chunkwise._core`: the Python extension module. Thin bindings over the Rust crate; the
//! Array API namespace and the `Array` class are Python code in `py/python/chunkwise/`.
//!
//! Every call that computes (`compute`, `to_zarr`, `to_npy`, the linear algebra that runs
//! passes eagerly) releases the GIL while the kernels run; Ctrl-C cancels the run.

mod array;
mod convert;
mod engine;
mod error;

// Blocks and fused-program slabs of a megabyte or more are allocated and freed in every
// task. glibc's allocator maps and unmaps such blocks each time (its adaptive threshold
// is off in Dask workers, whose nannies set MALLOC_TRIM_THRESHOLD_), so every run paid
// its page faults again: a 128 MiB chunk of `sum(exp(x) - 1/x)` took 187 ms instead of
// 39 ms. mimalloc reuses the memory (as polars does in its extension).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use array::RawArray;
use chunkwise::distance::Metric;
use chunkwise::linalg::CompressedSvd;
use chunkwise::visualize::Level;
use chunkwise::zarr::{BloscCompressor, Codec, ZarrFormat, ZarrWrite, ZarrWriter};
use chunkwise::{Array, ComputeOptions, Distribution, DynArray, Progress};
use chunkwise_ir::{ChunkGrid, KernelCall, Node};
use convert::{dtype, operand, scalar, to_numpy};
use error::{IntoPyResult, PyResult};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// Wraps a NumPy array as a chunked array with regular chunks (one copy of the data).
#[pyfunction]
fn from_numpy(a: &Bound<'_, PyAny>, chunks: Vec<u64>) -> PyResult<RawArray> {
    let data = convert::from_numpy(a)?;
    Ok(Array::from_dyn(data, &chunks).py()?.into())
}

/// An array of `shape` filled with `value` cast to `dtype_name`.
#[pyfunction]
fn full(
    shape: Vec<u64>,
    chunks: Vec<u64>,
    value: &Bound<'_, PyAny>,
    dtype_name: &str,
) -> PyResult<RawArray> {
    let v = scalar(value)?.cast(dtype(dtype_name)?);
    Ok(Array::full(&shape, &chunks, v).py()?.into())
}

/// `n` values `start + i * step`, as `dtype_name` (computed in f64, then cast).
#[pyfunction]
fn arange(start: f64, step: f64, n: u64, chunk: u64, dtype_name: &str) -> PyResult<RawArray> {
    let grid = ChunkGrid::regular(&[n], &[chunk]).py()?;
    Ok(Array::from_node(Node::arange(grid, dtype(dtype_name)?, start, step).py()?).into())
}

/// Random numbers from a counter-based generator: `normal` or `uniform` (on `[low, high)`).
#[pyfunction]
#[pyo3(signature = (shape, chunks, seed, dtype_name, normal, a=0.0, b=1.0))]
fn random(
    shape: Vec<u64>,
    chunks: Vec<u64>,
    seed: u64,
    dtype_name: &str,
    normal: bool,
    a: f64,
    b: f64,
) -> PyResult<RawArray> {
    let dist = if normal {
        Distribution::Normal { mean: a, std: b }
    } else {
        Distribution::Uniform { low: a, high: b }
    };
    Ok(
        Array::random(&shape, &chunks, seed, dtype(dtype_name)?, dist)
            .py()?
            .into(),
    )
}

/// `where(cond, a, b)`; `a` and `b` may be Python scalars.
#[pyfunction]
fn where_(cond: &RawArray, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<RawArray> {
    Ok(Array::where_(&cond.inner, operand(a)?, operand(b)?)
        .py()?
        .into())
}

fn arrays(xs: &[PyRef<'_, RawArray>]) -> Vec<Array> {
    xs.iter().map(|a| a.inner.clone()).collect()
}

/// Joins arrays along an existing axis.
#[pyfunction]
fn concatenate(xs: Vec<PyRef<'_, RawArray>>, axis: isize) -> PyResult<RawArray> {
    Ok(Array::concatenate(&arrays(&xs), axis).py()?.into())
}

/// The arrays broadcast to their common shape.
#[pyfunction]
fn broadcast_arrays(xs: Vec<PyRef<'_, RawArray>>) -> PyResult<Vec<RawArray>> {
    Ok(Array::broadcast_arrays(&arrays(&xs))
        .py()?
        .into_iter()
        .map(RawArray::from)
        .collect())
}

/// Joins arrays along a new axis.
#[pyfunction]
fn stack(xs: Vec<PyRef<'_, RawArray>>, axis: isize) -> PyResult<RawArray> {
    Ok(Array::stack(&arrays(&xs), axis).py()?.into())
}

/// Runs `work` with the GIL released, on a thread of its own, while this thread waits and
/// checks for signals: Ctrl-C sets `cancel`, and the run stops with `KeyboardInterrupt`.
fn run_detached<T: Send>(
    py: Python<'_>,
    cancel: &AtomicBool,
    work: impl FnOnce() -> chunkwise::Result<T> + Send,
) -> PyResult<T> {
    let mut interrupted = None;
    let result = py.detach(|| {
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            scope.spawn(move || {
                let _ = tx.send(work());
            });
            loop {
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(r) => return r,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if interrupted.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                interrupted = Some(e);
                                cancel.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(chunkwise::Error::Cancelled);
                    }
                }
            }
        })
    });
    if let Some(e) = interrupted {
        return Err(e);
    }
    result.py()
}

/// The run options shared by every function that computes.
struct RunArgs {
    threads: usize,
    memory_limit: Option<u64>,
    spill_dir: Option<std::path::PathBuf>,
    progress: Option<Py<PyAny>>,
}

/// Builds [`ComputeOptions`] from `args` and runs `work` with them, detached.
fn with_options<T: Send>(
    py: Python<'_>,
    args: &RunArgs,
    work: impl FnOnce(&ComputeOptions<'_>) -> chunkwise::Result<T> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    let callback_error: Mutex<Option<PyErr>> = Mutex::new(None);
    let report = |p: Progress| {
        if let Some(cb) = &args.progress {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (p.done, p.total)) {
                    let mut slot = callback_error.lock().unwrap_or_else(|e| e.into_inner());
                    slot.get_or_insert(e);
                    cancel.store(true, Ordering::Relaxed);
                }
            })
        }
    };
    let opts = ComputeOptions {
        threads: args.threads,
        memory_limit: args.memory_limit,
        spill_dir: args.spill_dir.as_deref(),
        progress: args
            .progress
            .as_ref()
            .map(|_| &report as &(dyn Fn(Progress) + Sync)),
        cancel: Some(&cancel),
        ..Default::default()
    };
    let result = run_detached(py, &cancel, || work(&opts));
    if let Some(e) = callback_error
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
    {
        return Err(e);
    }
    result
}

/// Computes several arrays together (shared work computed once) into NumPy arrays.
#[pyfunction]
#[pyo3(signature = (xs, *, threads=0, memory_limit=None, spill_dir=None, progress=None))]
fn compute<'py>(
    py: Python<'py>,
    xs: Vec<PyRef<'py, RawArray>>,
    threads: usize,
    memory_limit: Option<u64>,
    spill_dir: Option<std::path::PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let inner = arrays(&xs);
    let args = RunArgs {
        threads,
        memory_limit,
        spill_dir,
        progress,
    };
    let values: Vec<DynArray> = with_options(py, &args, |opts| {
        let refs: Vec<&Array> = inner.iter().collect();
        chunkwise::compute_all(&refs, opts)
    })?;
    Ok(values.into_iter().map(|v| to_numpy(py, v)).collect())
}

/// Opens a Zarr array (V2 or V3) in its store chunks, or in compute chunks `chunks`.
#[pyfunction]
#[pyo3(signature = (path, chunks=None))]
fn from_zarr(path: std::path::PathBuf, chunks: Option<Vec<u64>>) -> PyResult<RawArray> {
    Ok(match chunks {
        None => Array::from_zarr(&path),
        Some(c) => Array::from_zarr_chunks(&path, &c),
    }
    .py()?
    .into())
}

/// The codec of a written Zarr array from its name and level.
fn codec(name: &str, level: Option<i32>) -> PyResult<Codec> {
    let small = |default: u8| -> PyResult<u8> {
        level.map_or(Ok(default), |l| {
            u8::try_from(l).map_err(|_| PyValueError::new_err(format!("bad level {l}")))
        })
    };
    Ok(match name {
        "none" => Codec::None,
        "zstd" => Codec::Zstd {
            level: level.unwrap_or(3),
        },
        "gzip" => Codec::Gzip {
            level: u32::from(small(5)?),
        },
        "blosc-lz4" | "blosc" => Codec::Blosc {
            cname: BloscCompressor::Lz4,
            clevel: small(5)?,
        },
        "blosc-zstd" => Codec::Blosc {
            cname: BloscCompressor::Zstd,
            clevel: small(5)?,
        },
        _ => {
            return Err(PyValueError::new_err(format!(
                "unknown codec {name:?} (none, zstd, gzip, blosc-lz4, blosc-zstd)"
            )))
        }
    })
}

/// The Zarr write options from their Python form.
fn zarr_write(
    zarr_format: u8,
    codec_name: &str,
    level: Option<i32>,
    chunks: Option<Vec<u64>>,
    shards: Option<Vec<u64>>,
    overwrite: bool,
) -> PyResult<ZarrWrite> {
    let format = match zarr_format {
        2 => ZarrFormat::V2,
        3 => ZarrFormat::V3,
        f => {
            return Err(PyValueError::new_err(format!(
                "zarr_format must be 2 or 3, not {f}"
            )))
        }
    };
    Ok(ZarrWrite {
        format,
        codec: codec(codec_name, level)?,
        chunks,
        shards,
        overwrite,
        ..Default::default()
    })
}

/// Computes `x` and writes it as a Zarr array, block by block; metadata last.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (x, path, *, zarr_format=3, codec_name="zstd", level=None, chunks=None,
                    shards=None, overwrite=false, threads=0, memory_limit=None,
                    spill_dir=None, progress=None))]
fn to_zarr(
    py: Python<'_>,
    x: &RawArray,
    path: std::path::PathBuf,
    zarr_format: u8,
    codec_name: &str,
    level: Option<i32>,
    chunks: Option<Vec<u64>>,
    shards: Option<Vec<u64>>,
    overwrite: bool,
    threads: usize,
    memory_limit: Option<u64>,
    spill_dir: Option<std::path::PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<()> {
    let write = zarr_write(zarr_format, codec_name, level, chunks, shards, overwrite)?;
    let args = RunArgs {
        threads,
        memory_limit,
        spill_dir,
        progress,
    };
    let inner = x.inner.clone();
    with_options(py, &args, |opts| inner.to_zarr_with(&path, &write, opts))
}

/// A Zarr write in steps (for an engine computing the blocks elsewhere): `step` is
/// `"prepare"` (check the options, prepare the directory; returns None), `"writes"` (the
/// array whose computation stores the blocks, one `uint8` 1 per block; touches nothing),
/// or `"finish"` (write the metadata, once every block is stored; returns None).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (step, x, path, *, zarr_format=3, codec_name="zstd", level=None,
                    chunks=None, shards=None, overwrite=false))]
fn zarr_write_step(
    step: &str,
    x: &RawArray,
    path: std::path::PathBuf,
    zarr_format: u8,
    codec_name: &str,
    level: Option<i32>,
    chunks: Option<Vec<u64>>,
    shards: Option<Vec<u64>>,
    overwrite: bool,
) -> PyResult<Option<RawArray>> {
    let write = zarr_write(zarr_format, codec_name, level, chunks, shards, overwrite)?;
    match step {
        "prepare" => ZarrWriter::create(&x.inner, &path, &write)
            .py()
            .map(|_| None),
        "writes" => {
            let w = ZarrWriter::describe(&x.inner, &path, &write).py()?;
            Ok(Some(w.writes().clone().into()))
        }
        "finish" => ZarrWriter::describe(&x.inner, &path, &write)
            .and_then(|w| w.finish())
            .py()
            .map(|()| None),
        _ => Err(PyValueError::new_err(format!(
            "step must be prepare, writes or finish, not {step:?}"
        ))),
    }
}

/// Reads a `.npy` file in chunks of `chunks`.
#[pyfunction]
fn from_npy(path: std::path::PathBuf, chunks: Vec<u64>) -> PyResult<RawArray> {
    Ok(Array::from_npy(&path, &chunks).py()?.into())
}

/// Pairwise distances between the rows of `x` (and of `y`), SciPy's metric names; `p` is
/// Minkowski's order.
#[pyfunction]
#[pyo3(signature = (x, y, metric, p=None))]
fn pairwise_distance(
    x: &RawArray,
    y: Option<&RawArray>,
    metric: &str,
    p: Option<f64>,
) -> PyResult<RawArray> {
    let m = match (Metric::from_name(metric), p) {
        (Some(Metric::Minkowski(_)), Some(p)) => Metric::Minkowski(p),
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(format!(
                "p is Minkowski's order; the {metric} metric takes none"
            )))
        }
        (Some(m), None) => m,
        (None, _) => return Err(PyValueError::new_err(format!("unknown metric {metric:?}"))),
    };
    Ok(
        chunkwise::distance::pairwise_distance(&x.inner, y.map(|y| &y.inner), m)
            .py()?
            .into(),
    )
}

/// Tall-and-skinny QR: `(q, r)`.
#[pyfunction]
fn tsqr(a: &RawArray) -> PyResult<(RawArray, RawArray)> {
    let (q, r) = chunkwise::linalg::tsqr(&a.inner).py()?;
    Ok((q.into(), r.into()))
}

/// Thin SVD of a tall-and-skinny matrix: `(u, s, vt)`.
#[pyfunction]
fn svd(py: Python<'_>, a: &RawArray) -> PyResult<(RawArray, RawArray, RawArray)> {
    let a = a.inner.clone();
    let cancel = AtomicBool::new(false);
    let (u, s, vt) = run_detached(py, &cancel, || chunkwise::linalg::svd(&a))?;
    Ok((u.into(), s.into(), vt.into()))
}

/// Randomized SVD of rank `k` (Halko et al.), as `dask.array.linalg.svd_compressed`.
#[pyfunction]
#[pyo3(signature = (a, k, n_power_iter=2, n_oversamples=10, seed=0, recompute_input=false))]
fn svd_compressed(
    py: Python<'_>,
    a: &RawArray,
    k: usize,
    n_power_iter: usize,
    n_oversamples: usize,
    seed: u64,
    recompute_input: bool,
) -> PyResult<(RawArray, RawArray, RawArray)> {
    let a = a.inner.clone();
    let opts = CompressedSvd {
        n_power_iter,
        n_oversamples,
        seed,
        recompute_input,
    };
    let cancel = AtomicBool::new(false);
    let (u, s, vt) = run_detached(py, &cancel, || {
        chunkwise::linalg::svd_compressed(&a, k, opts)
    })?;
    Ok((u.into(), s.into(), vt.into()))
}

/// `f(*blocks)` on the aligned blocks of `xs` (one shape and chunking): a Python function,
/// called with NumPy arrays under the GIL (so Python code runs one block at a time while
/// the rest of the graph runs in parallel). With `block_id`, the block's coordinates in the
/// block grid are passed as the keyword `block_id` (a tuple of ints, as Dask does). Its
/// result is converted with `numpy.asarray(result, dtype_name)` and must have the block's
/// shape; an exception fails the task with its text.
#[pyfunction]
#[pyo3(signature = (f, xs, dtype_name, name, block_id = false))]
fn map_blocks(
    f: Py<PyAny>,
    xs: Vec<PyRef<'_, RawArray>>,
    dtype_name: &str,
    name: &str,
    block_id: bool,
) -> PyResult<RawArray> {
    let dt = dtype(dtype_name)?;
    let dtype_name = dtype_name.to_owned();
    let inner = arrays(&xs);
    let refs: Vec<&Array> = inner.iter().collect();
    let kernel = move |call: &KernelCall<'_>| -> Result<DynArray, String> {
        Python::attach(|py| -> PyResult<Result<DynArray, String>> {
            let blocks = call.inputs.iter().map(|b| to_numpy(py, b.clone()));
            let args = PyTuple::new(py, blocks)?;
            let out = if block_id {
                let kwargs = PyDict::new(py);
                kwargs.set_item("block_id", PyTuple::new(py, call.block)?)?;
                f.call(py, args, Some(&kwargs))?
            } else {
                f.call1(py, args)?
            };
            let out = py
                .import("numpy")?
                .call_method1("asarray", (out, dtype_name.as_str()))?;
            let block = convert::from_numpy(&out)?;
            Ok(if block.shape() == call.shape {
                Ok(block)
            } else {
                Err(format!(
                    "the function returned a block of shape {:?} where {:?} was expected",
                    block.shape(),
                    call.shape
                ))
            })
        })
        .unwrap_or_else(|e| Err(e.to_string()))
    };
    Ok(Array::map_blocks_dyn(&refs, name, dt, kernel).py()?.into())
}

/// The graph of `xs` in Graphviz DOT: `level` is `layers`, `optimized` or `tasks`.
#[pyfunction]
fn to_dot(xs: Vec<PyRef<'_, RawArray>>, level: &str) -> PyResult<String> {
    let level = match level {
        "layers" => Level::Layers,
        "optimized" => Level::OptimizedLayers,
        "tasks" => Level::Tasks,
        _ => {
            return Err(PyValueError::new_err(format!(
                "level must be layers, optimized or tasks, not {level:?}"
            )))
        }
    };
    let inner = arrays(&xs);
    let refs: Vec<&Array> = inner.iter().collect();
    chunkwise::visualize::dot(&refs, level).py()
}

/// The chunkwise extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<RawArray>()?;
    m.add_class::<engine::Plan>()?;
    m.add_function(wrap_pyfunction!(self::from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(random, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(broadcast_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(compute, m)?)?;
    m.add_function(wrap_pyfunction!(from_zarr, m)?)?;
    m.add_function(wrap_pyfunction!(to_zarr, m)?)?;
    m.add_function(wrap_pyfunction!(zarr_write_step, m)?)?;
    m.add_function(wrap_pyfunction!(from_npy, m)?)?;
    m.add_function(wrap_pyfunction!(pairwise_distance, m)?)?;
    m.add_function(wrap_pyfunction!(tsqr, m)?)?;
    m.add_function(wrap_pyfunction!(svd, m)?)?;
    m.add_function(wrap_pyfunction!(svd_compressed, m)?)?;
    m.add_function(wrap_pyfunction!(to_dot, m)?)?;
    m.add_function(wrap_pyfunction!(map_blocks, m)?)?;
    m.add("DTYPES", chunkwise::DType::ALL.map(|d| d.name()).to_vec())?;
    Ok(())
}
