//! Criterion benchmarks for the costs an officer waits on. What each one
//! measures, how to run them and the figures measured are in
//! `docs/PERFORMANCE.md`.
//!
//! - `argon2id/derive_kek/default`: one Argon2id derivation at
//!   [`KdfParams::DEFAULT`] (128 MiB, 3 passes, 4 lanes in parallel), paid once per
//!   officer per approval.
//! - `release/complete_release/*`: everything after the last passphrase
//!   (share combine, key check, item decrypt, the transaction that consumes
//!   the item and appends the release entry and its signed checkpoint, and
//!   the flush). Argon2 is in the untimed setup.
//! - `ledger_append/*`: one ledger append with its signed checkpoint, inside
//!   a transaction, then also flushed (`+flush`), at two ledger sizes, to
//!   show the cost does not grow with the ledger.
//! - `deposit/one_code/*`: one deposit of one code (authentication, hence
//!   Argon2, excluded) at two ledger sizes: a deposit reads the ledger entry
//!   naming the certificate it encrypts to (it once scanned the whole
//!   ledger for it).
//! - `+fdatasync` variants add an fdatasync of sled's data file after the
//!   flush: sled 0.34's `flush()` on Linux ends in `sync_file_range`, not an
//!   fsync, so they show what a durable write costs here.
//!
//! Runs under `cargo bench` use the full sizes. Under `cargo test
//! --all-targets` (criterion's test mode, each benchmark once) or with
//! `BREAKGLASS_BENCH_QUICK=1`, the fixtures are small so the run is short.
//! Fixtures are built before criterion's warm-up, and only for benchmarks a
//! filter selects, so `cargo bench --bench vault -- argon2` builds nothing
//! else. Vaults and ledgers are created under the system temporary
//! directory (`TMPDIR`), which should be on the disk being measured: the
//! flush writes to it.

mod common;

use common::fixture::copy_dir;
use common::{quick, selected};

use std::cell::RefCell;
use std::fs::File;
use std::time::{Duration, Instant};

use breakglass::crypto::{self, KdfParams};
use breakglass::ledger::merkle;
use breakglass::ledger::{self, Draft};
use breakglass::pgp::SecretKey;
use breakglass::records::SecretKind;
use breakglass::store::Store;
use breakglass::vault::{
    Displayed, InitOptions, NewOfficer, OfficerSession, ReleaseRequest, Released,
};
use breakglass::{Passphrase, SecretValue, Vault};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use tempfile::TempDir;

/// Officers of the release vault; two of three release.
const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-bench-passphrase"),
    ("bob", "bob-bench-passphrase"),
    ("carol", "carol-bench-passphrase"),
];

/// Items deposited into each release vault (fewer in a quick run); a new
/// vault is made when they run out.
fn items_per_vault() -> usize {
    if quick() { 100 } else { 2000 }
}

/// A fixed entry time: the ledger stamps `max(now, last)`, so any constant
/// works and keeps entries the same length.
const ENTRY_TIME: i64 = 1_800_000_000;

fn pass(officer: &str) -> Passphrase {
    let (_, p) = OFFICERS
        .iter()
        .find(|(n, _)| *n == officer)
        .expect("known officer");
    Passphrase::new(p.to_string())
}

// ---------------------------------------------------------------- Argon2id

fn argon2id(c: &mut Criterion) {
    let pass = pass("alice");
    let salt: [u8; 16] = crypto::random_array();
    let params = KdfParams::DEFAULT;
    let mut g = c.benchmark_group("argon2id");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("derive_kek/default", |b| {
        b.iter(|| crypto::derive_kek(&pass, &salt, params).expect("argon2"))
    });
    g.finish();
}

// ----------------------------------------------------------------- Release

/// Two of three officers release; Argon2 is cheap because it is in the
/// setup, not the measurement.
fn release_vault_options() -> InitOptions {
    InitOptions {
        threshold: 2,
        officers: OFFICERS
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(KdfParams::MIN_MEMORY_MIB, 1).expect("kdf"),
    }
}

