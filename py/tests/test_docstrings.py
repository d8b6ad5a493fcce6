"""The examples in the package's docstrings run and give what they show."""

import doctest
import importlib
import pkgutil

import pytest

import chunkwise

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(chunkwise.__path__, "chunkwise.")
    if m.name != "chunkwise._core"
) + ["chunkwise"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "chunkwise.xarray":
        pytest.importorskip("xarray")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
