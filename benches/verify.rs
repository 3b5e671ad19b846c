//! Criterion benchmarks for `ledger verify` on a ledger of 10^5 entries
//! with releases, next to the raw costs it is built from, all measured in
//! the same run. Figures and how to read them: `docs/PERFORMANCE-verify.md`.
//!
//! - `verify/vault_100k`: [`audit::verify`] on the vault, which checks
//!   every stored checkpoint's signature (10^5) besides the deposit and
//!   approval signatures. Throughput is in signatures checked per second.
//! - `verify/bundle_100k`: the same on the export bundle, which holds only
//!   the latest checkpoint, so it checks ~10^5 entries but few signatures.
//! - `raw/ed25519_verify`: one Ed25519 verification through the backend
//!   call every OpenPGP verification ends in (`Key::verify` on a digest),
//!   which does not consult Sequoia's verification cache.
//! - `raw/sha256/*`: SHA-256 of the fixture's mean entry size, of 1 KiB and
//!   of a release entry's size.
//! - `parts/*`: the other per-item costs of verification (armor decoding,
//!   signature packet parsing, signature digest, a whole `Verifier::verify`
//!   answered by Sequoia's cache, entry parsing, checkpoint record
//!   decoding), to say where the time goes. `*_base64` measures a proposed
//!   optimisation (armor decoding with the base64 crate) on the same
//!   inputs, after checking it gives the same result.
//!
//! Sequoia keeps a process-wide, unbounded cache of verified signatures, so
//! a second verification of the same ledger in one process checks no
//! signature at all. Each `verify/*` iteration therefore runs in a fresh
//! child process (this binary, re-executed with `BREAKGLASS_VERIFY_CHILD`),
//! which times `audit::verify` alone (opening the store is excluded),
//! measures the raw Ed25519 and SHA-256 rates just before and just after
//! it, and reports them with its peak RSS. At the end a `summary` line per
//! benchmark gives the signature rate as a fraction of the raw rate
//! measured in the same processes, which load drifting between benchmarks
//! on a shared machine cannot skew. `verify/vault_100k_warm_cache` is the
//! in-process repeat, to show what the cache hides. `raw_after/*` repeats
//! the raw benchmarks after the long verifications.
//!
//! The fixture is built once with the real vault API (deposits, quorum
//! releases, their display records; refusals, failed authentications,
//! cancels and expiries appended directly as cheap entries) and kept in
//! `target/bench-ledger-100k` (`vault/`, `bundle/`, `fixture.json`); it is
//! rebuilt only when missing or of another version. Under `cargo test
//! --benches` (criterion's test mode) or with `BREAKGLASS_BENCH_QUICK=1` a
//! 2,000-entry fixture (`target/bench-ledger-quick`) is used instead.

mod common;

use common::fixture::{self, PAIRS, secret_name};
use common::{quick, selected};

use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use breakglass::audit::{self, BundleSource, Options, VaultSource};
use breakglass::crypto::KdfParams;
use breakglass::ledger::{self, Draft};
use breakglass::pgp::{PublicCert, SecretKey};
use breakglass::records::{CheckpointRecord, LedgerKeyRecord, Record, SecretKind};
use breakglass::store::{Store, Table};
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Passphrase, SecretValue, Vault};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use sequoia_openpgp as openpgp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use openpgp::parse::Parse;

/// Bumped whenever the fixture's recipe changes, so a cached one is rebuilt.
const FIXTURE_VERSION: u64 = 1;

/// Set in a child process: `vault:DIR` or `bundle:DIR`.
const CHILD_ENV: &str = "BREAKGLASS_VERIFY_CHILD";

/// Officers of the fixture vault; two of three release.
const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-bench-passphrase"),
    ("bob", "bob-bench-passphrase"),
    ("carol", "carol-bench-passphrase"),
];

/// One release in this many is left unconfirmed (timed out), so the next
/// release of that secret is a logged re-release (I10).
const TIMEOUT_EVERY: usize = 100;

/// Entries appended per transaction when filling the ledger.
const BATCH: usize = 500;

/// The shape of a fixture.
struct Spec {
    /// Short label used in benchmark names and the directory.
    label: &'static str,
    /// Entries in all.
    entries: u64,
    /// Quorum releases (each is a `release` and a `displayed` entry).
    releases: usize,
    /// Secrets the codes are spread over; releases go round them.
    secrets: usize,
}

const FULL: Spec = Spec {
    label: "100k",
    entries: 100_000,
    releases: 2_000,
    secrets: 20,
};

