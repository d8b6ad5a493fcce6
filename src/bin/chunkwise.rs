//! The `chunkwise` command: dump and run graph files, and a demo on built-in data.

use chunkwise::compute::{plan, run_assembled, without_final_rechunks, ComputeOptions};
use chunkwise::{s, Array, Error, PassManager, Trace};
use chunkwise_ir::{dump, serial, DynArray, Node, TaskGraph};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "chunkwise",
    version,
    about = "Graph compiler and runtime for chunked arrays"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Dot,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Level {
    /// The layers as built.
    Layers,
    /// The layers after the optimization passes.
    Optimized,
    /// The task graph that runs.
    Tasks,
}

#[derive(Subcommand)]
enum Command {
    /// Print a graph file: its layers, or with --lowered its task graph.
    Dump {
        /// Graph file (versioned JSON, see `chunkwise demo --write-graph`).
        graph: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Show the lowered task graph instead of the layers.
        #[arg(long)]
        lowered: bool,
        /// Show the graph after the optimization passes.
        #[arg(long)]
        optimized: bool,
    },
    /// Show what each optimization pass does to a graph file: layers, tasks, bytes read and
    /// moved, and estimated peak memory per task, before and after each pass.
    Explain {
        /// Graph file.
        graph: PathBuf,
        /// Also print the graph after each pass that changed it.
        #[arg(long)]
        graphs: bool,
        /// Machine-readable output (JSON).
        #[arg(long)]
        json: bool,
        /// Leave out a pass (repeatable), e.g. `--without blockwise-fusion`.
        #[arg(long)]
        without: Vec<String>,
    },
    /// Compute a graph file and write its outputs as .npy files or Zarr arrays.
    Run {
        /// Graph file.
        graph: PathBuf,
        /// Output file, once per graph output, in order: `X.npy`, or `X.zarr` (a Zarr V3
        /// array, zstd, written block by block as blocks are computed); other extensions
        /// are refused.
        #[arg(long = "out", required = true)]
        out: Vec<PathBuf>,
        /// Memory limit in bytes (suffixes K, M, G): tasks projected over it are refused,
        /// and running tasks wait for memory; chunks held over it are spilled to files.
        #[arg(long, value_parser = parse_bytes)]
        memory_limit: Option<u64>,
        /// Where chunks are spilled under --memory-limit: the run makes a private directory
        /// inside (`chunkwise-spill-<pid>-*`) and removes it when it ends (default: the
        /// system's temporary directory).
        #[arg(long, requires = "memory_limit")]
        spill_dir: Option<PathBuf>,
        /// Replace an existing Zarr array at a `.zarr` output (never anything that is not
        /// one). `.npy` outputs always replace an existing regular file.
        #[arg(long)]
        overwrite: bool,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// No progress bar and no status lines (errors are still reported).
        #[arg(long)]
        quiet: bool,
        /// Run the graph as built, without optimization passes.
        #[arg(long)]
        no_optimize: bool,
        /// Write a per-task trace (Chrome trace / Perfetto JSON) to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
    /// Draw a graph file with Graphviz: `.dot` text, or `.svg`/`.png`/`.pdf` rendered by the
    /// `dot` program (which must be installed for those).
    Visualize {
        /// Graph file.
        graph: PathBuf,
        /// Picture to write (.dot, .svg, .png or .pdf).
        #[arg(long)]
        out: PathBuf,
        /// What to draw.
        #[arg(long, value_enum, default_value = "layers")]
        level: Level,
    },
    /// Build and run a workload on built-in random data, print counts and timings, and
    /// check the result.
    Demo {
        /// Side of the square input array (elements, at least 1).
        #[arg(long, default_value_t = 4000, value_parser = clap::value_parser!(u64).range(1..))]
        size: u64,
        /// Chunk side (at least 1).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
        chunk: u64,
        /// Also write the demo's graph to this file (for `dump` and `run`).
        #[arg(long)]
        write_graph: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Write a per-task trace of the run (Chrome trace / Perfetto JSON) to this file.
        #[arg(long)]
        trace: Option<PathBuf>,
    },
}

/// A status line on stderr. Status lines are not the command's result: a closed, full or
/// broken stderr is ignored (`eprintln!` would panic and exit 101).
macro_rules! status {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Output on stdout (the command's result): a failed write is the command's error, not a
/// panic (`println!` panics on a broken pipe).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout(), $($arg)*).map_err(stdout_error)
    }};
}

