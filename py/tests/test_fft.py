"""The fft extension against NumPy: every transform on random shapes and chunkings, with
``n`` / ``s`` longer and shorter than the input, every norm."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkwise as cw


@st.composite
def signals(draw, complex_=True):
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    dtype = draw(st.sampled_from(["complex64", "complex128"] if complex_ else
                                 ["float32", "float64"]))
    a = rng.standard_normal(shape)
    if complex_:
        a = a + 1j * rng.standard_normal(shape)
    a = a.astype(dtype)
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    return a, cw.asarray(a, chunks=chunks)


def check(got, want, dtype):
    got = np.asarray(got.compute())
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    tol = 1e-4 if np.dtype(dtype) in (np.complex64, np.float32) else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


NORMS = st.sampled_from(["backward", "ortho", "forward"])


@given(signals(), st.data(), NORMS)
def test_complex_transforms(pair, data, norm):
    a, x = pair
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    n = data.draw(st.none() | st.integers(1, 9))
    for name in ("fft", "ifft"):
        check(getattr(cw.fft, name)(x, n=n, axis=axis, norm=norm),
              getattr(np.fft, name)(a, n=n, axis=axis, norm=norm), a.dtype)
    real = np.float32 if a.dtype == np.complex64 else np.float64
    m = data.draw(st.none() | st.integers(2, 9))
    if m is None and a.shape[axis] == 1:
        with pytest.raises(ValueError):  # 2 * (1 - 1) points, as NumPy refuses
            cw.fft.irfft(x, axis=axis)
        m = 2
    check(cw.fft.irfft(x, n=m, axis=axis, norm=norm),
          np.fft.irfft(a, n=m, axis=axis, norm=norm), real)
    check(cw.fft.hfft(x, n=m, axis=axis, norm=norm),
          np.fft.hfft(a, n=m, axis=axis, norm=norm), real)
    check(cw.fft.fftn(x, norm=norm), np.fft.fftn(a, norm=norm), a.dtype)
    check(cw.fft.ifftn(x, axes=(axis,), norm=norm), np.fft.ifftn(a, axes=(axis,), norm=norm),
          a.dtype)


@given(signals(complex_=False), st.data(), NORMS)
def test_real_transforms(pair, data, norm):
    a, x = pair
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    n = data.draw(st.none() | st.integers(1, 9))
    cx = np.complex64 if a.dtype == np.float32 else np.complex128
    check(cw.fft.rfft(x, n=n, axis=axis, norm=norm), np.fft.rfft(a, n=n, axis=axis, norm=norm),
          cx)
    check(cw.fft.ihfft(x, n=n, axis=axis, norm=norm),
          np.fft.ihfft(a, n=n, axis=axis, norm=norm), cx)
    check(cw.fft.rfftn(x, norm=norm), np.fft.rfftn(a, norm=norm), cx)
    s = tuple(data.draw(st.integers(2, 7)) for _ in range(a.ndim))
    spectrum = np.fft.rfftn(a, norm=norm)
    axes = tuple(range(a.ndim))
    check(cw.fft.irfftn(cw.asarray(spectrum.astype(cx), chunks=2), s=s, axes=axes, norm=norm),
          np.fft.irfftn(spectrum.astype(cx), s=s, axes=axes, norm=norm), a.dtype)


@given(signals(), st.data())
def test_shifts_and_frequencies(pair, data):
    a, x = pair
    axes = data.draw(st.none() | st.just((0,)))
    check(cw.fft.fftshift(x, axes=axes), np.fft.fftshift(a, axes=axes), a.dtype)
    check(cw.fft.ifftshift(x, axes=axes), np.fft.ifftshift(a, axes=axes), a.dtype)
    n = data.draw(st.integers(1, 10))
    check(cw.fft.fftfreq(n, d=0.5), np.fft.fftfreq(n, d=0.5), "float64")
    check(cw.fft.rfftfreq(n), np.fft.rfftfreq(n), "float64")


def test_errors():
    x = cw.ones((4,), chunks=2)
    with pytest.raises(TypeError):
        cw.fft.fft(x)  # a real array: the standard's fft takes complex input
    with pytest.raises(TypeError):
        cw.fft.rfft(cw.astype(x, "complex128"))
    with pytest.raises(ValueError):
        cw.fft.fft(cw.astype(x, "complex128"), norm="nope")
    with pytest.raises(ValueError):
        cw.fft.fft(cw.astype(x, "complex128"), n=0)
