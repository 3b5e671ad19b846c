//! Release invariants proven through the library API: I1 (quorum), I2
//! (consume, log, flush, then show — under injected failures), I9 (expiry),
//! I10 (re-release of an unconfirmed item).

use std::sync::Arc;

use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::error::FaultPoint;
use breakglass::records::SecretKind;
use breakglass::vault::{Displayed, InitOptions, NewOfficer};
use breakglass::{Error, Passphrase, SecretValue, Vault, ledger};

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

fn pass(name: &str) -> Passphrase {
    let p = OFFICERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .unwrap_or("not-a-passphrase");
    Passphrase::new(p.to_string())
}

fn new_vault(dir: &std::path::Path, clock: ManualClock) -> Vault {
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
    Vault::init_with_clock(&dir.join("v"), opts, Arc::new(clock)).unwrap()
}

fn deposit(v: &mut Vault, secret: &str, codes: &[&str]) {
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    let values: Vec<SecretValue> = codes
        .iter()
        .map(|c| SecretValue::new(c.to_string()))
        .collect();
    v.deposit(&s, secret, SecretKind::Codes, None, &values)
        .unwrap();
}

fn kinds(v: &Vault) -> Vec<String> {
    v.ledger_entries()
        .map(|e| {
            let (_, b) = e.unwrap();
            ledger::parse_entry(&b).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn remaining(v: &Vault, secret: &str) -> (u32, u32) {
    let s = v
        .secrets()
        .unwrap()
        .into_iter()
        .find(|s| s.name == secret)
        .unwrap();
    (s.remaining, s.unconfirmed)
}

fn release(
    v: &mut Vault,
    secret: &str,
    officers: &[&str],
) -> Result<breakglass::vault::Released, Error> {
    let mut req = v.begin_release(secret, "incident INC-1")?;
    for o in officers {
        v.approve(&mut req, o, &pass(o))?;
    }
    v.complete_release(req)
}

#[test]
fn two_officers_release_codes_in_deposit_order_then_nothing_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1", "c2", "c3"]);
    for want in ["c1", "c2", "c3"] {
        let mut r = release(&mut v, "gh", &["alice", "carol"]).unwrap();
        assert_eq!(r.value.expose_secret(), want);
        v.record_display(&mut r, Displayed::Confirmed).unwrap();
    }
    assert!(matches!(
        release(&mut v, "gh", &["alice", "bob"]),
        Err(Error::NothingLeft(_))
    ));
}

#[test]
fn one_officer_cannot_release() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1"]);
    let err = release(&mut v, "gh", &["alice"]).unwrap_err();
    assert!(
        matches!(err, Error::TooFewOfficers { got: 1, need: 2 }),
        "{err}"
    );
    assert_eq!(remaining(&v, "gh"), (1, 0));
    assert_eq!(kinds(&v).last().unwrap(), "refused");
}

#[test]
fn the_same_officer_twice_is_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1"]);
    let mut req = v.begin_release("gh", "r").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    let err = v.approve(&mut req, "alice", &pass("alice")).unwrap_err();
    assert!(matches!(err, Error::DuplicateOfficer(_)));
    assert_eq!(kinds(&v).last().unwrap(), "refused");
    assert!(matches!(
        v.complete_release(req),
        Err(Error::TooFewOfficers { .. })
    ));
    assert_eq!(remaining(&v, "gh"), (1, 0));
}

#[test]
fn a_wrong_passphrase_is_logged_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1"]);
    let mut req = v.begin_release("gh", "r").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    let err = v
        .approve(&mut req, "bob", &Passphrase::new("bob-pass-23".into()))
        .unwrap_err();
    assert!(matches!(err, Error::BadPassphrase(ref o) if o == "bob"));
    assert_eq!(kinds(&v).last().unwrap(), "auth_failed");
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    assert_eq!(v.complete_release(req).unwrap().value.expose_secret(), "c1");
}

#[test]
fn an_unknown_officer_is_refused_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1"]);
    let mut req = v.begin_release("gh", "r").unwrap();
    let err = v
        .approve(&mut req, "mallory", &pass("mallory"))
        .unwrap_err();
    assert!(matches!(err, Error::UnknownOfficer(_)));
    assert_eq!(kinds(&v).last().unwrap(), "refused");
}

#[test]
fn approvals_expire_and_the_expiry_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let mut v = new_vault(dir.path(), clock.clone());
    deposit(&mut v, "gh", &["c1"]);
    let mut req = v.begin_release("gh", "r").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    clock.advance(15 * 60 + 1);
    let err = v.approve(&mut req, "bob", &pass("bob")).unwrap_err();
    assert!(matches!(err, Error::Expired(_)), "{err}");
    assert!(
        req.approved_by().is_empty(),
        "collected approvals were not discarded"
    );
    assert_eq!(kinds(&v).last().unwrap(), "expired");
    assert!(matches!(v.complete_release(req), Err(Error::Expired(_))));
    assert_eq!(remaining(&v, "gh"), (1, 0));
}

#[test]
fn a_complete_quorum_past_its_expiry_releases_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let mut v = new_vault(dir.path(), clock.clone());
    deposit(&mut v, "gh", &["c1"]);
    let mut req = v.begin_release("gh", "r").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    clock.advance(15 * 60 + 1);
    assert!(matches!(v.complete_release(req), Err(Error::Expired(_))));
    assert_eq!(kinds(&v).last().unwrap(), "expired");
    assert_eq!(remaining(&v, "gh"), (1, 0));
}

