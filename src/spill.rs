//! Spilling: with a memory limit, when nothing runs and the next task still does not fit,
//! the runtime hands held chunks to a [`SpillStore`], which writes them to `.npy` files in a
//! private directory of its own (inside
//! [`ComputeOptions::spill_dir`](crate::ComputeOptions::spill_dir) or the system's temporary
//! directory); a task that reads a spilled chunk gets it back from the
//! file first ([`SpillStore::read_back`]). Files go when their value is dropped, the
//! directory when the store is.

use crate::trace::Trace;
use chunkwise_backends::{KernelError, SpillFile, Value};
use std::borrow::Cow;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// Where one run's spilled chunks go.
pub(crate) struct SpillStore<'a> {
    /// Where the private directory goes (`None`: the system's temporary directory).
    parent: Option<&'a Path>,
    /// Made on the first spill (`chunkwise-spill-<pid>-*` in `parent`).
    dir: OnceLock<Option<tempfile::TempDir>>,
    /// Files written so far (their names).
    next: AtomicU64,
    /// Where spills are recorded, if the run is traced.
    trace: Option<&'a Trace>,
}

impl<'a> SpillStore<'a> {
    /// An empty store making its directory in `parent`; spills are recorded in `trace`.
    pub(crate) fn new(parent: Option<&'a Path>, trace: Option<&'a Trace>) -> SpillStore<'a> {
        SpillStore {
            parent,
            dir: OnceLock::new(),
            next: AtomicU64::new(0),
            trace,
        }
    }

    /// Writes an array chunk to a file and returns its stand-in; other values (reduction
    /// states, delayed values) and failed writes are declined (`None`: the value stays in
    /// memory).
    pub(crate) fn spill(&self, v: &Value) -> Option<Value> {
        let Value::Array(a) = v else {
            return None;
        };
        let dir = self.dir.get_or_init(|| {
            let mut b = tempfile::Builder::new();
            let prefix = format!("chunkwise-spill-{}-", std::process::id());
            b.prefix(&prefix);
            match self.parent {
                Some(p) => b.tempdir_in(p),
                None => b.tempdir(),
            }
            .ok()
        });
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = dir.as_ref()?.path().join(format!("{n}.npy"));
        crate::npy::write_npy(&path, a).ok()?;
        if let Some(t) = self.trace {
            t.record_spill(a.nbytes() as u64);
        }
        Some(Value::Spilled(Arc::new(SpillFile { path })))
    }

    /// `inputs` with every spilled chunk read back (borrowed when none is spilled).
    pub(crate) fn read_back(inputs: &[Value]) -> Result<Cow<'_, [Value]>, KernelError> {
        if !inputs.iter().any(|v| matches!(v, Value::Spilled(_))) {
            return Ok(Cow::Borrowed(inputs));
        }
        inputs
            .iter()
            .map(|v| match v {
                Value::Spilled(f) => crate::npy::read_npy(&f.path)
                    .map(Value::Array)
                    .map_err(|e| {
                        KernelError::BadInput(format!("reading back a spilled chunk: {e}"))
                    }),
                other => Ok(other.clone()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Cow::Owned)
    }
}
