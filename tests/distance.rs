//! Pairwise distances against SciPy (`tests/fixtures/distance/make_distance_fixtures.py`).

use chunkwise::distance::{pairwise_distance, pdist, Metric};
use chunkwise::Array;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/distance")
        .join(name)
}

fn read(name: &str) -> ndarray::ArrayD<f64> {
    let a = chunkwise::npy::read_npy(fixture(name)).unwrap();
    a.as_typed::<f64>().unwrap().to_owned()
}

const METRICS: [Metric; 11] = [
    Metric::Euclidean,
    Metric::SqEuclidean,
    Metric::Cityblock,
    Metric::Minkowski(3.0),
    Metric::Chebyshev,
    Metric::Cosine,
    Metric::Correlation,
    Metric::Hamming,
    Metric::Jaccard,
    Metric::BrayCurtis,
    Metric::Canberra,
];

fn close(got: &[f64], want: &[f64], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * w.abs().max(1.0);
        assert!((g - w).abs() <= tol, "{what}[{k}]: {g} vs SciPy {w}");
    }
}

#[test]
fn cdist_and_pdist_match_scipy_under_several_chunkings() {
    for chunks in [[37u64, 23], [10, 5], [7, 23], [37, 4], [4, 3]] {
        let x = Array::from_npy(fixture("x.npy"), &chunks).unwrap();
        let y = Array::from_npy(fixture("y.npy"), &[chunks[0].min(29), 23]).unwrap();
        for m in METRICS {
            let rtol = if m.uses_gemm() { 1e-9 } else { 1e-12 };
            let want = read(&format!("cdist_{}.npy", m.name()));
            let got = pairwise_distance(&x, Some(&y), m)
                .unwrap()
                .compute::<f64>()
                .unwrap();
            assert_eq!(got.shape(), want.shape());
            let what = format!("cdist {} chunks {chunks:?}", m.name());
            close(
                got.as_slice().unwrap(),
                want.as_slice().unwrap(),
                rtol,
                &what,
            );
            let want = read(&format!("pdist_{}.npy", m.name()));
            let got = pdist(&x, m).unwrap();
            let what = format!("pdist {} chunks {chunks:?}", m.name());
            close(
                got.as_slice().unwrap(),
                want.as_slice().unwrap(),
                rtol,
                &what,
            );
        }
    }
}

#[test]
fn f32_input_matches_scipy_to_f32_precision() {
    // The direct metrics compute f32 input in f32 (the GEMM metrics cast it to f64); the
    // fixtures' values rounded to f32 move the distances by about 1e-7 relative.
    use chunkwise::DType;
    let x = Array::from_npy(fixture("x.npy"), &[10, 7])
        .unwrap()
        .astype(DType::F32)
        .unwrap();
    let y = Array::from_npy(fixture("y.npy"), &[9, 7])
        .unwrap()
        .astype(DType::F32)
        .unwrap();
    for m in METRICS {
        let want = read(&format!("cdist_{}.npy", m.name()));
        let got = pairwise_distance(&x, Some(&y), m)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        let what = format!("f32 cdist {}", m.name());
        close(
            got.as_slice().unwrap(),
            want.as_slice().unwrap(),
            1e-4,
            &what,
        );
        let want = read(&format!("pdist_{}.npy", m.name()));
        let got = pdist(&x, m).unwrap();
        let what = format!("f32 pdist {}", m.name());
        close(
            got.as_slice().unwrap(),
            want.as_slice().unwrap(),
            1e-4,
            &what,
        );
    }
}

#[test]
fn self_distances_have_an_exact_zero_diagonal() {
    let x = Array::from_npy(fixture("x.npy"), &[10, 7]).unwrap();
    for m in METRICS {
        let d = pairwise_distance(&x, None, m)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        for i in 0..d.shape()[0] {
            assert_eq!(d[[i, i]], 0.0, "{} diagonal {i}", m.name());
        }
        // Symmetric (to rounding).
        for i in 0..d.shape()[0] {
            for j in 0..i {
                assert!((d[[i, j]] - d[[j, i]]).abs() <= 1e-12 * d[[i, j]].abs().max(1.0));
            }
        }
    }
}

#[test]
fn the_result_is_a_chunked_array_of_row_blocks() {
    let x = Array::random_uniform(&[100, 60], &[30, 20], 1).unwrap();
    let y = Array::random_uniform(&[40, 60], &[25, 60], 2).unwrap();
    let d = pairwise_distance(&x, Some(&y), Metric::Euclidean).unwrap();
    assert_eq!(d.shape(), vec![100, 40]);
    assert_eq!(d.chunks().unwrap().num_blocks(), vec![4, 2]);
    // Map per (row block pair, column chunk), a combine, a finalize per pair.
    let plan = d.plan().unwrap();
    assert!(plan.len() >= 8 * 3 + 8, "{}", plan.len());
    // It composes with array operations.
    let mins = d.min(Some(&[1]), false).unwrap().compute::<f64>().unwrap();
    assert_eq!(mins.len(), 100);
}

