//! The Array API manipulation functions against eager `ndarray` results, on random shapes
//! (size-0 axes and 0-d arrays included) and random chunkings, computed both as built and
//! optimized.

use chunkwise::{Array, ComputeOptions, DType, Error, PassManager, Repeats};
use chunkwise_ir::{ChunkGrid, DynArray, Node};
use ndarray::{ArrayD, Axis, IxDyn, Order};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// splitmix64, for chunk lengths.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Distinct values `0..size` in `shape`, and the same as a lazy array cut into random
/// (irregular) chunks drawn from `seed`.
fn make(shape: &[usize], seed: u64) -> (ArrayD<i64>, Array) {
    let size: usize = shape.iter().product();
    let a = ArrayD::from_shape_vec(IxDyn(shape), (0..size as i64).collect()).unwrap();
    let mut s = seed;
    let lengths: Vec<Vec<u64>> = shape
        .iter()
        .map(|&len| {
            let mut left = len as u64;
            let mut out = vec![];
            while left > 0 {
                s = mix(s);
                let c = 1 + s % left.min(4);
                out.push(c);
                left -= c;
            }
            out
        })
        .collect();
    let dims: Vec<u64> = shape.iter().map(|&l| l as u64).collect();
    let grid = ChunkGrid::explicit(&dims, &lengths).unwrap();
    let x = Array::from_node(Node::from_array(DynArray::new(a.clone()), grid).unwrap());
    (a, x)
}

/// Computes `x` as built and optimized; both must equal `want`.
fn check(x: &Array, want: &ArrayD<i64>) -> Result<(), TestCaseError> {
    let none = PassManager::none();
    let raw = x
        .compute_with::<i64>(&ComputeOptions {
            passes: Some(&none),
            ..ComputeOptions::default()
        })
        .map_err(|e| TestCaseError::fail(format!("unoptimized: {e}")))?;
    prop_assert_eq!(&raw, want, "unoptimized");
    let opt = x
        .compute::<i64>()
        .map_err(|e| TestCaseError::fail(format!("optimized: {e}")))?;
    prop_assert_eq!(&opt, want, "optimized");
    Ok(())
}

fn shape_strategy(max_nd: usize, max_len: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..=max_len, 0..=max_nd)
}

/// A random factorization of `size` into up to 4 lengths (with 1s and, for size 0, a 0).
fn factor(mut size: usize, mut s: u64) -> Vec<i64> {
    let mut out = vec![];
    if size == 0 {
        out.push(0);
        s = mix(s);
        size = 1 + (s % 4) as usize;
    }
    while out.len() < 3 && size > 1 {
        s = mix(s);
        let divisors: Vec<usize> = (1..=size).filter(|d| size.is_multiple_of(*d)).collect();
        let d = divisors[(s % divisors.len() as u64) as usize];
        out.push(d as i64);
        size /= d;
    }
    out.push(size as i64);
    s = mix(s);
    let k = (s % (out.len() as u64 + 1)) as usize;
    let len = out.len();
    out.rotate_left(k.min(len));
    out
}

fn norm(a: isize, nd: usize) -> usize {
    if a < 0 {
        (a + nd as isize) as usize
    } else {
        a as usize
    }
}

fn roll_eager(a: &ArrayD<i64>, shift: i64, axis: usize) -> ArrayD<i64> {
    let n = a.shape()[axis] as i64;
    if n == 0 {
        return a.clone();
    }
    let idx: Vec<usize> = (0..n).map(|i| (i - shift).rem_euclid(n) as usize).collect();
    a.select(Axis(axis), &idx)
}

fn tile_eager(a: &ArrayD<i64>, reps: &[u64]) -> ArrayD<i64> {
    let nd = a.ndim().max(reps.len());
    let mut dims = vec![1usize; nd - a.ndim()];
    dims.extend_from_slice(a.shape());
    let mut r = vec![1u64; nd - reps.len()];
    r.extend_from_slice(reps);
    let b = a.to_shape(IxDyn(&dims)).unwrap().to_owned();
    let out: Vec<usize> = dims.iter().zip(&r).map(|(&d, &k)| d * k as usize).collect();
    ArrayD::from_shape_fn(IxDyn(&out), |ix| {
        let i: Vec<usize> = (0..nd).map(|k| ix[k] % dims[k]).collect();
        b[IxDyn(&i)]
    })
}

