"""Pickling chunkwise arrays (plain pickle and cloudpickle): unpickling replays the
recorded calls that made them (``chunkwise._recorded``), as a Dask worker does."""

import gc
import os
import pickle
import subprocess
import sys
import weakref

import numpy as np
import pytest

import chunkwise as cw
from chunkwise import _recorded

cloudpickle = pytest.importorskip("cloudpickle")

PICKLERS = [pytest.param(pickle, id="pickle"), pytest.param(cloudpickle, id="cloudpickle")]


def roundtrip(module, x):
    return module.loads(module.dumps(x))


def check(module, x, expected=None):
    """``x`` pickled and unpickled: an Array of the same metadata and values."""
    expected = np.asarray(x) if expected is None else expected
    y = roundtrip(module, x)
    assert isinstance(y, cw.Array)
    assert (y.shape, y.dtype, y.chunks) == (x.shape, x.dtype, x.chunks)
    np.testing.assert_array_equal(np.asarray(y), expected)
    return y


@pytest.mark.parametrize("module", PICKLERS)
def test_from_numpy(module):
    a = np.arange(24.0).reshape(4, 6)
    check(module, cw.from_numpy(a, chunks=(2, 3)), a)
    t = a.T  # not contiguous
    check(module, cw.from_numpy(t, chunks=2), t)
    s = a[::2, ::-3]
    check(module, cw.asarray(s, chunks=1), s)
    e = np.zeros((0, 3), dtype=np.int32)
    check(module, cw.from_numpy(e), e)
    z = np.array(3.5)  # 0-d
    check(module, cw.asarray(z), z)


@pytest.mark.parametrize("module", PICKLERS)
def test_creation_and_random(module):
    check(module, cw.full((5, 4), 7, dtype=cw.int16, chunks=2))
    check(module, cw.arange(3, 30, 4, chunks=3))
    check(module, cw.linspace(0, 1, 11, chunks=4))
    x = cw.random.uniform(size=(20, 7), chunks=(6, 4), seed=42)
    y = roundtrip(module, x)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(x))
    n = cw.random.normal(2.0, 3.0, size=50, chunks=8)  # a fresh seed, recorded
    np.testing.assert_array_equal(np.asarray(roundtrip(module, n)), np.asarray(n))


@pytest.mark.parametrize("module", PICKLERS)
def test_elementwise_reductions_and_indexing(module):
    a = np.linspace(-2, 3, 60).reshape(6, 10)
    x = cw.from_numpy(a, chunks=(4, 3))
    expr = cw.sum(cw.exp(x) * 2 - 1 / (x + 5), axis=1) + cw.mean(x)
    check(module, expr)
    check(module, (x > 0) & (x < 2))
    check(module, cw.where(x > 0, x, -x).astype(cw.float32))
    check(module, cw.std(x, axis=0, correction=1))
    check(module, cw.argmax(x, axis=1))
    check(module, x[1:5:2, ::-3])
    check(module, x[None, 2, ...])
    check(module, x.rechunk((3, 5)))
    check(module, x.T)
    check(module, cw.permute_dims(x[..., None], (2, 0, 1)))
    check(module, cw.reshape(x, (15, 4)))
    check(module, cw.concat([x, x * 2], axis=1))
    check(module, cw.stack([x, -x, x], axis=1))
    check(module, x @ x.T)
    check(module, cw.flip(cw.roll(x, 3, axis=1), axis=0))
    check(module, cw.tile(cw.repeat(x[:2], 2, axis=0), (1, 2)))


@pytest.mark.parametrize("module", PICKLERS)
def test_multi_output(module):
    a = cw.arange(6, chunks=4)
    b = cw.reshape(cw.arange(12, chunks=5), (2, 6))
    ba, bb = roundtrip(module, cw.broadcast_arrays(a, b))
    ea, eb = np.broadcast_arrays(np.arange(6), np.arange(12).reshape(2, 6))
    np.testing.assert_array_equal(np.asarray(ba), ea)
    np.testing.assert_array_equal(np.asarray(bb), eb)
    # One call, replayed once: the results share it.
    assert ba._raw._call is bb._raw._call
    parts = roundtrip(module, cw.unstack(b, axis=0))
    assert len(parts) == 2 and parts[0]._raw._call is parts[1]._raw._call
    for p, e in zip(parts, np.arange(12).reshape(2, 6)):
        np.testing.assert_array_equal(np.asarray(p), e)
    # One of the results alone.
    np.testing.assert_array_equal(np.asarray(roundtrip(module, cw.unstack(b)[1])),
                                  np.arange(6, 12))


@pytest.mark.parametrize("module", PICKLERS)
def test_linalg_and_distance(module):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((40, 6))
    x = cw.from_numpy(m, chunks=(10, 6))
    q, r = cw.linalg.tsqr(x)
    q2, r2 = roundtrip(module, cw.linalg.tsqr(x))
    np.testing.assert_allclose(np.asarray(q2), np.asarray(q))
    np.testing.assert_allclose(np.asarray(r2), np.asarray(r))
    u, s, vh = cw.linalg.svd_compressed(x, 3, seed=5)
    out = roundtrip(module, (u, s, vh))
    for got, want in zip(out, (u, s, vh)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want))
    assert out[0]._raw._call is out[2]._raw._call
    check(module, cw.distance.pairwise_distance(x[:7], x[10:15], metric="cityblock"))
    check(module, cw.distance.pairwise_distance(x[:9], metric="euclidean"))


def _offset(block, block_id):
    return block + 100 * block_id[0]


