//! Deadlines after a release, driven by an injected clock: a rotation
//! deadline passes and the release reads overdue (in `due`, in every alert
//! event's `unusual`), the reminder is written once a day per item until
//! the rotation, an unreviewed release goes overdue after its secret's
//! review window, and an officer's drill falls due 90 days after they
//! joined or last drilled end to end. Setting the clock back does not
//! clear anything: deadlines are read from the ledger's signed times.

use std::sync::Arc;

use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::lifecycle::What;
use breakglass::policy::Policy;
use breakglass::records::SecretKind;
use breakglass::vault::{Displayed, InitOptions, NewOfficer, ReviewClass};
use breakglass::{Passphrase, SecretValue, Vault, ledger};
use serde_json::Value;

const OFFICERS: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

/// 2026-11-28, when these vaults are made.
const MADE: i64 = 1_795_833_151;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

fn pass(name: &str) -> Passphrase {
    let p = OFFICERS.iter().find(|(n, _)| *n == name).unwrap().1;
    Passphrase::new(p.to_string())
}

/// A 2-of-3 vault holding the credential `db` (rotate within 24 h,
/// review within 2 days) and the code set `gh`.
fn vault(dir: &std::path::Path, clock: &ManualClock) -> Vault {
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
    let policy = Policy {
        rotate_within: Some(DAY as u64),
        review_within: 2 * DAY as u64,
        ..Policy::default()
    };
    v.deposit_with_policy(
        &s,
        "db",
        SecretKind::Credential,
        None,
        Some(&policy),
        &[SecretValue::new("root-pw-1".to_string())],
    )
    .unwrap();
    v.deposit(
        &s,
        "gh",
        SecretKind::Codes,
        None,
        &[SecretValue::new("c1".to_string())],
    )
    .unwrap();
    v
}

fn release(v: &mut Vault, secret: &str) -> u64 {
    let mut req = v.begin_release(secret, "clock drill").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    let mut r = v.complete_release(req).unwrap();
    v.record_display(&mut r, Displayed::Confirmed).unwrap();
    r.seq
}

fn reminders(v: &Vault) -> Vec<serde_json::Map<String, Value>> {
    v.ledger_entries()
        .map(|e| ledger::parse_entry(&e.unwrap().1).unwrap())
        .filter(|m| m["kind"] == "overdue")
        .collect()
}

fn overdue(v: &Vault, what: What) -> bool {
    v.due().unwrap().iter().any(|d| d.what == what && d.overdue)
}

#[test]
fn a_rotation_deadline_passes_and_is_reminded_once_a_day_until_the_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let mut v = vault(dir.path(), &clock);
    let released = release(&mut v, "db");
    let due = v.due().unwrap();
    let rotation = due
        .iter()
        .find(|d| d.what == What::Rotation)
        .expect("a rotation is due");
    assert_eq!(rotation.release, Some(released));
    assert!(!rotation.overdue);
    assert_eq!(rotation.due_at, Some(MADE + DAY));
    // Nothing overdue yet: no reminder.
    assert_eq!(v.remind().unwrap().1, None);

    clock.advance(DAY + HOUR);
    assert!(overdue(&v, What::Rotation));
    let (_, first) = v.remind().unwrap();
    let first = first.expect("the overdue rotation is reminded of");
    let r = reminders(&v);
    assert_eq!(r.len(), 1);
    let listed = r[0]["due"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|d| d["what"] == "rotation" && d["secret"] == "db" && d["release"] == released),
        "{listed:?}"
    );
    assert!(first > released);

    // Twelve hours later: already reminded today.
    clock.advance(12 * HOUR);
    assert_eq!(v.remind().unwrap().1, None);
    // A day after the first reminder: again.
    clock.advance(12 * HOUR + 60);
    assert!(v.remind().unwrap().1.is_some());
    assert_eq!(reminders(&v).len(), 2);

    // Setting the clock back does not make the release less overdue later,
    // nor does it clear it now: the deadline is the signed release time
    // plus the signed policy.
    clock.set_wall(MADE - DAY);
    let due = v.due().unwrap();
    assert!(due.iter().any(|d| d.what == What::Rotation), "{due:?}");
    clock.set_wall(MADE + 3 * DAY);

    // The rotation answers it: nothing more to remind of.
    let s = v
        .authenticate("carol", &pass("carol"), "rotate", Some("db"))
        .unwrap();
    v.rotate(&s, "db", &SecretValue::new("root-pw-2".to_string()))
        .unwrap();
    assert!(!v.due().unwrap().iter().any(|d| d.what == What::Rotation));
    clock.advance(2 * DAY);
    let before = reminders(&v).len();
    let (due, logged) = v.remind().unwrap();
    assert!(!due.iter().any(|d| d.what == What::Rotation), "{due:?}");
    // The overdue review is still reminded of; the rotation no more.
    assert!(logged.is_some());
    let r = reminders(&v);
    assert_eq!(r.len(), before + 1);
    let listed = r.last().unwrap()["due"].as_array().unwrap().clone();
    assert!(listed.iter().any(|d| d["what"] == "review"), "{listed:?}");
    assert!(
        !listed.iter().any(|d| d["what"] == "rotation"),
        "{listed:?}"
    );
}

