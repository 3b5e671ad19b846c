//! Helpers shared by the benchmarks: fixture size and criterion filters,
//! and the cached large vaults of the scale benchmarks.

// Each bench binary compiles this module and uses only part of it.
#[allow(dead_code)]
pub mod fixture;

/// Small fixtures: not a `cargo bench` run (criterion's test mode under
/// `cargo test --benches`), or `BREAKGLASS_BENCH_QUICK` is set.
pub fn quick() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench");
    let test = args.iter().any(|a| a == "--test");
    std::env::var_os("BREAKGLASS_BENCH_QUICK").is_some() || !bench || test
}

/// Whether benchmark `id` may run, judged from criterion's positional
/// filter arguments read approximately (a plain filter matches as a
/// substring; one with regex syntax counts as a match). Used only to skip
/// the untimed work done outside criterion (the probe runs, the cache
/// warm-up) in a filtered run.
pub fn selected(id: &str) -> bool {
    const WITH_VALUE: &[&str] = &[
        "-b",
        "-c",
        "-s",
        "--baseline",
        "--baseline-lenient",
        "--color",
        "--confidence-level",
        "--format",
        "--load-baseline",
        "--measurement-time",
        "--noise-threshold",
        "--nresamples",
        "--output-format",
        "--plotting-backend",
        "--profile-time",
        "--sample-size",
        "--save-baseline",
        "--significance-level",
        "--warm-up-time",
    ];
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with('-') {
            if WITH_VALUE.contains(&a.as_str()) {
                args.next();
            }
        } else {
            filters.push(a);
        }
    }
    filters.is_empty()
        || filters
            .iter()
            .any(|f| f.contains(|c: char| "\\.*+?()[]{}|^$".contains(c)) || id.contains(f.as_str()))
}