const QUICK: Spec = Spec {
    label: "quick",
    entries: 2_000,
    releases: 40,
    secrets: 4,
};

fn pass(officer: &str) -> Passphrase {
    let (_, p) = OFFICERS
        .iter()
        .find(|(n, _)| *n == officer)
        .expect("known officer");
    Passphrase::new(p.to_string())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

// ----------------------------------------------------------------- Fixture

/// A built fixture on disk.
struct Fixture {
    label: &'static str,
    vault: PathBuf,
    bundle: PathBuf,
    entries: u64,
    releases: u64,
    /// Mean entry length in bytes (without the newline).
    mean_entry: usize,
    /// One `release` entry and one cheap (`refused`) entry, verbatim.
    release_entry: Vec<u8>,
    cheap_entry: Vec<u8>,
    /// One stored checkpoint, as verification reads it.
    checkpoint: Vec<u8>,
}

impl Fixture {
    /// The cached fixture for `spec`, built first if it is missing or stale.
    fn get(spec: &Spec) -> Fixture {
        let dir = target_dir().join(format!("bench-ledger-{}", spec.label));
        let marker = dir.join("fixture.json");
        let fresh = std::fs::read(&marker)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|m| {
                m["version"] == FIXTURE_VERSION
                    && m["entries"] == spec.entries
                    && m["releases"] == spec.releases
            });
        if !fresh {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("remove stale fixture");
            }
            build(spec, &dir);
            let m = json!({
                "version": FIXTURE_VERSION,
                "entries": spec.entries,
                "releases": spec.releases,
            });
            std::fs::write(&marker, m.to_string()).expect("write fixture marker");
        }
        Fixture::load(spec, &dir)
    }

    fn load(spec: &Spec, dir: &Path) -> Fixture {
        let vault = dir.join("vault");
        let bundle = dir.join("bundle");
        let (checkpoint, stored) = {
            let store = Store::open(&vault).expect("open fixture vault");
            let stored = ledger::size(&store).expect("size");
            let cp = store
                .get(Table::Checkpoints, &(stored / 2).to_be_bytes())
                .expect("read checkpoint")
                .expect("checkpoint");
            (cp, stored)
        };
        assert_eq!(stored, spec.entries, "fixture vault has another size");
        let text = std::fs::read(bundle.join(audit::bundle::ENTRIES)).expect("read bundle");
        let lines: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len() as u64, spec.entries, "bundle has another size");
        let find = |kind: &str| {
            let needle = format!("\"kind\":\"{kind}\"");
            lines
                .iter()
                .find(|l| l.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .expect("entry of kind")
                .to_vec()
        };
        Fixture {
            label: spec.label,
            mean_entry: (text.len() - lines.len()) / lines.len(),
            release_entry: find("release"),
            cheap_entry: find("refused"),
            checkpoint,
            vault,
            bundle,
            entries: spec.entries,
            releases: spec.releases as u64,
        }
    }
}

