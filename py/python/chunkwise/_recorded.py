"""Recorded core calls: what makes chunkwise arrays picklable.

An array of the extension (``_core.RawArray``) holds a node of the Rust graph compiler:
named Rust kernels, and Python functions registered under internal names (``map_blocks``).
Neither can be serialized, yet Dask ships graphs to worker processes, which must rebuild
them. So the package never calls the extension directly: it calls :data:`core`, a proxy of
``_core`` whose functions, and the methods of whose arrays, record each call that makes
an array: the function or method name, its target array, and its arguments (themselves
recorded arrays). Pickling an array pickles this recipe; unpickling replays the calls, in
a fresh process too, and rebuilds a graph of the same structure. (A ``map_blocks``
function is registered again, under a new internal name.)

- A call is pickled once per pickle and replayed once: the arrays of one
  ``pickle.dumps([a, b])`` that share a sub-expression, and the several results of one
  call (``svd``, ``broadcast_arrays``, ``unstack``), rebuild one shared graph.
- A recipe is pickled flat, its calls in dependency order, so that a long chain of
  operations does not exhaust the pickler's recursion limit.
- ``from_numpy`` does not keep the caller's NumPy array alive: its recipe holds only the
  chunks, and pickling takes the data back from the core (``RawArray.source_array``).
- Random arrays are replayed with their recorded (concrete) seeds: the same values.
- A ``map_blocks`` function that plain ``pickle`` cannot pickle by reference (a lambda, a
  closure) makes ``pickle.dumps`` raise a clear error; ``cloudpickle`` (which Dask uses)
  pickles it by value.

>>> import pickle, chunkwise as cw
>>> x = cw.arange(6, chunks=4) * 2
>>> pickle.loads(pickle.dumps(x)).compute().tolist()
[0, 2, 4, 6, 8, 10]
"""

from __future__ import annotations

import functools
import importlib
import operator
import pickle
import sys
import types

# The extension module itself (not ``from . import _core``: the package's ``_core`` name
# is this module's proxy, ``core``).
_native = importlib.import_module("._core", __package__)

__all__ = ["RawArray", "core"]

NativeRawArray = _native.RawArray


class _Call:
    """One recorded call of the core that made arrays: ``name`` is a function of ``_core``
    (``target`` None) or a method of the recorded array ``target``; ``result`` is what the
    core returned (a native array, or a list or tuple of them)."""

    __slots__ = ("name", "target", "args", "kwargs", "result")

    def __init__(self, name, target, args, kwargs, result):
        self.name = name
        self.target = target
        self.args = args
        self.kwargs = kwargs
        self.result = result

    def label(self) -> str:
        """``name(<function>)`` for a call with a function argument, else ``name(...)``."""
        funcs = [a for a in self.args if callable(a) and not isinstance(a, RawArray)]
        inner = ", ".join(getattr(f, "__name__", type(f).__name__) for f in funcs)
        name = self.name if self.target is None else f"RawArray.{self.name}"
        return f"{name}({inner or '...'})"

    def __reduce__(self):
        for f in _functions(self.args, self.kwargs):
            if not _by_reference(f) and not _in_cloudpickle():
                raise pickle.PicklingError(
                    f"chunkwise array made by {self.label()} cannot be pickled with pickle: "
                    "use cloudpickle (Dask does)")
        return (_replay, (self.name, _refs(self.target), _refs(self.args),
                          _refs(self.kwargs)))


class _SourceCall(_Call):
    """A recorded ``from_numpy``: ``args`` is ``(chunks,)``; pickling takes the data back
    from the core, so the recipe does not keep the caller's array alive."""

    __slots__ = ()

    def __reduce__(self):
        data = self.result.source_array()
        if data is None:  # pragma: no cover - the core's from_numpy is always a source
            raise pickle.PicklingError("chunkwise: from_numpy's data is not in memory")
        return (_replay_source, (data, self.args[0]))


