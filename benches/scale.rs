//! Scale: what a write costs on a 10^6-entry vault against a 10^3-entry
//! one, next to the raw costs it is built from. Figures and how to run
//! them: `docs/PERFORMANCE.md` ("Scale") and `scripts/bench-table`.
//!
//! - `scale_hash/raw_sha256/183` and `scale_hash/leaf+frontier/183`: one
//!   SHA-256 of a mean-sized entry (183 bytes), and what verification
//!   does per entry for the tree (the RFC 6962 leaf hash and a push onto
//!   the Merkle frontier, about one more node hash amortised).
//! - `scale_append/raw_sled_insert+fdatasync`: one 183-byte insert into a
//!   bare sled tree opened as the vault opens its store, `flush`, then an
//!   fdatasync of sled's data file: the floor under any durable write.
//! - `scale_append/ledger_append/<size>`: one `ledger::append` (the
//!   entry, its Merkle nodes, its signed checkpoint and note) in a
//!   committed transaction, on a working copy of the cached fixture of
//!   that size; `ledger_append+flush/<size>` adds `Store::flush` (sled's
//!   flush and an fdatasync).
//! - `scale_release/begin/<size>` and `scale_release/complete/<size>`:
//!   `Vault::begin_release` and `Vault::complete_release` of a real quorum
//!   release on the same working copy; the two approvals (Argon2) and the
//!   display record are untimed.
//!
//! Sizes are 10^3 and 10^6 entries (10^3 and 2·10^3 in criterion's test
//! mode or with `BREAKGLASS_BENCH_QUICK=1`). The fixtures are built once
//! and cached under `target/bench-scale-<size>` (see `common/fixture.rs`).
//!
//! `BREAKGLASS_SCALE_BUILD=10000,100000` builds (or finds) those fixtures,
//! prints their directories and exits; `scripts/bench-table` uses it to
//! time `ledger verify` on them with the release binary.

mod common;

use common::fixture::{self, Fixture};
use common::{quick, selected};

use std::cell::RefCell;
use std::fs::File;
use std::hint::black_box;
use std::time::{Duration, Instant};

use breakglass::Vault;
use breakglass::ledger::merkle::{self, Frontier};
use breakglass::ledger::{self, Draft};
use breakglass::pgp::SecretKey;
use breakglass::store::Store;
use breakglass::vault::{Displayed, ReleaseRequest};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use sha2::{Digest, Sha256};

/// The small and the large ledger.
fn sizes() -> [u64; 2] {
    if quick() {
        [1_000, 2_000]
    } else {
        [1_000, 1_000_000]
    }
}

/// A mean entry's length in the verify fixture (docs/PERFORMANCE-verify.md).
const ENTRY_BYTES: usize = 183;

// ------------------------------------------------------------------ Hashing

fn hashing(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale_hash");
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Bytes(ENTRY_BYTES as u64));
    let entry = vec![b'x'; ENTRY_BYTES];
    g.bench_function(BenchmarkId::new("raw_sha256", ENTRY_BYTES), |b| {
        b.iter(|| Sha256::digest(black_box(&entry)))
    });
    // A long-lived frontier, as in a verification: pushes amortise to one
    // node hash per leaf, and the frontier never holds more than 64 roots.
    let mut frontier = Frontier::default();
    g.bench_function(BenchmarkId::new("leaf+frontier", ENTRY_BYTES), |b| {
        b.iter(|| frontier.push(merkle::leaf_hash(black_box(&entry))))
    });
    g.finish();
}

// ------------------------------------------------------------------ Appends

/// A working copy of a fixture, opened as a store to append to, then as a
/// vault to release from.
struct Work {
    size: u64,
    store: Option<Store>,
    db: Option<File>,
    vault: Option<Vault>,
    path: std::path::PathBuf,
    key: Option<SecretKey>,
    vault_id: String,
    appended: usize,
    releases: usize,
}

impl Work {
    fn new(fx: &Fixture) -> Work {
        let started = Instant::now();
        let path = fixture::working_copy(fx);
        eprintln!(
            "scale: working copy of the {}-entry vault in {:.1} s",
            fx.entries,
            started.elapsed().as_secs_f64()
        );
        let vault_id = {
            let v = Vault::open(&path).expect("open working copy");
            v.id().to_string()
        };
        Work {
            size: fx.entries,
            store: None,
            db: None,
            vault: None,
            path,
            key: None,
            vault_id,
            appended: 0,
            releases: 0,
        }
    }

    fn store(&mut self) -> &Store {
        if self.store.is_none() {
            self.vault = None;
            let store = Store::open(&self.path).expect("open store");
            self.key = Some(fixture::ledger_key(&store));
            self.db = Some(File::open(self.path.join("db")).expect("open sled's db file"));
            self.store = Some(store);
        }
        self.store.as_ref().expect("store")
    }

    fn vault(&mut self) -> &mut Vault {
        if self.vault.is_none() {
            self.store = None;
            self.db = None;
            self.vault = Some(Vault::open(&self.path).expect("open vault"));
        }
        self.vault.as_mut().expect("vault")
    }

