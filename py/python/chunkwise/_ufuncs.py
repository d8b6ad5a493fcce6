"""NumPy dispatch: ``np.exp(x)`` and other ufuncs on chunkwise arrays stay lazy
(``__array_ufunc__``), and NumPy functions with an Array API equivalent dispatch to it
(``__array_function__``); others compute their inputs first, with NumPy."""

from __future__ import annotations

import numpy as np

# NumPy ufunc name -> namespace function name, where they differ.
_RENAMED = {
    "absolute": "abs", "arccos": "acos", "arcsin": "asin", "arctan": "atan",
    "arctan2": "atan2", "arccosh": "acosh", "arcsinh": "asinh", "arctanh": "atanh",
    "true_divide": "divide", "power": "pow", "mod": "remainder", "invert": "bitwise_invert",
    "left_shift": "bitwise_left_shift", "right_shift": "bitwise_right_shift",
    "rint": "round", "conjugate": "conj",
}

# NumPy function name -> namespace function name, where they differ.
_FUNCTIONS = {
    "concatenate": "concat", "transpose": "permute_dims", "cumsum": "cumulative_sum",
    "cumprod": "cumulative_prod", "amax": "max", "amin": "min",
}


def _namespace():
    import chunkwise

    return chunkwise


def array_ufunc(ufunc, method, inputs, kwargs):
    if method != "__call__" or kwargs.get("out") is not None:
        return NotImplemented
    kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    if kwargs:
        return NotImplemented
    xp = _namespace()
    f = getattr(xp, _RENAMED.get(ufunc.__name__, ufunc.__name__), None)
    if f is None:
        return NotImplemented
    return f(*inputs)


def array_function(func, types, args, kwargs):
    xp = _namespace()
    name = _FUNCTIONS.get(func.__name__, func.__name__)
    f = getattr(xp, name, None)
    if f is not None and callable(f):
        try:
            return f(*args, **kwargs)
        except TypeError:
            pass
    # No lazy equivalent (or other arguments): compute and call NumPy.
    def to_numpy(a):
        from ._array import Array

        if isinstance(a, Array):
            return a.compute()
        if isinstance(a, (list, tuple)):
            return type(a)(to_numpy(v) for v in a)
        return a

    return func(*to_numpy(args), **{k: to_numpy(v) for k, v in kwargs.items()})
