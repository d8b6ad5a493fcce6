//! chunkwise against NumPy: the inputs and NumPy's results were written by
//! `tests/fixtures/reference/make_reference.py` (keep the expressions in sync). Every
//! expression is evaluated with its inputs loaded by `Array::from_npy` under three
//! chunkings (one block; small regular chunks; ragged explicit chunks) and compared with
//! NumPy's output: f64 to 1e-12 relative, integers exactly. The `int_*` fixtures cover the
//! integer types int8, int16, uint16, uint32 and uint64: wrapping arithmetic, mixed-type
//! promotion, sums (to int64 / uint64), casts.

use chunkwise::npy::read_npy;
use chunkwise::{Array, DType, DynArray, SliceArg};

macro_rules! fixture {
    ($name:literal) => {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/reference/",
            $name,
            ".npy"
        )
    };
}

const RTOL: f64 = 1e-12;

/// Loads an input under chunking `k`.
fn load(path: &str, k: usize) -> Array {
    let shape: Vec<u64> = read_npy(path)
        .unwrap()
        .shape()
        .iter()
        .map(|&s| s as u64)
        .collect();
    match k {
        // one block
        0 => Array::from_npy(path, &shape.iter().map(|&s| s.max(1)).collect::<Vec<_>>()).unwrap(),
        // small regular chunks (the last one shorter)
        1 => Array::from_npy(
            path,
            &shape
                .iter()
                .map(|&s| s.div_ceil(3).max(1))
                .collect::<Vec<_>>(),
        )
        .unwrap(),
        // ragged explicit chunks: 1, 2, 1, 2, ...
        _ => {
            let x = Array::from_npy(path, &vec![1; shape.len()]).unwrap();
            let lists: Vec<Vec<u64>> = shape
                .iter()
                .map(|&len| {
                    let mut v = vec![];
                    let (mut left, mut i) = (len, 0);
                    while left > 0 {
                        let c = (1 + i % 2).min(left);
                        v.push(c);
                        left -= c;
                        i += 1;
                    }
                    v
                })
                .collect();
            x.rechunk_explicit(&lists).unwrap()
        }
    }
}

/// How floats are compared with NumPy's.
#[derive(Clone, Copy, Debug)]
enum Tol {
    /// Relative error at most this; NaN matches NaN, infinities exactly.
    Rel(f64),
    /// At most this many units in the last place of the fixture's type apart; zeros (with
    /// their sign), infinities and NaN (any NaN) exactly.
    Ulps(u32),
}

/// The position of a float among the values of its type in order (bit pattern `bits`,
/// sign bit `sign`); neighbours differ by one, +0.0 and -0.0 are both 0.
fn ordinal(bits: u64, sign: u64) -> i128 {
    if bits & sign != 0 {
        -((bits & !sign) as i128)
    } else {
        bits as i128
    }
}

fn floats_match(tol: Tol, (g, go): (f64, i128), (w, wo): (f64, i128)) -> bool {
    if w.is_nan() {
        return g.is_nan();
    }
    match tol {
        Tol::Rel(_) | Tol::Ulps(_) if w.is_infinite() => g == w,
        Tol::Rel(r) => (g - w).abs() <= r * w.abs().max(1e-300),
        Tol::Ulps(_) if w == 0.0 => g.to_bits() == w.to_bits(),
        Tol::Ulps(n) => !g.is_nan() && (go - wo).unsigned_abs() <= n as u128,
    }
}

fn compare(name: &str, k: usize, tol: Tol, got: &DynArray, want: &DynArray) {
    assert_eq!(got.shape(), want.shape(), "{name} (chunking {k}): shape");
    assert_eq!(got.dtype(), want.dtype(), "{name} (chunking {k}): dtype");
    macro_rules! floats {
        ($t:ty, $sign:expr) => {{
            let (g, w) = (
                got.as_typed::<$t>().unwrap(),
                want.as_typed::<$t>().unwrap(),
            );
            let at = |v: $t| (v as f64, ordinal(v.to_bits() as u64, $sign));
            for ((i, &wv), &gv) in w.indexed_iter().zip(g.iter()) {
                assert!(
                    floats_match(tol, at(gv), at(wv)),
                    "{name} (chunking {k}) at {i:?}: got {gv:e}, NumPy {wv:e} ({tol:?})"
                );
            }
        }};
    }
    match want.dtype() {
        DType::F64 => floats!(f64, 1 << 63),
        DType::F32 => floats!(f32, 1 << 31),
        // bool and every integer type: exactly
        _ => assert_eq!(got, want, "{name} (chunking {k})"),
    }
}

