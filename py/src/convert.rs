//! Values crossing the boundary: NumPy arrays, Python scalars, index keys, dtype names.

use crate::error::PyResult;
use chunkwise::{DType, DynArray, Operand, Scalar, SliceArg};
use chunkwise_ir::{with_array, with_dtype};
use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyComplexMethods, PyEllipsis, PyFloat, PyInt, PySlice};

/// A dtype from its NumPy name (`"int8"`, `"float64"`, `"complex64"`, `"bool"`).
pub fn dtype(name: &str) -> PyResult<DType> {
    DType::parse(name).ok_or_else(|| {
        let known: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        PyTypeError::new_err(format!(
            "chunkwise has no dtype {name:?} (known: {})",
            known.join(", ")
        ))
    })
}

/// Copies a NumPy array of any supported dtype into a [`DynArray`] (one copy; the chunks
/// are views of it).
pub fn from_numpy(obj: &Bound<'_, PyAny>) -> PyResult<DynArray> {
    let untyped = obj.cast::<numpy::PyUntypedArray>().map_err(|_| {
        PyTypeError::new_err(format!(
            "expected a NumPy array, got {}",
            obj.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    let name = untyped.dtype().to_string();
    let dt = dtype(&name)?;
    // Only non-empty, aligned C-contiguous arrays are viewed directly: the numpy crate's view
    // asserts on strides NumPy allows elsewhere (empty arrays with nonzero strides, strides
    // that are not a multiple of the item size, as in a field of a structured array), so
    // anything else is made contiguous by NumPy first (it is copied here anyway).
    if untyped.is_empty() {
        let shape = ndarray::IxDyn(untyped.shape());
        return with_dtype!(dt, T => Ok(DynArray::new(ndarray::ArrayD::<T>::from_elem(shape, T::default()))));
    }
    // The view also requires aligned data, which NumPy does not guarantee (an array over a
    // byte buffer at an odd offset, as Dask's deserialization makes): copy such arrays too.
    let aligned: bool = obj.getattr("flags")?.getattr("aligned")?.extract()?;
    let contiguous = if untyped.is_c_contiguous() && aligned {
        obj.clone()
    } else {
        obj.py()
            .import("numpy")?
            .call_method1("require", (obj, pyo3::types::PyNone::get(obj.py()), "CA"))?
    };
    with_dtype!(dt, T => {
        let typed = contiguous.cast::<PyArrayDyn<T>>()?;
        let view = typed.readonly();
        Ok(DynArray::new(view.as_array().to_owned()))
    })
}

/// Moves a computed array into a NumPy array (no copy when the result owns its buffer
/// alone, which is the usual case for an assembled output).
pub fn to_numpy(py: Python<'_>, a: DynArray) -> Bound<'_, PyAny> {
    with_array!(a, x => PyArrayDyn::from_owned_array(py, x.into_owned()).into_any())
}

/// A Python scalar (`bool`, `int`, `float`, `complex`) or a chunkwise array as an operand.
pub fn operand(obj: &Bound<'_, PyAny>) -> PyResult<Operand> {
    if let Ok(a) = obj.cast::<crate::array::RawArray>() {
        return Ok(Operand::Array(a.get().inner.clone()));
    }
    Ok(Operand::Scalar(scalar(obj)?))
}

/// A Python `bool`, `int`, `float` or `complex` as a (weakly typed) scalar; a `complex` is
/// a complex128 (with a real array it takes the array's float precision).
pub fn scalar(obj: &Bound<'_, PyAny>) -> PyResult<Scalar> {
    if obj.is_instance_of::<PyBool>() {
        Ok(Scalar::Bool(obj.extract()?))
    } else if obj.is_instance_of::<PyInt>() {
        obj.extract::<i64>().map(Scalar::I64).map_err(|_| {
            PyOverflowError::new_err(format!("the integer {obj} does not fit in int64"))
        })
    } else if obj.is_instance_of::<PyFloat>() {
        Ok(Scalar::F64(obj.extract()?))
    } else if let Ok(c) = obj.cast::<PyComplex>() {
        Ok(Scalar::C128(chunkwise_ir::Complex64::new(
            c.real(),
            c.imag(),
        )))
    } else {
        Err(PyTypeError::new_err(format!(
            "expected a chunkwise array or a Python bool, int, float or complex, got {}",
            obj.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        )))
    }
}

fn optional_i64(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Option<i64>> {
    if obj.is_none() {
        return Ok(None);
    }
    // Anything with `__index__` (Python and NumPy integers), never a bool or a float.
    if obj.is_instance_of::<PyBool>() {
        return Err(PyIndexError::new_err(format!(
            "slice {what} must be an integer or None, got {obj}"
        )));
    }
    obj.extract::<i64>().map(Some).map_err(|_| {
        PyIndexError::new_err(format!(
            "slice {what} must be an integer (fitting in int64) or None, got {obj}"
        ))
    })
}

/// One item of a basic index: a slice, an integer, `None` or `...`.
pub fn slice_arg(obj: &Bound<'_, PyAny>) -> PyResult<SliceArg> {
    if let Ok(s) = obj.cast::<PySlice>() {
        return Ok(SliceArg::Range {
            start: optional_i64(&s.getattr("start")?, "start")?,
            stop: optional_i64(&s.getattr("stop")?, "stop")?,
            step: optional_i64(&s.getattr("step")?, "step")?,
        });
    }
    if obj.is_none() {
        return Ok(SliceArg::NewAxis);
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(SliceArg::Ellipsis);
    }
    if !obj.is_instance_of::<PyBool>() && obj.hasattr("__index__")? {
        return Ok(SliceArg::Index(obj.extract().map_err(|_| {
            PyIndexError::new_err(format!("the index {obj} does not fit in int64"))
        })?));
    }
    Err(PyIndexError::new_err(format!(
        "only integers, slices, None and ... are basic indices, got {obj}"
    )))
}