/// Builds the fixture in `dir` (which must not exist): a vault filled to
/// `spec.entries` and its export bundle.
fn build(spec: &Spec, dir: &Path) {
    let started = Instant::now();
    std::fs::create_dir_all(dir).expect("mkdir fixture");
    let opts = InitOptions {
        threshold: 2,
        officers: OFFICERS
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(KdfParams::MIN_MEMORY_MIB, 1).expect("kdf"),
    };
    let mut vault = Vault::init(&dir.join("vault"), opts).expect("init");

    // Deposits first (each reads the whole ledger to find the vault
    // certificate), two per secret, by the officers in turn.
    let per_secret = spec.releases.div_ceil(spec.secrets);
    let half = per_secret.div_ceil(2);
    let sessions: Vec<_> = OFFICERS
        .iter()
        .map(|(o, _)| {
            vault
                .authenticate(o, &pass(o), "deposit", None)
                .expect("authenticate")
        })
        .collect();
    let mut deposits = 0usize;
    for s in 0..spec.secrets {
        let mut first = 0;
        while first < per_secret {
            let n = half.min(per_secret - first);
            let codes: Vec<SecretValue> = (first..first + n)
                .map(|i| SecretValue::new(format!("{s:04x}-{i:04x}-{:04x}", (s * 7919) ^ i)))
                .collect();
            vault
                .deposit(
                    &sessions[deposits % sessions.len()],
                    &secret_name(s),
                    SecretKind::Codes,
                    None,
                    &codes,
                )
                .expect("deposit");
            deposits += 1;
            first += n;
        }
    }
    drop(sessions);

    let ledger_key = {
        let rec = LedgerKeyRecord::decode(
            &vault
                .store()
                .get(Table::Meta, b"ledger_key")
                .expect("read ledger key")
                .expect("ledger key"),
        )
        .expect("ledger key record");
        SecretKey::from_bytes(&rec.tsk).expect("ledger key")
    };
    let vault_id = vault.id().to_string();

    let fixed = 1 + deposits as u64 + 2 * spec.releases as u64;
    let filler = spec
        .entries
        .checked_sub(fixed)
        .expect("too many releases for the size");
    let mut appended = 0u64;
    let mut cheap = 0usize;
    let mut last_report = Instant::now();
    for r in 0..spec.releases {
        // Cheap entries before each release, spread evenly.
        let due = filler * (r as u64 + 1) / spec.releases as u64 - appended;
        let mut left = due;
        while left > 0 {
            let k = (left as usize).min(BATCH);
            let drafts: Vec<Draft> = (0..k)
                .map(|i| fixture::cheap_draft(cheap + i, spec.secrets))
                .collect();
            let now = vault.now();
            vault
                .store()
                .transact(|tx| {
                    for d in &drafts {
                        ledger::append(tx, d, now, &vault_id, &ledger_key, None)?;
                    }
                    Ok(())
                })
                .expect("append cheap entries");
            cheap += k;
            left -= k as u64;
        }
        appended += due;

        let secret = secret_name(r % spec.secrets);
        let mut req = vault
            .begin_release(&secret, "IdP outage, INC-4242: admin recovery")
            .expect("begin_release");
        for o in PAIRS[r % PAIRS.len()] {
            vault.approve(&mut req, o, &pass(o)).expect("approve");
        }
        let mut released = vault.complete_release(req).expect("complete_release");
        let how = if r % TIMEOUT_EVERY == TIMEOUT_EVERY / 2 {
            Displayed::TimedOut
        } else {
            Displayed::Confirmed
        };
        vault
            .record_display(&mut released, how)
            .expect("record_display");
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            eprintln!(
                "fixture {}: {} releases, {} entries, {:.0} s",
                spec.label,
                r + 1,
                ledger::size(vault.store()).expect("size"),
                started.elapsed().as_secs_f64()
            );
        }
    }
    vault.store().flush().expect("flush");
    let size = ledger::size(vault.store()).expect("size");
    assert_eq!(size, spec.entries, "fixture size");
    let exported =
        audit::export(vault.store(), &vault.ledger_cert(), &dir.join("bundle")).expect("export");
    assert_eq!(exported, spec.entries);
    drop(vault);
    eprintln!(
        "fixture {}: {} entries ({deposits} deposits, {} releases, {cheap} cheap entries) built in {:.0} s",
        spec.label,
        spec.entries,
        spec.releases,
        started.elapsed().as_secs_f64()
    );
}

// ------------------------------------------------------------ Child runs

/// What one child verification reported.
#[derive(Clone, Copy, Debug)]
struct Run {
    elapsed: Duration,
    signatures: u64,
    checkpoints: u64,
    entries: u64,
    releases: u64,
    /// Peak RSS (VmHWM) before and after `audit::verify`, KiB.
    hwm_before_kib: u64,
    hwm_after_kib: u64,
    /// Sequoia verification-cache misses during the run.
    cache_misses: u64,
    /// Raw Ed25519 verifications per second in the same process, the mean
    /// of a measurement just before and one just after the verification.
    raw_ed25519: u64,
    /// SHA-256 bytes per second (1 KiB inputs), measured the same way.
    sha256: u64,
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The child: one verification, timed, reported on stdout.
fn child(spec: &str) {
    use openpgp::packet::signature::cache::SignatureVerificationCache as Cache;
    let (kind, dir) = spec.split_once(':').expect("kind:dir");
    let dir = Path::new(dir);
    let opts = Options::default();
    // The raw rates in the same process, just before and just after, so a
    // ratio is not skewed by the machine's load drifting between benchmarks.
    let raw = RawEd25519::new();
    let raw_before = raw.rate(Duration::from_millis(500));
    let sha_before = sha256_rate(Duration::from_millis(200));
    let misses = Cache::cache_misses();
    // Reset the peak RSS to the current RSS (Linux), so the peak read after
    // the verification is not the raw measurement's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (hwm_before, report, elapsed) = match kind {
        "vault" => {
            let store = Store::open(dir).expect("open vault");
            let hwm = vm_hwm_kib();
            let t = Instant::now();
            let r = audit::verify(&VaultSource(&store), &opts);
            (hwm, r, t.elapsed())
        }
        "bundle" => {
            let hwm = vm_hwm_kib();
            let t = Instant::now();
            let src = BundleSource::new(dir).expect("bundle");
            let r = audit::verify(&src, &opts);
            (hwm, r, t.elapsed())
        }
        other => panic!("unknown child kind {other}"),
    };
    let report = report.unwrap_or_else(|f| panic!("fixture does not verify: {f}"));
    let hwm_after = vm_hwm_kib();
    let misses = Cache::cache_misses() - misses;
    let raw_after = raw.rate(Duration::from_millis(500));
    let sha_after = sha256_rate(Duration::from_millis(200));
    println!(
        "run ns={} signatures={} checkpoints={} entries={} releases={} hwm_before={hwm_before} hwm_after={hwm_after} cache_misses={misses} raw_ed25519={} sha256={}",
        elapsed.as_nanos(),
        report.signatures_checked,
        report.checkpoints_checked,
        report.entries,
        report.releases,
        ((raw_before + raw_after) / 2.0) as u64,
        ((sha_before + sha_after) / 2.0) as u64,
    );
}