#[test]
fn an_unreviewed_release_goes_overdue_after_its_secrets_window_and_a_review_ends_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let mut v = vault(dir.path(), &clock);
    let db = release(&mut v, "db");
    let gh = release(&mut v, "gh");
    // db's window is 2 days, gh's the default 7.
    clock.advance(3 * DAY);
    let due = v.due().unwrap();
    let review = |seq| {
        due.iter()
            .find(|d| d.what == What::Review && d.release == Some(seq))
            .cloned()
    };
    assert!(review(db).unwrap().overdue);
    assert!(!review(gh).unwrap().overdue);
    clock.advance(5 * DAY);
    assert!(
        v.due()
            .unwrap()
            .iter()
            .any(|d| d.release == Some(gh) && d.overdue)
    );

    let s = v
        .authenticate("carol", &pass("carol"), "review", None)
        .unwrap();
    v.review(&s, db, ReviewClass::Emergency, "IdP outage", Some("INC-1"))
        .unwrap();
    v.review(
        &s,
        gh,
        ReviewClass::Misuse,
        "nobody asked for it",
        Some("INC-2"),
    )
    .unwrap();
    assert!(!v.due().unwrap().iter().any(|d| d.what == What::Review));
}

#[test]
fn a_drill_falls_due_ninety_days_after_joining_or_the_last_end_to_end_drill() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(MADE);
    let mut v = vault(dir.path(), &clock);
    assert!(!overdue(&v, What::Drill), "a new vault owes no drill yet");
    clock.advance(91 * DAY);
    let due = v.due().unwrap();
    let drills: Vec<_> = due.iter().filter(|d| d.what == What::Drill).collect();
    assert_eq!(drills.len(), 3, "{due:?}");

    // alice and bob drill end to end (no hook: it fails, and does not count).
    let s = v
        .authenticate("alice", &pass("alice"), "drill", None)
        .unwrap();
    v.deposit_canary(&s).unwrap();
    let mut req = v.begin_release("drill/canary", "end-to-end drill").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    let mut r = v.complete_release(req).unwrap();
    let shown = v.record_display(&mut r, Displayed::Confirmed).unwrap();
    let report = v
        .finish_drill(&r, Some(shown), std::time::Duration::from_secs(5))
        .unwrap();
    assert!(!report.passed);
    assert_eq!(report.delivery, "no_hook");
    let still: Vec<_> = v
        .due()
        .unwrap()
        .into_iter()
        .filter(|d| d.what == What::Drill)
        .collect();
    assert_eq!(
        still.len(),
        3,
        "a failed drill counts for nobody: {still:?}"
    );
    // The canary release owes no review and no rotation.
    assert!(
        !v.due()
            .unwrap()
            .iter()
            .any(|d| d.secret.as_deref() == Some("drill/canary"))
    );
}
