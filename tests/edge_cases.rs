//! Edge cases: empty arrays, size-1 and ragged chunks, negative steps, every user error
//! (typed `Err`, never a panic), panicking user closures, and huge lazy arrays.

use chunkwise::{s, Array, DType, Error, SliceArg};
use ndarray::{array, ArrayD, IxDyn};
use std::time::{Duration, Instant};

fn f64s(shape: &[usize], v: Vec<f64>) -> ArrayD<f64> {
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

fn rng(start: i64, stop: i64, step: i64) -> SliceArg {
    SliceArg::Range {
        start: Some(start),
        stop: Some(stop),
        step: Some(step),
    }
}

fn step(step: i64) -> SliceArg {
    SliceArg::Range {
        start: None,
        stop: None,
        step: Some(step),
    }
}

/// The error's message, for errors that must be reported (not panics).
fn err_msg<T: std::fmt::Debug>(r: chunkwise::Result<T>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

fn vals<T: Clone>(a: ArrayD<T>) -> Vec<T> {
    a.iter().cloned().collect()
}

// ----- empty arrays -----

#[test]
fn empty_1d_elementwise_and_reductions() {
    let x = Array::from_ndarray(ArrayD::<f64>::zeros(IxDyn(&[0])), &[1]).unwrap();
    let y = (&x * 2.0 + 1.0).exp();
    let r = y.compute::<f64>().unwrap();
    assert_eq!(r.shape(), &[0]);
    assert_eq!(
        vals(x.sum(None, false).unwrap().compute::<f64>().unwrap()),
        vec![0.0]
    );
    assert_eq!(
        vals(x.prod(None, false).unwrap().compute::<f64>().unwrap()),
        vec![1.0]
    );
    assert!(x
        .mean(None, false)
        .unwrap()
        .compute::<f64>()
        .unwrap()
        .first()
        .unwrap()
        .is_nan());
    assert!(x
        .var(None, false, 0)
        .unwrap()
        .compute::<f64>()
        .unwrap()
        .first()
        .unwrap()
        .is_nan());
    assert_eq!(
        vals(x.any(None, false).unwrap().compute::<bool>().unwrap()),
        vec![false]
    );
    assert_eq!(
        vals(x.all(None, false).unwrap().compute::<bool>().unwrap()),
        vec![true]
    );
    // integer sum of nothing is an integer 0
    let i = Array::arange(0.0, 0.0, 1.0, 3).unwrap();
    assert_eq!(i.shape(), vec![0]);
    assert_eq!(
        vals(i.sum(None, false).unwrap().compute::<i64>().unwrap()),
        vec![0]
    );
}

#[test]
fn empty_2d_reductions_keep_the_other_axis() {
    let x = Array::zeros(&[3, 0], &[2, 1], DType::F64).unwrap();
    let y = (&x + 1.0).sqrt();
    assert_eq!(y.compute::<f64>().unwrap().shape(), &[3, 0]);
    // over the empty axis: one value per row
    assert_eq!(
        vals(x.sum(Some(&[1]), false).unwrap().compute::<f64>().unwrap()),
        vec![0.0; 3]
    );
    let m = x.mean(Some(&[1]), true).unwrap().compute::<f64>().unwrap();
    assert_eq!(m.shape(), &[3, 1]);
    assert!(m.iter().all(|v| v.is_nan()));
    assert_eq!(
        vals(
            x.any(Some(&[-1]), false)
                .unwrap()
                .compute::<bool>()
                .unwrap()
        ),
        vec![false; 3]
    );
    assert_eq!(
        vals(
            x.all(Some(&[-1]), false)
                .unwrap()
                .compute::<bool>()
                .unwrap()
        ),
        vec![true; 3]
    );
    // over the nonempty axis: an empty result
    assert_eq!(
        x.sum(Some(&[0]), false)
            .unwrap()
            .compute::<f64>()
            .unwrap()
            .shape(),
        &[0]
    );
    // everything
    assert_eq!(
        vals(x.sum(None, false).unwrap().compute::<f64>().unwrap()),
        vec![0.0]
    );
    // an empty matmul inner dimension gives zeros
    let a = Array::ones(&[3, 0], &[3, 1], DType::F64).unwrap();
    let b = Array::ones(&[0, 2], &[1, 2], DType::F64).unwrap();
    assert_eq!(
        a.matmul(&b).unwrap().compute::<f64>().unwrap(),
        f64s(&[3, 2], vec![0.0; 6])
    );
}

#[test]
fn empty_slices_compute() {
    // Regression (fixed in a852b3e): an empty selection panicked in the gather kernel.
    let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    assert_eq!(
        x.slice(&[s(2..2)])
            .unwrap()
            .compute::<i64>()
            .unwrap()
            .shape(),
        &[0]
    );
    assert_eq!(
        x.slice(&[rng(1, 4, -1)])
            .unwrap()
            .compute::<i64>()
            .unwrap()
            .shape(),
        &[0]
    );
    assert_eq!(
        vals(
            x.slice(&[SliceArg::range(4, 2)])
                .unwrap()
                .sum(None, false)
                .unwrap()
                .compute::<i64>()
                .unwrap()
        ),
        vec![0]
    );
    let e = Array::zeros(&[0, 3], &[1, 1], DType::F64).unwrap();
    assert_eq!(
        e.slice(&[s(..), s(1)])
            .unwrap()
            .compute::<f64>()
            .unwrap()
            .shape(),
        &[0]
    );
    assert_eq!(
        e.slice(&[SliceArg::NewAxis])
            .unwrap()
            .compute::<f64>()
            .unwrap()
            .shape(),
        &[1, 0, 3]
    );
}

#[test]
fn min_max_argmin_of_empty_are_errors() {
    let x = Array::zeros(&[0], &[1], DType::F64).unwrap();
    for r in [
        x.min(None, false),
        x.max(None, false),
        x.argmin(None),
        x.argmax(None),
    ] {
        let m = err_msg(r.and_then(|a| a.compute::<f64>()));
        assert!(m.contains("empty"), "{m}");
    }
    let y = Array::zeros(&[2, 0], &[1, 1], DType::I64).unwrap();
    assert!(y.min(Some(&[1]), false).is_err());
    // over the nonempty axis it is fine (and empty)
    assert_eq!(
        y.min(Some(&[0]), false)
            .unwrap()
            .compute::<i64>()
            .unwrap()
            .shape(),
        &[0]
    );
}

// ----- chunkings -----

#[test]
fn size_one_chunks() {
    let a = f64s(&[3, 4], (0..12).map(|v| v as f64 * 0.5 - 2.0).collect());
    let x = Array::from_ndarray(a.clone(), &[1, 1]).unwrap();
    assert_eq!(x.chunks().unwrap().num_blocks(), vec![3, 4]);
    let y = (&x * &x - 1.0).compute::<f64>().unwrap();
    assert_eq!(y, a.mapv(|v| v * v - 1.0));
    assert_eq!(
        vals(x.sum(Some(&[0]), false).unwrap().compute::<f64>().unwrap()),
        vals(a.sum_axis(ndarray::Axis(0)))
    );
    assert_eq!(
        vals(x.argmax(None).unwrap().compute::<i64>().unwrap()),
        vec![11]
    );
    assert_eq!(x.t().unwrap().compute::<f64>().unwrap(), a.t().to_owned());
    let m = x.matmul(&x.t().unwrap()).unwrap().compute::<f64>().unwrap();
    let a2 = a.clone().into_dimensionality::<ndarray::Ix2>().unwrap();
    assert_eq!(m, a2.dot(&a2.t()).into_dyn());
}

#[test]
fn ragged_chunks_agree_with_regular_ones() {
    let a = f64s(
        &[10, 3],
        (0..30).map(|v| ((v * 7) % 11) as f64 - 5.0).collect(),
    );
    let reg = Array::from_ndarray(a.clone(), &[4, 2]).unwrap();
    let rag = reg
        .rechunk_explicit(&[vec![3, 1, 4, 2], vec![1, 2]])
        .unwrap();
    assert_eq!(rag.chunks().unwrap().axis(0).lengths(), vec![3, 1, 4, 2]);
    // a binary op between differently chunked operands unifies the chunks
    let z = (&rag - &reg).compute::<f64>().unwrap();
    assert!(z.iter().all(|&v| v == 0.0));
    assert_eq!(rag.compute::<f64>().unwrap(), a);
    assert_eq!(
        rag.max(Some(&[0]), false)
            .unwrap()
            .compute::<f64>()
            .unwrap(),
        reg.max(Some(&[0]), false)
            .unwrap()
            .compute::<f64>()
            .unwrap()
    );
    assert_eq!(
        rag.argmin(Some(0)).unwrap().compute::<i64>().unwrap(),
        reg.argmin(Some(0)).unwrap().compute::<i64>().unwrap()
    );
    // integer sums are exact whatever the chunking
    let ri = rag
        .astype(DType::I64)
        .unwrap()
        .sum(Some(&[0]), false)
        .unwrap();
    let want: Vec<i64> = a
        .sum_axis(ndarray::Axis(0))
        .iter()
        .map(|&v| v as i64)
        .collect();
    assert_eq!(vals(ri.compute::<i64>().unwrap()), want);
    // a slice across ragged boundaries
    let sl = rag
        .slice(&[rng(8, 1, -3), s(1..)])
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert_eq!(
        vals(sl),
        vec![
            a[[8, 1]],
            a[[8, 2]],
            a[[5, 1]],
            a[[5, 2]],
            a[[2, 1]],
            a[[2, 2]]
        ]
    );
}

#[test]
fn negative_steps() {
    let x = Array::arange(0.0, 10.0, 1.0, 3).unwrap();
    let c = |a: &[SliceArg]| vals(x.slice(a).unwrap().compute::<i64>().unwrap());
    assert_eq!(c(&[step(-1)]), (0..10).rev().collect::<Vec<_>>());
    assert_eq!(c(&[step(-3)]), vec![9, 6, 3, 0]);
    assert_eq!(c(&[rng(8, 2, -2)]), vec![8, 6, 4]);
    assert_eq!(c(&[rng(-2, -8, -4)]), vec![8, 4]);
    assert_eq!(
        c(&[SliceArg::Range {
            start: Some(100),
            stop: None,
            step: Some(-4)
        }]),
        vec![9, 5, 1]
    );
    assert_eq!(
        c(&[SliceArg::Range {
            start: None,
            stop: Some(-100),
            step: Some(-5)
        }]),
        vec![9, 4]
    );
    // Regression (fixed in a852b3e): elementwise ops read a reversed single-block view in
    // memory order, so `x[::-1] + 0` gave `x`.
    let one = Array::arange(0.0, 4.0, 1.0, 4).unwrap();
    let r = one.slice(&[step(-1)]).unwrap() + 0;
    assert_eq!(vals(r.compute::<i64>().unwrap()), vec![3, 2, 1, 0]);
    let r = one.slice(&[step(-1)]).unwrap() * 1.0;
    assert_eq!(vals(r.compute::<f64>().unwrap()), vec![3.0, 2.0, 1.0, 0.0]);
    // ... and the same for a transposed block
    let m = Array::from_ndarray(array![[0i64, 1, 2], [3, 4, 5]], &[2, 3]).unwrap();
    let t = m.t().unwrap();
    assert_eq!(
        vals(t.abs().compute::<i64>().unwrap()),
        vec![0, 3, 1, 4, 2, 5]
    );
    assert_eq!(
        vals(t.astype(DType::F64).unwrap().compute::<f64>().unwrap()),
        vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
    );
    // 2-d: reverse both axes across chunk boundaries, then reduce
    let a = f64s(&[5, 4], (0..20).map(f64::from).collect());
    let x2 = Array::from_ndarray(a.clone(), &[2, 3]).unwrap();
    let r = x2.slice(&[step(-2), step(-1)]).unwrap();
    let want = a.slice(ndarray::s![..;-2, ..;-1]).to_owned();
    assert_eq!(r.compute::<f64>().unwrap(), want.clone().into_dyn());
    assert_eq!(
        vals(
            (&r - 1.0)
                .sum(Some(&[1]), false)
                .unwrap()
                .compute::<f64>()
                .unwrap()
        ),
        vals(want.mapv(|v| v - 1.0).sum_axis(ndarray::Axis(1)).into_dyn())
    );
}

// ----- user errors -----

#[test]
fn out_of_range_index_is_an_error() {
    let x = Array::arange(0.0, 10.0, 1.0, 3).unwrap();
    for i in [10, -11, 1000] {
        let m = err_msg(x.slice(&[s(i)]));
        assert!(m.contains("out of bounds"), "{m}");
    }
    let y = Array::zeros(&[3, 4], &[2, 2], DType::F64).unwrap();
    let m = err_msg(y.slice(&[s(..), s(4)]));
    assert!(m.contains("out of bounds") && m.contains("axis 1"), "{m}");
    // the last valid ones work
    assert_eq!(
        vals(x.slice(&[s(-10)]).unwrap().compute::<i64>().unwrap()),
        vec![0]
    );
    assert_eq!(
        vals(x.slice(&[s(9)]).unwrap().compute::<i64>().unwrap()),
        vec![9]
    );
}

#[test]
fn zero_step_is_an_error() {
    let x = Array::arange(0.0, 10.0, 1.0, 3).unwrap();
    let m = err_msg(x.slice(&[step(0)]));
    assert!(m.contains("zero"), "{m}");
}

#[test]
fn too_many_indices_is_an_error() {
    let x = Array::zeros(&[3, 4], &[2, 2], DType::F64).unwrap();
    let m = err_msg(x.slice(&[s(0), s(0), s(0)]));
    assert!(m.contains("too many indices"), "{m}");
    assert!(x.slice(&[SliceArg::Ellipsis, SliceArg::Ellipsis]).is_err());
    // new axes do not count as indices
    assert_eq!(
        x.slice(&[SliceArg::NewAxis, s(0), SliceArg::NewAxis, s(0)])
            .unwrap()
            .shape(),
        vec![1, 1]
    );
}

#[test]
fn broadcast_mismatch_in_operator_is_carried_to_compute() {
    let a = Array::zeros(&[3, 4], &[2, 2], DType::F64).unwrap();
    let b = Array::zeros(&[5], &[2], DType::F64).unwrap();
    let bad = &a + &b; // operators cannot fail: the array carries the error
    let m = err_msg(bad.compute::<f64>());
    assert!(m.contains("broadcast"), "{m}");
    // later operations carry it too, named methods return it
    let later = (bad.exp() * 2.0).sum(None, false);
    assert!(err_msg(later).contains("broadcast"));
    assert!(err_msg(a.try_add(&b)).contains("broadcast"));
    // (3,1) + (4) + (1,4) broadcasts fine
    let c = Array::ones(&[3, 1], &[1, 1], DType::F64).unwrap();
    let d = Array::ones(&[4], &[3], DType::F64).unwrap();
    let e = Array::ones(&[1, 4], &[1, 2], DType::F64).unwrap();
    assert_eq!(
        (&c + &d + &e).compute::<f64>().unwrap(),
        f64s(&[3, 4], vec![3.0; 12])
    );
}

#[test]
fn matmul_inner_dimension_mismatch_is_an_error() {
    let a = Array::ones(&[3, 4], &[2, 2], DType::F64).unwrap();
    let b = Array::ones(&[5, 2], &[2, 2], DType::F64).unwrap();
    assert!(a.matmul(&b).is_err());
    assert!(a.tensordot(&b, &[1], &[0]).is_err());
    let s = Array::full(&[], &[], 1.0).unwrap();
    assert!(a.matmul(&s).is_err());
}

#[test]
fn bad_rechunk_is_an_error() {
    let x = Array::zeros(&[6, 4], &[2, 2], DType::F64).unwrap();
    assert!(x.rechunk(&[0, 2]).is_err());
    assert!(x.rechunk(&[2]).is_err());
    assert!(x.rechunk_explicit(&[vec![3, 2], vec![4]]).is_err());
    assert!(Array::zeros(&[6], &[0], DType::F64).is_err());
}

#[test]
fn concatenate_mismatched_shapes_is_an_error() {
    let a = Array::zeros(&[3, 4], &[2, 2], DType::F64).unwrap();
    let b = Array::zeros(&[3, 5], &[2, 2], DType::F64).unwrap();
    let c = Array::zeros(&[3], &[2], DType::F64).unwrap();
    assert!(Array::concatenate(&[a.clone(), b.clone()], 0).is_err());
    assert!(Array::concatenate(&[a.clone(), c], 0).is_err());
    assert!(Array::concatenate(&[], 0).is_err());
    assert!(Array::concatenate(&[a.clone(), a.clone()], 2).is_err());
    assert!(Array::stack(&[a.clone(), b], 0).is_err());
    // along the mismatched axis it is fine
    assert_eq!(
        Array::concatenate(
            &[
                a.clone(),
                Array::zeros(&[3, 5], &[3, 3], DType::F64).unwrap()
            ],
            1
        )
        .unwrap()
        .shape(),
        vec![3, 9]
    );
}

#[test]
fn bad_axes_are_errors() {
    let x = Array::zeros(&[3, 4], &[2, 2], DType::F64).unwrap();
    assert!(x.sum(Some(&[2]), false).is_err());
    assert!(x.sum(Some(&[-3]), false).is_err());
    assert!(x.sum(Some(&[0, -2]), false).is_err()); // repeated
    assert!(x.argmax(Some(5)).is_err());
    assert!(x.transpose(&[0]).is_err());
    assert!(x.transpose(&[0, 0]).is_err());
}

#[test]
fn panicking_map_blocks_is_an_error_naming_the_layer() {
    let x = Array::arange(0.0, 100.0, 1.0, 10).unwrap();
    let y = x
        .map_blocks("explode", |b: ndarray::ArrayViewD<i64>| {
            if b.iter().any(|&v| v == 42) {
                panic!("boom at 42");
            }
            b.to_owned()
        })
        .unwrap();
    let t = Instant::now();
    match y.sum(None, false).unwrap().compute::<i64>() {
        Err(Error::Panicked {
            layer,
            block,
            message,
            ..
        }) => {
            assert!(layer.starts_with("explode"), "{layer}");
            assert_eq!(block, vec![4]);
            assert!(message.contains("boom at 42"), "{message}");
        }
        other => panic!("expected a Panicked error, got {other:?}"),
    }
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the failing run did not stop promptly"
    );
    // the process is still usable afterwards
    assert_eq!(
        vals(x.sum(None, false).unwrap().compute::<i64>().unwrap()),
        vec![4950]
    );
}

#[test]
fn from_npy_of_a_missing_file_names_the_path() {
    let p = std::env::temp_dir().join("chunkwise-edge-cases-no-such-dir/missing-file.npy");
    let m = err_msg(Array::from_npy(&p, &[2]));
    assert!(m.contains("missing-file.npy"), "{m}");
}

#[test]
fn compute_with_the_wrong_type_is_an_error() {
    let x = Array::arange(0.0, 4.0, 1.0, 2).unwrap();
    assert!(matches!(
        x.compute::<f64>(),
        Err(Error::DTypeMismatch { .. })
    ));
}

// ----- huge lazy arrays -----

const N: u64 = 1_000_000;

#[test]
fn huge_arrays_build_and_slice_lazily() {
    // 10^12 elements: 8 TB if it were ever allocated.
    let x = Array::random_uniform(&[N, N], &[1000, 1000], 3).unwrap();
    assert_eq!(x.chunks().unwrap().num_blocks(), vec![1000, 1000]);
    let row = x.slice(&[s(5)]).unwrap();
    assert_eq!(row.shape(), vec![N]);
    let y = (&x * 2.0 - 1.0).exp().sum(Some(&[0]), false).unwrap();
    assert_eq!(y.shape(), vec![N]);
    let z = x.slice(&[step(-7), s(..10)]).unwrap();
    assert_eq!(z.shape(), vec![N.div_ceil(7), 10]);
    // 10^6 chunks per axis (10^12 blocks)
    let tiny_chunks = Array::full(&[N, N], &[1, 1], 2.5).unwrap();
    assert_eq!(tiny_chunks.chunks().unwrap().num_blocks(), vec![N, N]);
    let w = tiny_chunks.t().unwrap().slice(&[s(-1), s(7..9)]).unwrap();
    assert_eq!(w.shape(), vec![2]);
}

#[test]
fn computing_a_tiny_slice_of_a_huge_array_runs_only_the_needed_blocks() {
    let t = Instant::now();
    let x = Array::full(&[N, N], &[1000, 1000], 1.5).unwrap();
    let y = ((&x * 2.0) + 1.0)
        .slice(&[s(999_998..), s(123_456..123_459)])
        .unwrap();
    assert_eq!(y.compute::<f64>().unwrap(), f64s(&[2, 3], vec![4.0; 6]));
    // a reduction over one axis of a slice: only one column of blocks is needed
    let col = x
        .slice(&[s(..2000), s(5)])
        .unwrap()
        .sum(None, false)
        .unwrap();
    assert_eq!(vals(col.compute::<f64>().unwrap()), vec![3000.0]);

    let r1 = Array::random_uniform(&[N, N], &[1000, 1000], 11).unwrap();
    let r2 = Array::random_uniform(&[N, N], &[300_000, 7], 11).unwrap();
    let idx = [s(654_321..654_324), rng(-1, -6, -2)];
    let a = r1.slice(&idx).unwrap().compute::<f64>().unwrap();
    let b = r2.slice(&idx).unwrap().compute::<f64>().unwrap();
    assert_eq!(a.shape(), &[3, 3]);
    assert!(a.iter().all(|v| (0.0..1.0).contains(v)), "{a:?}");
    assert!(a.iter().any(|&v| v != a[[0, 0]]));
    assert_eq!(a, b, "random values must not depend on the chunking");
    let c = Array::random_uniform(&[N, N], &[1000, 1000], 12)
        .unwrap()
        .slice(&idx)
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert_ne!(a, c, "a different seed gives different values");
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_task_over_the_memory_limit_is_refused_before_running() {
    use chunkwise::{Array, ComputeOptions, Error};
    // Blocks of 8 MB: the sum's per-chunk step holds one, over a limit of 1 MB.
    let x = Array::random_uniform(&[4000, 250], &[4000, 250], 1).unwrap();
    let opts = ComputeOptions {
        memory_limit: Some(1 << 20),
        ..ComputeOptions::default()
    };
    let e = x
        .sum(None, false)
        .unwrap()
        .compute_with::<f64>(&opts)
        .unwrap_err();
    match &e {
        Error::MemoryLimit {
            layer,
            projected,
            limit,
        } => {
            assert!(layer.contains("sum"), "{e}");
            assert!(*projected >= 8_000_000, "{e}");
            assert_eq!(*limit, 1 << 20);
        }
        other => panic!("{other}"),
    }
    // With smaller chunks it fits, and the result is the same.
    let y = x.rechunk(&[500, 250]).unwrap().sum(None, false).unwrap();
    let small = Array::random_uniform(&[4000, 250], &[500, 250], 1).unwrap();
    let a = small
        .sum(None, false)
        .unwrap()
        .compute_with::<f64>(&opts)
        .unwrap();
    let b = y.compute::<f64>().unwrap();
    assert!((a[[]] - b[[]]).abs() <= 1e-9 * b[[]].abs());
}

#[test]
fn chunks_held_over_the_memory_limit_are_spilled_and_read_back() {
    use chunkwise::{Array, ComputeOptions};
    // x's 8 blocks (800 kB each) are read by the mean, then again by the subtraction: the
    // order must hold all of them (6.4 MB) until the mean is known, over a 5 MB limit
    // whose tasks (about 1.6 MB each, 2 workers) leave about 1.6 MB for held chunks.
    let x = Array::random_uniform(&[8000, 100], &[1000, 100], 5)
        .unwrap()
        .map_blocks::<f64, f64>("copy", |b| b.to_owned())
        .unwrap();
    // Row sums of the centred x: a small output (the limit counts the outputs too).
    let y = (&x - x.mean(Some(&[0]), true).unwrap())
        .sum(Some(&[1]), false)
        .unwrap();
    let want = y.compute::<f64>().unwrap();
    let trace = chunkwise::Trace::new();
    let dir = std::env::temp_dir().join(format!("chunkwise-spill-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let opts = ComputeOptions {
        memory_limit: Some(5 << 20),
        threads: 2,
        trace: Some(&trace),
        spill_dir: Some(&dir),
        ..ComputeOptions::default()
    };
    let got = y.compute_with::<f64>(&opts).unwrap();
    assert_eq!(got, want);
    assert!(trace.spilled_chunks() > 0, "nothing was spilled");
    assert!(trace.spilled_bytes() >= 800_000 * trace.spilled_chunks());
    // The run's spill directory, and every file in it, is gone.
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn a_malformed_task_graph_is_an_invalid_graph_error() {
    use chunkwise::{compute::run_graph, Array, ComputeOptions, Error};
    let x = Array::random_uniform(&[100], &[10], 1).unwrap();
    let mut g = (&x + 1.0).sum(None, false).unwrap().plan().unwrap();
    // A dependency on a task that does not exist.
    let last = g.deps.len() - 1;
    g.deps[last] = g.len() as u32 + 7;
    match run_graph(&g, &ComputeOptions::default()) {
        Err(Error::InvalidGraph(m)) => assert!(m.contains("out of range"), "{m}"),
        other => panic!("expected InvalidGraph, got {other:?}"),
    }
    // A task of a stage that does not exist (the facade's own check, before any indexing).
    g.deps[last] = 0;
    g.task_stage[0] = g.stages.len() as u32;
    match run_graph(&g, &ComputeOptions::default()) {
        Err(Error::InvalidGraph(m)) => assert!(m.contains("task 0 has stage"), "{m}"),
        other => panic!("expected InvalidGraph, got {other:?}"),
    }
}

#[test]
fn concatenating_an_array_empty_along_the_axis_adds_nothing() {
    use chunkwise::Array;
    // Before: the empty input's one empty block shifted every later block by one.
    let e = Array::zeros(&[0], &[4], chunkwise::DType::F64).unwrap();
    let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    let y = Array::concatenate(&[e.clone(), x, e], 0).unwrap();
    let got = y.compute::<f64>().unwrap();
    assert_eq!(
        got.into_raw_vec_and_offset().0,
        vec![0.0, 1.0, 2.0, 3.0, 4.0]
    );
}

#[test]
fn keeping_going_under_a_memory_limit_spills_and_fails_only_the_failing_block() {
    use chunkwise::compute::{run_graph_each, ComputeOptions};
    use chunkwise::{Array, Error, Trace};
    // As in the spilling test above, the order must hold all of x until its mean is known;
    // then the step after the subtraction panics on block 3 (rows 3000..4000), so only that
    // output block fails.
    let data = ndarray::Array2::from_shape_fn((8000, 100), |(i, j)| (i * 100 + j) as f64);
    let x = Array::from_ndarray(data.into_dyn(), &[1000, 100])
        .unwrap()
        .map_blocks::<f64, f64>("copy", |b| b.to_owned())
        .unwrap();
    // Column j of x has mean 399950 + j; row i of block k is x's row 1000k + i.
    let first = |k: usize| ((1000 * k) as f64) * 100.0 - 399_950.0;
    // Row sums, so the output is small (the limit counts the outputs too).
    let y = (&x - x.mean(Some(&[0]), true).unwrap())
        .map_blocks::<f64, f64>("copy-or-fail", move |b| {
            assert!(b[[0, 0]] != first(3), "block 3 fails");
            b.to_owned()
        })
        .unwrap()
        .sum(Some(&[1]), false)
        .unwrap();
    let g = y.plan().unwrap();
    let trace = Trace::new();
    let opts = ComputeOptions {
        memory_limit: Some(5 << 20),
        threads: 2,
        trace: Some(&trace),
        ..ComputeOptions::default()
    };
    let blocks = run_graph_each(&g, &opts).unwrap().remove(0);
    assert_eq!(blocks.len(), 8);
    assert!(trace.spilled_chunks() > 0, "nothing was spilled");
    for (k, b) in blocks.into_iter().enumerate() {
        match (k, b) {
            (3, Err(Error::Panicked { message, .. })) => assert!(message.contains("block 3")),
            (3, other) => panic!("block 3: {other:?}"),
            (_, Err(e)) => panic!("block {k}: {e}"),
            (_, Ok(v)) => {
                let a = v.as_array().unwrap().as_typed::<f64>().unwrap().to_owned();
                // Row 1000k of the centred x is first(k) + 0, ..., first(k) + 99 - 99.
                assert_eq!(a[[0]], 100.0 * first(k), "block {k}");
            }
        }
    }
}

#[test]
fn outputs_larger_than_the_memory_limit_are_refused_before_running() {
    use chunkwise::compute::{plan, run_graph};
    use chunkwise::{Array, ComputeOptions, Error};
    // 8 MB of output. `compute` places each block in the assembled array as it is computed
    // and releases it, so 12 MB is enough (the array once, not the blocks too); under 8 MB
    // the array alone does not fit, and nothing runs.
    let x = Array::random_uniform(&[1000, 1000], &[100, 1000], 1).unwrap();
    let y = &x + 1.0;
    let opts = |limit: u64| ComputeOptions {
        memory_limit: Some(limit),
        ..ComputeOptions::default()
    };
    let unbounded = y.compute::<f64>().unwrap();
    assert_eq!(y.compute_with::<f64>(&opts(12 << 20)).unwrap(), unbounded);
    match y.compute_with::<f64>(&opts(7 << 20)) {
        Err(Error::OutputsOverMemoryLimit {
            what,
            projected,
            limit,
        }) => {
            assert_eq!(
                (what, projected, limit),
                ("the assembled arrays", 8_000_000, 7 << 20)
            )
        }
        other => panic!("expected OutputsOverMemoryLimit, got {other:?}"),
    }
    // run_graph returns the blocks, all held to the end: refused under 8 MB too.
    let g = plan(&[y.node().unwrap().clone()], None).unwrap();
    assert_eq!(run_graph(&g, &opts(12 << 20)).unwrap()[0].len(), 10);
    let e = run_graph(&g, &opts(7 << 20)).unwrap_err();
    assert!(e.to_string().contains("8000000 bytes held at once"), "{e}");
}
