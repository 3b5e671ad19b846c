//! The Argon2id decision (docs/PERFORMANCE.md, "Argon2: parallel lanes"),
//! measured side by side in one run: what an officer waits for per
//! passphrase, with the release breakglass used before and the one it uses
//! now, at the same settings and at more memory.
//!
//! - `kdf/argon2-0.5/1-thread/{64,128}MiB`: `argon2` 0.5, which has no
//!   parallel lanes; 4 lanes filled one after another.
//! - `kdf/argon2-0.6/1-thread/64MiB`: 0.6 inside a one-thread rayon pool,
//!   to show the release itself is no slower.
//! - `kdf/derive_kek/{64,128,256}MiB`: what the vault runs
//!   (`crypto::derive_kek`: 0.6 with the `parallel` feature, lanes on every
//!   core, its work memory wiped before it is freed).
//!
//! All at 3 passes and 4 lanes (RFC 9106 §4's second option has 64 MiB).
//! Under `cargo test --benches` (criterion's test mode) or with
//! `BREAKGLASS_BENCH_QUICK=1` the memory is 8 MiB so the run is short.

// Only `quick` is used here.
#[allow(dead_code)]
mod common;

use std::time::Duration;

use breakglass::Passphrase;
use breakglass::crypto::{self, KdfParams};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};

const PASSES: u32 = 3;
const LANES: u32 = 4;

fn memories() -> Vec<u32> {
    if common::quick() {
        vec![8]
    } else {
        vec![64, 128, 256]
    }
}

/// `mib` MiB at 3 passes; `KdfParams::new` gives every vault's 4 lanes.
fn params(mib: u32) -> KdfParams {
    let p = KdfParams::new(mib, PASSES).expect("bench settings in bounds");
    assert_eq!(
        p.parallelism, LANES,
        "argon2 0.5 is run with the same lanes"
    );
    p
}

/// One derivation with `argon2` 0.5, as breakglass 0.2 ran it.
fn argon2_05(pass: &[u8], salt: &[u8], mib: u32) -> [u8; 32] {
    let p = argon2_05::Params::new(mib * 1024, PASSES, LANES, Some(32)).expect("params");
    let a = argon2_05::Argon2::new(argon2_05::Algorithm::Argon2id, argon2_05::Version::V0x13, p);
    let mut out = [0u8; 32];
    a.hash_password_into(pass, salt, &mut out)
        .expect("argon2 0.5");
    out
}

fn kdf(c: &mut Criterion) {
    let pass = Passphrase::new("alice-bench-passphrase".into());
    let salt: [u8; 16] = crypto::random_array();
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("rayon pool");

    let mut g = c.benchmark_group("kdf");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(if common::quick() { 1 } else { 10 }));
    for mib in memories() {
        let id = format!("{mib}MiB");
        // The two releases agree before either is timed.
        let now = crypto::derive_kek(&pass, &salt, params(mib)).expect("derive_kek");
        assert_eq!(
            now.expose_secret(),
            &argon2_05(pass.expose_secret().as_bytes(), &salt, mib)[..],
            "argon2 0.5 and 0.6 disagree at {mib} MiB"
        );
        if mib <= 128 {
            g.bench_with_input(
                BenchmarkId::new("argon2-0.5/1-thread", &id),
                &mib,
                |b, &m| b.iter(|| argon2_05(pass.expose_secret().as_bytes(), &salt, m)),
            );
        }
        if mib == 64 || common::quick() {
            g.bench_with_input(
                BenchmarkId::new("argon2-0.6/1-thread", &id),
                &mib,
                |b, &m| {
                    b.iter(|| {
                        one_thread.install(|| {
                            crypto::derive_kek(&pass, &salt, params(m)).expect("argon2")
                        })
                    })
                },
            );
        }
        g.bench_with_input(BenchmarkId::new("derive_kek", &id), &mib, |b, &m| {
            b.iter(|| crypto::derive_kek(&pass, &salt, params(m)).expect("argon2"))
        });
    }
    g.finish();
}

criterion_group!(benches, kdf);
criterion_main!(benches);
