"""complex64 and complex128 against NumPy: conversion both ways, promotion, arithmetic and
math functions, reductions, matmul, casts and the refused orderings (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkwise as cw
from chunkwise._array import Array

COMPLEX = ["complex64", "complex128"]


@st.composite
def chunked(draw, dtypes=COMPLEX, min_dims=0, max_dims=3, min_side=0, max_side=7):
    """A complex NumPy array and a chunkwise copy of it in random chunks."""
    shape = tuple(draw(st.lists(st.integers(min_side, max_side), min_size=min_dims,
                                max_size=max_dims)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a = np.asarray(rng.standard_normal(shape) + 1j * rng.standard_normal(shape), dtype=dtype)
    chunks = tuple(draw(st.integers(1, max(n, 1))) for n in shape)
    return a, cw.asarray(a, chunks=chunks)


def close(actual, expected, ulps=1e-5):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if expected.dtype.kind in "fc":
        single = expected.dtype in (np.float32, np.complex64)
        rtol = ulps if single else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


def raw_unary(x, op):
    """A unary operation of the core by its program name (for ops the Python layer does
    not map yet: real, imag, conj)."""
    return Array(x._raw.unary(op))


def test_dtypes_are_exported_and_described():
    assert cw._dtypes.complex64 == np.complex64
    assert cw._dtypes.complex128 == np.complex128
    assert "complex64" in cw._core.DTYPES and "complex128" in cw._core.DTYPES
    assert cw.isdtype(cw._dtypes.complex64, "complex floating")
    assert cw.isdtype(cw._dtypes.complex128, "numeric")
    assert not cw.isdtype(cw._dtypes.complex128, "real floating")
    assert cw.finfo(cw._dtypes.complex64).dtype == np.float32
    assert cw.finfo(cw._dtypes.complex128).bits == 64
    info = cw.__array_namespace_info__()
    assert info.default_dtypes()["complex floating"] == np.complex128
    assert set(info.dtypes(kind="complex floating")) == {"complex64", "complex128"}


@pytest.mark.parametrize("a, b, want", [
    ("complex64", "float32", "complex64"),
    ("complex64", "float64", "complex128"),
    ("complex64", "int16", "complex64"),
    ("complex64", "uint8", "complex64"),
    ("complex64", "int32", "complex128"),
    ("complex64", "uint64", "complex128"),
    ("complex128", "float32", "complex128"),
    ("complex64", "complex128", "complex128"),
])
def test_result_type_follows_numpy(a, b, want):
    assert cw.result_type(np.dtype(a), np.dtype(b)) == np.dtype(want)
    assert np.result_type(a, b) == np.dtype(want)
    assert cw.can_cast(np.dtype(a), np.dtype(want))


def test_python_complex_scalars_take_the_array_precision():
    assert cw.result_type(np.dtype("float32"), 1j) == np.complex64
    assert cw.result_type(np.dtype("float64"), 1j) == np.complex128
    assert cw.result_type(np.dtype("int8"), 1j) == np.complex128
    assert cw.result_type(np.dtype("complex64"), 2.5) == np.complex64
    assert cw.result_type(np.dtype("complex64"), 1j) == np.complex64
    assert not cw.can_cast(np.dtype("complex64"), np.dtype("float64"))


@given(chunked())
def test_numpy_round_trip(pair):
    a, x = pair
    assert x.dtype == a.dtype
    got = x.compute()
    assert got.dtype == a.dtype
    np.testing.assert_array_equal(got, a)


@given(chunked(min_dims=1), st.sampled_from(["add", "subtract", "multiply", "divide", "equal",
                                             "not_equal"]))
def test_binary_ops(pair, name):
    a, x = pair
    f, g = getattr(cw, name), getattr(np, name)
    with np.errstate(all="ignore"):
        close(f(x, x[::-1]).compute(), g(a, a[::-1]))
        close(f(x, 2.5).compute(), g(a, a.dtype.type(2.5)))


@given(chunked(min_dims=1), st.sampled_from(
    ["exp", "log", "sqrt", "sin", "cos", "tanh", "arcsinh", "arctan", "square", "negative",
     "sign", "isnan", "isfinite", "expm1", "log1p"]))
def test_unary_math(pair, name):
    a, x = pair
    cw_name = {"arcsinh": "asinh", "arctan": "atan"}.get(name, name)
    with np.errstate(all="ignore"):
        close(getattr(cw, cw_name)(x).compute(), getattr(np, name)(a), ulps=1e-4)


@given(chunked(min_dims=1))
def test_abs_real_imag_conj_give_numpy_dtypes(pair):
    a, x = pair
    close(cw.abs(x).compute(), np.abs(a))
    close(raw_unary(x, "real").compute(), np.real(a))
    close(raw_unary(x, "imag").compute(), np.imag(a))
    close(raw_unary(x, "conj").compute(), np.conj(a))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's mean of an empty axis
@given(chunked(min_dims=1))
def test_sum_prod_mean(pair):
    a, x = pair
    close(cw.sum(x).compute(), a.sum(), ulps=1e-4)
    close(cw.mean(x, axis=0).compute(), a.mean(axis=0), ulps=1e-4)
    close(cw.prod(x[:3], axis=0).compute(), a[:3].prod(axis=0), ulps=1e-4)


def test_matmul_and_mixed_promotion():
    rng = np.random.default_rng(7)
    m = (rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))).astype(np.complex64)
    r = rng.standard_normal((3, 4))
    x = cw.asarray(m, chunks=(2, 2))
    y = cw.asarray(r, chunks=(2, 3))
    close(cw.matmul(x, y).compute(), m @ r)  # complex64 @ float64: complex128
    row = r[:, 0].astype(np.float32)
    close((x + cw.asarray(row)).compute(), m + row)  # complex64 + float32: complex64
    close(cw.matmul(raw_unary(x, "conj"), cw.asarray(m.T.copy())).compute(), m.conj() @ m.T)


def test_astype_and_full():
    z = np.array([1.5 - 2j, 0j, -0.0 + 0.5j, 3 + 0j], dtype=np.complex128)
    x = cw.asarray(z, chunks=2)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            for d in ["float64", "int32", "complex64"]:
                close(x.astype(d).compute(), z.astype(d))
    close(x.astype("bool").compute(), z.astype(bool))
    close(cw.asarray(np.arange(4.0, dtype=np.float32)).astype("complex64").compute(),
          np.arange(4.0, dtype=np.float32).astype(np.complex64))
    f = cw.full((2, 3), 2.0, dtype="complex64").compute()
    close(f, np.full((2, 3), 2.0, dtype=np.complex64))


def test_orderings_are_type_errors():
    x = cw.asarray(np.array([1 + 1j, 2 - 1j]))
    for f in [lambda: cw.less(x, x), lambda: cw.maximum(x, x), lambda: cw.floor(x),
              lambda: cw.max(x), lambda: cw.argmax(x), lambda: cw.remainder(x, x)]:
        with pytest.raises(TypeError):
            f().compute()
