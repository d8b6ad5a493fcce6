//! Node identity is content identity: nodes built from different data or operations never
//! share an id (ids are what common-subexpression elimination and lowering merge by).
//! Regression: with a weak 64-bit hash, in-memory arrays of small whole floats (whose bit
//! patterns differ only in their top bits) collided, and `stack([a1*b2 - a2*b1, ...])` of a
//! cross product computed one component from another's inputs.

use chunkwise::{s, Array};
use ndarray::{arr1, arr2, Array1};
use std::collections::HashMap;

#[test]
fn small_whole_float_arrays_have_distinct_ids() {
    let mut seen: HashMap<u64, (f64, f64)> = HashMap::new();
    for a in -12..=12 {
        for b in -12..=12 {
            let pair = (f64::from(a), f64::from(b));
            let x = Array::from_ndarray(arr1(&[pair.0, pair.1]), &[1]).unwrap();
            let id = x.node().unwrap().id();
            if let Some(other) = seen.insert(id, pair) {
                panic!("{pair:?} and {other:?} got one node id {id:016x}");
            }
        }
    }
}

#[test]
fn signed_zeros_are_different_data() {
    let neg = Array::from_ndarray(arr1(&[-0.0f64, -0.0]), &[2]).unwrap();
    let pos = Array::from_ndarray(arr1(&[0.0f64, 0.0]), &[2]).unwrap();
    assert_ne!(neg.node().unwrap().id(), pos.node().unwrap().id());
    let inv = Array::stack(&[1.0 / &neg, 1.0 / &pos], 0).unwrap();
    let got: ndarray::ArrayD<f64> = inv.compute().unwrap();
    assert_eq!(
        got.iter().copied().collect::<Vec<_>>(),
        [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY
        ]
    );
}

#[test]
fn cross_product_components_from_sliced_inputs() {
    // The case that failed: a 2 x 3 cross product with inputs in different chunks.
    let a = arr2(&[[7.0, 7.0, -4.0], [-3.0, -5.0, -4.0]]);
    let b = arr2(&[[-5.0, 5.0, 5.0], [6.0, -6.0, -2.0]]);
    let x = Array::from_ndarray(a.clone(), &[2, 2]).unwrap();
    let y = Array::from_ndarray(b.clone(), &[1, 1]).unwrap();
    let col = |v: &Array, j: i64| v.slice(&[s(..), s(j)]).unwrap();
    let comps = [
        &col(&x, 1) * &col(&y, 2) - &col(&x, 2) * &col(&y, 1),
        &col(&x, 2) * &col(&y, 0) - &col(&x, 0) * &col(&y, 2),
        &col(&x, 0) * &col(&y, 1) - &col(&x, 1) * &col(&y, 0),
    ];
    let got: ndarray::ArrayD<f64> = Array::stack(&comps, 1).unwrap().compute().unwrap();
    for i in 0..2 {
        let (u, v) = (a.row(i), b.row(i));
        let want = Array1::from(vec![
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ]);
        assert_eq!(
            got.index_axis(ndarray::Axis(0), i),
            want.into_dyn().view(),
            "row {i}"
        );
    }
}
