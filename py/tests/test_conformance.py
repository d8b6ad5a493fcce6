"""Regressions of the Array API standard's test suite (data-apis/array-api-tests, see
py/array_api/README.md), checked here against NumPy so that CI, which cannot run that
suite, keeps them fixed: ``__setitem__``, integer rounding, ``sign`` of zeros, ``vecdot``'s
dtype, the ``linalg`` extension, ``expand_dims``'s signature, ``asarray(copy=True)`` and
empty NumPy inputs with nonzero strides."""

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import chunkwise as cw

from test_numpy_reference import ALL_DTYPES, FLOAT_DTYPES, INT_DTYPES, chunked, close

L = cw.linalg


# --- __setitem__ -----------------------------------------------------------------------


@st.composite
def basic_key(draw, shape):
    """A basic index for ``shape``: ints, slices with any step, ``None`` and ``...``."""
    key = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice"] if n else ["slice"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        else:
            key.append(slice(draw(st.none() | st.integers(-n - 2, n + 2)),
                             draw(st.none() | st.integers(-n - 2, n + 2)),
                             draw(st.none() | st.sampled_from([-3, -2, -1, 1, 2, 3]))))
    if key and draw(st.booleans()):
        i = draw(st.integers(0, len(key)))
        j = draw(st.integers(i, len(key)))
        key = key[:i] + [Ellipsis] + key[j:]
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), None)
    return tuple(key)


def _value_for(a: np.ndarray, shape, data, rng):
    if a.dtype.kind == "b":
        return rng.random(shape) < 0.5
    return (rng.integers(-20, 20, size=shape)).astype(a.dtype)


@given(chunked(), st.data())
def test_setitem_basic_matches_numpy(pair, data):
    a, x = pair
    a = np.array(a)  # 0-d draws are NumPy scalars
    key = data.draw(basic_key(a.shape))
    region = a[key].shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # The value: the region's shape, a shape broadcasting to it, or a Python scalar.
    form = data.draw(st.sampled_from(["full", "broadcast", "scalar"]))
    if form == "scalar":
        value = bool(rng.random() < 0.5) if a.dtype.kind == "b" else int(rng.integers(-20, 20))
        if a.dtype.kind == "u":
            value = abs(value)
        given_value = value
    else:
        shape = region if form == "full" else tuple(1 if rng.random() < 0.5 else n
                                                    for n in region)[
            data.draw(st.integers(0, len(region))):]
        value = _value_for(a, shape, data, rng)
        given_value = cw.asarray(value)
    before = x.chunks
    y = x[...]  # an array built before the assignment keeps the old values
    old = a.copy()
    x[key] = given_value
    a[key] = value
    close(x.compute(), a)
    assert x.dtype == a.dtype and x.shape == a.shape and x.chunks == before
    close(y.compute(), old)


@given(chunked(min_dims=1), st.data())
def test_setitem_mask_matches_numpy(pair, data):
    a, x = pair
    a = np.array(a)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    k = data.draw(st.integers(1, a.ndim))
    mask = rng.random(a.shape[:k]) < 0.5
    rest = a.shape[k:]
    form = data.draw(st.sampled_from(["scalar", "0d", "rows", "trailing"]))
    if form == "scalar":
        value = True if a.dtype.kind == "b" else 7
        given_value = value
    elif form == "0d":
        value = _value_for(a, (), data, rng)
        given_value = cw.asarray(value)
    elif form == "rows":
        value = _value_for(a, (int(mask.sum()),) + rest, data, rng)
        given_value = cw.asarray(value)
    else:
        value = _value_for(a, rest, data, rng)
        given_value = cw.asarray(value)
    x[cw.asarray(mask)] = given_value
    a[mask] = value
    close(x.compute(), a)


def test_setitem_errors():
    x = cw.arange(5, chunks=2)
    with pytest.raises(IndexError):
        x[7] = 1
    with pytest.raises(IndexError):
        x[..., ...] = 1
    with pytest.raises(IndexError):
        x[0, 0] = 1
    with pytest.raises(IndexError):
        x[cw.asarray([0, 1])] = 1  # integer-array indices are not settable
    with pytest.raises(ValueError):
        x[1:3] = cw.asarray([1, 2, 3])
    with pytest.raises(TypeError):
        x[0] = 1.5
    with pytest.raises(OverflowError):
        cw.asarray([1, 2], dtype=cw.int8)[0] = 300
    with pytest.raises(TypeError):
        cw.asarray([True, False])[0] = 1
    with pytest.raises(IndexError):
        x[cw.asarray([True, False])] = 1
    with pytest.raises(ValueError):
        x[cw.asarray([True, True, False, False, False])] = cw.asarray([1, 2, 3])
    assert np.array_equal(x.compute(), np.arange(5))


