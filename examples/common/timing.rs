//! Timing shared by the benchmark examples (`flagship_compare`, `zarr_compare`).

/// Runs `once` (seconds and a JSON object of results) as `dask_flagship.py` does: three
/// times when the first run takes under 10 s, else once; the best run, with all run times.
pub fn timed_runs(
    mut once: impl FnMut() -> chunkwise::Result<(f64, serde_json::Value)>,
) -> chunkwise::Result<serde_json::Value> {
    let mut runs = vec![once()?];
    let repeat = if runs[0].0 < 10.0 { 3 } else { 1 };
    while runs.len() < repeat {
        runs.push(once()?);
    }
    let times: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let (secs, mut best) = runs
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("at least one run");
    best["seconds"] = secs.into();
    best["runs"] = times.into();
    Ok(best)
}