/// A vault with `items` codes, split into secrets of `per_secret` codes
/// each, released in order.
struct ReleaseFixture {
    items: usize,
    per_secret: usize,
    // Field order matters: the vault (and sled's lock) closes before its
    // directory is removed.
    vault: Vault,
    /// sled's data file, for the `+fdatasync` variant.
    db: File,
    _dir: TempDir,
    /// Releases started so far; item `started` is the next one.
    started: usize,
    /// The last release, confirmed as displayed before the next begins,
    /// so every release takes a fresh item (no I10 re-release).
    last: Option<Released>,
    /// Whether an alert hook is set, so every append queues its event.
    alerts: bool,
}

impl ReleaseFixture {
    fn new(items: usize, per_secret: usize) -> Self {
        Self::with_alerts(items, per_secret, false)
    }

    /// With `alerts`, a hook (`/bin/true`) is set after the deposits, so
    /// every later append also queues its event (never delivered here).
    fn with_alerts(items: usize, per_secret: usize, alerts: bool) -> Self {
        assert_eq!(items % per_secret, 0);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vault =
            Vault::init(&dir.path().join("vault"), release_vault_options()).expect("init");
        let session = vault
            .authenticate("alice", &pass("alice"), "deposit", None)
            .expect("authenticate");
        for s in 0..items / per_secret {
            let codes: Vec<SecretValue> = (0..per_secret)
                .map(|i| SecretValue::new(format!("{:04x}-{:04x}-{:04x}", s, i, s ^ i)))
                .collect();
            vault
                .deposit(&session, &Self::secret(s), SecretKind::Codes, None, &codes)
                .expect("deposit");
        }
        if alerts {
            vault
                .set_alert_hook(&session, "/bin/true", &[], None)
                .expect("set the alert hook");
        }
        drop(session);
        let db = File::open(vault.path().join("db")).expect("open sled's db file");
        ReleaseFixture {
            items,
            per_secret,
            vault,
            db,
            _dir: dir,
            started: 0,
            last: None,
            alerts,
        }
    }

    fn secret(s: usize) -> String {
        format!("bench-{s:04}")
    }

    /// Untimed: confirms the previous release, then begins the next one
    /// and collects two approvals (two Argon2 derivations), moving to a
    /// fresh vault when this one is used up.
    fn next_request(&mut self) -> ReleaseRequest {
        if let Some(mut r) = self.last.take() {
            self.vault
                .record_display(&mut r, Displayed::Confirmed)
                .expect("record_display");
        }
        if self.started == self.items {
            *self = ReleaseFixture::with_alerts(self.items, self.per_secret, self.alerts);
        }
        let secret = Self::secret(self.started / self.per_secret);
        self.started += 1;
        let mut req = self
            .vault
            .begin_release(&secret, "benchmark: release after the last passphrase")
            .expect("begin_release");
        for o in ["alice", "carol"] {
            self.vault.approve(&mut req, o, &pass(o)).expect("approve");
        }
        req
    }
}

fn release(c: &mut Criterion) {
    let mut g = c.benchmark_group("release");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_secs(1));
    // A typical set of backup codes, and one large secret: the release
    // reads every item record of the secret it releases from.
    let items = items_per_vault();
    // The `+fdatasync` variant adds what a real fdatasync of sled's data
    // file costs on top of `flush()` (see docs/PERFORMANCE.md: sled 0.34's
    // flush uses sync_file_range on Linux, not fsync).
    for per_secret in [10, items] {
        let param = format!("{per_secret}-codes-per-secret");
        let variants: &[(&str, bool)] = if per_secret == 10 {
            &[
                ("complete_release", false),
                ("complete_release+fdatasync", true),
            ]
        } else {
            &[("complete_release", false)]
        };
        let eager = variants
            .iter()
            .any(|(name, _)| selected(&format!("release/{name}/{param}")));
        let fixture = RefCell::new(eager.then(|| ReleaseFixture::new(items, per_secret)));
        for &(name, fdatasync) in variants {
            g.bench_function(BenchmarkId::new(name, &param), |b| {
                b.iter_batched(
                    || {
                        let mut fx = fixture.borrow_mut();
                        fx.get_or_insert_with(|| ReleaseFixture::new(items, per_secret))
                            .next_request()
                    },
                    |req| {
                        let mut fx = fixture.borrow_mut();
                        let fx = fx.as_mut().expect("fixture");
                        let released = fx.vault.complete_release(req).expect("complete_release");
                        if fdatasync {
                            fx.db.sync_data().expect("fdatasync");
                        }
                        fx.last = Some(released);
                    },
                    BatchSize::PerIteration,
                )
            });
        }
    }
    g.finish();
}