proptest! {
    #![proptest_config(config(300, 0x3a9e_0001))]

    /// Reshapes into random factorizations (merging and splitting axes across chunk
    /// boundaries, with -1 sometimes), C order.
    #[test]
    fn reshape_matches(shape in shape_strategy(4, 6), seed in any::<u64>(), minus in any::<bool>()) {
        let (a, x) = make(&shape, seed);
        let mut target = factor(a.len(), mix(seed ^ 7));
        if minus && !a.is_empty() {
            let k = (mix(seed) % target.len() as u64) as usize;
            target[k] = -1;
        }
        let dims: Vec<usize> = factor_dims(&target, a.len());
        let want = a.to_shape((IxDyn(&dims), Order::RowMajor)).unwrap().to_owned();
        let y = x.reshape(&target).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(y.shape(), dims.iter().map(|&d| d as u64).collect::<Vec<_>>());
        check(&y, &want)?;
    }

    #[test]
    fn flip_matches(shape in shape_strategy(3, 6), seed in any::<u64>(), which in any::<u8>(), all in any::<bool>()) {
        let (a, x) = make(&shape, seed);
        let nd = shape.len() as isize;
        let axes: Vec<isize> = (0..nd).filter(|k| which >> k & 1 == 1).map(|k| if which & 8 == 0 { k } else { k - nd }).collect();
        let mut want = a.clone();
        if all {
            for k in 0..shape.len() { want.invert_axis(Axis(k)); }
        } else {
            for &k in &axes { want.invert_axis(Axis(norm(k, shape.len()))); }
        }
        let y = x.flip(if all { None } else { Some(&axes) }).unwrap();
        check(&y, &want)?;
    }

    #[test]
    fn roll_matches(shape in shape_strategy(3, 6), seed in any::<u64>(), shift in -20i64..20, axis in -3isize..3, flat in any::<bool>()) {
        let (a, x) = make(&shape, seed);
        if flat {
            let f = a.to_shape(IxDyn(&[a.len()])).unwrap().to_owned();
            let want = roll_eager(&f, shift, 0).to_shape((IxDyn(&shape), Order::RowMajor)).unwrap().to_owned();
            check(&x.roll(&[shift], None).unwrap(), &want)?;
        } else if shape.is_empty() || axis >= shape.len() as isize || axis < -(shape.len() as isize) {
            prop_assert!(x.roll(&[shift], Some(&[axis])).is_err());
        } else {
            let want = roll_eager(&a, shift, norm(axis, shape.len()));
            check(&x.roll(&[shift], Some(&[axis])).unwrap(), &want)?;
        }
    }

    #[test]
    fn broadcast_to_matches(shape in shape_strategy(3, 4), seed in any::<u64>(), lead in shape_strategy(2, 3), stretch in any::<u8>()) {
        let (a, x) = make(&shape, seed);
        let mut target: Vec<usize> = lead.clone();
        target.extend(shape.iter().enumerate().map(|(k, &l)| if l == 1 && stretch >> k & 1 == 1 { 3 + k } else { l }));
        let want = a.broadcast(IxDyn(&target)).unwrap().to_owned();
        let t: Vec<u64> = target.iter().map(|&l| l as u64).collect();
        check(&x.broadcast_to(&t).unwrap(), &want)?;
    }

    #[test]
    fn repeat_matches(shape in shape_strategy(3, 5), seed in any::<u64>(), count in 0i64..4, per in any::<bool>(), axis in prop::option::of(-3isize..3)) {
        let (a, x) = make(&shape, seed);
        let (src, ax) = match axis {
            None => (a.to_shape(IxDyn(&[a.len()])).unwrap().to_owned(), 0),
            Some(k) if shape.is_empty() || k >= shape.len() as isize || k < -(shape.len() as isize) => {
                prop_assert!(x.repeat(count, Some(k)).is_err());
                return Ok(());
            }
            Some(k) => (a.clone(), norm(k, shape.len())),
        };
        let n = src.shape()[ax];
        let counts: Vec<i64> = if per {
            (0..n as u64).map(|i| (mix(seed ^ (i / 2)) % 3) as i64).collect()
        } else {
            vec![count; n]
        };
        let idx: Vec<usize> = counts.iter().enumerate().flat_map(|(i, &c)| std::iter::repeat_n(i, c as usize)).collect();
        let want = src.select(Axis(ax), &idx);
        let r: Repeats = if per { counts.into() } else { count.into() };
        check(&x.repeat(r, axis).unwrap(), &want)?;
    }

    #[test]
    fn tile_matches(shape in shape_strategy(3, 4), seed in any::<u64>(), reps in prop::collection::vec(0u64..4, 0..4)) {
        let (a, x) = make(&shape, seed);
        check(&x.tile(&reps).unwrap(), &tile_eager(&a, &reps))?;
    }

    #[test]
    fn moveaxis_squeeze_expand_unstack_match(shape in shape_strategy(4, 3), seed in any::<u64>(), src in -4isize..4, dst in -4isize..4, at in -5isize..5) {
        let (a, x) = make(&shape, seed);
        let nd = shape.len();
        let ok = |k: isize, n: usize| k >= -(n as isize) && k < n as isize;
        if ok(src, nd) && ok(dst, nd) {
            let (s, d) = (norm(src, nd), norm(dst, nd));
            let mut perm: Vec<usize> = (0..nd).filter(|&k| k != s).collect();
            perm.insert(d, s);
            let want = a.clone().permuted_axes(IxDyn(&perm));
            check(&x.moveaxis(&[src], &[dst]).unwrap(), &want.as_standard_layout().to_owned())?;
            let parts = x.unstack(src).unwrap();
            prop_assert_eq!(parts.len(), shape[s]);
            for (i, p) in parts.iter().enumerate() {
                check(p, &a.index_axis(Axis(s), i).to_owned())?;
            }
        } else {
            prop_assert!(x.moveaxis(&[src], &[dst]).is_err());
            if !ok(src, nd) {
                prop_assert!(x.unstack(src).is_err());
            }
        }
        if ok(at, nd + 1) {
            let e = x.expand_dims(at).unwrap();
            check(&e, &a.clone().insert_axis(Axis(norm(at, nd + 1))))?;
            check(&e.squeeze(&[at]).unwrap(), &a)?;
        } else {
            prop_assert!(x.expand_dims(at).is_err());
        }
        let ones: Vec<isize> = (0..nd).filter(|&k| shape[k] == 1).map(|k| k as isize - nd as isize).collect();
        let squeezed: Vec<usize> = shape.iter().copied().filter(|&l| l != 1).collect();
        check(&x.squeeze(&ones).unwrap(), &a.to_shape(IxDyn(&squeezed)).unwrap().to_owned())?;
    }
}