/// `out!` with a newline.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*).map_err(stdout_error)
    }};
}

fn stdout_error(e: std::io::Error) -> Error {
    Error::File {
        path: "<standard output>".into(),
        message: e.to_string(),
    }
}

/// The output extensions `run` writes.
const OUTPUT_EXTENSIONS: [&str; 2] = ["npy", "zarr"];

/// Whether `path` names a Zarr output (`.zarr`), after [`check_output_path`].
fn is_zarr(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zarr"))
}

/// Refuses an output path whose extension `run` does not write (rather than writing it as
/// `.npy` under a misleading name).
fn check_output_path(path: &Path) -> Result<(), Error> {
    let ext = path.extension().and_then(|e| e.to_str());
    match ext {
        Some(e) if OUTPUT_EXTENSIONS.iter().any(|s| e.eq_ignore_ascii_case(s)) => Ok(()),
        _ => Err(Error::File {
            path: path.display().to_string(),
            message: format!(
                "--out: unsupported output {} (supported: {})",
                match ext {
                    Some(e) => format!("extension .{e}"),
                    None => "without an extension".into(),
                },
                OUTPUT_EXTENSIONS.map(|e| format!(".{e}")).join(", ")
            ),
        }),
    }
}

/// What a file type is, in words, for an error.
fn file_kind(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Refuses, before anything runs, an output path that exists and is not a regular file (a
/// `.zarr` output may also be a directory, under the rules of [`chunkwise::zarr`]): a
/// device, FIFO, socket or symbolic link is never replaced (`--out /dev/null` would
/// otherwise become a regular file). An existing Zarr array needs `--overwrite`.
fn check_output_target(path: &Path, overwrite: bool) -> Result<(), Error> {
    let refuse = |message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let ft = match std::fs::symlink_metadata(path) {
        Ok(m) => m.file_type(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(refuse(format!(
                "--out: cannot inspect the output path: {e}"
            )))
        }
    };
    let zarr = is_zarr(path);
    if !(ft.is_file() || (zarr && ft.is_dir())) {
        return Err(refuse(format!(
            "--out: the path exists and is {}, not a regular file{}: refusing to replace it",
            file_kind(ft),
            if zarr { " or directory" } else { "" }
        )));
    }
    let is_array = path.join("zarr.json").is_file() || path.join(".zarray").is_file();
    if zarr && ft.is_dir() && is_array && !overwrite {
        return Err(refuse(
            "--out: a Zarr array exists there (pass --overwrite to replace it)".into(),
        ));
    }
    Ok(())
}

fn read_graph(path: &Path) -> Result<Vec<Node>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    serial::from_json_with(&text, &|p: &str| chunkwise::zarr::open(p)).map_err(|e| Error::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn tasks_json(g: &TaskGraph) -> String {
    let stages: Vec<serde_json::Value> = g
        .stages
        .iter()
        .map(|s| serde_json::json!({"label": s.label(), "nblocks": s.nblocks, "inputs": s.inputs}))
        .collect();
    let tasks: Vec<serde_json::Value> = (0..g.len() as u32)
        .map(|t| serde_json::json!({"stage": g.task_stage[t as usize], "block": g.block_of(t), "deps": g.deps_of(t)}))
        .collect();
    let outputs: Vec<serde_json::Value> = g
        .outputs
        .iter()
        .map(|o| serde_json::json!({"stage": o.stage, "tasks": o.tasks}))
        .collect();
    serde_json::to_string_pretty(
        &serde_json::json!({"stages": stages, "tasks": tasks, "outputs": outputs}),
    )
    .expect("json values serialize")
}

fn progress_bar(quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} tasks ({per_sec}, eta {eta})",
        )
        .expect("valid template"),
    );
    Some(pb)
}

