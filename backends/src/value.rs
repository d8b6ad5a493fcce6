use crate::Location;
use chunkwise_ir::DynArray;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// The value of a task: a chunk, a reduction state or any Rust value (for `delayed` tasks).
/// Cloning is O(1) (reference counted).
#[derive(Clone)]
pub enum Value {
    /// An array chunk in host memory.
    Array(DynArray),
    /// Intermediate state of a tree reduction (e.g. `(sum, count)` for a mean), one array
    /// per component, each shaped like the block with reduced axes of length 1.
    State(Arc<[DynArray]>),
    /// Any other value.
    Any(Arc<dyn Any + Send + Sync>),
    /// An array chunk spilled to a local file to keep memory under a limit; it must be read
    /// back before a kernel uses it.
    Spilled(Arc<SpillFile>),
}

/// A chunk written to a local file; the file is removed when the last handle is dropped.
#[derive(Debug)]
pub struct SpillFile {
    /// The file.
    pub path: std::path::PathBuf,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Value {
    /// The chunk, if this value is one.
    pub fn as_array(&self) -> Option<&DynArray> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Where the value's data lives.
    pub fn location(&self) -> Location {
        match self {
            Value::Array(_) | Value::State(_) | Value::Any(_) => Location::Host,
            Value::Spilled(_) => Location::File,
        }
    }

    /// Bytes of array data held (0 for opaque values).
    pub fn nbytes(&self) -> usize {
        match self {
            Value::Array(a) => a.nbytes(),
            Value::State(s) => s.iter().map(DynArray::nbytes).sum(),
            Value::Any(_) | Value::Spilled(_) => 0,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Array(a) => write!(f, "Array({} {:?})", a.dtype(), a.shape()),
            Value::State(s) => write!(f, "State({} parts)", s.len()),
            Value::Any(_) => f.write_str("Any"),
            Value::Spilled(s) => write!(f, "Spilled({})", s.path.display()),
        }
    }
}
