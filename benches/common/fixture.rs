//! Large vaults for the scale benchmarks, built fast and cached.
//!
//! [`vault`] returns a vault of exactly `entries` ledger entries, built
//! once and kept in `target/bench-scale-<label>/` (`vault/`, `bundle/`,
//! `fixture.json`); it is rebuilt only when missing or of another recipe.
//! The vault is real: made by `Vault::init`, with deposits and quorum
//! releases through the vault API, then filled with cheap entries (the
//! refusals, failed authentications, cancels and expiries a vault logs)
//! appended with `ledger::append` directly, 500 per transaction, each with
//! its Merkle nodes and its own signed checkpoint. So `ledger verify`
//! passes on it, and every later append or release is a real one.
//!
//! The releases come first, while the ledger is short: a release reads
//! the secret's history from the epoch entry, so releases spread over a
//! 10^6-entry ledger would make the build quadratic.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use breakglass::audit;
use breakglass::crypto::{self, KdfParams};
use breakglass::ledger::{self, Draft};
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record, SecretKind};
use breakglass::store::{Store, Table};
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Passphrase, SecretValue, Vault};
use serde_json::{Value, json};

/// Bumped whenever the recipe changes, so a cached fixture is rebuilt.
const VERSION: u64 = 1;

/// Officers of the fixture vault; two of three release.
pub const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-bench-passphrase"),
    ("bob", "bob-bench-passphrase"),
    ("carol", "carol-bench-passphrase"),
];

/// The approving pairs, used in turn.
pub const PAIRS: [[&str; 2]; 3] = [["alice", "bob"], ["bob", "carol"], ["alice", "carol"]];

/// Secrets deposited, each with [`CODES`] codes: enough items for the
/// releases of the build and of many benchmark runs on working copies.
pub const SECRETS: usize = 20;
const CODES: usize = 50;

/// Quorum releases made while building.
const RELEASES: usize = 20;

/// Entries appended per transaction when filling.
const BATCH: usize = 500;

/// A built fixture.
pub struct Fixture {
    /// `target/bench-scale-<label>`.
    pub dir: PathBuf,
    /// The vault directory (do not write to it: see [`working_copy`]).
    pub vault: PathBuf,
    /// Its export bundle.
    pub bundle: PathBuf,
    pub entries: u64,
}

/// The passphrase of a fixture officer.
pub fn pass(officer: &str) -> Passphrase {
    let (_, p) = OFFICERS
        .iter()
        .find(|(n, _)| *n == officer)
        .expect("known officer");
    Passphrase::new(p.to_string())
}

/// The name of secret `s`.
pub fn secret_name(s: usize) -> String {
    format!("svc-{s:02}-admin")
}

/// The target directory (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// A short label for a size: `1k`, `10k`, `1m`.
pub fn label(entries: u64) -> String {
    match entries {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}m", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// The cached fixture of `entries` entries, built first if missing or
/// stale.
pub fn vault(entries: u64) -> Fixture {
    let dir = target_dir().join(format!("bench-scale-{}", label(entries)));
    let marker = dir.join("fixture.json");
    let fresh = std::fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|m| m["version"] == VERSION && m["entries"] == entries);
    if !fresh {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("remove stale fixture");
        }
        // Built beside, then renamed: an interrupted build is never taken
        // for a finished one.
        let building = dir.with_extension("building");
        if building.exists() {
            std::fs::remove_dir_all(&building).expect("remove unfinished fixture");
        }
        build(entries, &building);
        let m = json!({ "version": VERSION, "entries": entries });
        std::fs::write(building.join("fixture.json"), m.to_string()).expect("write marker");
        std::fs::rename(&building, &dir).expect("rename fixture");
    }
    Fixture {
        vault: dir.join("vault"),
        bundle: dir.join("bundle"),
        dir,
        entries,
    }
}

/// A fresh copy of the fixture's vault, to append to: `<dir>-work`,
/// replacing any earlier copy. The copy is a plain file copy of sled's
/// directory, made while no process has the vault open.
pub fn working_copy(fx: &Fixture) -> PathBuf {
    let work = fx.dir.with_file_name(format!(
        "{}-work",
        fx.dir.file_name().expect("name").to_string_lossy()
    ));
    if work.exists() {
        std::fs::remove_dir_all(&work).expect("remove old working copy");
    }
    copy_dir(&fx.vault, &work);
    work
}