fn run_child(kind: &str, dir: &Path) -> Run {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .env(CHILD_ENV, format!("{kind}:{}", dir.display()))
        .output()
        .expect("run child");
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let line = text
        .lines()
        .find(|l| l.starts_with("run "))
        .expect("child report");
    let field = |k: &str| -> u64 {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {line:?}"))
    };
    Run {
        elapsed: Duration::from_nanos(field("ns")),
        signatures: field("signatures"),
        checkpoints: field("checkpoints"),
        entries: field("entries"),
        releases: field("releases"),
        hwm_before_kib: field("hwm_before"),
        hwm_after_kib: field("hwm_after"),
        cache_misses: field("cache_misses"),
        raw_ed25519: field("raw_ed25519"),
        sha256: field("sha256"),
    }
}

// ------------------------------------------------------------- Benchmarks

fn verify(c: &mut Criterion, fx: &Fixture, runs: &RefCell<Vec<(String, Run)>>) {
    let mut g = c.benchmark_group("verify");
    // One verification of 10^5 entries takes seconds: one per sample.
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(1));
    g.measurement_time(Duration::from_secs(1));
    for (kind, dir) in [("vault", &fx.vault), ("bundle", &fx.bundle)] {
        let name = format!("{kind}_{}", fx.label);
        if !selected(&format!("verify/{name}")) {
            continue;
        }
        // A first run checks the fixture and counts the signatures.
        let probe = run_child(kind, dir);
        assert_eq!(probe.entries, fx.entries);
        assert_eq!(probe.releases, fx.releases);
        g.throughput(Throughput::Elements(probe.signatures));
        g.bench_function(&name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let run = run_child(kind, dir);
                        runs.borrow_mut().push((name.clone(), run));
                        run.elapsed
                    })
                    .sum()
            })
        });
    }
    // In process, after a first run has filled Sequoia's cache: what a
    // naive benchmark would measure.
    let warm = format!("vault_{}_warm_cache", fx.label);
    if selected(&format!("verify/{warm}")) {
        let store = Store::open(&fx.vault).expect("open vault");
        let opts = Options::default();
        let first = audit::verify(&VaultSource(&store), &opts).expect("verify");
        g.throughput(Throughput::Elements(first.signatures_checked));
        g.bench_function(&warm, |b| {
            b.iter(|| audit::verify(&VaultSource(&store), &opts).expect("verify"))
        });
    }
    g.finish();
}

/// Raw rates: `group` is `raw` before the verifications and `raw_after`
/// after them, to see whether the machine's speed drifted during the run.
fn raw(c: &mut Criterion, fx: &Fixture, group: &str) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));

    let raw = RawEd25519::new();
    g.throughput(Throughput::Elements(1));
    g.bench_function("ed25519_verify", |b| b.iter(|| raw.verify()));

    for len in [fx.mean_entry, 1024, fx.release_entry.len()] {
        let buf: Vec<u8> = (0..len).map(|i| i as u8).collect();
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("sha256", len), &buf, |b, buf| {
            b.iter(|| Sha256::digest(black_box(buf)))
        });
    }
    g.finish();
}

