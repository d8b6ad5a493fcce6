//! Principal components of a simulated genotype matrix (0/1/2 allele counts as u8), as in
//! the Dask large-SVD blog post: `svd_compressed` with power iterations, recomputing the
//! input in each pass instead of holding it in memory.
//!
//! ```text
//! cargo run --release --example genotype_pca -- [--samples 20000] [--variants 2000] [--k 5]
//! ```
//!
//! The samples come from `--k` populations with different allele frequencies, so the top
//! components separate them. The example prints the singular values and time, and checks
//! them against the exact SVD of the same matrix (TSQR) and the population separation.

mod common;
use common::arg;

use chunkwise::linalg::{svd, svd_compressed, CompressedSvd};
use chunkwise::{Array, DType};
use std::time::Instant;

fn main() -> chunkwise::Result<()> {
    let (n, m): (u64, u64) = (arg("--samples", 20_000), arg("--variants", 2_000));
    let k: usize = arg("--k", 5);
    let chunk: u64 = arg("--chunk", 4_000);
    // Genotypes: sample i belongs to population i % k; each population has its own allele
    // frequency per variant; a genotype is the number of alleles drawn (0, 1 or 2).
    let u1 = Array::random_uniform(&[n, m], &[chunk, m], 11)?;
    let u2 = Array::random_uniform(&[n, m], &[chunk, m], 12)?;
    let pop = Array::arange(0.0, n as f64, 1.0, chunk)?
        .astype(DType::I64)?
        .try_rem(k as i64)?
        .astype(DType::F64)?
        .slice(&[chunkwise::s(..), chunkwise::SliceArg::NewAxis])?;
    let variant = Array::arange(0.0, m as f64, 1.0, m)?;
    // Frequency in (0.05, 0.95), varying with population and variant.
    let freq =
        ((&variant * (&pop * 0.11 + 0.37) + &pop * 1.3).sin() * 0.45 + 0.5).rechunk(&[chunk, m])?;
    let g =
        (u1.lt(&freq)?.astype(DType::U8)? + u2.lt(&freq)?.astype(DType::U8)?).astype(DType::U8)?;
    // Centre each variant (as PCA does) in f64.
    let gf = g.astype(DType::F64)?;
    let centred = gf.try_sub(&gf.mean(Some(&[0]), true)?)?;
    println!(
        "{n} samples x {m} variants of u8 genotypes, {} populations, row chunks of {chunk}",
        k
    );

    let t = Instant::now();
    let opts = CompressedSvd {
        n_power_iter: 2,
        n_oversamples: 10,
        seed: 5,
        recompute_input: true,
    };
    let (u, s, _vt) = svd_compressed(&centred, k, opts)?;
    let out = chunkwise::compute_all(&[&u, &s], &Default::default())?;
    let secs = t.elapsed().as_secs_f64();
    let s: Vec<f64> = out[1]
        .as_typed::<f64>()
        .expect("f64")
        .iter()
        .copied()
        .collect();
    println!("svd_compressed (k = {k}, 2 power iterations): {secs:.2} s");
    println!("  singular values {s:.2?}");

    let t = Instant::now();
    let (_, s_exact, _) = svd(&centred)?;
    let exact: Vec<f64> = s_exact.compute::<f64>()?.iter().copied().take(k).collect();
    println!("exact SVD by TSQR: {:.2} s", t.elapsed().as_secs_f64());
    println!("  top singular values {exact:.2?}");
    // The populations give k - 1 strong directions (the centring removes one).
    let rel: f64 = s
        .iter()
        .zip(&exact)
        .take(k - 1)
        .map(|(a, b)| ((a - b) / b).abs())
        .fold(0.0, f64::max);
    let ok = rel < 1e-3;
    println!(
        "top {} components within {rel:.1e} of exact: {}",
        k - 1,
        if ok { "OK" } else { "MISMATCH" }
    );
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