fn passes(no_optimize: bool) -> PassManager {
    if no_optimize {
        PassManager::none()
    } else {
        PassManager::standard()
    }
}

fn explain(graph: &Path, graphs: bool, json: bool, without: &[String]) -> Result<(), Error> {
    let nodes = read_graph(graph)?;
    let mut pm = PassManager::standard().with_stats(true).with_dumps(graphs);
    for w in without {
        if !pm.pass_names().contains(&w.as_str()) {
            return Err(Error::File {
                path: graph.display().to_string(),
                message: format!(
                    "--without {w}: no such pass (passes: {})",
                    pm.pass_names().join(", ")
                ),
            });
        }
        pm = pm.without(w);
    }
    let optimized = chunkwise::compute::optimize(&nodes, Some(&pm))?;
    let report = &optimized.report;
    // Lower only graphs of a size worth listing (the statistics are estimates without it).
    let lowered = if report.last().tasks <= 50_000_000 {
        let t0 = Instant::now();
        let g = chunkwise_passes::lower(&optimized.outputs)?;
        Some((g.len(), g.deps.len(), t0.elapsed().as_secs_f64() * 1e3))
    } else {
        None
    };
    // Layer-level culling: the needed blocks of every layer that runs tasks.
    let needed = chunkwise_passes::cull::needed_blocks(&optimized.outputs);
    let culling: Vec<(String, u64, u64)> = chunkwise_ir::layer::dep_order(&optimized.outputs)
        .iter()
        .map(|n| (n.label(), needed.blocks(n), n.chunks().total_blocks()))
        .collect();
    if json {
        let v = serde_json::json!({
            "graph": graph.display().to_string(),
            "report": report,
            "lowered_tasks": lowered.map(|l| l.0),
            "lowered_dependencies": lowered.map(|l| l.1),
            "lower_ms": lowered.map(|l| l.2),
            "unoptimized_tasks_estimate": report.initial.tasks,
            "needed_blocks": culling
                .iter()
                .map(|(l, n, t)| serde_json::json!({"layer": l, "needed": n, "blocks": t}))
                .collect::<Vec<_>>(),
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&v).expect("json values serialize")
        )?;
        return Ok(());
    }
    outln!("{}", dump::layers_text(&nodes))?;
    out!("{}", report.table())?;
    match lowered {
        Some((tasks, deps, ms)) => outln!(
            "lowered: {tasks} tasks ({} estimated without optimization), {deps} dependencies, in {ms:.2} ms",
            report.initial.tasks
        )?,
        None => outln!(
            "not lowered: about {} tasks (estimate)",
            report.last().tasks
        )?,
    }
    outln!("\nculling: needed blocks of each layer that runs tasks")?;
    for (label, n, total) in &culling {
        outln!("  {label}: {n} of {total}")?;
    }
    if graphs {
        for r in report.records.iter().filter(|r| r.changed) {
            outln!("\n--- after {} (round {}) ---", r.pass, r.round)?;
            out!("{}", r.graph.as_deref().unwrap_or(""))?;
        }
    } else {
        outln!("\n--- optimized ---")?;
        out!("{}", dump::layers_text(&optimized.outputs))?;
    }
    Ok(())
}

