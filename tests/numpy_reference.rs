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

fn compare(name: &str, k: usize, got: &DynArray, want: &DynArray) {
    assert_eq!(got.shape(), want.shape(), "{name} (chunking {k}): shape");
    assert_eq!(got.dtype(), want.dtype(), "{name} (chunking {k}): dtype");
    match want.dtype() {
        DType::F64 => {
            let (g, w) = (
                got.as_typed::<f64>().unwrap(),
                want.as_typed::<f64>().unwrap(),
            );
            for ((i, &wv), &gv) in w.indexed_iter().zip(g.iter()) {
                let ok = if wv.is_nan() {
                    gv.is_nan()
                } else if wv.is_infinite() {
                    gv == wv
                } else {
                    (gv - wv).abs() <= RTOL * wv.abs().max(1e-300)
                };
                assert!(
                    ok,
                    "{name} (chunking {k}) at {i:?}: got {gv:e}, NumPy {wv:e}"
                );
            }
        }
        DType::F32 => panic!("unexpected fixture dtype f32"),
        // bool and every integer type: exactly
        _ => assert_eq!(got, want, "{name} (chunking {k})"),
    }
}

/// Evaluates `expr` (which loads its inputs with the given loader) under every chunking and
/// compares with the NumPy output `out`.
fn check(out: &str, expr: impl Fn(&dyn Fn(&str) -> Array) -> Array) {
    let want = read_npy(out).unwrap();
    let name = out.rsplit('/').next().unwrap();
    for k in 0..3 {
        let x = expr(&|p: &str| load(p, k));
        let got = x
            .compute_dyn()
            .unwrap_or_else(|e| panic!("{name} (chunking {k}): {e}"));
        compare(name, k, &got, &want);
    }
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
