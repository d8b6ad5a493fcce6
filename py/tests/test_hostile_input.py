"""Hostile arguments reach Python as ordinary exceptions (never a Rust panic, an abort or
unbounded work): random calls with absurd shapes, chunks, axes, steps and dtypes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chunkwise as cw

ALLOWED = (ValueError, TypeError, IndexError, MemoryError, OverflowError, OSError,
           NotImplementedError, RuntimeError)

HUGE = st.sampled_from([0, 1, 2, 7, 2**31, 2**32 + 1, 2**62, 2**63 - 1, 2**64 - 1, 2**64,
                        -1, -(2**63)])
SHAPES = st.lists(HUGE, min_size=0, max_size=3).map(tuple)
CHUNKS = st.one_of(HUGE, SHAPES, st.just("auto"), st.just(-1), st.just(()))


def _no_panic(f):
    try:
        f()
    except ALLOWED as e:
        assert "panicked" not in str(e).lower(), e
    except BaseException as e:  # noqa: BLE001 - a PanicException derives from BaseException
        pytest.fail(f"{type(e).__module__}.{type(e).__name__}: {e}")


@settings(max_examples=150, deadline=None)
@given(SHAPES, CHUNKS, st.sampled_from(["int8", "uint64", "float32", "bool", "float64"]))
def test_creation_with_absurd_sizes(shape, chunks, dtype):
    # Only building and describing: nothing of an accepted absurd size is computed.
    _no_panic(lambda: cw.zeros(shape, chunks=chunks, dtype=dtype).chunks)
    _no_panic(lambda: cw.full(shape, 3, chunks=chunks, dtype=dtype).explain())
    _no_panic(lambda: cw.random.uniform(size=shape, chunks=chunks, seed=1).sum().explain())
    _no_panic(lambda: cw.arange(0, shape[0] if shape else 5, chunks=chunks).shape)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(HUGE, st.none()), min_size=3, max_size=3), st.data())
def test_slicing_and_axes(parts, data):
    x = cw.arange(20, chunks=4)
    start, stop, step = parts
    _no_panic(lambda: x[start:stop:step].compute())
    _no_panic(lambda: x[start].compute() if start is not None else None)
    axis = data.draw(HUGE)
    _no_panic(lambda: cw.sum(x, axis=axis).compute())
    _no_panic(lambda: cw.expand_dims(x, axis=axis).shape)
    _no_panic(lambda: cw.roll(x, shift=axis).compute())
    _no_panic(lambda: cw.repeat(x, repeats=abs(axis) % 2**40).shape)
    _no_panic(lambda: cw.tile(x, (abs(axis) % 2**40,)).shape)
    _no_panic(lambda: x.rechunk(abs(axis) or 1).chunks)
    _no_panic(lambda: cw.reshape(x, (axis, -1)).shape)
    _no_panic(lambda: cw.broadcast_to(x, (abs(axis), 20)).shape)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -0.0, 2**63, -(2**63) - 1, 2**64]),
       st.sampled_from(["int8", "int64", "uint8", "uint64", "float32", "bool"]))
def test_scalars_and_casts(v, dtype):
    x = cw.asarray(np.arange(6.0), chunks=4)
    _no_panic(lambda: (x + v).astype(dtype).compute())
    _no_panic(lambda: cw.full((3,), v, dtype=dtype).compute())
    _no_panic(lambda: (cw.astype(x, dtype) // v).compute())
    _no_panic(lambda: (cw.astype(x, dtype) << v).compute())


@pytest.mark.parametrize("options", [
    {"memory_limit": "abc"}, {"memory_limit": -1}, {"memory_limit": 2**64}, {"threads": -1},
    {"threads": 2**40}, {"memory_limit": "1KB"}, {"spill_dir": "/nonexistent/dir"},
])
def test_bad_run_options(options):
    x = cw.random.uniform(size=(300, 300), chunks=100, seed=0)
    _no_panic(lambda: cw.compute(cw.sum(x * 2), **options))


def test_failing_progress_callback_raises_its_exception():
    x = cw.random.uniform(size=(300, 300), chunks=100, seed=0)
    with pytest.raises(ZeroDivisionError):
        cw.compute(cw.sum(x), progress=lambda done, total: 1 / 0)


def test_bad_block_functions():
    x = cw.arange(10, chunks=3)
    _no_panic(lambda: cw.map_blocks(lambda b: b[:1], x).compute())  # wrong shape
    _no_panic(lambda: cw.map_blocks(lambda b: "text", x).compute())
    _no_panic(lambda: cw.map_blocks(lambda b: 1 / 0, x).compute())
    _no_panic(lambda: cw.map_blocks(lambda b: np.full(b.shape, 1e300), x, dtype="int8").compute())
    _no_panic(lambda: cw.map_blocks(lambda b, block_id: b + block_id[5], x).compute())


@pytest.mark.parametrize("kwargs", [
    {"codec": "nope"}, {"level": 2**40}, {"level": -5, "codec": "gzip"}, {"chunks": [0]},
    {"chunks": [2**64]}, {"shards": [3]}, {"zarr_format": 7},
])
def test_bad_zarr_arguments(tmp_path, kwargs):
    _no_panic(lambda: cw.to_zarr(cw.arange(10, chunks=4), tmp_path / "x.zarr", **kwargs))


def test_corrupt_inputs(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8'")
    _no_panic(lambda: cw.from_npy(tmp_path / "bad.npy").compute())
    store = tmp_path / "bad.zarr"
    store.mkdir()
    (store / "zarr.json").write_text('{"zarr_format": 3, "node_type": "array", "shape": [-1]}')
    _no_panic(lambda: cw.from_zarr(store).compute())
    (store / "zarr.json").write_text("not json")
    _no_panic(lambda: cw.from_zarr(store).compute())


def test_unaligned_numpy_input_is_copied_not_a_panic():
    # An array over a byte buffer at an odd offset (Dask's deserialization makes these).
    buf = np.arange(11, dtype=np.float64).tobytes()
    a = np.frombuffer(b"\0" + buf, dtype=np.float64, offset=1)
    assert not a.flags.aligned
    np.testing.assert_array_equal(cw.from_numpy(a, chunks=4).compute(), np.arange(11.0))