fn write_trace(trace: Option<&Trace>, path: Option<&Path>, quiet: bool) -> Result<(), Error> {
    if let (Some(t), Some(p)) = (trace, path) {
        t.write(p).map_err(|e| Error::File {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        if quiet {
            return Ok(());
        }
        let spilled = match t.spilled_chunks() {
            0 => String::new(),
            n => format!(" ({n} chunks spilled, {} bytes)", t.spilled_bytes()),
        };
        status!(
            "trace of {} tasks{spilled} written to {} (open it in https://ui.perfetto.dev or chrome://tracing)",
            t.len(),
            p.display()
        );
    }
    Ok(())
}

fn visualize(graph: &Path, out: &Path, level: Level) -> Result<(), Error> {
    let nodes = read_graph(graph)?;
    let text = match level {
        Level::Layers => dump::layers_dot(&nodes),
        Level::Optimized => dump::layers_dot(&chunkwise::compute::optimize(&nodes, None)?.outputs),
        Level::Tasks => dump::tasks_dot(&plan(&nodes, None)?),
    };
    chunkwise::visualize::write_dot(&text, out)?;
    status!("wrote {}", out.display());
    Ok(())
}

/// `123`, `64K`, `512M` or `2G` as bytes.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use K, M, G or T)"
            ))
        }
    };
    let n: f64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of bytes"))?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("{text:?} is not a number of bytes"));
    }
    Ok((n * (1u64 << shift) as f64) as u64)
}

struct RunArgs<'a> {
    out: &'a [PathBuf],
    memory_limit: Option<u64>,
    spill_dir: Option<&'a Path>,
    overwrite: bool,
    threads: usize,
    quiet: bool,
    no_optimize: bool,
    trace: Option<&'a Path>,
}

