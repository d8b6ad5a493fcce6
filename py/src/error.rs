//! chunkwise errors as Python exceptions of the matching built-in type.
//!
//! | Rust error | Python exception |
//! |---|---|
//! | bad index or slice ([`IrError::InvalidSlice`]) | `IndexError` |
//! | dtype problems (unsupported, unknown, mismatch) | `TypeError` |
//! | the memory limit ([`Error::MemoryLimit`], [`Error::OutputsOverMemoryLimit`]) | `MemoryError` |
//! | stores, .npy and graph files, and tasks that failed reading them | `OSError` |
//! | a failed or panicked task, a cancelled run, an invalid task graph | `RuntimeError` |
//! | every other graph-building error (shapes, chunks, axes, arguments), a misused engine plan | `ValueError` |
//!
//! The message is the Rust error's text.

use chunkwise::Error;
use chunkwise_ir::IrError;
use pyo3::exceptions::{
    PyIndexError, PyMemoryError, PyOSError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::PyErr;

/// Converts a chunkwise error into the Python exception of its kind.
pub fn to_py(e: Error) -> PyErr {
    let text = e.to_string();
    if e.store_error().is_some() {
        return PyOSError::new_err(text);
    }
    match &e {
        Error::Graph(g) => ir_to_py(g, text),
        Error::MemoryLimit { .. } | Error::OutputsOverMemoryLimit { .. } => {
            PyMemoryError::new_err(text)
        }
        Error::DTypeMismatch { .. } => PyTypeError::new_err(text),
        Error::Npy(_) | Error::Store(_) | Error::File { .. } => PyOSError::new_err(text),
        Error::Lower(_) | Error::Pass(_) | Error::Engine(_) => PyValueError::new_err(text),
        Error::Task { .. } | Error::Panicked { .. } | Error::InvalidGraph(_) | Error::Cancelled => {
            PyRuntimeError::new_err(text)
        }
    }
}

fn ir_to_py(e: &IrError, text: String) -> PyErr {
    match e {
        IrError::InvalidSlice(_) => PyIndexError::new_err(text),
        IrError::UnsupportedDType(_) | IrError::UnknownDType(_) => PyTypeError::new_err(text),
        IrError::Store(_) => PyOSError::new_err(text),
        _ => PyValueError::new_err(text),
    }
}

/// `Result` whose errors are Python exceptions.
pub type PyResult<T> = pyo3::PyResult<T>;

/// Converts chunkwise results into Python results.
pub trait IntoPyResult<T> {
    /// Maps the error with [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for chunkwise::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

impl<T> IntoPyResult<T> for Result<T, IrError> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| to_py(Error::Graph(e)))
    }
}