// ------------------------------------------------------------------ Alerts

/// I17's cost: the release critical path after the last passphrase with
/// and without a hook set (so with and without queuing the event and the
/// signed note), side by side in one run; and one delivery of many
/// pending events to a program that exits at once.
fn alerts(c: &mut Criterion) {
    let mut g = c.benchmark_group("alerts");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.warm_up_time(Duration::from_secs(1));
    let items = items_per_vault();
    for (name, hook) in [("release/no-hook", false), ("release/hook", true)] {
        if !selected(&format!("alerts/{name}")) {
            continue;
        }
        let fixture = RefCell::new(ReleaseFixture::with_alerts(items, 10, hook));
        g.bench_function(name, |b| {
            b.iter_batched(
                || fixture.borrow_mut().next_request(),
                |req| {
                    let mut fx = fixture.borrow_mut();
                    let released = fx.vault.complete_release(req).expect("complete_release");
                    fx.last = Some(released);
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    // Delivery of a large backlog: timed once (criterion's minimum of ten
    // samples would mean ten backlogs), printed for docs/PERFORMANCE.md.
    if selected("alerts/deliver_backlog") {
        let n = if quick() { 200 } else { 10_000 };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut vault =
            Vault::init(&dir.path().join("vault"), release_vault_options()).expect("init");
        let session = vault
            .authenticate("alice", &pass("alice"), "alerts", None)
            .expect("authenticate");
        vault
            .set_alert_hook(&session, "/bin/true", &[], None)
            .expect("set the alert hook");
        drop(session);
        // The alerts entry is the first event; refusals, one append each,
        // are the cheapest entries to make for the rest.
        for _ in 1..n {
            let _ = vault.begin_release("no-such-secret", "benchmark backlog");
        }
        let start = Instant::now();
        let r = vault
            .deliver_alerts(Duration::from_secs(600))
            .expect("deliver");
        let took = start.elapsed();
        assert_eq!((r.delivered, r.pending), (n, 0), "{r:?}");
        println!(
            "alerts/deliver_backlog: {n} events to /bin/true in {:.2} s ({:.2} ms per event)",
            took.as_secs_f64(),
            took.as_secs_f64() * 1000.0 / n as f64
        );
    }
}

// ------------------------------------------------------------------ Ledger

/// A deposit-like entry, the same for every append.
fn draft() -> Draft {
    Draft::new("deposit", "alice")
        .field("secret", "github-admin")
        .field("kind", "codes")
        .field("added", 10)
        .field("total", 10)
}

const VAULT_ID: &str = "00112233445566778899aabbccddeeff";

/// What a timed append waits for after the transaction commits.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Nothing: the commit only.
    None,
    /// `Store::flush` (sled's flush), as the vault does.
    Flush,
    /// `Store::flush`, then an fdatasync of sled's data file.
    FlushFdatasync,
}

/// A ledger of a given size, kept closed on disk as a pristine copy; the
/// benchmark appends to a working copy and replaces it from the pristine
/// one once it has grown by `max_growth` entries, so the size measured
/// stays within `[size, size + max_growth]`.
struct LedgerFixture {
    size: u64,
    max_growth: u64,
    key: SecretKey,
    draft: Draft,
    root: TempDir,
    // Dropped before `root` (declaration order): sled closes first.
    work: Option<Store>,
    /// The working copy's sled data file, for the `+fdatasync` variant.
    work_db: Option<File>,
    copies: u64,
    appended: u64,
}

impl LedgerFixture {
    fn new(size: u64, max_growth: u64) -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let key = SecretKey::generate_signing("breakglass ledger bench").expect("key");
        let draft = draft();
        let pristine = root.path().join("pristine");
        let started = Instant::now();
        {
            let store = Store::create(&pristine).expect("create store");
            // Many appends per transaction to build quickly; `append` reads
            // the size from inside the transaction, so this is sound (the
            // Merkle check below proves it).
            const BATCH: u64 = 500;
            let mut n = 0;
            while n < size {
                let k = BATCH.min(size - n);
                store
                    .transact(|tx| {
                        for _ in 0..k {
                            ledger::append(tx, &draft, ENTRY_TIME, VAULT_ID, &key, None)?;
                        }
                        Ok(())
                    })
                    .expect("build ledger");
                n += k;
            }
            store.flush().expect("flush");
            check_ledger(&store, size);
        }
        eprintln!(
            "ledger fixture: {size} entries built and checked in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        LedgerFixture {
            size,
            max_growth,
            key,
            draft,
            root,
            work: None,
            work_db: None,
            copies: 0,
            appended: 0,
        }
    }

    /// Untimed: a fresh working copy when the current one has grown too
    /// much (or there is none yet).
    fn ensure_work(&mut self) {
        if self.work.is_none() || self.appended >= self.max_growth {
            self.fresh_copy();
        }
    }

    /// Untimed: replaces the working copy by a fresh copy of the pristine
    /// ledger, opened and warmed by two appends (the first appends after
    /// sled opens a database read its pages from disk; the timed appends
    /// measure the steady state, at every size alike).
    fn fresh_copy(&mut self) {
        self.work = None; // closes sled before its directory goes
        self.work_db = None;
        let old = self.root.path().join(format!("work-{}", self.copies));
        if old.exists() {
            std::fs::remove_dir_all(&old).expect("remove old copy");
        }
        self.copies += 1;
        let dst = self.root.path().join(format!("work-{}", self.copies));
        copy_dir(&self.root.path().join("pristine"), &dst);
        let store = Store::open(&dst).expect("open copy");
        assert_eq!(ledger::size(&store).expect("size"), self.size);
        self.work = Some(store);
        self.work_db = Some(File::open(dst.join("db")).expect("open sled's db file"));
        self.appended = 0;
        for _ in 0..2 {
            self.timed_append(Durability::Flush);
        }
    }

    /// One timed append and what `durability` asks after it; setup
    /// excluded.
    fn timed_append(&mut self, durability: Durability) -> Duration {
        self.ensure_work();
        let store = self.work.as_ref().expect("work store");
        let db = self.work_db.as_ref().expect("work db file");
        let (draft, key) = (&self.draft, &self.key);
        let t = Instant::now();
        let appended = store
            .transact(|tx| ledger::append(tx, draft, ENTRY_TIME, VAULT_ID, key, None))
            .expect("append");
        if durability != Durability::None {
            store.flush().expect("flush");
        }
        if durability == Durability::FlushFdatasync {
            db.sync_data().expect("fdatasync");
        }
        let elapsed = t.elapsed();
        assert_eq!(appended.seq, self.size + self.appended);
        self.appended += 1;
        elapsed
    }
}

/// The stored tree, its latest checkpoint and a root recomputed from the
/// entries with the §2.1 definition all agree on `size` leaves.
fn check_ledger(store: &Store, size: u64) {
    assert_eq!(ledger::size(store).expect("size"), size);
    let leaves: Vec<merkle::Hash> = ledger::entries_from(store, 0)
        .map(|e| merkle::leaf_hash(&e.expect("entry").1))
        .collect();
    assert_eq!(leaves.len() as u64, size);
    let root = ledger::root(store, size).expect("root");
    assert_eq!(root, merkle::root_of_leaves(&leaves), "stored tree differs");
    let cp = ledger::latest_checkpoint(store)
        .expect("checkpoint")
        .expect("some");
    assert_eq!(cp.body, ledger::checkpoint_body(VAULT_ID, size, &root));
}

fn ledger_append(c: &mut Criterion) {
    let (small, large) = if quick() {
        (100, 1_000)
    } else {
        (100, 100_000)
    };
    let mut g = c.benchmark_group("ledger_append");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_secs(1));
    for size in [small, large] {
        // The small ledger stays within [100, 200] entries, the large one
        // within [size, 1.5 size]: it is rarely re-copied, so the warm-up
        // seldom pays for a copy.
        let growth = (size / 2).max(100);
        let variants = [
            ("in_transaction", Durability::None),
            ("in_transaction+flush", Durability::Flush),
            ("in_transaction+flush+fdatasync", Durability::FlushFdatasync),
        ];
        let eager = variants
            .iter()
            .any(|(name, _)| selected(&format!("ledger_append/{name}/{size}")));
        let fixture = RefCell::new(eager.then(|| LedgerFixture::new(size, growth)));
        for (name, durability) in variants {
            // Each variant starts on a fresh copy, outside the warm-up.
            if let Some(fx) = fixture.borrow_mut().as_mut() {
                fx.fresh_copy();
            }
            g.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter_custom(|iters| {
                    let mut fx = fixture.borrow_mut();
                    let fx = fx.get_or_insert_with(|| LedgerFixture::new(size, growth));
                    (0..iters).map(|_| fx.timed_append(durability)).sum()
                })
            });
        }
    }
    g.finish();
}