def test_map_blocks():
    x = cw.arange(8, chunks=3)
    # A module-level function: plain pickle pickles it by reference.
    y = cw.map_blocks(_offset, x)
    for module in (pickle, cloudpickle):
        check(module, y, np.arange(8) + 100 * (np.arange(8) // 3))
    # A lambda: cloudpickle only, plain pickle says why.
    k = 3
    z = cw.map_blocks(lambda b: b * k, x + 1) - 1
    check(cloudpickle, z, (np.arange(8) + 1) * 3 - 1)
    w = cw.map_blocks(lambda b, block_id: b + block_id[0], x)
    check(cloudpickle, w, np.arange(8) + np.arange(8) // 3)
    with pytest.raises(pickle.PicklingError,
                       match=r"map_blocks\(<lambda>\) cannot be pickled with pickle: "
                             r"use cloudpickle"):
        pickle.dumps(z)
    # A replayed array pickles again.
    check(cloudpickle, roundtrip(cloudpickle, z), (np.arange(8) + 1) * 3 - 1)


@pytest.mark.parametrize("module", PICKLERS)
def test_shared_subexpression_is_pickled_once(module):
    a = np.random.default_rng(1).standard_normal(2**17)  # 1 MiB
    y = cw.from_numpy(a, chunks=2**15)
    one = len(module.dumps(y))
    assert one > a.nbytes
    both = module.dumps([y, y + 1, cw.sin(y) * y])
    assert len(both) < one + 2**14
    y1, y2, y3 = module.loads(both)
    # The shared source was replayed once: the three graphs share it.
    assert y2._raw._call.target._call is y1._raw._call
    sin_y = y3._raw._call.target  # sin(y) * y
    assert sin_y._call.target._call is y3._raw._call.args[0]._call is y1._raw._call
    np.testing.assert_array_equal(np.asarray(y2), a + 1)
    r1, r2 = cw.compute(y1, y2)
    np.testing.assert_array_equal(r2, r1 + 1)


def test_recipe_is_flat():
    # A long chain pickles without exhausting the pickler's recursion limit.
    x = cw.arange(10, chunks=4)
    for i in range(1500):
        x = x + 1 if i % 2 else x * 1
    np.testing.assert_array_equal(np.asarray(roundtrip(pickle, x)), np.arange(10) + 750)


def test_from_numpy_does_not_keep_the_input():
    a = np.arange(1000.0)
    ref = weakref.ref(a)
    x = cw.from_numpy(a, chunks=100) + 1
    del a
    gc.collect()
    assert ref() is None
    np.testing.assert_array_equal(np.asarray(roundtrip(pickle, x)), np.arange(1000.0) + 1)


def test_copy_is_the_same_array():
    import copy

    x = cw.arange(5, chunks=2) * 3
    assert copy.deepcopy(x)._raw is x._raw
    assert copy.copy(x)._raw is x._raw


def test_unpickles_in_a_fresh_process(tmp_path):
    x = cw.random.uniform(size=(30, 4), chunks=(7, 4), seed=3)
    y = cw.sum(x * 2, axis=1)[::2]
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(y))
    expected = np.asarray(y)
    code = ("import pickle, sys, numpy as np; y = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "np.save(sys.argv[2], np.asarray(y))")
    out = tmp_path / "out.npy"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run([sys.executable, "-c", code, str(path), str(out)], check=True, env=env,
                   timeout=120)
    np.testing.assert_array_equal(np.load(out), expected)


def test_recorded_wrapper():
    x = cw.arange(6, chunks=4)
    raw = x._raw
    assert isinstance(raw, _recorded.core.RawArray)
    assert isinstance(raw._native, _recorded.core.NativeRawArray)
    assert raw.shape == [6] and raw.numblocks == [2] and raw.chunks == [[4, 2]]
    assert isinstance(raw.explain(), str) and raw.num_tasks() >= 1
    parts = raw.reshape([2, 3]).unstack(0)
    assert isinstance(parts, list) and all(isinstance(p, _recorded.RawArray) for p in parts)
    assert parts[1]._call is parts[0]._call and parts[1]._index == 1


def test_out_of_band_buffers():
    # Dask pickles with protocol 5 and out-of-band buffers: the source data travels as one.
    a = np.arange(4096.0).reshape(64, 64)
    x = cw.from_numpy(a, chunks=16) * 2
    buffers = []
    data = pickle.dumps(x, protocol=5, buffer_callback=buffers.append)
    assert len(buffers) == 1 and len(data) < a.nbytes
    y = pickle.loads(data, buffers=buffers)
    np.testing.assert_array_equal(np.asarray(y), a * 2)


class _ArrayLike:
    """A lazily read array-like (as an h5py or zarr array) for ``from_array``."""

    def __init__(self, a):
        self.a, self.shape, self.dtype = a, a.shape, a.dtype

    def __getitem__(self, region):
        return self.a[region]


def test_from_array_of_an_array_like():
    a = np.arange(30.0).reshape(5, 6)
    x = cw.from_array(_ArrayLike(a), chunks=(2, 4))
    check(cloudpickle, x + 1, a + 1)  # its reader is a closure: cloudpickle only
    with pytest.raises(pickle.PicklingError, match="use cloudpickle"):
        pickle.dumps(x)


@pytest.mark.parametrize("module", PICKLERS)
def test_replayed_arrays_pickle_again(module):
    x = cw.random.uniform(size=(9, 4), chunks=3, seed=8)
    u, s, vh = cw.linalg.svd_compressed(x, 2, seed=1)
    y = roundtrip(module, [s + 1, x[::2]])
    z = roundtrip(module, y)
    np.testing.assert_allclose(np.asarray(z[0]), np.asarray(s) + 1)
    np.testing.assert_array_equal(np.asarray(z[1]), np.asarray(x)[::2])