def test_asarray_copy_is_a_new_object():
    x = cw.arange(4)
    y = cw.asarray(x, copy=True)
    assert y is not x
    y[0] = 10
    assert x.compute()[0] == 0 and y.compute()[0] == 10
    assert cw.asarray(x) is x


def test_from_numpy_empty_with_strides():
    a = np.arange(0).reshape(0, 5)  # strides (40, 8): the core panicked on it
    assert a.strides != (0, 0)
    close(cw.asarray(a).compute(), a)


# --- elementwise -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ceil", "floor", "trunc", "round"])
@given(pair=chunked(dtypes=INT_DTYPES + FLOAT_DTYPES))
def test_rounding_keeps_integer_dtype(name, pair):
    a, x = pair
    out = getattr(cw, name)(x)
    expected = a if a.dtype.kind in "iu" else getattr(np, name)(a)
    close(out.compute(), expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sign_of_zeros_is_positive_zero(dtype):
    a = np.array([-0.0, 0.0, -2.5, 3.0, np.nan, -np.inf], dtype=dtype)
    out = cw.sign(cw.asarray(a, chunks=2)).compute()
    close(out, np.sign(a))
    assert not np.signbit(out[:2]).any()


def test_expand_dims_axis_is_positional_or_keyword():
    p = inspect.signature(cw.expand_dims).parameters["axis"]
    assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert cw.expand_dims(cw.arange(3), 1).shape == (3, 1)


# --- vecdot and linalg -------------------------------------------------------------------


@pytest.mark.parametrize("d1,d2", [("int8", "int8"), ("uint8", "int16"), ("float32", "float32"),
                                   ("int32", "float64")])
def test_vecdot_dtype_is_promoted_inputs(d1, d2):
    rng = np.random.default_rng(0)
    a = rng.integers(-50, 50, size=(3, 4)).astype(d1)
    b = rng.integers(0, 50, size=(4,)).astype(d2)
    expected_dtype = np.dtype(cw.result_type(cw.asarray(a), cw.asarray(b)))
    for f in (cw.vecdot, L.vecdot):
        out = f(cw.asarray(a, chunks=2), cw.asarray(b, chunks=3))
        assert out.dtype == expected_dtype
        want = np.sum(a.astype(expected_dtype) * b.astype(expected_dtype), axis=-1,
                      dtype=expected_dtype)
        close(out.compute(), want)
    with pytest.raises(ValueError):
        cw.vecdot(cw.asarray(a), cw.asarray(b[:3]))


@st.composite
def matrices(draw, square=False, min_side=0, max_side=4, max_stack=2):
    stack = tuple(draw(st.lists(st.integers(0, 3), max_size=max_stack)))
    m = draw(st.integers(min_side, max_side))
    n = m if square else draw(st.integers(min_side, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    a = np.random.default_rng(seed).standard_normal(stack + (m, n)).astype(dtype)
    chunks = tuple(draw(st.integers(1, max(s, 1))) for s in a.shape)
    return a, cw.asarray(a, chunks=chunks)


def lclose(actual, expected):
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    tol = 2e-3 if expected.dtype == np.float32 else 1e-8
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@given(matrices(square=True, min_side=1))
def test_square_matrix_functions(pair):
    a, x = pair
    a = a + 4 * np.eye(a.shape[-1], dtype=a.dtype)  # well conditioned
    x = cw.asarray(a, chunks=x.chunks)
    lclose(L.det(x).compute(), np.linalg.det(a))
    sign, logabs = L.slogdet(x)
    lclose(sign.compute(), np.linalg.slogdet(a).sign)
    lclose(logabs.compute(), np.linalg.slogdet(a).logabsdet)
    lclose(L.inv(x).compute(), np.linalg.inv(a))
    lclose(L.matrix_power(x, 3).compute(), np.linalg.matrix_power(a, 3))
    lclose(L.matrix_power(x, 0).compute(), np.linalg.matrix_power(a, 0))
    lclose(L.matrix_power(x, -1).compute(), np.linalg.matrix_power(a, -1))
    spd = a @ np.swapaxes(a, -1, -2) + np.eye(a.shape[-1], dtype=a.dtype)
    s = cw.asarray(spd, chunks=x.chunks)
    for upper in (False, True):
        c = L.cholesky(s, upper=upper).compute()
        lclose(c, np.linalg.cholesky(spd, upper=upper))
        assert np.array_equal(c, np.triu(c) if upper else np.tril(c))
    lclose(L.eigvalsh(s).compute(), np.linalg.eigvalsh(spd))
    w, v = L.eigh(s)
    lclose(w.compute(), np.linalg.eigh(spd).eigenvalues)
    vv = v.compute()
    lclose(vv @ (w.compute()[..., None] * np.swapaxes(vv, -1, -2)), spd)
    b = np.ones(a.shape[-1], dtype=a.dtype)
    lclose(L.solve(x, cw.asarray(b)).compute(), np.linalg.solve(a, np.broadcast_to(
        b[:, None], a.shape[:-1] + (1,)))[..., 0])
    b2 = np.arange(a.shape[-1] * 2, dtype=a.dtype).reshape(-1, 2)
    lclose(L.solve(x, cw.asarray(b2)).compute(), np.linalg.solve(a, b2))


@given(matrices())
def test_decompositions_and_norms(pair):
    a, x = pair
    m, n = a.shape[-2:]
    k = min(m, n)
    lclose(L.svdvals(x).compute(), np.linalg.svd(a, compute_uv=False))
    for full in (True, False):
        u, s, vh = (r.compute() for r in L.svd(x, full_matrices=full))
        un, sn, vhn = np.linalg.svd(a, full_matrices=full)
        assert (u.shape, s.shape, vh.shape) == (un.shape, sn.shape, vhn.shape)
        lclose((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :], a)
    for mode in ("reduced", "complete"):
        q, r = (t.compute() for t in L.qr(x, mode=mode))
        qn, rn = np.linalg.qr(a, mode=mode)
        assert (q.shape, r.shape) == (qn.shape, rn.shape)
        lclose(q @ r, a)
        assert np.array_equal(r, np.triu(r))
    lclose(L.pinv(x).compute(), np.linalg.pinv(a, rtol=max(m, n) * np.finfo(a.dtype).eps))
    lclose(L.matrix_rank(x).compute(), np.linalg.matrix_rank(a, rtol=max(m, n) * np.finfo(a.dtype).eps))
    rtol = np.linspace(0.1, 0.9, num=int(np.prod(a.shape[:-2]))).reshape(a.shape[:-2])
    lclose(L.matrix_rank(x, rtol=cw.asarray(rtol)).compute(), np.linalg.matrix_rank(a, rtol=rtol))
    lclose(L.pinv(x, rtol=0.5).compute(), np.linalg.pinv(a, rtol=0.5))
    for ord in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]:
        if k == 0 and ord != "fro":
            continue
        for keepdims in (False, True):
            lclose(L.matrix_norm(x, ord=ord, keepdims=keepdims).compute(),
                   np.linalg.matrix_norm(a, ord=ord, keepdims=keepdims))


def test_tall_skinny_qr_and_svd_keep_tsqr():
    a = np.random.default_rng(3).standard_normal((60, 4))
    x = cw.asarray(a, chunks=(15, 4))
    q, r = L.qr(x)
    assert q.chunks[0] == (15, 15, 15, 15)  # TSQR keeps the row chunks
    lclose(q.compute() @ r.compute(), a)
    u, s, vh = L.svd(x, full_matrices=False)
    assert u.chunks[0] == (15, 15, 15, 15)
    lclose(s.compute(), np.linalg.svd(a, compute_uv=False))
    u, s, vh = L.svd(x)  # full_matrices=True: U is 60x60
    assert u.shape == (60, 60) and vh.shape == (4, 4)


@given(chunked(dtypes=ALL_DTYPES[1:], min_dims=2), st.integers(-6, 6))
def test_diagonal_and_trace(pair, offset):
    a, x = pair
    close(L.diagonal(x, offset=offset).compute(), np.linalg.diagonal(a, offset=offset))
    out = L.trace(x, offset=offset)
    expected = np.linalg.trace(a, offset=offset)
    if a.dtype.kind == "f":
        lclose(out.compute(), expected.astype(a.dtype))
    else:
        close(out.compute(), expected)


@given(st.data())
def test_cross(data):
    dtype = data.draw(st.sampled_from(["int16", "int64", "float64"]))
    stack = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    axis = data.draw(st.integers(-len(stack) - 1, -1))
    shape = list(stack)
    shape.insert(len(shape) + 1 + axis, 3)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    a = rng.integers(-9, 9, size=shape).astype(dtype)
    b = rng.integers(-9, 9, size=shape).astype(dtype)
    out = L.cross(cw.asarray(a, chunks=2), cw.asarray(b, chunks=1), axis=axis)
    close(out.compute(), np.linalg.cross(a, b, axis=axis))
    with pytest.raises(ValueError):
        L.cross(cw.asarray(np.ones((2, 4))), cw.asarray(np.ones((2, 4))))


def test_linalg_has_the_extension_names():
    for name in ["cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "matmul",
                 "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "outer",
                 "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace",
                 "vecdot", "vector_norm"]:
        f = getattr(L, name)
        assert callable(f) and f.__doc__, name
    with pytest.raises(ValueError):
        L.det(cw.ones((2, 3)))
    with pytest.raises(ValueError):
        L.inv(cw.ones(3))
    with pytest.raises(ValueError):
        L.qr(cw.ones((2, 2)), mode="r")
    with pytest.raises(TypeError):
        L.matrix_power(cw.ones((2, 2)), 1.5)


# --- found with more examples than the suite's 20 ---------------------------------------


def test_expand_dims_out_of_range_is_index_error():
    x = cw.ones((2, 3))
    for axis in (3, -4, 10):
        with pytest.raises(IndexError):
            cw.expand_dims(x, axis=axis)
    assert cw.expand_dims(x, axis=-3).shape == (1, 2, 3)


@pytest.mark.parametrize("n,m,k", [(0, None, 2**63), (3, 4, 4), (3, 4, 3), (3, 4, -3),
                                   (3, 4, -2), (2, 5, 1), (4, 2, -2**70)])
def test_eye_any_offset(n, m, k):
    expected = np.eye(n, m, k=k) if abs(k) < 100 else np.zeros((n, n if m is None else m))
    close(cw.eye(n, m, k=k, chunks=2).compute(), expected)


@pytest.mark.parametrize("s1,s2", [((3,), (2, 3, 4)), ((2, 3, 4), (4,)), ((4,), (1, 2, 4, 5)),
                                   ((1, 3, 4), (2, 4, 5)), ((2, 1, 3, 4), (1, 2, 4, 5)),
                                   ((3, 4), (2, 4, 5)), ((2, 0, 3), (3, 2))])
def test_matmul_broadcasts_stacks(s1, s2):
    rng = np.random.default_rng(0)
    a = rng.integers(-5, 5, size=s1)
    b = rng.integers(-5, 5, size=s2)
    close(cw.matmul(cw.asarray(a, chunks=2), cw.asarray(b, chunks=2)).compute(), a @ b)
    with pytest.raises(ValueError):
        cw.matmul(cw.ones((3, 4)), cw.ones((2, 3, 4)))


@pytest.mark.parametrize("xs,ms", [((1,), (0,)), ((0, 0), (0,)), ((2, 3), (2, 0)),
                                   ((2, 3), (0, 3)), ((0, 0), (0, 0)), ((3, 0), (3,))])
def test_mask_with_zero_length_axes(xs, ms):
    a = np.arange(int(np.prod(xs))).reshape(xs)
    m = np.ones(ms, bool)
    close(cw.asarray(a)[cw.asarray(m)].compute(), a[m])
    with pytest.raises(IndexError):
        cw.asarray(np.ones((2, 3)))[cw.asarray(np.ones((3,), bool))]


def test_tsqr_results_keep_float32():
    x = cw.asarray(np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32),
                   chunks=(4, 2))
    for r in list(L.tsqr(x)) + list(L.svd(x, full_matrices=False)) + [L.svdvals(x)]:
        assert r.dtype == np.float32
