//! The README's example: `cargo run --release --example quickstart`.
use chunkwise::{s, Array};

fn main() -> chunkwise::Result<()> {
    // 4000 x 4000 random f64 in 500 x 500 chunks: nothing is computed yet.
    let x = Array::random_uniform(&[4000, 4000], &[500, 500], 42)?;
    // A diamond: x is used three times, computed once per chunk.
    let y = (&x / 4.0).exp() - 1.0 / (&x + 1.0) * &x;
    let col_means = y.mean(Some(&[0]), false)?; // tree reduction over axis 0
    let head = col_means.slice(&[s(..5)])?; // NumPy basic indexing
    let result: ndarray::ArrayD<f64> = head.compute()?; // lower + run in parallel
    println!("{result}");
    // Results can be written for NumPy to check: np.load("means.npy").
    let path = std::env::temp_dir().join("means.npy");
    col_means.to_npy(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}