// ----------------------------------------------------------------- Deposit

/// A vault whose ledger holds about `entries` entries (genesis, its
/// deposits and filler entries appended through the vault's store), and an
/// authenticated officer.
struct DepositFixture {
    session: OfficerSession,
    // The vault (and sled's lock) closes before its directory is removed.
    vault: Vault,
    _dir: TempDir,
    deposited: u64,
}

impl DepositFixture {
    fn new(entries: u64) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = Vault::init(&dir.path().join("vault"), release_vault_options()).expect("init");
        // Filler entries signed by a key of the bench's own: the vault's
        // ledger key is private to it, and a deposit does not check
        // checkpoint signatures, so the key does not change what is timed.
        let key = SecretKey::generate_signing("breakglass deposit bench").expect("key");
        let draft = draft();
        let started = Instant::now();
        let mut n = ledger::size(vault.store()).expect("size");
        while n < entries {
            let k = 500.min(entries - n);
            vault
                .store()
                .transact(|tx| {
                    for _ in 0..k {
                        ledger::append(tx, &draft, ENTRY_TIME, vault.id(), &key, None)?;
                    }
                    Ok(())
                })
                .expect("filler entries");
            n += k;
        }
        vault.store().flush().expect("flush");
        eprintln!(
            "deposit fixture: ledger of {n} entries built in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let session = vault
            .authenticate("alice", &pass("alice"), "deposit", None)
            .expect("authenticate");
        DepositFixture {
            session,
            vault,
            _dir: dir,
            deposited: 0,
        }
    }

    /// One deposit of one code into a growing secret.
    fn deposit(&mut self) {
        let code = SecretValue::new(format!("deposit-{:08}", self.deposited));
        self.deposited += 1;
        self.vault
            .deposit(
                &self.session,
                "bench-deposit",
                SecretKind::Codes,
                None,
                &[code],
            )
            .expect("deposit");
    }
}

fn deposit(c: &mut Criterion) {
    let (small, large) = if quick() {
        (100, 1_000)
    } else {
        (100, 100_000)
    };
    let mut g = c.benchmark_group("deposit");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(5));
    g.warm_up_time(Duration::from_secs(1));
    for entries in [small, large] {
        let eager = selected(&format!("deposit/one_code/{entries}"));
        let fixture = RefCell::new(eager.then(|| DepositFixture::new(entries)));
        g.bench_function(BenchmarkId::new("one_code", entries), |b| {
            let mut fx = fixture.borrow_mut();
            let fx = fx.get_or_insert_with(|| DepositFixture::new(entries));
            b.iter(|| fx.deposit())
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Modest times on purpose: the machine is small and the fixtures are
    // not free. Each group sets its own sample size and times.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = argon2id, release, ledger_append, deposit, alerts
}
criterion_main!(benches);