#[test]
fn bad_input_is_an_error() {
    let x = Array::random_uniform(&[10, 6], &[5, 3], 1).unwrap();
    let y = Array::random_uniform(&[10, 5], &[5, 5], 1).unwrap();
    assert!(pairwise_distance(&x, Some(&y), Metric::Cityblock).is_err());
    let v = Array::random_uniform(&[10], &[5], 1).unwrap();
    assert!(pairwise_distance(&v, None, Metric::Cityblock).is_err());
    assert!(pairwise_distance(&x, None, Metric::Minkowski(0.5)).is_err());
    assert!(pairwise_distance(&x, None, Metric::Minkowski(f64::NAN)).is_err());
}

/// Against itself, only the blocks on and above the diagonal are computed (diagonal blocks
/// by a triangular product): the result is exactly symmetric and equals the general path
/// (`y` given) for every metric.
#[test]
fn self_distances_are_symmetric_and_match_the_general_path() {
    let x = chunkwise::Array::random_uniform(&[230, 37], &[50, 10], 11).unwrap();
    for metric in [
        Metric::Euclidean,
        Metric::SqEuclidean,
        Metric::Cosine,
        Metric::Correlation,
        Metric::Cityblock,
        Metric::Canberra,
    ] {
        let own = pairwise_distance(&x, None, metric)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        let general = pairwise_distance(&x, Some(&x), metric)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        let own = own.into_dimensionality::<ndarray::Ix2>().unwrap();
        assert_eq!(own, own.t(), "{metric:?} is not exactly symmetric");
        // Off the diagonal (where the general path keeps the GEMM's rounding noise, about
        // 1e-7 for a distance of 0, while the own path has exact zeros).
        for ((i, j), a) in own.indexed_iter() {
            let b = general[[i, j]];
            if i != j {
                assert!(
                    (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                    "{metric:?}: {a} vs {b}"
                );
            }
        }
    }
}

/// `close`, with NaN exactly where SciPy has NaN.
fn close_or_nan(got: &[f64], want: &[f64], rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        if w.is_nan() || g.is_nan() {
            assert!(g.is_nan() && w.is_nan(), "{what}[{k}]: {g} vs SciPy {w}");
        } else {
            let tol = rtol * w.abs().max(1.0);
            assert!((g - w).abs() <= tol, "{what}[{k}]: {g} vs SciPy {w}");
        }
    }
}

/// Rows with NaNs, a zero row and constant rows
/// (`tests/fixtures/distance/make_undefined_fixtures.py`): NaN exactly where SciPy's cdist
/// and pdist have NaN (a NaN entry, cosine of a zero row, correlation of a constant row,
/// braycurtis of two zero rows), under chunkings that put the NaNs in different column
/// chunks.
#[test]
fn undefined_distances_are_nan_as_in_scipy() {
    for chunks in [[9u64, 11], [4, 3], [2, 5], [5, 2]] {
        let x = Array::from_npy(fixture("undefined_x.npy"), &chunks).unwrap();
        let y = Array::from_npy(fixture("undefined_y.npy"), &[chunks[0].min(3), 4]).unwrap();
        for m in METRICS {
            let rtol = if m.uses_gemm() { 1e-9 } else { 1e-12 };
            let name = m.name();
            for (got, which) in [
                (pairwise_distance(&x, Some(&y), m), "cdist"),
                (pairwise_distance(&x, None, m), "cdistxx"),
            ] {
                let got = got.unwrap().compute::<f64>().unwrap();
                let want = read(&format!("undefined_{which}_{name}.npy"));
                assert_eq!(got.shape(), want.shape());
                close_or_nan(
                    got.as_slice().unwrap(),
                    want.as_slice().unwrap(),
                    rtol,
                    &format!("undefined {which} {name} chunks {chunks:?}"),
                );
            }
            let want = read(&format!("undefined_pdist_{name}.npy"));
            let got = pdist(&x, m).unwrap();
            close_or_nan(
                got.as_slice().unwrap(),
                want.as_slice().unwrap(),
                rtol,
                &format!("undefined pdist {name} chunks {chunks:?}"),
            );
        }
    }
}

/// A constant row's correlation is 0 / 0 even where its mean rounds (the mean of seven
/// 0.1s is not 0.1; SciPy then centres the row to tiny nonzero values and returns 1).
#[test]
fn a_constant_row_has_an_undefined_correlation_however_its_mean_rounds() {
    let mut x = ndarray::Array2::<f64>::from_shape_fn((3, 7), |(i, j)| (i * 7 + j * j) as f64);
    x.row_mut(0).fill(0.1);
    x.row_mut(2).fill(1.0 / 7.0);
    for chunks in [[3u64, 7], [1, 2]] {
        let a = Array::from_ndarray(x.clone(), &chunks).unwrap();
        let d = pairwise_distance(&a, None, Metric::Correlation)
            .unwrap()
            .compute::<f64>()
            .unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let defined = i == 1 && j == 1;
                assert_eq!(!d[[i, j]].is_nan(), defined, "[{i}, {j}] = {}", d[[i, j]]);
            }
        }
    }
}

/// SciPy's names give the metric (the benchmark harness asks by name and refuses others).
#[test]
fn metrics_by_scipy_name() {
    for m in METRICS {
        let named = Metric::from_name(m.name()).unwrap();
        assert_eq!(named.name(), m.name());
    }
    assert_eq!(Metric::from_name("minkowski"), Some(Metric::Minkowski(2.0)));
    for bad in ["", "Euclidean", "seuclidean", "mahalanobis", "cosine "] {
        assert_eq!(Metric::from_name(bad), None, "{bad:?}");
    }
}
