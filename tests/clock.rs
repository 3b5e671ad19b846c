//! Clocks are not trusted (I16). A release works with the wall clock
//! anywhere from 1970 to 9999; nothing locks or panics because of it;
//! approvals also expire on the monotonic clock; a clock behind the ledger,
//! or far ahead of it, is warned about and recorded in a `clock` entry,
//! and the ledger still verifies. Driven with an injected clock.

use std::sync::Arc;

use breakglass::audit::{self, Options, VaultSource};
use breakglass::clock::{MAX_TIME, ManualClock};
use breakglass::crypto::KdfParams;
use breakglass::records::SecretKind;
use breakglass::vault::{DEFAULT_APPROVAL_TTL, Displayed, InitOptions, NewOfficer};
use breakglass::{Error, Passphrase, SecretValue, Vault, ledger};
use serde_json::Value;

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

/// 2026-11-28, when these vaults are made.
const MADE: i64 = 1_795_833_151;

fn pass(name: &str) -> Passphrase {
    let p = OFFICERS.iter().find(|(n, _)| *n == name).unwrap().1;
    Passphrase::new(p.to_string())
}

fn vault(dir: &std::path::Path, clock: &ManualClock, codes: &[&str]) -> Vault {
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
    let mut v = Vault::init_with_clock(&dir.join("v"), opts, Arc::new(clock.clone())).unwrap();
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    let values: Vec<SecretValue> = codes
        .iter()
        .map(|c| SecretValue::new(c.to_string()))
        .collect();
    v.deposit(&s, "gh", SecretKind::Codes, None, &values)
        .unwrap();
    v
}

fn release(v: &mut Vault) -> Result<String, Error> {
    let mut req = v.begin_release("gh", "clock drill")?;
    v.approve(&mut req, "alice", &pass("alice"))?;
    v.approve(&mut req, "bob", &pass("bob"))?;
    let mut r = v.complete_release(req)?;
    v.record_display(&mut r, Displayed::Confirmed)?;
    Ok(r.value.expose_secret().to_string())
}

fn entries(v: &Vault) -> Vec<serde_json::Map<String, Value>> {
    v.ledger_entries()
        .map(|e| ledger::parse_entry(&e.unwrap().1).unwrap())
        .collect()
}

fn verifies(v: &Vault) {
    let r = audit::verify(&VaultSource(v.store()), &Options::default());
    assert!(r.is_ok(), "{}", r.err().unwrap());
}

/// Reopens the vault, as the next command would, with the same clock.
fn reopen(v: Vault, clock: &ManualClock) -> Vault {
    let path = v.path().to_owned();
    drop(v);
    Vault::open_with_clock(&path, Arc::new(clock.clone())).unwrap()
}

#[test]
fn a_clock_a_day_behind_the_vaults_creation_releases_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let v = vault(dir.path(), &clock, &["c1", "c2"]);
    clock.set_wall(MADE - 86_400);
    let mut v = reopen(v, &clock);
    let warning = v.clock_warning().expect("a warning");
    assert!(
        warning.contains("earlier than the ledger's last entry"),
        "{warning}"
    );
    assert_eq!(release(&mut v).unwrap(), "c1");
    assert!(v.locked().is_none() && v.ledger_problem().is_none());
    let e = entries(&v);
    let jump = e
        .iter()
        .find(|m| m["kind"] == "clock")
        .expect("a clock entry");
    assert_eq!(jump["direction"], "behind");
    assert_eq!(jump["time"], "2026-11-27T02:32:31Z");
    // Once recorded, the clock is believed: no more warnings or entries.
    assert!(v.clock_warning().is_none());
    assert_eq!(release(&mut v).unwrap(), "c2");
    let clocks = entries(&v)
        .into_iter()
        .filter(|m| m["kind"] == "clock")
        .count();
    assert_eq!(clocks, 1);
    verifies(&v);
}