/// The lengths of a target shape with its `-1` inferred.
fn factor_dims(target: &[i64], size: usize) -> Vec<usize> {
    let known: usize = target
        .iter()
        .filter(|&&l| l >= 0)
        .map(|&l| l as usize)
        .product();
    target
        .iter()
        .map(|&l| if l < 0 { size / known } else { l as usize })
        .collect()
}

#[test]
fn reshape_refuses_bad_shapes_before_work() {
    let (_, x) = make(&[4, 6], 1);
    for bad in [&[5, -1][..], &[-1, -1], &[2, -2, 6], &[25], &[0, -1]] {
        let e = x.reshape(bad).unwrap_err();
        assert!(matches!(e, Error::Graph(_)), "{bad:?}: {e}");
    }
    let msg = x.reshape(&[5, 5]).unwrap_err().to_string();
    assert!(msg.contains("[4, 6]") && msg.contains("[5, 5]"), "{msg}");
    // A size-0 array: -1 next to a 0 is ambiguous.
    let (_, z) = make(&[0, 3], 1);
    assert!(z.reshape(&[0, -1]).is_err());
    assert_eq!(z.reshape(&[3, 0, 2, 0]).unwrap().shape(), vec![3, 0, 2, 0]);
}

#[test]
fn reshape_is_one_rechunk_and_one_kernel_per_block() {
    // (6, 4) in (2, 2) chunks to (24,): the trailing axis is made whole, then each block of
    // (2, 4) becomes one block of 8.
    let (a, x) = make(&[6, 4], 3);
    let x = x.rechunk(&[2, 2]).unwrap();
    let y = x.reshape(&[24]).unwrap();
    // Every output block is whole rows of the input (a multiple of 4 elements).
    let lengths = y.chunks().unwrap().axis(0).lengths();
    assert!(lengths.iter().all(|l| l.is_multiple_of(4)), "{lengths:?}");
    assert_eq!(
        y.compute::<i64>().unwrap(),
        a.to_shape(IxDyn(&[24])).unwrap().to_owned()
    );
    // Splitting keeps the leading chunks, rounded to whole rows of the result.
    let z = Array::arange(0.0, 20.0, 1.0, 10)
        .unwrap()
        .reshape(&[5, 4])
        .unwrap();
    assert_eq!(z.chunks().unwrap().axis(0).lengths(), vec![2, 2, 1]);
    // Only axes of length 1 come or go: a slice, no kernel.
    let w = x.reshape(&[1, 6, 1, 4]).unwrap();
    assert!(w.node().unwrap().label().contains("slice"));
}