class _Ref:
    """A recorded array as an argument of a pickled call: it pickles as (call, index),
    the call being pickled already (a recipe is pickled in dependency order)."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __reduce__(self):
        return (_result, (self.array._call, self.array._index))


class RawArray:
    """A native ``_core.RawArray`` with the call that made it: attribute access goes to
    the native array; methods take and give recorded arrays; pickling replays the calls."""

    __slots__ = ("_native", "_call", "_index")

    def __init__(self, native, call, index=None):
        self._native = native
        self._call = call
        self._index = index

    def __getattr__(self, name):
        # Only for what the class does not define (the core's methods and properties
        # are defined below); never for the slots, which unpickling or copying may probe.
        if name.startswith("__") or name in RawArray.__slots__:
            raise AttributeError(name)
        attr = getattr(self._native, name)
        if callable(attr):
            return functools.partial(_call_method, self, name, attr)
        return attr

    def __repr__(self) -> str:
        return repr(self._native)

    def __copy__(self):
        return self  # immutable

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_rebuild, (_topological(self._call), self._index))


def _call_method(self, name, method, *args, **kwargs):
    return _wrap(method(*_unwrap(args), **_unwrap(kwargs)), name, self, args, kwargs)


def _method(name, native_method):
    def method(self, *args, **kwargs):
        # (``_unwrap`` inlined for the arguments: this runs once per array operation)
        nargs = [a._native if type(a) is RawArray else _unwrap(a) if type(a) in _CONTAINERS
                 else a for a in args]
        out = native_method(self._native, *nargs, **_unwrap(kwargs) if kwargs else kwargs)
        return _wrap(out, name, self, args, kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Recorded call of the native ``RawArray.{name}``."
    return method


def _property(name):
    return property(operator.attrgetter(f"_native.{name}"), doc=f"The native ``RawArray.{name}``.")


for _name, _attr in vars(NativeRawArray).items():
    if _name.startswith("__"):
        continue
    if callable(_attr):
        setattr(RawArray, _name, _method(_name, _attr))
    elif hasattr(_attr, "__get__"):
        setattr(RawArray, _name, _property(_name))


_CONTAINERS = (tuple, list, dict)


def _unwrap(x):
    """``x`` with recorded arrays replaced by their native ones (in lists, tuples, dicts)."""
    t = type(x)
    if t is RawArray:
        return x._native
    if t is tuple:
        return tuple([_unwrap(e) for e in x]) if x else x
    if t is list:
        return [_unwrap(e) for e in x]
    if t is dict:
        return {k: _unwrap(v) for k, v in x.items()} if x else x
    return x


def _refs(x):
    """``x`` with recorded arrays replaced by :class:`_Ref` (for pickling a call)."""
    t = type(x)
    if t is RawArray:
        return _Ref(x)
    if t is tuple or t is list:
        return t([_refs(e) for e in x])
    if t is dict:
        return {k: _refs(v) for k, v in x.items()}
    return x


def _arrays(x, out):
    """The recorded arrays in ``x`` (in lists, tuples, dicts), appended to ``out``."""
    t = type(x)
    if t is RawArray:
        out.append(x)
    elif t is tuple or t is list:
        for e in x:
            _arrays(e, out)
    elif t is dict:
        for e in x.values():
            _arrays(e, out)
    return out


def _functions(args, kwargs):
    """The functions among a call's arguments (``map_blocks``' ``f``)."""
    values = list(args) + list((kwargs or {}).values())
    return [v for v in values if callable(v) and not isinstance(v, (RawArray, type))]


def _wrap(out, name, target, args, kwargs):
    """The core's result ``out`` with its native arrays recorded as ``name(args)``."""
    t = type(out)
    if t is NativeRawArray:
        return RawArray(out, _Call(name, target, args, kwargs or None, out))
    if (t is list or t is tuple) and any(type(o) is NativeRawArray for o in out):
        call = _Call(name, target, args, kwargs or None, out)
        wrapped = [RawArray(o, call, i) if type(o) is NativeRawArray else o
                   for i, o in enumerate(out)]
        return wrapped if t is list else tuple(wrapped)
    return out


def _topological(call):
    """The calls ``call`` depends on, and ``call``, dependencies first."""
    order, seen, stack = [], set(), [(call, False)]
    while stack:
        c, done = stack.pop()
        if done:
            order.append(c)
            continue
        if id(c) in seen:
            continue
        seen.add(id(c))
        stack.append((c, True))
        inputs = _arrays(c.args, [] if c.target is None else [c.target])
        if c.kwargs:
            _arrays(c.kwargs, inputs)
        for a in reversed(inputs):
            if id(a._call) not in seen:
                stack.append((a._call, False))
    return order


def _by_reference(f) -> bool:
    """Whether plain pickle pickles the function ``f`` (by its importable name)."""
    if isinstance(f, functools.partial):
        return _by_reference(f.func)
    if not isinstance(f, types.FunctionType):
        return True  # another callable: pickle decides
    obj = sys.modules.get(f.__module__)
    for part in f.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is f


def _in_cloudpickle() -> bool:
    """Whether cloudpickle (which pickles functions by value) is pickling."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("cloudpickle"):
            return True
        frame = frame.f_back
    return False


# --- unpickling ----------------------------------------------------------------------


def _replay(name, target, args, kwargs):
    """The recorded call ``name`` made again (its array arguments are replayed already)."""
    nargs, nkwargs = _unwrap(args), _unwrap(kwargs) or {}
    if target is None:
        out = getattr(_native, name)(*nargs, **nkwargs)
    else:
        out = getattr(target._native, name)(*nargs, **nkwargs)
    return _Call(name, target, args, kwargs, out)


def _replay_source(data, chunks):
    native = _native.from_numpy(data, chunks)
    return _SourceCall("from_numpy", None, (chunks,), None, native)


def _result(call, index):
    out = call.result if index is None else call.result[index]
    return RawArray(out, call, index)


def _rebuild(calls, index):
    """The array of a pickled recipe: ``calls`` are replayed, the last is the array's."""
    return _result(calls[-1], index)


# --- the proxy of the extension module -----------------------------------------------


def _function(name, native_function):
    def function(*args, **kwargs):
        out = native_function(*_unwrap(args), **_unwrap(kwargs) if kwargs else kwargs)
        return _wrap(out, name, None, args, kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"Recorded call of the native ``_core.{name}``."
    return function


def _from_numpy(a, chunks):
    """``_core.from_numpy``, recorded without ``a`` (the core copies it; pickling takes
    the copy back with ``RawArray.source_array``)."""
    native = _native.from_numpy(a, chunks)
    return RawArray(native, _SourceCall("from_numpy", None, (chunks,), None, native))


class _Core(types.ModuleType):
    """The extension module ``_core`` with recorded functions and arrays."""

    def __getattr__(self, name):
        return getattr(_native, name)


core = _Core("chunkwise._core (recorded)", _native.__doc__)
for _name in dir(_native):
    if _name.startswith("__"):
        continue
    _attr = getattr(_native, _name)
    if callable(_attr) and not isinstance(_attr, type):
        _attr = _function(_name, _attr)
    setattr(core, _name, _attr)
core.from_numpy = _from_numpy
core.RawArray = RawArray
core.NativeRawArray = NativeRawArray
del _name, _attr