#[test]
fn a_release_works_with_the_clock_anywhere_from_1970_to_9999() {
    for wall in [
        0,
        1,
        MADE - 86_400,
        1 << 32,
        (1 << 32) + 1,
        MAX_TIME,
        i64::MAX,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(MADE);
        let v = vault(dir.path(), &clock, &["c1", "c2"]);
        clock.set_wall(wall);
        let mut v = reopen(v, &clock);
        assert_eq!(release(&mut v).unwrap(), "c1", "clock at {wall}");
        assert!(v.locked().is_none(), "locked at {wall}");
        verifies(&v);
        // And a vault made with the clock there works too.
        let dir = tempfile::tempdir().unwrap();
        let mut v = vault(dir.path(), &ManualClock::new(wall), &["c1"]);
        assert_eq!(release(&mut v).unwrap(), "c1", "made at {wall}");
        verifies(&v);
    }
}

#[test]
fn a_clock_far_ahead_is_recorded_and_does_not_disable_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let v = vault(dir.path(), &clock, &["c1", "c2"]);
    // Someone sets the clock to the year 9999 and a drill is logged there.
    clock.set_wall(MAX_TIME);
    let v = reopen(v, &clock);
    assert!(v.clock_warning().unwrap().contains("more than five years"));
    v.drill("carol", &pass("carol")).unwrap();
    let e = entries(&v);
    assert!(
        e.iter()
            .any(|m| m["kind"] == "clock" && m["direction"] == "ahead")
    );
    // The clock is put right again.
    clock.set_wall(MADE + 60);
    let mut v = reopen(v, &clock);
    let mut req = v.begin_release("gh", "clock drill").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    // Time passes beyond the approval lifetime while the wall clock,
    // set back again, claims it does not.
    clock.advance(DEFAULT_APPROVAL_TTL + 1);
    clock.set_wall(MADE + 60);
    let err = v.approve(&mut req, "bob", &pass("bob")).unwrap_err();
    assert!(matches!(err, Error::Expired(_)), "{err}");
    assert_eq!(entries(&v).last().unwrap()["kind"], "expired");
    // A new request still works, and the whole ledger verifies.
    assert_eq!(release(&mut v).unwrap(), "c1");
    verifies(&v);
}

#[test]
fn expiry_holds_on_the_monotonic_clock_when_the_wall_clock_stands_still() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let mut v = vault(dir.path(), &clock, &["c1"]);
    let mut req = v.begin_release("gh", "clock drill").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    clock.advance(DEFAULT_APPROVAL_TTL + 1);
    clock.set_wall(MADE);
    let err = v.complete_release(req).unwrap_err();
    assert!(matches!(err, Error::Expired(_)), "{err}");
    assert_eq!(v.secrets().unwrap()[0].remaining, 1);
}

#[test]
fn a_small_skew_back_keeps_the_ledger_time_and_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let v = vault(dir.path(), &clock, &["c1"]);
    clock.set_wall(MADE - 60);
    let mut v = reopen(v, &clock);
    assert!(v.clock_warning().is_none());
    assert_eq!(release(&mut v).unwrap(), "c1");
    assert!(entries(&v).iter().all(|m| m["kind"] != "clock"));
    verifies(&v);
}

#[test]
fn a_clock_entry_that_does_not_follow_the_rule_fails_verification() {
    // A time going back without a `clock` entry is still caught (the
    // tamper suite has that case); here the clock entry's `previous` lies.
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let v = vault(dir.path(), &clock, &["c1"]);
    clock.set_wall(MADE - 86_400);
    let mut v = reopen(v, &clock);
    release(&mut v).unwrap();
    let bundle = dir.path().join("bundle");
    audit::export(v.store(), &v.ledger_cert(), &bundle).unwrap();
    let text = std::fs::read_to_string(bundle.join("entries.jsonl")).unwrap();
    let forged = text.replacen(
        "\"previous\":\"2026-11-28T02:32:31Z\"",
        "\"previous\":\"2026-11-27T02:32:31Z\"",
        1,
    );
    assert_ne!(forged, text);
    std::fs::write(bundle.join("entries.jsonl"), forged).unwrap();
    let src = audit::BundleSource::new(&bundle).unwrap();
    let err = audit::verify(&src, &Options::default()).unwrap_err();
    assert_eq!(err.kind, audit::FailureKind::TimeWentBack, "{err}");
}