/// Copies a closed vault directory (sled's files) to `to`, with its mode.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir copy");
    for e in std::fs::read_dir(from).expect("read vault dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy vault file");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(from).expect("stat").permissions().mode();
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// The vault's ledger signing key, read from the store (the vault API
/// keeps it private), to append entries directly.
pub fn ledger_key(store: &Store) -> SecretKey {
    let rec = LedgerKeyRecord::decode(
        &store
            .get(Table::Meta, b"ledger_key")
            .expect("read ledger key")
            .expect("ledger key"),
    )
    .expect("ledger key record");
    SecretKey::from_bytes(&rec.tsk).expect("ledger key")
}

/// Cheap entry number `i`: in turn a refusal, a failed authentication, a
/// cancel and an expiry, as a vault logs them, naming one of `secrets`
/// secrets (the verify bench's fixture has its own count).
pub fn cheap_draft(i: usize, secrets: usize) -> Draft {
    let secret = secret_name(i % secrets);
    let nonce = hex::encode(crypto::random_array::<16>());
    let [a, b] = PAIRS[i % PAIRS.len()];
    match i % 4 {
        0 => Draft::new("refused", a)
            .field("action", "release")
            .field("cause", "1 of 2 officers; at least 2 are needed")
            .field("secret", secret),
        1 => Draft::new("auth_failed", b)
            .field("action", "release")
            .field("secret", secret),
        2 => Draft::new("cancelled", a)
            .field("secret", secret)
            .field("nonce", nonce)
            .field("approvals", 1),
        _ => Draft::new("expired", "")
            .field("secret", secret)
            .field("nonce", nonce)
            .field("approvals", 1),
    }
}

/// One quorum release of the next code of `secret`, confirmed shown.
pub fn release(vault: &mut Vault, secret: &str, pair: [&str; 2]) {
    let mut req = vault
        .begin_release(secret, "IdP outage, INC-4242: admin recovery")
        .expect("begin_release");
    for o in pair {
        vault.approve(&mut req, o, &pass(o)).expect("approve");
    }
    let mut released = vault.complete_release(req).expect("complete_release");
    vault
        .record_display(&mut released, Displayed::Confirmed)
        .expect("record_display");
}

/// Builds a fixture of exactly `entries` entries in `dir` (which must not
/// exist).
fn build(entries: u64, dir: &Path) {
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
    let sessions: Vec<_> = OFFICERS
        .iter()
        .map(|(o, _)| {
            vault
                .authenticate(o, &pass(o), "deposit", None)
                .expect("authenticate")
        })
        .collect();
    for s in 0..SECRETS {
        let codes: Vec<SecretValue> = (0..CODES)
            .map(|i| SecretValue::new(format!("{s:04x}-{i:04x}-{:04x}", (s * 7919) ^ i)))
            .collect();
        vault
            .deposit(
                &sessions[s % sessions.len()],
                &secret_name(s),
                SecretKind::Codes,
                None,
                &codes,
            )
            .expect("deposit");
    }
    drop(sessions);
    for r in 0..RELEASES {
        release(
            &mut vault,
            &secret_name(r % SECRETS),
            PAIRS[r % PAIRS.len()],
        );
    }

    let key = ledger_key(vault.store());
    let vault_id = vault.id().to_string();
    let mut size = ledger::size(vault.store()).expect("size");
    assert!(
        size <= entries,
        "{entries} entries is fewer than the setup's {size}"
    );
    let mut cheap = 0usize;
    let mut last_report = Instant::now();
    while size < entries {
        let k = ((entries - size) as usize).min(BATCH);
        let drafts: Vec<Draft> = (0..k).map(|i| cheap_draft(cheap + i, SECRETS)).collect();
        let now = vault.now();
        vault
            .store()
            .transact(|tx| {
                for d in &drafts {
                    ledger::append(tx, d, now, &vault_id, &key, None)?;
                }
                Ok(())
            })
            .expect("append cheap entries");
        cheap += k;
        size += k as u64;
        if last_report.elapsed() > Duration::from_secs(15) {
            last_report = Instant::now();
            eprintln!(
                "fixture {}: {size} entries, {:.0} s",
                label(entries),
                started.elapsed().as_secs_f64()
            );
        }
    }
    vault.store().flush().expect("flush");
    assert_eq!(ledger::size(vault.store()).expect("size"), entries);
    let exported =
        audit::export(vault.store(), &vault.ledger_cert(), &dir.join("bundle")).expect("export");
    assert_eq!(exported, entries);
    drop(vault);
    eprintln!(
        "fixture {}: {entries} entries ({SECRETS} deposits, {RELEASES} releases, {cheap} cheap entries) built in {:.0} s",
        label(entries),
        started.elapsed().as_secs_f64()
    );
}
