//! Nothing unsigned steers what follows a release (I15, issue 18). Each
//! test performs one attack on a real vault directory, as someone who can
//! write it, and so holds the ledger key, but knows no passphrase: a
//! retirement replayed to void a new code set, a retirement built from a
//! release's approvals, a rotation replayed after the next release, and a
//! review forged to silence the reminders. The runtime refuses to act on
//! any of them, and the auditor's verifier fails the ledger.
//!
//! Library-level, with a clock that stands still, so a replayed entry can
//! carry its original time exactly as a careful attacker would write it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use breakglass::audit::{self, Options, VaultSource};
use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::lifecycle::What;
use breakglass::pgp::SecretKey;
use breakglass::records::{LedgerKeyRecord, Record, SecretKind};
use breakglass::store::{Store, Table};
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Error, Passphrase, SecretValue, Vault, ledger};
use serde_json::{Map, Value};

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

/// 2026-11-28.
const MADE: i64 = 1_795_833_151;

fn pass(name: &str) -> Passphrase {
    let p = OFFICERS.iter().find(|(n, _)| *n == name).unwrap().1;
    Passphrase::new(p.to_string())
}

fn values(v: &[&str]) -> Vec<SecretValue> {
    v.iter().map(|s| SecretValue::new(s.to_string())).collect()
}

struct Lab {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
}

impl Lab {
    fn new() -> (Lab, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v");
        let clock = ManualClock::new(MADE);
        let opts = InitOptions {
            threshold: 2,
            officers: OFFICERS
                .iter()
                .map(|(n, p)| NewOfficer {
                    name: n.to_string(),
                    passphrase: Passphrase::new(p.to_string()),
                })
                .collect(),
            kdf: KdfParams::new(8, 1).unwrap(),
        };
        let v = Vault::init_with_clock(&path, opts, Arc::new(clock.clone())).unwrap();
        (
            Lab {
                _dir: dir,
                path,
                clock,
            },
            v,
        )
    }

    fn reopen(&self) -> Result<Vault, Error> {
        Vault::open_with_clock(&self.path, Arc::new(self.clock.clone()))
    }

    /// The attacker's write: `fields` appended as a `kind` entry by
    /// `actor` at `time`, signed and checkpointed with the ledger key from
    /// the vault's own directory (no breakglass process holds it).
    fn append(
        &self,
        v: Vault,
        kind: &'static str,
        actor: &str,
        fields: &Map<String, Value>,
        time: i64,
    ) {
        let id = v.id().to_string();
        drop(v);
        let store = Store::open(&self.path).unwrap();
        let rec = LedgerKeyRecord::decode(&store.get(Table::Meta, b"ledger_key").unwrap().unwrap())
            .unwrap();
        let key = SecretKey::from_bytes(&rec.tsk).unwrap();
        let mut draft = ledger::Draft::new(kind, actor);
        for (k, value) in fields {
            draft = draft.field(k, value.clone());
        }
        store
            .transact(|tx| ledger::append(tx, &draft, time, &id, &key, None))
            .unwrap();
        store.flush().unwrap();
    }
}

fn deposit(v: &mut Vault, secret: &str, kind: SecretKind, items: &[&str]) {
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    v.deposit(&s, secret, kind, None, &values(items)).unwrap();
}

fn release(v: &mut Vault, secret: &str) -> Result<String, Error> {
    let mut req = v.begin_release(secret, "attack lab")?;
    v.approve(&mut req, "alice", &pass("alice"))?;
    v.approve(&mut req, "bob", &pass("bob"))?;
    let mut r = v.complete_release(req)?;
    v.record_display(&mut r, Displayed::Confirmed)?;
    Ok(r.value.expose_secret().to_string())
}

/// The last entry of `kind`, its fields less the common ones the append
/// writes again.
fn last_of(v: &Vault, kind: &str) -> (Map<String, Value>, i64) {
    let m = v
        .ledger_entries()
        .map(|e| ledger::parse_entry(&e.unwrap().1).unwrap())
        .filter(|m| m["kind"] == kind)
        .last()
        .unwrap_or_else(|| panic!("no {kind} entry"));
    let time = breakglass::clock::parse_rfc3339(m["time"].as_str().unwrap()).unwrap();
    let mut fields = m.clone();
    for k in ["v", "seq", "kind", "actor", "time", "hook"] {
        fields.remove(k);
    }
    (fields, time)
}

fn verify_fails(path: &Path, clock: &ManualClock, want: &str) {
    let _ = clock;
    let v = Vault::open_reader(path).unwrap();
    let failure = audit::verify(&VaultSource(v.store()), &Options::default())
        .err()
        .unwrap_or_else(|| panic!("the ledger verified; wanted {want}"));
    assert!(failure.to_string().contains(want), "{failure}");
}

/// A release, or the open, refused with a line that names the cause.
fn refused(r: Result<String, Error>, want: &[&str]) {
    let e = r.expect_err("the attack was acted on");
    let line = e.to_string();
    for w in want {
        assert!(line.contains(w), "{line:?} does not mention {w:?}");
    }
}

