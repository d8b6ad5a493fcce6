//! Command-line options shared by the examples: `--name value` pairs.

/// The value after `--name` on the command line, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
    {
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("{name}: cannot read {v:?}");
            std::process::exit(2)
        }),
        None => default,
    }
}
