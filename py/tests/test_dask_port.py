"""Dask-style code on chunkwise (``import chunkwise as da``): the functions and random API a
Dask notebook uses, masks and takes of many scattered positions, NaN-skipping reductions,
lazy reads of array-likes; every result compared with NumPy."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkwise as da
from test_numpy_reference import chunked, close

FLOATS = ["float32", "float64"]


def test_notebook_style_script(tmp_path):
    x = da.random.random((2000, 300), chunks=(500, 100), seed=3)
    xn = x.compute()
    close(x.mean(axis=0), xn.mean(axis=0))
    close(x[::2, 5:10].sum(), xn[::2, 5:10].sum())
    close(x[x > 0.5], xn[xn > 0.5])  # about 300,000 runs: gathered block by block
    close(da.where(x > 0.5, x, 0).sum(axis=1), np.where(xn > 0.5, xn, 0).sum(axis=1))
    close(da.concatenate([x, x], axis=1)[:, 295:305], np.concatenate([xn, xn], 1)[:, 295:305])
    close(da.dot(x[:50], x[:50].T), np.dot(xn[:50], xn[:50].T))
    path = tmp_path / "x.zarr"
    da.to_zarr(x, path)
    close(da.from_zarr(path)[100:900:3].std(axis=0), xn[100:900:3].std(axis=0))
    d = da.distance.pairwise_distance(x[:200], metric="euclidean").compute()
    ref = np.sqrt(((xn[:200, None, :] - xn[None, :200, :]) ** 2).sum(-1))
    np.testing.assert_allclose(d, ref, atol=1e-10)


def test_random_api():
    rng = da.random.default_rng(5)
    a, b = rng.random((100,), chunks=30), rng.random((100,), chunks=30)
    assert not np.array_equal(a.compute(), b.compute())  # successive draws differ
    again = da.random.default_rng(5).random((100,), chunks=7)
    close(again, a.compute())  # reproducible from the seed, in any chunking
    assert not np.array_equal(da.random.random(10).compute(), da.random.random(10).compute())
    k = da.random.randint(-3, 4, size=20000, chunks=3000, seed=1, dtype="int8").compute()
    assert k.dtype == np.int8 and k.min() == -3 and k.max() == 3
    counts = np.bincount(k + 3)
    assert counts.min() > 2500  # every value reachable, roughly uniform
    z = da.random.RandomState(0).normal(2.0, 0.5, size=50000, chunks=10000).compute()
    assert abs(z.mean() - 2.0) < 0.02 and abs(z.std() - 0.5) < 0.02
    with pytest.raises(ValueError):
        da.random.randint(5, 5, size=3)
    with pytest.raises(ValueError):
        da.random.randint(0, 300, size=3, dtype="uint8")


@given(chunked(FLOATS, min_dims=1, max_dims=3, max_side=9), st.integers(0, 2**32 - 1))
def test_masks_and_takes_of_many_runs(pair, seed):
    a, x = pair
    rng = np.random.default_rng(seed)
    mask = rng.random(a.shape) < 0.5
    close(x[mask], a[mask])
    close(x[da.asarray(mask, chunks=x.chunks)], a[mask])
    idx = rng.integers(0, a.shape[0], size=2 * a.shape[0])  # unsorted, repeated
    close(da.take(x, idx, axis=0), np.take(a, idx, axis=0))
    close(da.take(x, np.sort(idx), axis=0), np.take(a, np.sort(idx), axis=0))


def test_take_gathers_without_a_layer_per_run():
    a = np.arange(100_000.0)
    x = da.asarray(a, chunks=10_000)
    idx = np.arange(0, 100_000, 3)  # 33,334 runs: over the slice-per-run limit
    y = da.take(x, idx, axis=0)
    assert y.chunks[0][0] == 3334
    close(y, a[idx])


@given(chunked(FLOATS, min_dims=1, max_dims=3, min_side=1), st.data())
def test_nan_reductions(pair, data):
    a, x = pair
    rng = np.random.default_rng(0)
    # sin: values in [-1, 1], so products do not overflow (where NumPy's sequential float32
    # product and chunkwise's tree would overflow at different points).
    a = np.where(rng.random(a.shape) < 0.3, np.nan, np.sin(a)).astype(a.dtype)
    x = da.asarray(a, chunks=x.chunks)
    axis = data.draw(st.none() | st.integers(0, a.ndim - 1))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax"):
            got = getattr(da, name)(x, axis=axis).compute()
            want = getattr(np, name)(a, axis=axis)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4, equal_nan=True,
                                       err_msg=name)
        np.testing.assert_allclose(da.nanvar(x, axis=axis, ddof=1).compute(),
                                   np.nanvar(a, axis=axis, ddof=1), rtol=1e-4, atol=1e-4,
                                   equal_nan=True)
        np.testing.assert_allclose(da.nancumsum(x, axis=axis).compute(),
                                   np.nancumsum(a, axis=axis), rtol=1e-4, atol=1e-4)


def test_numpy_dispatch_of_nan_functions_stays_lazy():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 6.0]])
    x = da.asarray(a, chunks=1)
    y = np.nanmean(x, axis=0)
    assert isinstance(y, da.Array)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        close(y, np.nanmean(a, axis=0))


@given(chunked(["int64", "float64"], min_dims=1, max_dims=2, min_side=1), st.data())
def test_histogram_bincount_median(pair, data):
    a, x = pair
    counts, edges = da.histogram(x, bins=7, range=(-20, 20))
    want_counts, want_edges = np.histogram(a, bins=7, range=(-20, 20))
    np.testing.assert_array_equal(counts.compute(), want_counts)
    np.testing.assert_array_equal(edges, want_edges)
    w = da.asarray(np.ones(a.shape) * 0.5, chunks=x.chunks)
    np.testing.assert_allclose(da.histogram(x, bins=[-5, 0, 1, 30], weights=w)[0].compute(),
                               np.histogram(a, bins=[-5, 0, 1, 30], weights=np.full(a.shape, 0.5))[0])
    axis = data.draw(st.none() | st.integers(0, a.ndim - 1))
    np.testing.assert_allclose(da.median(x, axis=axis).compute(), np.median(a, axis=axis))
    if a.ndim == 1 and a.dtype.kind == "i":
        v = np.abs(a)
        got = da.bincount(da.asarray(v, chunks=x.chunks), minlength=3).compute()
        np.testing.assert_array_equal(got, np.bincount(v, minlength=3))


def test_isclose_allclose_block_ravel():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 1e-9, 2.0])
    b = np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 0.0, 2.1])
    x, y = da.asarray(a, chunks=4), da.asarray(b, chunks=3)
    close(da.isclose(x, y), np.isclose(a, b))
    close(da.isclose(x, y, equal_nan=True), np.isclose(a, b, equal_nan=True))
    assert bool(da.allclose(x[:2], y[:2])) and not bool(da.allclose(x, y))
    m = np.arange(12.0).reshape(3, 4)
    z = da.asarray(m, chunks=2)
    close(da.block([[z, z], [z, z]]), np.block([[m, m], [m, m]]))
    close(da.ravel(z), m.ravel())


def test_from_array_reads_array_likes_lazily():
    class Store:
        """An array-like that counts its reads (as an h5py or zarr array would be read)."""

        def __init__(self, data):
            self.data, self.shape, self.dtype, self.reads = data, data.shape, data.dtype, 0

        def __getitem__(self, key):
            self.reads += 1
            return self.data[key]

    s = Store(np.arange(60.0).reshape(6, 10))
    x = da.from_array(s, chunks=(3, 5))
    assert s.reads == 0
    close(x.sum(axis=0), s.data.sum(axis=0))
    assert s.reads == 4  # one read per block
    zarr = pytest.importorskip("zarr")
    z = zarr.create_array(store={}, shape=(7, 9), chunks=(3, 3), dtype="int32")
    z[:] = np.arange(63).reshape(7, 9)
    want = np.arange(63, dtype="int32").reshape(7, 9)
    close(da.from_array(z, chunks=(4, 4))[1:, ::2], want[1:, ::2])


@pytest.mark.parametrize("spec,shapes", [
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]),
    ("ij,kj->ik", [(4, 5), (6, 5)]),
    ("ijk->ki", [(3, 4, 5)]),
    ("ijk->", [(3, 4, 5)]),
    ("bij,bjk,kl->bil", [(3, 4, 5), (3, 5, 6), (6, 2)]),
    ("ij,jk", [(4, 5), (5, 3)]),
    ("i,i->", [(7,), (7,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("bij,bik->bjk", [(2, 3, 4), (2, 3, 5)]),
])
def test_einsum(spec, shapes):
    rng = np.random.default_rng(len(spec))
    arrays = [rng.random(s) for s in shapes]
    got = da.einsum(spec, *[da.asarray(a, chunks=2) for a in arrays])
    np.testing.assert_allclose(got.compute(), np.einsum(spec, *arrays), rtol=1e-12)


def test_einsum_refuses_what_it_does_not_do():
    x = da.ones((3, 3), chunks=2)
    with pytest.raises(NotImplementedError, match="trace"):
        da.einsum("ii->", x)
    with pytest.raises(NotImplementedError, match=r"\.\.\."):
        da.einsum("...i->...", x)
    with pytest.raises(ValueError, match="operands"):
        da.einsum("ij,jk->ik", x)


@given(chunked(["float64"], min_dims=2, max_dims=3, min_side=1))
def test_dask_array_methods(pair):
    # float64 only: a chunked float32 cumsum adds in another order than NumPy's loop.
    a, x = pair
    close(x.cumsum(axis=1), np.cumsum(a, axis=1))
    close(x.cumsum(), np.cumsum(a))
    close(x.cumprod(axis=0), np.cumprod(a, axis=0))
    close(x.ravel(), a.ravel())
    close(x.flatten(), a.flatten())
    close(x.round(2), a.round(2))
    close(x.clip(-1.0, 1.0), a.clip(-1.0, 1.0))
    close(x.transpose(), a.transpose())
    close(x.swapaxes(0, 1), a.swapaxes(0, 1))
    close(x[:1].squeeze(), a[:1].squeeze())
    close(x.var(ddof=1, axis=0) if a.shape[0] > 1 else x.var(axis=0),
          a.var(ddof=1, axis=0) if a.shape[0] > 1 else a.var(axis=0))
    close(x.std(ddof=0), a.std(ddof=0))
    close(x.dot(x.swapaxes(-1, -2)), a.dot(a.swapaxes(-1, -2)))
    assert x.chunksize == tuple(max(c) for c in x.chunks)
    assert x.npartitions == int(np.prod(x.numblocks))
    p = x.persist()
    assert p.chunks == x.chunks
    close(p, a)
    assert x.compute_chunk_sizes() is x


def test_unique_like_numpy():
    a = np.array([[3, 1, 3], [2, 1, 1]])
    x = da.asarray(a, chunks=2)
    close(da.unique(x), np.unique(a))
    got = da.unique(x, return_index=True, return_counts=True)
    want = np.unique(a, return_index=True, return_counts=True)
    for g, w in zip(got, want):
        close(g, w.astype(np.int64) if w.dtype.kind in "iu" else w)


def test_review_regressions_dtypes_and_edges():
    """Result dtypes and edge cases as NumPy gives them."""
    a32 = np.array([[1.0, np.nan], [3.0, 4.0]], dtype=np.float32)
    x32 = da.asarray(a32, chunks=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in ("nanmean", "nanvar", "nanstd"):
            close(getattr(da, name)(x32, axis=0), getattr(np, name)(a32, axis=0))
        z = np.array([1 + 2j, np.nan + 0j, 3 - 1j])
        for name in ("nansum", "nanmean", "nanvar"):
            close(getattr(da, name)(da.asarray(z, chunks=2)), getattr(np, name)(z))
    u = np.array([1, 2, 200], dtype=np.uint8)
    v = np.array([2, 1, 200], dtype=np.uint8)
    close(da.isclose(da.asarray(u), da.asarray(v)), np.isclose(u, v))
    i = np.array([1234, -5678, 50], dtype=np.int32)
    close(da.asarray(i).round(-2), i.round(-2))
    k = np.array([0, 1, 1, 3])
    w = np.array([1, 2, 3, 4], dtype=np.int32)
    close(da.bincount(da.asarray(k), weights=da.asarray(w)), np.bincount(k, weights=w))
    c = np.array([[1 + 1j, 3 - 2j], [2 + 0j, 5j]])
    close(da.median(da.asarray(c, chunks=1), axis=0), np.median(c, axis=0))
    close(da.from_array(da.asarray(i), dtype="float64"), i.astype(np.float64))
    with pytest.raises(ValueError):
        da.block([])
    with pytest.raises(ValueError):
        da.fft.fftn(da.asarray(np.array(1 + 0j)))
    f = da.asarray(np.zeros(3))
    with pytest.raises(TypeError):
        f[0] = 1j