/// The per-item pieces of verification other than the Ed25519 check.
fn parts(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("parts");
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));

    let cp = CheckpointRecord::decode(&fx.checkpoint).expect("checkpoint");
    g.bench_function("checkpoint_record_decode", |b| {
        b.iter(|| CheckpointRecord::decode(black_box(&fx.checkpoint)).expect("decode"))
    });
    g.bench_function("checkpoint_signature_dearmor", |b| {
        b.iter(|| dearmor(black_box(cp.signature.as_bytes())))
    });
    let binary = dearmor(cp.signature.as_bytes());
    // The fast path proposed in docs/PERFORMANCE-verify.md, on the same
    // signature: plain base64 of the armor body.
    assert_eq!(
        dearmor_base64(cp.signature.as_bytes()).as_deref(),
        Some(&binary[..])
    );
    g.bench_function("checkpoint_signature_dearmor_base64", |b| {
        b.iter(|| dearmor_base64(black_box(cp.signature.as_bytes())).expect("fast path"))
    });
    g.bench_function("checkpoint_signature_packet_parse", |b| {
        b.iter(
            || match openpgp::Packet::from_bytes(black_box(&binary[..])) {
                Ok(openpgp::Packet::Signature(s)) => s,
                _ => panic!("not a signature"),
            },
        )
    });
    let sig = parse_signature(cp.signature.as_bytes());
    g.bench_function("checkpoint_signature_digest", |b| {
        b.iter(|| signature_digest(&sig, black_box(cp.body.as_bytes())))
    });
    // Everything `Verifier::verify` does per signature except the Ed25519
    // check itself: after the first call, Sequoia's cache answers it.
    let cert = PublicCert::from_bytes(
        &std::fs::read(fx.bundle.join(audit::bundle::LEDGER_CERT)).expect("ledger cert"),
    )
    .expect("ledger cert");
    let verifier = cert.verifier().expect("verifier");
    verifier
        .verify(cp.body.as_bytes(), cp.signature.as_bytes())
        .expect("checkpoint verifies");
    g.bench_function("verifier_verify_cache_hit", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(cp.body.as_bytes()), cp.signature.as_bytes())
                .expect("verify")
        })
    });
    g.bench_function("checkpoint_body_parse", |b| {
        b.iter(|| ledger::parse_checkpoint(black_box(&cp.body)).expect("parse"))
    });
    for (name, entry) in [("release", &fx.release_entry), ("refused", &fx.cheap_entry)] {
        g.throughput(Throughput::Bytes(entry.len() as u64));
        g.bench_function(BenchmarkId::new("parse_entry", name), |b| {
            b.iter(|| ledger::parse_entry(black_box(entry)).expect("parse"))
        });
    }
    g.finish();
}

fn dearmor(armored: &[u8]) -> Vec<u8> {
    let mut r = openpgp::armor::Reader::from_bytes(
        armored,
        openpgp::armor::ReaderMode::Tolerant(Some(openpgp::armor::Kind::Signature)),
    );
    let mut v = Vec::with_capacity(armored.len());
    std::io::Read::read_to_end(&mut r, &mut v).expect("dearmor");
    v
}