#[test]
fn an_unconfirmed_release_is_re_released_and_logged_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1", "c2"]);
    let first = release(&mut v, "gh", &["alice", "bob"]).unwrap();
    // The process "died" before the display was confirmed.
    drop(first);
    assert_eq!(remaining(&v, "gh"), (1, 1));
    let mut again = release(&mut v, "gh", &["bob", "carol"]).unwrap();
    assert_eq!(again.value.expose_secret(), "c1");
    assert_eq!(again.re_release_of, Some(2));
    v.record_display(&mut again, Displayed::Confirmed).unwrap();
    let next = release(&mut v, "gh", &["alice", "carol"]).unwrap();
    assert_eq!(next.value.expose_secret(), "c2");
    assert_eq!(next.re_release_of, None);
}

/// Everything observable about the vault: ledger bytes and, per secret,
/// (remaining, unconfirmed).
type Snapshot = (Vec<Vec<u8>>, Vec<(u32, u32)>);

fn snapshot(v: &Vault) -> Snapshot {
    let entries = v.ledger_entries().map(|e| e.unwrap().1).collect();
    let counts = v
        .secrets()
        .unwrap()
        .iter()
        .map(|s| (s.remaining, s.unconfirmed))
        .collect();
    (entries, counts)
}

fn fault_case(fault: FaultPoint) -> (Vault, tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1", "c2"]);
    let before = snapshot(&v);
    v.inject_fault(Some(fault));
    let res = release(&mut v, "gh", &["alice", "bob"]);
    assert!(
        matches!(res, Err(Error::Injected(f)) if f == fault),
        "{fault:?}: {res:?}"
    );
    v.inject_fault(None);
    (v, dir, before)
}

#[test]
fn a_failure_before_the_commit_consumes_nothing_and_logs_the_failure() {
    for fault in [
        FaultPoint::Decrypt,
        FaultPoint::Transaction,
        FaultPoint::CheckpointSigning,
    ] {
        let (mut v, _dir, before) = fault_case(fault);
        let after = snapshot(&v);
        assert_eq!(after.1, before.1, "{fault:?} consumed an item");
        // Exactly one new entry: the refusal naming the failure.
        assert_eq!(after.0.len(), before.0.len() + 1, "{fault:?}");
        assert_eq!(&after.0[..before.0.len()], &before.0[..]);
        let last = ledger::parse_entry(after.0.last().unwrap()).unwrap();
        assert_eq!(last["kind"], "refused", "{fault:?}");
        // The vault still works, and the next release is the first code.
        let r = release(&mut v, "gh", &["alice", "bob"]).unwrap();
        assert_eq!(r.value.expose_secret(), "c1", "{fault:?}");
    }
}

#[test]
fn a_failed_flush_shows_nothing_and_leaves_the_item_re_releasable() {
    let (mut v, dir, before) = fault_case(FaultPoint::Flush);
    // The transaction committed: the release is logged, the item is
    // released but unconfirmed, and the ledger is consistent.
    let after = snapshot(&v);
    assert_eq!(after.1, vec![(1, 1)]);
    assert_eq!(&after.0[..before.0.len()], &before.0[..]);
    let last = ledger::parse_entry(after.0.last().unwrap()).unwrap();
    assert_eq!(last["kind"], "release");
    // A new quorum re-releases that same item (I10).
    let r = release(&mut v, "gh", &["bob", "carol"]).unwrap();
    assert_eq!(r.value.expose_secret(), "c1");
    assert!(r.re_release_of.is_some());
    // And it survives a reopen.
    let path = v.path().to_owned();
    drop(v);
    let v = Vault::open(&path).unwrap();
    assert_eq!(snapshot(&v).0.len(), after.0.len() + 1);
    drop(dir);
}

#[test]
fn a_clock_set_back_does_not_produce_a_release_that_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let mut v = new_vault(dir.path(), clock.clone());
    deposit(&mut v, "gh", &["c1", "c2"]);
    let mut r = release(&mut v, "gh", &["alice", "bob"]).unwrap();
    v.record_display(&mut r, Displayed::Confirmed).unwrap();
    // An hour back: the vault's time stands still at the last entry.
    clock.advance(-3600);
    let r = release(&mut v, "gh", &["bob", "carol"]).unwrap();
    assert_eq!(r.value.expose_secret(), "c2");
    let report = breakglass::audit::verify(
        &breakglass::audit::VaultSource(v.store()),
        &breakglass::audit::Options::default(),
    );
    assert!(report.is_ok(), "{:?}", report.err());
}

/// A display is recorded once: the approver's key that signs it is
/// taken by the first record, so a second one is refused and logs nothing.
#[test]
fn a_display_is_recorded_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), ManualClock::new(1_800_000_000));
    deposit(&mut v, "gh", &["c1", "c2"]);
    let mut r = release(&mut v, "gh", &["alice", "bob"]).unwrap();
    v.record_display(&mut r, Displayed::TimedOut).unwrap();
    let size = v.status().unwrap().ledger_size;
    let e = v.record_display(&mut r, Displayed::Confirmed).unwrap_err();
    assert!(e.to_string().contains("already recorded"), "{e}");
    assert_eq!(v.status().unwrap().ledger_size, size);
}
