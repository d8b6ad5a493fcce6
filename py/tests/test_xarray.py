"""xarray on chunkwise through its chunk manager entry point: a dataset written by xarray to
Zarr, opened with ``chunked_array_type="chunkwise"`` (the ``xarray.chunkmanagers`` entry point
of the installed package), compared with NumPy-backed xarray."""

import numpy as np
import pytest

xr = pytest.importorskip("xarray", reason="xarray is not installed")
pytestmark = pytest.mark.filterwarnings("ignore:The specified chunks separate the stored chunks")

import chunkwise as cw  # noqa: E402
from chunkwise.xarray import ChunkwiseManager  # noqa: E402


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(0)
    u = rng.standard_normal((20, 10, 12))
    u[3:7, 2, 5] = np.nan  # some NaNs (xarray skips them by default)
    u[:, 4, 1] = np.nan  # an all-NaN series along time
    ds = xr.Dataset(
        {"t": (("time", "lat", "lon"), rng.standard_normal((20, 10, 12))),
         "u": (("time", "lat", "lon"), u)},
        coords={"time": np.arange(20), "lat": np.linspace(-45, 45, 10)},
    )
    path = tmp_path_factory.mktemp("xr") / "ds.zarr"
    ds.to_zarr(path, zarr_format=2, consolidated=True)
    return path


def _open(store):
    return xr.open_zarr(store, chunked_array_type="chunkwise",
                        chunks={"time": 5, "lat": 5, "lon": 6})


def _ref(store):
    return xr.open_zarr(store, chunks=None).load()


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-12)


def test_entry_point_is_registered():
    from importlib.metadata import entry_points

    found = [e for e in entry_points(group="xarray.chunkmanagers") if e.name == "chunkwise"]
    assert found, "no xarray.chunkmanagers entry point named chunkwise"
    assert all(e.load() is ChunkwiseManager for e in found)


def test_variables_are_chunkwise(store):
    ds = _open(store)
    assert isinstance(ds["t"].data, cw.Array)
    assert ds["t"].data.chunks == ((5,) * 4, (5, 5), (6, 6))


def test_mean_time(store):
    _close(_open(store).mean("time").compute()["t"], _ref(store).mean("time")["t"])


def test_sum(store):
    _close(_open(store).sum().compute()["u"], _ref(store).sum()["u"])


def test_nan_reductions_stay_lazy(store):
    ds, ref = _open(store), _ref(store)
    for name in ("mean", "sum", "std", "var", "min", "max", "prod"):
        got = getattr(ds["u"], name)("time")
        assert isinstance(got.data, cw.Array), name  # not computed by the reduction
        _close(got.compute(), getattr(ref["u"], name)("time"))
    _close(ds["u"].std("time", ddof=1).compute(), ref["u"].std("time", ddof=1))


def test_open_reads_nothing_until_compute(tmp_path):
    zarr = pytest.importorskip("zarr")
    path = tmp_path / "lazy.zarr"
    xr.Dataset({"v": (("x", "y"), np.zeros((6, 4)))}).to_zarr(path, zarr_format=2)
    ds = xr.open_zarr(path, chunked_array_type="chunkwise", chunks={"x": 3})
    zarr.open_array(path / "v", mode="r+")[3:, :] = 7.0  # changed after opening
    got = ds["v"].sum("y").compute()
    np.testing.assert_array_equal(got, [0, 0, 0, 28, 28, 28])


def test_isel_std(store):
    got = _open(store)["t"].isel(time=slice(2, 8)).std("lat").compute()
    _close(got, _ref(store)["t"].isel(time=slice(2, 8)).std("lat"))


def test_arithmetic(store):
    ds, ref = _open(store), _ref(store)
    _close((ds["t"] * 2 - ds["u"]).compute(), ref["t"] * 2 - ref["u"])


def test_rechunk(store):
    got = _open(store).chunk({"time": 10, "lat": -1}, chunked_array_type="chunkwise")
    assert got["t"].data.chunks[:2] == ((10, 10), (10,))
    _close(got["t"].compute(), _ref(store)["t"])


def test_cumsum(store):
    _close(_open(store)["t"].cumsum("time").compute(), _ref(store)["t"].cumsum("time"))


def test_general_reduction_and_store(store, tmp_path):
    m = ChunkwiseManager()
    a = np.arange(24.0).reshape(4, 6)
    got = m.reduction(cw.asarray(a, chunks=2), np.sum, aggregate_func=np.sum, axis=1)
    _close(got.compute(), a.sum(axis=1))
    out = tmp_path / "out.zarr"
    (_open(store) * 2).to_zarr(out, zarr_format=2)  # the chunk manager's store()
    _close(xr.open_zarr(out, chunks=None)["u"], _ref(store)["u"] * 2)