/// A detached signature armored the way `SecretKey::sign_detached` writes
/// it (no armor headers), decoded as plain base64; the CRC-24 line is
/// skipped (RFC 9580 §6.1: it may be ignored; the signature check
/// authenticates the bytes anyway). `None` for any other shape, which a
/// caller would hand to `armor::Reader`.
fn dearmor_base64(armored: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let s = std::str::from_utf8(armored).ok()?;
    let rest = s.strip_prefix("-----BEGIN PGP SIGNATURE-----\n\n")?;
    let (body, tail) = rest.split_once("\n-----END PGP SIGNATURE-----")?;
    if !tail.trim().is_empty() {
        return None;
    }
    let mut b64 = String::with_capacity(body.len());
    for line in body.split('\n') {
        if line.starts_with('=') {
            break;
        }
        b64.push_str(line);
    }
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// An Ed25519 signature made the way the vault makes them, with what the
/// backend call every Sequoia verification ends in takes: the key, the
/// signature's MPIs and the digest it signs.
struct RawEd25519 {
    key: openpgp::packet::Key<
        openpgp::packet::key::PublicParts,
        openpgp::packet::key::UnspecifiedRole,
    >,
    sig: openpgp::packet::Signature,
    digest: Vec<u8>,
}

impl RawEd25519 {
    fn new() -> Self {
        let sk = SecretKey::generate_signing("raw bench").expect("key");
        let msg = [0x5au8; 100];
        let sig = parse_signature(
            sk.sign_detached(&msg, 1_800_000_000)
                .expect("sign")
                .as_bytes(),
        );
        let cert = openpgp::Cert::from_bytes(&sk.public().to_bytes().expect("cert")).expect("cert");
        let key = cert.primary_key().key().clone().role_into_unspecified();
        let digest = signature_digest(&sig, &msg);
        let raw = RawEd25519 { key, sig, digest };
        raw.verify();
        raw
    }

    /// One Ed25519 verification; Sequoia's cache is not consulted.
    fn verify(&self) {
        self.key
            .verify(
                black_box(self.sig.mpis()),
                self.sig.hash_algo(),
                black_box(&self.digest),
            )
            .expect("raw verify")
    }

    /// Verifications per second over about `d`.
    fn rate(&self, d: Duration) -> f64 {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < d {
            for _ in 0..100 {
                self.verify();
            }
            n += 100;
        }
        n as f64 / t.elapsed().as_secs_f64()
    }
}

/// SHA-256 bytes per second over 1 KiB inputs for about `d`.
fn sha256_rate(d: Duration) -> f64 {
    let buf = [0xa5u8; 1024];
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < d {
        for _ in 0..1000 {
            black_box(Sha256::digest(black_box(&buf[..])));
        }
        n += 1000;
    }
    (n * 1024) as f64 / t.elapsed().as_secs_f64()
}

fn parse_signature(armored: &[u8]) -> openpgp::packet::Signature {
    match openpgp::Packet::from_bytes(&dearmor(armored)[..]) {
        Ok(openpgp::Packet::Signature(s)) => s,
        _ => panic!("not a signature"),
    }
}

/// The digest a detached signature over `msg` signs (what
/// `Signature::verify_message` computes before the Ed25519 check).
fn signature_digest(sig: &openpgp::packet::Signature, msg: &[u8]) -> Vec<u8> {
    use openpgp::crypto::hash::Hash;
    let mut ctx = sig
        .hash_algo()
        .context()
        .expect("hash")
        .for_signature(sig.version());
    ctx.update(msg);
    sig.hash(&mut ctx).expect("hash signature");
    ctx.into_digest().expect("digest")
}

/// One line per verification benchmark: medians over its child runs, and
/// the signature rate as a fraction of the raw Ed25519 rate measured in
/// the same child (median, and the range over runs).
fn summary(fx: &Fixture, runs: &[(String, Run)]) {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    let mut names: Vec<&String> = runs.iter().map(|(n, _)| n).collect();
    names.dedup();
    for name in names {
        let these: Vec<Run> = runs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| *r)
            .collect();
        let first = these[0];
        let secs = median(these.iter().map(|r| r.elapsed.as_secs_f64()).collect());
        let sig_rate = |r: &Run| r.signatures as f64 / r.elapsed.as_secs_f64();
        let ratios: Vec<f64> = these
            .iter()
            .map(|r| sig_rate(r) / r.raw_ed25519 as f64)
            .collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        let hwm = these.iter().map(|r| r.hwm_after_kib).max().unwrap_or(0);
        let base = these.iter().map(|r| r.hwm_before_kib).max().unwrap_or(0);
        eprintln!(
            "summary {name}: {} runs; median {secs:.3} s; {} entries ({:.0}/s); {} signatures ({} checkpoints, {} cache misses): {:.0}/s; raw Ed25519 in the same processes {:.0}/s; signature rate / raw rate: median {:.2} (range {lo:.2}..{hi:.2}); SHA-256 {:.0} MiB/s; peak RSS {hwm} KiB ({base} KiB before verify); mean entry {} B",
            these.len(),
            first.entries,
            first.entries as f64 / secs,
            first.signatures,
            first.checkpoints,
            first.cache_misses,
            median(these.iter().map(sig_rate).collect()),
            median(these.iter().map(|r| r.raw_ed25519 as f64).collect()),
            median(ratios),
            median(these.iter().map(|r| r.sha256 as f64).collect()) / (1024.0 * 1024.0),
            fx.mean_entry,
        );
    }
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let fx = Fixture::get(if quick() { &QUICK } else { &FULL });
    let runs = RefCell::new(Vec::new());
    let mut c = Criterion::default().configure_from_args();
    raw(&mut c, &fx, "raw");
    verify(&mut c, &fx, &runs);
    raw(&mut c, &fx, "raw_after");
    parts(&mut c, &fx);
    c.final_summary();
    summary(&fx, &runs.borrow());
}