    /// One append of a cheap entry with its checkpoint, committed and,
    /// with `flush`, flushed; timed.
    fn append(&mut self, flush: bool) -> Duration {
        let draft: Draft = fixture::cheap_draft(self.appended, fixture::SECRETS);
        self.store();
        let store = self.store.as_ref().expect("store");
        let key = self.key.as_ref().expect("key");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs() as i64;
        let t = Instant::now();
        store
            .transact(|tx| ledger::append(tx, &draft, now, &self.vault_id, key, None))
            .expect("append");
        if flush {
            store.flush().expect("flush");
        }
        let d = t.elapsed();
        self.appended += 1;
        d
    }

    /// One quorum release: (begin_release, complete_release) times.
    fn release(&mut self) -> (Duration, Duration) {
        let secret = fixture::secret_name(self.releases % fixture::SECRETS);
        let pair = fixture::PAIRS[self.releases % fixture::PAIRS.len()];
        self.releases += 1;
        let vault = self.vault();
        let t = Instant::now();
        let mut req: ReleaseRequest = vault
            .begin_release(&secret, "scale benchmark: admin recovery")
            .expect("begin_release");
        let begin = t.elapsed();
        for o in pair {
            vault
                .approve(&mut req, o, &fixture::pass(o))
                .expect("approve");
        }
        let t = Instant::now();
        let mut released = vault.complete_release(req).expect("complete_release");
        let complete = t.elapsed();
        vault
            .record_display(&mut released, Displayed::Confirmed)
            .expect("record_display");
        (begin, complete)
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        self.store = None;
        self.vault = None;
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn raw_sled(c: &mut Criterion) {
    if !selected("scale_append/raw_sled_insert+fdatasync") {
        return;
    }
    let mut g = c.benchmark_group("scale_append");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    let dir = tempfile::tempdir_in(fixture::target_dir()).expect("tempdir");
    let db = sled::Config::new()
        .path(dir.path().join("raw"))
        .mode(sled::Mode::LowSpace)
        .flush_every_ms(None)
        .open()
        .expect("open sled");
    let data = File::open(dir.path().join("raw").join("db")).expect("sled's db file");
    let value = vec![b'x'; ENTRY_BYTES];
    let mut i = 0u64;
    g.bench_function("raw_sled_insert+fdatasync", |b| {
        b.iter(|| {
            db.insert(i.to_be_bytes(), value.as_slice())
                .expect("insert");
            db.flush().expect("flush");
            data.sync_data().expect("fdatasync");
            i += 1;
        })
    });
    g.finish();
}

fn appends(c: &mut Criterion) {
    for size in sizes() {
        let label = fixture::label(size);
        let wanted = [
            format!("scale_append/ledger_append/{label}"),
            format!("scale_append/ledger_append+flush/{label}"),
            format!("scale_release/begin/{label}"),
            format!("scale_release/complete/{label}"),
        ];
        if !wanted.iter().any(|w| selected(w)) {
            continue;
        }
        let fx = fixture::vault(size);
        let work = RefCell::new(Work::new(&fx));
        assert_eq!(work.borrow().size, size);

        let mut g = c.benchmark_group("scale_append");
        g.sample_size(20);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(4));
        // The first appends after sled opens a database read its pages
        // from disk: warm the copy so each size is measured in steady state.
        for _ in 0..2 {
            work.borrow_mut().append(true);
        }
        // The commit alone shows the ledger's own cost; the flush adds
        // sled's write and an fdatasync, which the disk's load dominates.
        for (name, flush) in [("ledger_append", false), ("ledger_append+flush", true)] {
            g.bench_function(BenchmarkId::new(name, &label), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| work.borrow_mut().append(flush)).sum())
            });
        }
        g.finish();

        // A release cycle takes seconds at 10^6 (begin_release reads the
        // secret's history from the epoch entry) plus two untimed Argon2
        // runs: one cycle per sample.
        let mut g = c.benchmark_group("scale_release");
        g.sample_size(10);
        g.sampling_mode(SamplingMode::Flat);
        g.warm_up_time(Duration::from_millis(1));
        g.measurement_time(Duration::from_millis(1));
        work.borrow_mut().release();
        g.bench_function(BenchmarkId::new("begin", &label), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| work.borrow_mut().release().0).sum())
        });
        g.bench_function(BenchmarkId::new("complete", &label), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| work.borrow_mut().release().1).sum())
        });
        g.finish();
    }
}

/// `BREAKGLASS_SCALE_BUILD=N,N,…`: build or find those fixtures, print
/// `fixture N DIR` lines, and exit.
fn build_only(list: &str) {
    for n in list.split(',').filter(|s| !s.is_empty()) {
        let n: u64 = n
            .trim()
            .parse()
            .expect("BREAKGLASS_SCALE_BUILD: entry counts");
        let fx = fixture::vault(n);
        println!("fixture {n} {}", fx.dir.display());
    }
}

fn main() {
    if let Some(list) = std::env::var_os("BREAKGLASS_SCALE_BUILD") {
        build_only(&list.to_string_lossy());
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    hashing(&mut c);
    raw_sled(&mut c);
    appends(&mut c);
    c.final_summary();
}
