//! TSQR, QR, SVD and svd_compressed against NumPy (`tests/fixtures/linalg/`).

use chunkwise::linalg::{qr, svd, svd_compressed, tsqr, CompressedSvd};
use chunkwise::Array;
use ndarray::{Array2, Ix2};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/linalg")
        .join(name)
}

fn read(name: &str) -> ndarray::ArrayD<f64> {
    let a = chunkwise::npy::read_npy(fixture(name)).unwrap();
    a.as_typed::<f64>().unwrap().to_owned()
}

fn mat(a: &Array) -> Array2<f64> {
    a.compute::<f64>()
        .unwrap()
        .into_dimensionality::<Ix2>()
        .unwrap()
}

fn max_abs(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn assert_orthonormal_columns(q: &Array2<f64>, what: &str) {
    let g = q.t().dot(q);
    let err = max_abs(&g, &Array2::eye(g.nrows()));
    assert!(err < 1e-12, "{what}: |Q^T Q - I| = {err}");
}

#[test]
fn tsqr_factors_under_many_chunkings() {
    let a = read("tall.npy");
    let a2 = a.clone().into_dimensionality::<Ix2>().unwrap();
    // Row chunks: one block, a few, more than the fan-in (a two-level tree), blocks shorter
    // than the number of columns, and a column-chunked input.
    for chunks in [[600u64, 12], [100, 12], [25, 12], [7, 12], [33, 5]] {
        let x = Array::from_dyn(chunkwise::DynArray::new(a.clone()), &chunks).unwrap();
        let (q, r) = tsqr(&x).unwrap();
        let (qm, rm) = (mat(&q), mat(&r));
        assert_eq!(qm.shape(), &[600, 12]);
        assert_eq!(rm.shape(), &[12, 12]);
        assert_orthonormal_columns(&qm, &format!("chunks {chunks:?}"));
        for i in 0..12 {
            for j in 0..i {
                assert!(rm[[i, j]].abs() < 1e-12, "R is upper triangular");
            }
        }
        let err = max_abs(&qm.dot(&rm), &a2);
        assert!(err < 1e-10, "chunks {chunks:?}: |QR - A| = {err}");
        assert_eq!(
            q.chunks().unwrap().axis(0).lengths(),
            x.chunks().unwrap().axis(0).lengths()
        );
    }
    let (q2, _) = qr(&Array::from_dyn(chunkwise::DynArray::new(a), &[50, 12]).unwrap()).unwrap();
    assert_orthonormal_columns(&mat(&q2), "qr");
}

#[test]
fn svd_matches_numpy_for_tall_and_fat_arrays() {
    for (name, chunks) in [
        ("tall", [[600u64, 12], [60, 12], [13, 4]]),
        ("fat", [[9, 250], [9, 40], [3, 17]]),
    ] {
        let a = read(&format!("{name}.npy"));
        let a2 = a.clone().into_dimensionality::<Ix2>().unwrap();
        let want = read(&format!("{name}_s.npy"));
        for c in chunks {
            let x = Array::from_dyn(chunkwise::DynArray::new(a.clone()), &c).unwrap();
            let (u, s, vt) = svd(&x).unwrap();
            let s = s.compute::<f64>().unwrap();
            for (g, w) in s.iter().zip(want.iter()) {
                assert!(
                    (g - w).abs() <= 1e-10 * w.abs(),
                    "{name} {c:?}: {g} vs NumPy {w}"
                );
            }
            let (um, vtm) = (mat(&u), mat(&vt));
            assert_orthonormal_columns(&um, &format!("{name} U"));
            assert_orthonormal_columns(&vtm.t().to_owned(), &format!("{name} V"));
            let sm = Array2::from_diag(&s.into_dimensionality::<ndarray::Ix1>().unwrap());
            let err = max_abs(&um.dot(&sm).dot(&vtm), &a2);
            assert!(err < 1e-9, "{name} {c:?}: |U S Vt - A| = {err}");
        }
    }
}

#[test]
fn svd_compressed_recovers_the_top_singular_values() {
    let a = read("lowrank.npy");
    let want = read("lowrank_s.npy");
    for (chunks, recompute) in [([200u64, 40], false), ([500, 10], true)] {
        let x = Array::from_dyn(chunkwise::DynArray::new(a.clone()), &chunks).unwrap();
        let opts = CompressedSvd {
            n_power_iter: 2,
            n_oversamples: 10,
            seed: 3,
            recompute_input: recompute,
        };
        let (u, s, vt) = svd_compressed(&x, 5, opts).unwrap();
        let s = s.compute::<f64>().unwrap();
        assert_eq!(s.len(), 5);
        for (g, w) in s.iter().zip(want.iter()) {
            // The noise has norm about 1e-6 * sqrt(2000 * 40): within that of exact.
            assert!((g - w).abs() <= 1e-5, "{g} vs NumPy {w}");
        }
        assert_orthonormal_columns(&mat(&u), "U");
        assert_orthonormal_columns(&mat(&vt).t().to_owned(), "V");
        assert_eq!(u.shape(), vec![2000, 5]);
        assert_eq!(vt.shape(), vec![5, 40]);
    }
}

#[test]
fn bad_input_is_an_error() {
    let v = Array::random_uniform(&[10], &[5], 1).unwrap();
    assert!(tsqr(&v).is_err());
    assert!(svd(&v).is_err());
    let m = Array::random_uniform(&[50, 6], &[10, 6], 1).unwrap();
    assert!(svd_compressed(&m, 0, CompressedSvd::default()).is_err());
    assert!(svd_compressed(&m, 7, CompressedSvd::default()).is_err());
}