#[test]
fn huge_tile_repeat_and_broadcast_are_lazy_and_small() {
    let x = Array::arange(0.0, 10.0, 1.0, 5).unwrap();
    let t = x.tile(&[1_000_000_000, 1000]).unwrap();
    assert_eq!(t.shape(), vec![1_000_000_000, 10_000]);
    assert!(t.num_layers().unwrap() <= 6);
    let r = x.repeat(1_000_000_000_000, None).unwrap();
    assert_eq!(r.shape(), vec![10_000_000_000_000]);
    assert!(r.num_layers().unwrap() <= 6);
    let b = x.broadcast_to(&[1 << 40, 10]).unwrap();
    assert!(b.num_layers().unwrap() <= 2);
    // One element of the huge result is cheap to compute: culling reads one block.
    let one = t
        .slice(&[chunkwise::s(123_456_789), chunkwise::s(9_997..9_998)])
        .unwrap();
    assert_eq!(
        one.compute::<i64>().unwrap().into_raw_vec_and_offset().0,
        vec![7]
    );
    // Overflowing sizes are refused, not built.
    assert!(x.tile(&[u64::MAX, 2]).is_err());
    assert!(x.repeat(i64::MAX, None).is_err());
}

#[test]
fn typed_errors_not_panics() {
    let (_, x) = make(&[2, 3], 5);
    assert!(x.squeeze(&[0]).is_err());
    assert!(x.squeeze(&[2]).is_err());
    assert!(x.squeeze(&[-3]).is_err());
    assert!(x.flip(Some(&[0, -2])).is_err());
    assert!(x.flip(Some(&[2])).is_err());
    assert!(x.roll(&[1, 2], None).is_err());
    assert!(x.roll(&[1, 2, 3], Some(&[0, 1])).is_err());
    assert!(x.moveaxis(&[0, 0], &[0, 1]).is_err());
    assert!(x.moveaxis(&[0], &[0, 1]).is_err());
    assert!(x.repeat(-1, Some(0)).is_err());
    assert!(x.repeat(vec![1, -1], Some(0)).is_err());
    assert!(x.repeat(vec![1, 2], Some(1)).is_err());
    assert!(x.broadcast_to(&[3]).is_err());
    assert!(x.broadcast_to(&[4, 3]).is_err());
    assert!(x.permute_dims(&[0, 0]).is_err());
    assert!(Array::broadcast_arrays(&[x.clone(), x.t().unwrap()]).is_err());
    let z = Array::zeros(&[], &[], DType::F64).unwrap();
    assert!(z.unstack(0).is_err());
    assert_eq!(z.expand_dims(0).unwrap().shape(), vec![1]);
    assert_eq!(z.flip(None).unwrap().shape(), Vec::<u64>::new());
    assert_eq!(z.roll(&[3], None).unwrap().shape(), Vec::<u64>::new());
    assert_eq!(z.tile(&[2]).unwrap().shape(), vec![2]);
    assert_eq!(z.repeat(3, None).unwrap().shape(), vec![3]);
}

#[test]
fn roll_by_more_than_the_length_and_negative() {
    let (a, x) = make(&[3, 5], 9);
    for shift in [-11i64, -5, -1, 0, 4, 5, 13] {
        let want = roll_eager(&roll_eager(&a, shift, 1), 2 * shift, 0);
        let got = x.roll(&[2 * shift, shift], Some(&[0, -1])).unwrap();
        assert_eq!(got.compute::<i64>().unwrap(), want, "shift {shift}");
    }
    // An axis named twice is shifted by the sum.
    let got = x.roll(&[1, 2], Some(&[1, 1])).unwrap();
    assert_eq!(got.compute::<i64>().unwrap(), roll_eager(&a, 3, 1));
}