/// Evaluates `expr` (which loads its inputs with the given loader) under every chunking and
/// compares with the NumPy output `out`, floats to [`RTOL`].
fn check(out: &str, expr: impl Fn(&dyn Fn(&str) -> Array) -> Array) {
    check_with(out, Tol::Rel(RTOL), expr)
}

/// [`check`] with floats compared as `tol` says.
fn check_with(out: &str, tol: Tol, expr: impl Fn(&dyn Fn(&str) -> Array) -> Array) {
    let want = read_npy(out).unwrap();
    let name = out.rsplit('/').next().unwrap();
    for k in 0..3 {
        let x = expr(&|p: &str| load(p, k));
        let got = x
            .compute_dyn()
            .unwrap_or_else(|e| panic!("{name} (chunking {k}): {e}"));
        compare(name, k, tol, &got, &want);
    }
}

/// The path of fixture `name` (for names built in loops; [`fixture!`] for literal ones).
fn path(name: &str) -> String {
    format!(
        "{}/tests/fixtures/reference/{name}.npy",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn r(start: Option<i64>, stop: Option<i64>, step: i64) -> SliceArg {
    SliceArg::Range {
        start,
        stop,
        step: Some(step),
    }
}

#[test]
fn elementwise_chain_with_broadcasting() {
    // (a * 2 - b) / (c + 3) + a**2 - maximum(a, b); shapes (4,5), (5,), (4,1)
    check(fixture!("out_ew_chain"), |ld| {
        let (a, b, c) = (
            ld(fixture!("in_a")),
            ld(fixture!("in_b")),
            ld(fixture!("in_c")),
        );
        (&a * 2.0 - &b) / (&c + 3.0) + a.pow(2.0).unwrap() - a.maximum(&b).unwrap()
    });
}

#[test]
fn exp_log_sqrt_sin_tanh() {
    // exp(a / 3) + log(pos) - sqrt(pos) * sin(a) + tanh(c)
    check(fixture!("out_math"), |ld| {
        let (a, pos, c) = (
            ld(fixture!("in_a")),
            ld(fixture!("in_pos")),
            ld(fixture!("in_c")),
        );
        (&a / 3.0).exp() + pos.log() - pos.sqrt() * a.sin() + c.tanh()
    });
}

#[test]
fn mean_var_std_over_axes() {
    check(fixture!("out_mean_axis0"), |ld| {
        ld(fixture!("in_a")).mean(Some(&[0]), false).unwrap()
    });
    check(fixture!("out_var_axis1_ddof1"), |ld| {
        ld(fixture!("in_a")).var(Some(&[1]), false, 1).unwrap()
    });
    check(fixture!("out_std_keepdims"), |ld| {
        ld(fixture!("in_cube")).std(Some(&[0, 2]), true, 0).unwrap()
    });
    // cube.mean(axis=-1) + cube.var(axis=(0,)).sum()
    check(fixture!("out_mean_var_cube"), |ld| {
        let cube = ld(fixture!("in_cube"));
        cube.mean(Some(&[-1]), false).unwrap()
            + cube
                .var(Some(&[0]), false, 0)
                .unwrap()
                .sum(None, false)
                .unwrap()
    });
}

#[test]
fn argmin_argmax_with_ties_and_nan() {
    check(fixture!("out_argmax_axis1"), |ld| {
        ld(fixture!("in_ties")).argmax(Some(1)).unwrap()
    });
    check(fixture!("out_argmin_axis0"), |ld| {
        ld(fixture!("in_ties")).argmin(Some(0)).unwrap()
    });
    check(fixture!("out_argmin_flat"), |ld| {
        ld(fixture!("in_ties")).argmin(None).unwrap()
    });
    // np.nan_to_num(ties, nan=-9.0).argmax()
    check(fixture!("out_argmax_flat_nonan"), |ld| {
        let t = ld(fixture!("in_ties"));
        Array::where_(t.isnan(), -9.0, &t)
            .unwrap()
            .argmax(None)
            .unwrap()
    });
}

#[test]
fn negative_step_slices() {
    // big[::-2, 4:0:-1] - big[-1:1:-3, None, 5:1:-1].sum(axis=0)
    check(fixture!("out_neg_slices"), |ld| {
        let big = ld(fixture!("in_big"));
        let p = big
            .slice(&[r(None, None, -2), r(Some(4), Some(0), -1)])
            .unwrap();
        let q = big
            .slice(&[
                r(Some(-1), Some(1), -3),
                SliceArg::NewAxis,
                r(Some(5), Some(1), -1),
            ])
            .unwrap();
        p - q.sum(Some(&[0]), false).unwrap()
    });
    // big[-2, ::-1] * big[:0:-1, -1]
    check(fixture!("out_neg_slices_idx"), |ld| {
        let big = ld(fixture!("in_big"));
        let p = big
            .slice(&[SliceArg::Index(-2), r(None, None, -1)])
            .unwrap();
        let q = big
            .slice(&[r(None, Some(0), -1), SliceArg::Index(-1)])
            .unwrap();
        p * q
    });
}

#[test]
fn matmul_and_tensordot() {
    check(fixture!("out_matmul"), |ld| {
        ld(fixture!("in_m1"))
            .matmul(&ld(fixture!("in_m2")))
            .unwrap()
    });
    // the two sides with different chunkings
    check(fixture!("out_matmul"), |ld| {
        let m2 = read_npy(fixture!("in_m2")).unwrap();
        ld(fixture!("in_m1"))
            .matmul(&Array::from_dyn(m2, &[3, 2]).unwrap())
            .unwrap()
    });
    check(fixture!("out_tensordot"), |ld| {
        ld(fixture!("in_t1"))
            .tensordot(&ld(fixture!("in_t2")), &[1, 2], &[0, 1])
            .unwrap()
    });
}

#[test]
fn concatenate_and_stack() {
    // concatenate([stack([a, a + 1], 1), stack([a * 2, -a], 1)], 0)
    check(fixture!("out_concat_stack"), |ld| {
        let a = ld(fixture!("in_a"));
        let s1 = Array::stack(&[a.clone(), &a + 1.0], 1).unwrap();
        let s2 = Array::stack(&[&a * 2.0, -&a], 1).unwrap();
        Array::concatenate(&[s1, s2], 0).unwrap()
    });
}

#[test]
fn integer_floor_div_and_remainder_with_negatives() {
    check(fixture!("out_floordiv"), |ld| {
        ld(fixture!("in_ints"))
            .floor_div(ld(fixture!("in_divs")))
            .unwrap()
    });
    check(fixture!("out_mod"), |ld| {
        ld(fixture!("in_ints")) % ld(fixture!("in_divs"))
    });
    // ints // -4 + ints % 4
    check(fixture!("out_floordiv_scalar"), |ld| {
        let i = ld(fixture!("in_ints"));
        i.floor_div(-4).unwrap() + &i % 4
    });
}

#[test]
fn astype_float_to_int_truncates() {
    check(fixture!("out_astype_int"), |ld| {
        ld(fixture!("in_fl")).astype(DType::I64).unwrap()
    });
    // (fl * 3).astype(int64).astype(float64) / 2
    check(fixture!("out_astype_roundtrip"), |ld| {
        (ld(fixture!("in_fl")) * 3.0)
            .astype(DType::I64)
            .unwrap()
            .astype(DType::F64)
            .unwrap()
            / 2.0
    });
}

#[test]
fn small_and_unsigned_integers_wrap_like_numpy() {
    check(fixture!("out_int_wrap_i8"), |ld| {
        let i8 = ld(fixture!("in_int_i8"));
        &i8 * 3 + &i8
    });
    check(fixture!("out_int_wrap_u16"), |ld| {
        ld(fixture!("in_int_u16")) * 3 + 1
    });
    check(fixture!("out_int_wrap_u64"), |ld| {
        let u64 = ld(fixture!("in_int_u64"));
        &u64 * &u64 + &u64
    });
    check(fixture!("out_int_wrap_i16_neg"), |ld| {
        -ld(fixture!("in_int_i16")) - 1
    });
}

#[test]
fn mixed_integer_types_promote_like_numpy() {
    check(fixture!("out_int_mixed_i8_u16"), |ld| {
        ld(fixture!("in_int_i8")) + ld(fixture!("in_int_u16"))
    });
    check(fixture!("out_int_mixed_i16_u32"), |ld| {
        ld(fixture!("in_int_u32")) - ld(fixture!("in_int_i16"))
    });
    check(fixture!("out_int_mixed_u64_i8"), |ld| {
        ld(fixture!("in_int_u64")) + ld(fixture!("in_int_i8"))
    });
    check(fixture!("out_int_mixed_u16_u32"), |ld| {
        ld(fixture!("in_int_u16")) * ld(fixture!("in_int_u32"))
    });
    check(fixture!("out_int_truediv_u16_i8"), |ld| {
        ld(fixture!("in_int_u16")) / ld(fixture!("in_int_i8"))
    });
    // i16 // i8 + i16 % i8, with a zero divisor
    check(fixture!("out_int_floordiv_i16_i8"), |ld| {
        let (a, b) = (ld(fixture!("in_int_i16")), ld(fixture!("in_int_i8")));
        a.floor_div(&b).unwrap() + &a % &b
    });
}

#[test]
fn integer_reductions_follow_numpy() {
    check(fixture!("out_int_sum_i8"), |ld| {
        ld(fixture!("in_int_i8")).sum(Some(&[1]), false).unwrap()
    });
    check(fixture!("out_int_sum_u16"), |ld| {
        ld(fixture!("in_int_u16")).sum(Some(&[0]), false).unwrap()
    });
    check(fixture!("out_int_prod_u32"), |ld| {
        ld(fixture!("in_int_u32")).prod(Some(&[1]), false).unwrap()
    });
    check(fixture!("out_int_sum_u64"), |ld| {
        ld(fixture!("in_int_u64")).sum(None, false).unwrap()
    });
    check(fixture!("out_int_mean_u64"), |ld| {
        ld(fixture!("in_int_u64")).mean(Some(&[1]), false).unwrap()
    });
    check(fixture!("out_int_max_u64"), |ld| {
        ld(fixture!("in_int_u64")).max(Some(&[1]), false).unwrap()
    });
    check(fixture!("out_int_min_i16"), |ld| {
        ld(fixture!("in_int_i16")).min(Some(&[0]), false).unwrap()
    });
    check(fixture!("out_int_argmax_u32"), |ld| {
        ld(fixture!("in_int_u32")).argmax(Some(1)).unwrap()
    });
}

#[test]
fn casts_between_integer_types_follow_numpy() {
    check(fixture!("out_int_cast_fl_u8"), |ld| {
        ld(fixture!("in_fl")).astype(DType::U8).unwrap()
    });
    check(fixture!("out_int_cast_fl_i16"), |ld| {
        (ld(fixture!("in_fl")) * 1000.0).astype(DType::I16).unwrap()
    });
    check(fixture!("out_int_cast_i16_u8"), |ld| {
        ld(fixture!("in_int_i16")).astype(DType::U8).unwrap()
    });
    check(fixture!("out_int_cast_u64_i8"), |ld| {
        ld(fixture!("in_int_u64")).astype(DType::I8).unwrap()
    });
    check(fixture!("out_int_cast_i8_u64"), |ld| {
        ld(fixture!("in_int_i8")).astype(DType::U64).unwrap()
    });
    check(fixture!("out_int_cast_u32_f64"), |ld| {
        ld(fixture!("in_int_u32")).astype(DType::F64).unwrap()
    });
}

/// Transcendental functions: NumPy may use its own SIMD versions (AVX-512), which are
/// within a few ulps of the C library that chunkwise calls.
const MATH_ULPS: Tol = Tol::Ulps(4);

#[test]
fn inverse_hyperbolics_exp2_trunc_signbit_on_special_values() {
    // ±0, ±inf, NaN of both signs, subnormals, values near 1 and beyond exp2's range.
    type Unary = fn(&Array) -> Array;
    let ops: [(&str, Unary, Tol); 6] = [
        ("arcsinh", Array::arcsinh, MATH_ULPS),
        ("arccosh", Array::arccosh, MATH_ULPS),
        ("arctanh", Array::arctanh, MATH_ULPS),
        ("exp2", Array::exp2, MATH_ULPS),
        ("trunc", Array::trunc, Tol::Ulps(0)),
        ("signbit", Array::signbit, Tol::Ulps(0)),
    ];
    for dt in ["f64", "f32"] {
        let x = path(&format!("in_sp_{dt}"));
        for (name, f, tol) in ops {
            check_with(&path(&format!("out_sp_{name}_{dt}")), tol, |ld| f(&ld(&x)));
        }
    }
    // Integer inputs: math functions give floats (int16: float32), trunc keeps the type,
    // signbit is `x < 0`.
    let (i16m, i64m) = (path("in_spi_i16"), path("in_spi_i64"));
    check_with(&path("out_spi_arcsinh_i16"), MATH_ULPS, |ld| {
        ld(&i16m).arcsinh()
    });
    check_with(&path("out_spi_arccosh_i64"), MATH_ULPS, |ld| {
        ld(&i64m).arccosh()
    });
    check(&path("out_spi_trunc_i64"), |ld| ld(&i64m).trunc());
    check(&path("out_spi_signbit_i16"), |ld| ld(&i16m).signbit());
    check_with(&path("out_spi_hypot_i16"), Tol::Ulps(1), |ld| {
        let x = ld(&i16m);
        let rev = x.slice(&[r(None, None, -1)]).unwrap();
        x.hypot(&rev).unwrap()
    });
}

#[test]
fn copysign_hypot_logaddexp_nextafter_on_all_pairs_of_special_values() {
    // A column of special values against a row of the same values: every pair.
    type Binary = fn(&Array, &Array) -> chunkwise::Result<Array>;
    let ops: [(&str, Binary, Tol); 4] = [
        ("copysign", |a, b| a.copysign(b), Tol::Ulps(0)),
        ("hypot", |a, b| a.hypot(b), Tol::Ulps(1)),
        ("logaddexp", |a, b| a.logaddexp(b), MATH_ULPS),
        ("nextafter", |a, b| a.nextafter(b), Tol::Ulps(0)),
    ];
    for dt in ["f64", "f32"] {
        let (col, row) = (path(&format!("in_spx_{dt}")), path(&format!("in_sp_{dt}")));
        for (name, f, tol) in ops {
            check_with(&path(&format!("out_sp_{name}_{dt}")), tol, |ld| {
                f(&ld(&col), &ld(&row)).unwrap()
            });
        }
    }
}

#[test]
fn shifts_follow_numpy_for_every_integer_type() {
    // Values from MIN to MAX against counts 0, 1, 2, bits - 1, bits, bits + 1, 2 bits, MAX
    // and negative ones: NumPy shifts everything out past the width (negative counts
    // included), giving 0, or -1 for right shifts of negative values.
    for t in ["i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64"] {
        let (a, s) = (path(&format!("in_sh_{t}_a")), path(&format!("in_sh_{t}_s")));
        check(&path(&format!("out_sh_shl_{t}")), |ld| {
            ld(&a).shl(ld(&s)).unwrap()
        });
        check(&path(&format!("out_sh_shr_{t}")), |ld| {
            ld(&a).shr(ld(&s)).unwrap()
        });
    }
    // int8 << int64 is int64; Python (here Rust) integer scalars are weak.
    let counts = Array::from_ndarray(ndarray::arr1(&[1i64, 60, 64]), &[2]).unwrap();
    check(&path("out_sh_mixed"), |ld| {
        ld(&path("in_sh_i8_a")).shl(&counts).unwrap()
    });
    check(&path("out_sh_scalar"), |ld| {
        ld(&path("in_sh_u16_a")).shl(3).unwrap().shr(1).unwrap()
    });
    // Floats, bool and uint64 with a signed type have no shifts (NumPy refuses the last
    // two as well; it would shift bool as int8, the Array API standard refuses it).
    let f = Array::from_ndarray(ndarray::arr1(&[1.0f64]), &[1]).unwrap();
    let b = Array::from_ndarray(ndarray::arr1(&[true]), &[1]).unwrap();
    let u = Array::from_ndarray(ndarray::arr1(&[1u64]), &[1]).unwrap();
    assert!(f.shl(1).is_err());
    assert!(b.shr(&b).is_err());
    assert!(u.shl(&counts).is_err());
}
