"""chunkwise against NumPy on random shapes, chunkings and dtypes (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkwise as cw

INT_DTYPES = [d.name for d in cw._dtypes.SUPPORTED if d.kind in "iu"]
FLOAT_DTYPES = ["float32", "float64"]
ALL_DTYPES = ["bool"] + INT_DTYPES + FLOAT_DTYPES


@st.composite
def chunked(draw, dtypes=ALL_DTYPES, min_dims=0, max_dims=3, min_side=0, max_side=7):
    """A NumPy array and a chunkwise copy of it in random chunks."""
    shape = tuple(draw(st.lists(st.integers(min_side, max_side), min_size=min_dims,
                                max_size=max_dims)))
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        a = rng.random(shape) < 0.5
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        lo, hi = max(info.min, -50), min(info.max, 50)
        a = rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)
    else:
        a = (rng.standard_normal(shape) * 10).astype(dtype)
    chunks = tuple(draw(st.integers(1, max(n, 1))) for n in shape)
    return a, cw.asarray(a, chunks=chunks)


def close(actual, expected, dtype=None):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    if expected.dtype.kind == "f":
        rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected)


@given(chunked(), st.data())
def test_round_trip_and_slicing(pair, data):
    a, x = pair
    close(x.compute(), a)
    if a.ndim == 0:
        return
    key = []
    for n in a.shape:
        start = data.draw(st.none() | st.integers(-n - 2, n + 2))
        stop = data.draw(st.none() | st.integers(-n - 2, n + 2))
        step = data.draw(st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3]))
        key.append(slice(start, stop, step))
    key = tuple(key)
    close(x[key].compute(), a[key])


@given(chunked(dtypes=INT_DTYPES + FLOAT_DTYPES, min_dims=1), st.sampled_from(
    ["add", "subtract", "multiply", "maximum", "minimum", "equal", "less", "greater_equal"]))
def test_binary_with_itself_and_scalars(pair, name):
    a, x = pair
    f, g = getattr(cw, name), getattr(np, name)
    close(f(x, x[::-1]).compute(), g(a, a[::-1]))
    close(f(x, 3).compute(), g(a, a.dtype.type(3)))
    close(f(2, x).compute(), g(a.dtype.type(2), a))


@given(chunked(dtypes=FLOAT_DTYPES, min_dims=1), st.sampled_from(
    ["exp", "abs", "sin", "tanh", "floor", "ceil", "sign", "square", "negative", "isnan",
     "round", "trunc"]))
def test_unary(pair, name):
    a, x = pair
    close(getattr(cw, name)(x).compute(), getattr(np, name)(a))


@given(chunked(dtypes=INT_DTYPES, min_dims=1))
def test_integer_division_and_bitwise(pair):
    a, x = pair
    nz = np.where(a == 0, a.dtype.type(1), a)
    y = cw.asarray(nz, chunks=x.chunks)
    close((x // y).compute(), a // nz)
    close((x % y).compute(), a % nz)
    close((x & y).compute(), a & nz)
    close((x | y).compute(), a | nz)
    close((x ^ y).compute(), a ^ nz)
    close((~x).compute(), ~a)


@given(chunked(dtypes=INT_DTYPES + FLOAT_DTYPES, min_dims=1), st.data())
def test_reductions(pair, data):
    a, x = pair
    axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1))
    keepdims = data.draw(st.booleans())
    close(cw.sum(x, axis=axis, keepdims=keepdims).compute(), np.sum(a, axis=axis, keepdims=keepdims))
    if a.dtype.kind == "f":
        close(cw.mean(x, axis=axis, keepdims=keepdims).compute(),
              np.mean(a, axis=axis, keepdims=keepdims))
        if a.size > 1:
            close(cw.var(x, axis=axis, correction=1, keepdims=keepdims).compute(),
                  np.var(a, axis=axis, ddof=1, keepdims=keepdims))
    if a.size and (axis is None or a.shape[axis] > 0):
        close(cw.max(x, axis=axis, keepdims=keepdims).compute(),
              np.max(a, axis=axis, keepdims=keepdims))
        close(cw.argmin(x, axis=axis, keepdims=keepdims).compute(),
              np.argmin(a, axis=axis, keepdims=keepdims))


@given(chunked(dtypes=INT_DTYPES + FLOAT_DTYPES, min_dims=1), st.data())
def test_cumulative_sum_and_sort(pair, data):
    a, x = pair
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    close(cw.cumulative_sum(x, axis=axis).compute(), np.cumsum(a, axis=axis))
    close(cw.sort(x, axis=axis).compute(), np.sort(a, axis=axis, kind="stable"))
    close(cw.argsort(x, axis=axis).compute(), np.argsort(a, axis=axis, kind="stable"))
    close(cw.sort(x, axis=axis, descending=True).compute(),
          np.flip(np.sort(np.flip(a, axis), axis=axis, kind="stable"), axis))


@given(chunked(dtypes=["int8", "int32", "uint8", "float32"], min_dims=1, min_side=1),
       st.sampled_from(["int16", "uint16", "int64", "float64", "bool"]))
def test_astype_and_promotion(pair, target):
    a, x = pair
    close(x.astype(target).compute(), a.astype(target))
    b = a.astype(target)
    y = cw.asarray(b, chunks=x.chunks)
    if target != "bool" and a.dtype != np.bool_:
        close((x + y).compute(), a + b)


def test_take_and_masks():
    a = np.arange(60.0).reshape(6, 10)
    x = cw.asarray(a, chunks=(4, 3))
    idx = np.array([5, 0, 1, 2, 9, 9, -1])
    close(cw.take(x, idx, axis=1).compute(), np.take(a, idx, axis=1))
    mask = a % 7 < 3
    close(x[cw.asarray(mask)].compute(), a[mask])
    close(x[[4, 1]].compute(), a[[4, 1]])
    nz = cw.nonzero(x > 50)
    for got, want in zip(nz, np.nonzero(a > 50)):
        close(got.compute(), want)


def test_unique_and_searchsorted():
    a = np.array([3, 1, 2, 3, 1, 7, 7, 7])
    x = cw.asarray(a, chunks=3)
    values, counts = cw.unique_counts(x)
    v, c = np.unique(a, return_counts=True)
    close(values.compute(), v)
    close(counts.compute(), c)
    table = cw.asarray(np.array([1.0, 2.0, 5.0, 9.0]), chunks=2)
    q = np.array([0.5, 2.0, 6.0, 10.0])
    close(cw.searchsorted(table, cw.asarray(q, chunks=3)).compute(),
          np.searchsorted([1.0, 2.0, 5.0, 9.0], q))


def test_creation_functions():
    close(cw.eye(5, 7, k=1, chunks=2).compute(), np.eye(5, 7, k=1))
    close(cw.linspace(0, 1, 11, chunks=4).compute(), np.linspace(0, 1, 11))
    close(cw.arange(2, 20, 3, chunks=2).compute(), np.arange(2, 20, 3))
    close(cw.arange(0.5, 3.0, 0.25).compute(), np.arange(0.5, 3.0, 0.25))
    a = np.arange(20.0).reshape(4, 5)
    close(cw.tril(cw.asarray(a, chunks=2), k=-1).compute(), np.tril(a, -1))
    close(cw.triu(cw.asarray(a, chunks=3)).compute(), np.triu(a))
    close(cw.full((3, 2), 7, dtype=cw.int16).compute(), np.full((3, 2), 7, dtype=np.int16))
    close(cw.zeros((2, 0)).compute(), np.zeros((2, 0)))


def test_ufunc_dispatch_stays_lazy():
    a = np.linspace(0.1, 2, 30).reshape(5, 6)
    x = cw.asarray(a, chunks=2)
    y = np.exp(x) + np.sqrt(x)
    assert isinstance(y, cw.Array)
    close(y.compute(), np.exp(a) + np.sqrt(a))
    close(np.asarray(np.sum(x, axis=0)), a.sum(axis=0))


def test_linalg():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200, 6))
    x = cw.asarray(a, chunks=(40, 6))
    q, r = cw.linalg.qr(x)
    close((q @ r).compute(), a)
    s = cw.linalg.svdvals(x).compute()
    np.testing.assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-10)
    u, s3, vt = cw.linalg.svd_compressed(x, 3, n_power_iter=4)
    np.testing.assert_allclose(s3.compute(), np.linalg.svd(a, compute_uv=False)[:3], rtol=1e-2)
    np.testing.assert_allclose(cw.linalg.vector_norm(x).compute(), np.linalg.norm(a), rtol=1e-12)
    close(cw.tensordot(x, x, axes=([0], [0])).compute(), np.tensordot(a, a, axes=([0], [0])))


def test_pairwise_distance_matches_numpy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((30, 5))
    b = rng.standard_normal((20, 5))
    x, y = cw.asarray(a, chunks=(7, 5)), cw.asarray(b, chunks=(6, 5))
    want = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(cw.distance.pairwise_distance(x, y).compute(), want, rtol=1e-10)
    city = np.abs(a[:, None, :] - b[None, :, :]).sum(-1)
    np.testing.assert_allclose(
        cw.distance.pairwise_distance(x, y, "cityblock").compute(), city, rtol=1e-12)
    mink = (np.abs(a[:, None, :] - b[None, :, :]) ** 3).sum(-1) ** (1 / 3)
    np.testing.assert_allclose(
        cw.distance.pairwise_distance(x, y, "minkowski", p=3).compute(), mink, rtol=1e-10)


def test_compute_shares_work_and_reports_progress():
    x = cw.random.uniform(size=(400, 300), chunks=100, seed=3)
    y = cw.exp(x)
    seen = []
    a, b = cw.compute(y.sum(), y.mean(axis=0), progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]
    assert a.shape == () and b.shape == (300,)
    np.testing.assert_allclose(a / (400 * 300), b.mean(), rtol=1e-12)
    # Same values whatever the chunking (counter-based generator).
    z = cw.random.uniform(size=(400, 300), chunks=(33, 71), seed=3)
    close(z.compute(), x.compute())


def test_map_blocks_runs_python_and_reports_its_errors():
    a = np.arange(24.0).reshape(4, 6)
    x = cw.asarray(a, chunks=(2, 3))
    close(cw.map_blocks(lambda b: b * 2 + 1, x).compute(), a * 2 + 1)

    def bad(b):
        raise ZeroDivisionError("boom in a block")

    with pytest.raises(RuntimeError, match="boom in a block"):
        cw.map_blocks(bad, x).compute()
    with pytest.raises(RuntimeError, match="shape"):
        cw.map_blocks(lambda b: b[:1], x).compute()


def test_zarr_round_trip(tmp_path):
    zarr = pytest.importorskip("zarr")
    a = np.arange(200, dtype=np.int16).reshape(10, 20)
    x = cw.asarray(a, chunks=(5, 10))
    cw.to_zarr(x * 2, tmp_path / "x.zarr")
    close(np.asarray(zarr.open_array(str(tmp_path / "x.zarr"), mode="r")[:]), a * 2)
    y = cw.from_zarr(tmp_path / "x.zarr")
    assert y.chunks == ((5, 5), (10, 10))
    close(y[3:7, ::-3].compute(), (a * 2)[3:7, ::-3])
    zarr.save_array(str(tmp_path / "z.zarr"), a.astype(np.float32), zarr_format=2)
    close(cw.from_zarr(tmp_path / "z.zarr").compute(), a.astype(np.float32))


@given(chunked(min_dims=1, max_dims=3, min_side=1), st.data())
def test_manipulation(pair, data):
    a, x = pair
    close(cw.reshape(x, (-1,)).compute(), a.reshape(-1))
    close(cw.reshape(x, a.shape[::-1]).compute(), a.reshape(a.shape[::-1]))
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    close(cw.flip(x, axis=axis).compute(), np.flip(a, axis))
    shift = data.draw(st.integers(-10, 10))
    close(cw.roll(x, shift, axis=axis).compute(), np.roll(a, shift, axis))
    close(cw.roll(x, shift).compute(), np.roll(a, shift))
    close(cw.repeat(x, 2, axis=axis).compute(), np.repeat(a, 2, axis))
    close(cw.tile(x, (2,) * a.ndim).compute(), np.tile(a, (2,) * a.ndim))
    close(cw.expand_dims(x, axis=0).compute(), a[None])
    close(cw.moveaxis(x, 0, -1).compute(), np.moveaxis(a, 0, -1))
    close(cw.broadcast_to(x, (2,) + a.shape).compute(), np.broadcast_to(a, (2,) + a.shape))
    for got, want in zip(cw.unstack(x, axis=axis), [np.take(a, i, axis) for i in range(a.shape[axis])]):
        close(got.compute(), want)


def test_new_elementwise_operations_match_numpy():
    f = np.array([-2.5, -0.0, 0.0, 1e-300, 0.5, 3.0, np.inf, -np.inf, np.nan])
    x = cw.asarray(f, chunks=4)
    with np.errstate(all="ignore"):
        for name, g in [("asinh", np.arcsinh), ("trunc", np.trunc), ("signbit", np.signbit)]:
            close(getattr(cw, name)(x).compute(), g(f))
        for name in ["hypot", "logaddexp", "copysign", "nextafter"]:
            close(getattr(cw, name)(x, x[::-1]).compute(), getattr(np, name)(f, f[::-1]))
    i = np.array([-128, -3, 0, 5, 127], dtype=np.int8)
    s = np.array([0, 1, 3, 7, 9], dtype=np.int8)
    y, t = cw.asarray(i, chunks=2), cw.asarray(s, chunks=3)
    close((y << t).compute(), np.left_shift(i, s))
    close((y >> t).compute(), np.right_shift(i, s))