fn run(graph: &Path, args: RunArgs<'_>) -> Result<(), Error> {
    let RunArgs {
        out,
        memory_limit,
        spill_dir,
        overwrite,
        threads,
        quiet,
        no_optimize,
        trace: trace_path,
    } = args;
    for path in out {
        check_output_path(path)?;
        check_output_target(path, overwrite)?;
    }
    if let Some(d) = spill_dir.filter(|d| !d.is_dir()) {
        return Err(Error::File {
            path: d.display().to_string(),
            message: "--spill-dir: not a directory".into(),
        });
    }
    let nodes = read_graph(graph)?;
    if out.len() != nodes.len() {
        return Err(Error::File {
            path: graph.display().to_string(),
            message: format!(
                "the graph has {} outputs but {} --out files were given",
                nodes.len(),
                out.len()
            ),
        });
    }
    let t0 = Instant::now();
    let pb = progress_bar(quiet);
    let cb = |p: chunkwise_runtime::Progress| {
        if let Some(pb) = &pb {
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    };
    // One trace for the whole command: the Zarr runs, then the others.
    let trace = trace_path.map(|_| Trace::new());
    // Zarr outputs stream to their stores; the others are computed together.
    for (n, path) in nodes.iter().zip(out).filter(|(_, p)| is_zarr(p)) {
        let run = ComputeOptions {
            threads,
            progress: Some(&cb),
            trace: trace.as_ref(),
            memory_limit,
            spill_dir,
            ..ComputeOptions::default()
        };
        let write = chunkwise::zarr::ZarrWrite {
            overwrite,
            ..chunkwise::zarr::ZarrWrite::default()
        };
        chunkwise::Array::from_node(n.clone()).to_zarr_with(path, &write, &run)?;
        if let Some(pb) = &pb {
            pb.finish_and_clear();
        }
        if !quiet {
            status!("wrote {} ({} {:?})", path.display(), n.dtype(), n.shape());
        }
    }
    let (nodes, out): (Vec<Node>, Vec<PathBuf>) = nodes
        .into_iter()
        .zip(out.iter().cloned())
        .filter(|(_, p)| !is_zarr(p))
        .unzip();
    // A .npy file holds the whole array: its chunking is not observable.
    let nodes: Vec<Node> = nodes.iter().map(without_final_rechunks).collect();
    let g = plan(&nodes, Some(&passes(no_optimize)))?;
    let opts = ComputeOptions {
        threads,
        progress: Some(&cb),
        trace: trace.as_ref(),
        memory_limit,
        spill_dir,
        ..ComputeOptions::default()
    };
    // Each output is assembled as its blocks are computed, then written.
    let arrays = run_assembled(&g, &opts);
    write_trace(trace.as_ref(), trace_path, quiet)?;
    let arrays = arrays?;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    for (a, path) in arrays.iter().zip(&out) {
        chunkwise::npy::write_npy(path, a)?;
        if !quiet {
            status!("wrote {} ({} {:?})", path.display(), a.dtype(), a.shape());
        }
    }
    if !quiet {
        status!("{} tasks in {:.3} s", g.len(), t0.elapsed().as_secs_f64());
    }
    Ok(())
}

fn demo(
    size: u64,
    chunk: u64,
    write_graph: Option<&Path>,
    threads: usize,
    trace_path: Option<&Path>,
) -> Result<(), Error> {
    outln!(
        "chunkwise demo: a diamond of elementwise layers, a reduction and a slice of a huge array"
    )?;
    // 1. A diamond over a random array: d = (exp(x/4) - 1/(1+x)) * (x + 1) - sqrt(|x - 0.5|).
    let x = Array::random_uniform(&[size, size], &[chunk, chunk], 2026)?;
    let a = (&x / 4.0).exp() - 1.0 / (&x + 1.0);
    let b = &x + 1.0;
    let d = &a * &b - (&x - 0.5).abs().sqrt();
    let col_mean = d.mean(Some(&[0]), false)?;
    let total = d.sum(None, false)?;
    // 2. A slice of an array of 10^12 elements in 10^6 chunks: only one chunk is computed.
    let huge = Array::random_uniform(&[1_000_000, 1_000_000], &[1000, 1000], 7)?;
    let piece = (&huge * 2.0 + 1.0).slice(&[s(123_456), s(999_990..)])?;

    let outputs = [
        col_mean.node()?.clone(),
        total.node()?.clone(),
        piece.node()?.clone(),
    ];
    if let Some(p) = write_graph {
        std::fs::write(p, serial::to_json(&outputs)).map_err(|e| Error::File {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
        outln!("graph written to {}", p.display())?;
    }
    let n_layers = chunkwise_ir::topo_order(&outputs).len();
    let unoptimized = plan(&outputs, Some(&PassManager::none()))?.len();
    let t0 = Instant::now();
    let optimized = chunkwise::compute::optimize(&outputs, None)?;
    let g = chunkwise_passes::lower(&optimized.outputs)?;
    let t_lower = t0.elapsed();
    let fused_layers = chunkwise_ir::layer::dep_order(&optimized.outputs).len();
    // Element counts as f64: `size * size` overflows u64 for sides over 2^32.
    let elements = size as f64 * size as f64;
    outln!(
        "input: {size} x {size} f64 ({:.0} MiB) in {chunk} x {chunk} chunks; huge: 10^12 elements in 10^6 chunks",
        elements * 8.0 / (1 << 20) as f64
    )?;
    outln!(
        "layers: {n_layers} -> {fused_layers} after fusion; tasks: {unoptimized} -> {}, dependencies: {} (optimized and lowered in {:.2} ms)",
        g.len(),
        g.deps.len(),
        t_lower.as_secs_f64() * 1e3
    )?;
    let pb = progress_bar(false);
    let cb = |p: chunkwise_runtime::Progress| {
        if let Some(pb) = &pb {
            pb.set_length(p.total);
            pb.set_position(p.done);
        }
    };
    let t1 = Instant::now();
    let trace = trace_path.map(|_| Trace::new());
    let results = run_assembled(
        &g,
        &ComputeOptions {
            threads,
            progress: Some(&cb),
            trace: trace.as_ref(),
            ..ComputeOptions::default()
        },
    )?;
    write_trace(trace.as_ref(), trace_path, false)?;
    let t_run = t1.elapsed();
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let [col_mean, total, piece]: [DynArray; 3] = results
        .try_into()
        .map_err(|_| Error::InvalidGraph("the demo computes 3 outputs".into()))?;
    outln!(
        "computed in {:.3} s ({:.1} M elements/s)",
        t_run.as_secs_f64(),
        elements / t_run.as_secs_f64() / 1e6
    )?;

    // Check against eager ndarray evaluation of the same expression on the same data.
    let t2 = Instant::now();
    let xe = x.compute::<f64>()?;
    let de = xe.mapv(|v| ((v / 4.0).exp() - 1.0 / (1.0 + v)) * (v + 1.0) - (v - 0.5).abs().sqrt());
    // `--size` is at least 1 (checked by the argument parser), so the mean is defined.
    let mean_e = de.mean_axis(ndarray::Axis(0)).ok_or_else(|| Error::File {
        path: "demo".into(),
        message: "the demo needs a nonempty input (--size at least 1)".into(),
    })?;
    let total_e = de.sum();
    let cm = col_mean.as_typed::<f64>().expect("f64 result");
    let max_err = cm
        .iter()
        .zip(mean_e.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let tot = total
        .as_typed::<f64>()
        .expect("f64 result")
        .iter()
        .next()
        .copied()
        .unwrap_or(f64::NAN);
    let rel = ((tot - total_e) / total_e).abs();
    // The slice: random values depend only on position, so a differently chunked array
    // gives the same values.
    let huge2 = Array::random_uniform(&[1_000_000, 1_000_000], &[777, 5000], 7)?;
    let piece2 = (&huge2 * 2.0 + 1.0)
        .slice(&[s(123_456), s(999_990..)])?
        .compute::<f64>()?;
    let piece = piece.as_typed::<f64>().expect("f64 result");
    let ok_piece = piece.iter().zip(piece2.iter()).all(|(a, b)| a == b) && piece.len() == 10;
    outln!("eager check in {:.3} s: column means max abs error {max_err:.2e}, total relative error {rel:.2e}, huge slice {}",
        t2.elapsed().as_secs_f64(), if ok_piece { "equal across chunkings" } else { "MISMATCH" })?;
    if max_err < 1e-9 && rel < 1e-10 && ok_piece {
        outln!("result: OK")?;
        Ok(())
    } else {
        Err(Error::File {
            path: "demo".into(),
            message: "the demo's result does not match the eager reference".into(),
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Dump {
            graph,
            format,
            lowered,
            optimized,
        } => read_graph(&graph).and_then(|nodes| {
            let nodes = if optimized {
                chunkwise::compute::optimize(&nodes, None)?.outputs
            } else {
                nodes
            };
            let text = if lowered {
                let g = plan(&nodes, Some(&PassManager::none()))?;
                match format {
                    Format::Text => g.to_string(),
                    Format::Dot => dump::tasks_dot(&g),
                    Format::Json => tasks_json(&g),
                }
            } else {
                match format {
                    Format::Text => dump::layers_text(&nodes),
                    Format::Dot => dump::layers_dot(&nodes),
                    Format::Json => serial::to_json(&nodes),
                }
            };
            out!("{text}")
        }),
        Command::Run {
            graph,
            out,
            memory_limit,
            spill_dir,
            overwrite,
            threads,
            quiet,
            no_optimize,
            trace,
        } => run(
            &graph,
            RunArgs {
                out: &out,
                memory_limit,
                spill_dir: spill_dir.as_deref(),
                overwrite,
                threads,
                quiet,
                no_optimize,
                trace: trace.as_deref(),
            },
        ),
        Command::Visualize { graph, out, level } => visualize(&graph, &out, level),
        Command::Explain {
            graph,
            graphs,
            json,
            without,
        } => explain(&graph, graphs, json, &without),
        Command::Demo {
            size,
            chunk,
            write_graph,
            threads,
            trace,
        } => demo(
            size,
            chunk,
            write_graph.as_deref(),
            threads,
            trace.as_deref(),
        ),
    };
    // Output still buffered is part of the result: a failed flush is an error too.
    let r = r.and_then(|()| {
        use std::io::Write as _;
        std::io::stdout().flush().map_err(stdout_error)
    });
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            status!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
