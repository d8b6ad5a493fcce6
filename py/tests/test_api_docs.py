"""Every public function, class, method and property of the package has a docstring."""

import inspect

import pytest

import chunkwise as cw

MODULES = [cw, cw.linalg, cw.distance, cw.random]


def _public(module):
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or inspect.ismodule(obj) or not callable(obj):
            continue
        if isinstance(obj, type) and obj.__module__ in ("numpy", "builtins"):
            continue  # dtypes are NumPy's
        if getattr(obj, "__module__", "").startswith("numpy"):
            continue
        yield f"{module.__name__}.{name}", obj


def _members(cls):
    for name, obj in inspect.getmembers(cls):
        if name.startswith("_") and name not in ("__array_namespace__", "__dlpack__"):
            continue
        if callable(obj) or isinstance(obj, property):
            yield f"{cls.__name__}.{name}", obj


ITEMS = [item for m in MODULES for item in _public(m)] + list(_members(cw.Array))


@pytest.mark.parametrize("name,obj", ITEMS, ids=[n for n, _ in ITEMS])
def test_has_docstring(name, obj):
    doc = inspect.getdoc(obj.fget if isinstance(obj, property) else obj)
    assert doc and doc.strip(), f"{name} has no docstring"