#[test]
fn a_retirement_replayed_after_a_new_set_does_not_void_it() {
    let (lab, mut v) = Lab::new();
    deposit(&mut v, "gh", SecretKind::Codes, &["old-1", "old-2"]);
    v.retire("gh", &[("alice", &pass("alice")), ("bob", &pass("bob"))])
        .unwrap();
    let (retired, time) = last_of(&v, "retired");
    deposit(&mut v, "gh", SecretKind::Codes, &["new-1", "new-2"]);
    // The same count again: the copy fits everything but its nonce.
    lab.append(v, "retired", "alice+bob", &retired, time);

    let mut v = lab.reopen().unwrap();
    refused(release(&mut v, "gh"), &["retirement", "nonce"]);
    drop(v);
    verify_fails(&lab.path, &lab.clock, "replayed approval");
}

#[test]
fn a_retirement_made_of_a_releases_approvals_does_not_void_anything() {
    let (lab, mut v) = Lab::new();
    deposit(&mut v, "gh", SecretKind::Codes, &["c1", "c2", "c3"]);
    assert_eq!(release(&mut v, "gh").unwrap(), "c1");
    let (rel, time) = last_of(&v, "release");
    let mut forged = Map::new();
    forged.insert("secret".into(), "gh".into());
    forged.insert("nonce".into(), "00112233445566778899aabbccddeeff".into());
    forged.insert("voided".into(), 2.into());
    forged.insert("approvals".into(), rel["approvals"].clone());
    lab.append(v, "retired", "alice+bob", &forged, time);

    let mut v = lab.reopen().unwrap();
    refused(release(&mut v, "gh"), &["retirement approval"]);
    drop(v);
    verify_fails(&lab.path, &lab.clock, "entry ");
}

#[test]
fn a_rotation_replayed_after_the_next_release_is_refused() {
    let (lab, mut v) = Lab::new();
    deposit(&mut v, "db", SecretKind::Credential, &["pw-1"]);
    assert_eq!(release(&mut v, "db").unwrap(), "pw-1");
    let s = v
        .authenticate("carol", &pass("carol"), "rotate", Some("db"))
        .unwrap();
    v.rotate(&s, "db", &SecretValue::new("pw-2".to_string()))
        .unwrap();
    let (rotated, time) = last_of(&v, "rotated");
    assert_eq!(release(&mut v, "db").unwrap(), "pw-2");
    // The copy would make pw-2's item void and hold pw-2 again as new.
    lab.append(v, "rotated", "carol", &rotated, time);

    let mut v = lab.reopen().unwrap();
    refused(release(&mut v, "db"), &["rotation"]);
    drop(v);
    verify_fails(&lab.path, &lab.clock, "bad lifecycle entry");
}

#[test]
fn a_review_forged_with_the_ledger_key_silences_nothing() {
    let (lab, mut v) = Lab::new();
    deposit(&mut v, "gh", SecretKind::Codes, &["c1"]);
    release(&mut v, "gh").unwrap();
    let (rel, time) = last_of(&v, "release");
    let seq = v
        .lifecycle()
        .unwrap()
        .releases
        .keys()
        .copied()
        .last()
        .unwrap();
    // A review "by carol", signed with a signature of alice's (all the
    // attacker has): the statement is right, the signature is not carol's.
    let statement = serde_json::json!({
        "type": "breakglass-review/v1",
        "vault": v.id(),
        "epoch": 0,
        "release": seq,
        "secret": "gh",
        "index": 0,
        "class": "drill",
        "note": "routine",
        "incident": null,
        "officer": "carol",
        "time": breakglass::clock::rfc3339(time),
    });
    let mut forged = Map::new();
    for (k, value) in [
        ("release", Value::from(seq)),
        ("secret", "gh".into()),
        ("index", 0.into()),
        ("class", "drill".into()),
        ("note", "routine".into()),
        ("incident", Value::Null),
        ("statement", statement),
        ("signature", rel["approvals"][0]["signature"].clone()),
    ] {
        forged.insert(k.into(), value);
    }
    lab.append(v, "reviewed", "carol", &forged, time);

    let mut v = lab.reopen().unwrap();
    let due = v.due().unwrap();
    assert!(
        due.iter()
            .any(|d| d.what == What::Review && d.release == Some(seq)),
        "the forged review silenced the reminder: {due:?}"
    );
    // The real reviewer can still review it.
    let s = v
        .authenticate("carol", &pass("carol"), "review", None)
        .unwrap();
    v.review(
        &s,
        seq,
        breakglass::vault::ReviewClass::Drill,
        "a drill",
        None,
    )
    .unwrap();
    assert!(!v.due().unwrap().iter().any(|d| d.what == What::Review));
    drop(v);
    verify_fails(&lab.path, &lab.clock, "bad");
}
