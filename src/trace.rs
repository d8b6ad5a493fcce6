//! Per-task traces of a run, in the Chrome trace / Perfetto JSON format.
//!
//! Pass a [`Trace`] in [`ComputeOptions::trace`](crate::ComputeOptions) and every task that
//! runs records its layer, block, worker thread, start and end time and output bytes. Write it
//! with [`Trace::write`] and open the file in `chrome://tracing` or <https://ui.perfetto.dev>.
//!
//! ```
//! use chunkwise::{Array, ComputeOptions, Trace};
//! let x = Array::random_uniform(&[1000], &[100], 1).unwrap();
//! let y = (x.exp() * 2.0).sum(None, false).unwrap();
//! let trace = Trace::new();
//! y.compute_with::<f64>(&ComputeOptions { trace: Some(&trace), ..Default::default() }).unwrap();
//! assert_eq!(trace.len(), y.plan().unwrap().len());
//! let json: serde_json::Value = serde_json::from_str(&trace.to_chrome_json()).unwrap();
//! assert!(json["traceEvents"].as_array().unwrap().len() >= trace.len());
//! ```

use chunkwise_backends::{KernelError, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One task of a traced run.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskEvent {
    /// Task id in the task graph.
    pub task: u32,
    /// Label of the task's layer (and reduction step).
    pub label: String,
    /// Block coordinates.
    pub block: Vec<u64>,
    /// Worker thread: a small id, unique in the process (the JSON renumbers them 0..).
    pub thread: usize,
    /// Start, microseconds since the trace was created.
    pub start_us: f64,
    /// Duration, microseconds.
    pub duration_us: f64,
    /// Bytes of the task's output (array blocks and reduction states).
    pub bytes: u64,
    /// Number of dependencies.
    pub deps: usize,
    /// Whether the task failed.
    pub failed: bool,
}

/// Collects [`TaskEvent`]s from a run (thread-safe; one lock per finished task).
#[derive(Debug)]
pub struct Trace {
    t0: Instant,
    events: Mutex<Vec<TaskEvent>>,
    /// Chunks spilled to local files, and their bytes.
    spilled: AtomicU64,
    spilled_bytes: AtomicU64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static THREAD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

impl Trace {
    /// An empty trace; times are measured from now.
    pub fn new() -> Trace {
        Trace {
            t0: Instant::now(),
            events: Mutex::new(Vec::new()),
            spilled: AtomicU64::new(0),
            spilled_bytes: AtomicU64::new(0),
        }
    }

    /// Microseconds since the trace was created.
    pub(crate) fn now_us(&self) -> f64 {
        self.t0.elapsed().as_secs_f64() * 1e6
    }

    /// A small id of the calling thread.
    pub(crate) fn thread_id() -> usize {
        THREAD.with(|t| *t)
    }

    /// Runs task `task` (`run`) and records it, failing and panicking runs included (a
    /// panic is recorded, then goes on to the runtime).
    pub(crate) fn time_task(
        &self,
        task: u32,
        label: String,
        block: Vec<u64>,
        deps: usize,
        run: impl FnOnce() -> Result<Value, KernelError>,
    ) -> Result<Value, KernelError> {
        let start = self.now_us();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
        let end = self.now_us();
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(TaskEvent {
                task,
                label,
                block,
                thread: Trace::thread_id(),
                start_us: start,
                duration_us: end - start,
                bytes: match &caught {
                    Ok(Ok(v)) => v.nbytes() as u64,
                    _ => 0,
                },
                deps,
                failed: !matches!(caught, Ok(Ok(_))),
            });
        caught.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    }

    /// Counts a chunk of `bytes` spilled to a local file.
    pub(crate) fn record_spill(&self, bytes: u64) {
        self.spilled.fetch_add(1, Ordering::Relaxed);
        self.spilled_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Chunks the run spilled to local files (runs with a
    /// [`ComputeOptions::memory_limit`](crate::ComputeOptions::memory_limit) spill when
    /// ordering and back-pressure cannot keep the chunks held under the limit).
    pub fn spilled_chunks(&self) -> u64 {
        self.spilled.load(Ordering::Relaxed)
    }

    /// Bytes of the chunks spilled.
    pub fn spilled_bytes(&self) -> u64 {
        self.spilled_bytes.load(Ordering::Relaxed)
    }

    /// The events so far, in order of completion.
    pub fn events(&self) -> Vec<TaskEvent> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Whether no task was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The trace in Chrome trace format: one complete (`"ph": "X"`) event per task, with
    /// its block, bytes and dependency count in `args`, and a name for every worker thread.
    pub fn to_chrome_json(&self) -> String {
        let events = self.events();
        // Threads numbered 0.. in order of their ids, whatever ids other runs took.
        let mut threads: Vec<usize> = events.iter().map(|e| e.thread).collect();
        threads.sort_unstable();
        threads.dedup();
        let tid = |t: usize| threads.binary_search(&t).unwrap_or(0);
        let mut out: Vec<serde_json::Value> = (0..threads.len())
            .map(|t| {
                serde_json::json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": t,
                    "args": {"name": format!("worker {t}")}})
            })
            .collect();
        out.extend(events.iter().map(|e| {
            serde_json::json!({
                "name": e.label, "cat": if e.failed { "failed" } else { "task" }, "ph": "X",
                "ts": e.start_us, "dur": e.duration_us, "pid": 1, "tid": tid(e.thread),
                "args": {"task": e.task, "block": e.block, "bytes": e.bytes, "deps": e.deps},
            })
        }));
        serde_json::to_string(&serde_json::json!({
            "traceEvents": out,
            "displayTimeUnit": "ms",
            "otherData": {"producer": "chunkwise"},
        }))
        .expect("json values serialize")
    }

    /// Writes [`Trace::to_chrome_json`] to `path` (atomically: a temporary file renamed).
    pub fn write(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let tmp = path.with_extension("json.partial");
        std::fs::write(&tmp, self.to_chrome_json())?;
        std::fs::rename(&tmp, path)
    }
}
