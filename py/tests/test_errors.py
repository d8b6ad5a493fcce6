"""Errors reach Python as exceptions of the right type, with the Rust error's text."""

import numpy as np
import pytest

import chunkwise as cw


def x():
    return cw.asarray(np.arange(12.0).reshape(3, 4), chunks=2)


def test_index_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        x()[5]
    with pytest.raises(IndexError):
        x()[0, 0, 0]
    with pytest.raises(IndexError, match="step"):
        x()[::0]
    with pytest.raises(IndexError):
        x()["a"]


def test_value_errors():
    with pytest.raises(ValueError, match="broadcast"):
        x() + cw.ones((5,))
    with pytest.raises(ValueError):
        cw.sum(x(), axis=3)
    with pytest.raises(ValueError):
        cw.asarray(np.zeros(4), chunks=(1, 2))
    with pytest.raises(ValueError, match="metric"):
        cw.distance.pairwise_distance(x(), metric="nope")


def test_type_errors():
    with pytest.raises(TypeError, match="float16"):
        cw.asarray(np.zeros(3, dtype=np.float16))
    with pytest.raises(TypeError):
        x() + "a"
    with pytest.raises(TypeError):
        cw.asarray(np.zeros(3), dtype="U5")  # complex128 is supported now


def test_memory_error():
    big = cw.random.uniform(size=(4000, 4000), chunks=4000, seed=0)
    with pytest.raises(MemoryError, match="memory limit"):
        cw.compute(big.sum(), memory_limit="10MB")


def test_os_errors(tmp_path):
    with pytest.raises(OSError):
        cw.from_zarr(tmp_path / "missing.zarr")
    with pytest.raises(OSError):
        cw.from_npy(tmp_path / "missing.npy")
    (tmp_path / "file").write_text("not a dir")
    with pytest.raises(OSError):
        cw.to_zarr(x(), tmp_path / "file" / "x.zarr")


def test_overflowing_python_int():
    with pytest.raises(OverflowError):
        cw.asarray(np.arange(3)) + 2**70


def test_parse_bytes():
    assert cw.parse_bytes("1GB") == 10**9
    assert cw.parse_bytes("1GiB") == 2**30
    assert cw.parse_bytes("512 kB") == 512_000
    with pytest.raises(ValueError):
        cw.parse_bytes("lots")
