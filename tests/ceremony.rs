//! Ceremonies through the library: officer add and remove, threshold
//! change and rekey, each a quorum action that starts a new epoch in one
//! transaction. An officer who did not attend receives their new share at
//! their next authentication; a removed officer's old record opens
//! nothing; `ledger verify` checks every entry against its own epoch.

use std::sync::Arc;

use breakglass::audit::{self, Options, VaultSource};
use breakglass::clock::ManualClock;
use breakglass::crypto::KdfParams;
use breakglass::error::FaultPoint;
use breakglass::records::SecretKind;
use breakglass::store::Table;
use breakglass::vault::{
    CeremonyKind, CeremonyPlan, CeremonyReport, Displayed, InitOptions, NewOfficer,
};
use breakglass::{Error, Passphrase, SecretValue, Vault, ledger};

fn pass(name: &str) -> Passphrase {
    Passphrase::new(format!("{name}-passphrase"))
}

fn new_vault(dir: &std::path::Path, codes: &[&str]) -> Vault {
    let opts = InitOptions {
        threshold: 2,
        officers: ["alice", "bob", "carol"]
            .iter()
            .map(|n| NewOfficer {
                name: n.to_string(),
                passphrase: pass(n),
            })
            .collect(),
        kdf: KdfParams::new(8, 1).unwrap(),
    };
    let clock = ManualClock::new(1_800_000_000);
    let mut v = Vault::init_with_clock(&dir.join("v"), opts, Arc::new(clock)).unwrap();
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

fn release(v: &mut Vault, officers: &[&str]) -> Result<String, Error> {
    let mut req = v.begin_release("gh", "ceremony test")?;
    for o in officers {
        v.approve(&mut req, o, &pass(o))?;
    }
    let mut r = v.complete_release(req)?;
    v.record_display(&mut r, Displayed::Confirmed)?;
    Ok(r.value.expose_secret().to_string())
}

fn ceremony(
    v: &mut Vault,
    plan: CeremonyPlan,
    approvers: &[&str],
) -> Result<CeremonyReport, Error> {
    let mut req = v.begin_ceremony(&plan)?;
    for o in approvers {
        v.approve_ceremony(&mut req, o, &pass(o))?;
    }
    let new: Vec<(String, Passphrase)> = plan.add.iter().map(|n| (n.clone(), pass(n))).collect();
    v.complete_ceremony(req, &new)
}

fn add(name: &str) -> CeremonyPlan {
    CeremonyPlan {
        kind: CeremonyKind::OfficerAdd,
        add: vec![name.into()],
        remove: vec![],
        threshold: None,
    }
}

fn remove(name: &str) -> CeremonyPlan {
    CeremonyPlan {
        kind: CeremonyKind::OfficerRemove,
        add: vec![],
        remove: vec![name.into()],
        threshold: None,
    }
}

fn rekey(threshold: usize) -> CeremonyPlan {
    CeremonyPlan {
        kind: CeremonyKind::Rekey,
        add: vec![],
        remove: vec![],
        threshold: Some(threshold),
    }
}

fn verifies(v: &Vault) {
    let r = audit::verify(&VaultSource(v.store()), &Options::default());
    assert!(r.is_ok(), "{}", r.err().unwrap());
}

fn last_kind(v: &Vault) -> String {
    let (_, b) = v.ledger_entries().last().unwrap().unwrap();
    ledger::parse_entry(&b).unwrap()["kind"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn add_dave_remove_carol_then_three_of_three() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), &["c1", "c2", "c3", "c4", "c5"]);
    assert_eq!(release(&mut v, &["alice", "bob"]).unwrap(), "c1");

    let r = ceremony(&mut v, add("dave"), &["alice", "bob"]).unwrap();
    assert_eq!((r.epoch, r.threshold), (1, 2));
    assert_eq!(r.officers, ["alice", "bob", "carol", "dave"]);
    assert_eq!(r.delivered, ["carol"]);
    assert_eq!(r.reencrypted, 4, "the seen c1 keeps its old ciphertext");
    verifies(&v);
    // Dave's approval counts; carol, who was not there, receives her new
    // share when she authenticates.
    assert_eq!(release(&mut v, &["carol", "dave"]).unwrap(), "c2");
    verifies(&v);

    ceremony(&mut v, remove("carol"), &["alice", "dave"]).unwrap();
    let e = release(&mut v, &["carol", "bob"]).unwrap_err();
    assert!(
        matches!(e, Error::RemovedOfficer(ref o) if o == "carol"),
        "{e}"
    );
    assert_eq!(release(&mut v, &["bob", "dave"]).unwrap(), "c3");

    let r = ceremony(&mut v, rekey(3), &["alice", "bob"]).unwrap();
    assert_eq!((r.epoch, r.threshold), (3, 3));
    let e = release(&mut v, &["alice", "bob"]).unwrap_err();
    assert!(
        matches!(e, Error::TooFewOfficers { got: 2, need: 3 }),
        "{e}"
    );
    assert_eq!(release(&mut v, &["alice", "bob", "dave"]).unwrap(), "c4");
    verifies(&v);
    let st = v.status().unwrap();
    assert_eq!((st.epoch, st.threshold), (3, 3));
    assert_eq!(st.officers, ["alice", "bob", "dave"]);
}

#[test]
fn a_removed_officers_old_record_copied_back_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), &["c1", "c2"]);
    let carol_before = v.store().get(Table::Officers, b"carol").unwrap().unwrap();
    ceremony(&mut v, remove("carol"), &["alice", "bob"]).unwrap();
    // Carol's record from a backup taken before her removal, copied in.
    v.store()
        .transact(|tx| tx.put(Table::Officers, b"carol", &carol_before))
        .unwrap();
    let e = release(&mut v, &["alice", "carol"]).unwrap_err();
    assert!(
        matches!(e, Error::UnknownOfficer(_) | Error::Locked(_)),
        "carol's old record opened: {e}"
    );
    assert_eq!(v.secrets().unwrap()[0].remaining, 2);
}

#[test]
fn a_whole_vault_copied_before_a_ceremony_and_merged_back_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), &["c1", "c2"]);
    let before: Vec<(Vec<u8>, Vec<u8>)> = [Table::Meta, Table::Officers, Table::Items]
        .iter()
        .flat_map(|t| {
            v.store()
                .scan_prefix(*t, b"")
                .unwrap()
                .into_iter()
                .map(move |(k, val)| {
                    let mut key = vec![*t as u8];
                    key.extend_from_slice(&k);
                    (key, val)
                })
        })
        .collect();
    ceremony(&mut v, remove("carol"), &["alice", "bob"]).unwrap();
    let path = v.path().to_owned();
    drop(v);
    // Merge the old copy back, record by record, except the ledger (whose
    // own records are in `meta` too: keep the current ledger counters).
    let v = Vault::open(&path).unwrap();
    for (k, val) in &before {
        let table = match k[0] {
            x if x == Table::Meta as u8 => Table::Meta,
            x if x == Table::Officers as u8 => Table::Officers,
            _ => Table::Items,
        };
        if table == Table::Meta && k[1..].starts_with(b"ledger_") {
            continue;
        }
        v.store()
            .transact(|tx| tx.put(table, &k[1..], val))
            .unwrap();
    }
    v.store().flush().unwrap();
    drop(v);
    let mut v = Vault::open(&path).unwrap();
    let e = release(&mut v, &["alice", "carol"]).unwrap_err();
    assert!(matches!(e, Error::Locked(_)), "{e}");
    assert!(e.to_string().contains("later epoch"), "{e}");
}

#[test]
fn refusals_are_logged_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), &["c1"]);
    let status = v.status().unwrap();
    let cases: Vec<(CeremonyPlan, &str)> = vec![
        (remove("zed"), "not an officer"),
        (add("bob"), "already a name"),
        (
            CeremonyPlan {
                kind: CeremonyKind::Rekey,
                add: vec!["erin".into(), "erin".into()],
                remove: vec![],
                threshold: None,
            },
            "named twice",
        ),
        (rekey(4), "threshold"),
        (rekey(1), "threshold"),
    ];
    for (plan, want) in cases {
        let e = v.begin_ceremony(&plan).unwrap_err().to_string();
        assert!(e.contains(want), "{e} lacks {want}");
        assert_eq!(last_kind(&v), "refused");
    }
    // Removing below the threshold: two removals leave one officer.
    ceremony(&mut v, remove("carol"), &["alice", "bob"]).unwrap();
    let status_after_one = v.status().unwrap();
    let e = v.begin_ceremony(&remove("bob")).unwrap_err().to_string();
    assert!(e.contains("fewer than the threshold"), "{e}");
    // A non-quorum: one approval of two.
    let mut req = v.begin_ceremony(&rekey(2)).unwrap();
    v.approve_ceremony(&mut req, "alice", &pass("alice"))
        .unwrap();
    let e = v.complete_ceremony(req, &[]).unwrap_err();
    assert!(matches!(e, Error::TooFewOfficers { .. }), "{e}");
    // An approval from an officer of another epoch: carol, removed.
    let mut req = v.begin_ceremony(&rekey(2)).unwrap();
    let e = v
        .approve_ceremony(&mut req, "carol", &pass("carol"))
        .unwrap_err();
    assert!(matches!(e, Error::RemovedOfficer(_)), "{e}");
    assert_eq!(last_kind(&v), "refused");
    let now = v.status().unwrap();
    assert_eq!(now.epoch, status_after_one.epoch);
    assert_eq!(now.officers, status_after_one.officers);
    assert_ne!(now.epoch, status.epoch);
    verifies(&v);
}

#[test]
fn a_failure_at_any_step_leaves_the_old_epoch_whole() {
    for fault in [
        FaultPoint::Decrypt,
        FaultPoint::Transaction,
        FaultPoint::CheckpointSigning,
        FaultPoint::Flush,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut v = new_vault(dir.path(), &["c1", "c2"]);
        v.inject_fault(Some(fault));
        let e = ceremony(&mut v, add("dave"), &["alice", "bob"]).unwrap_err();
        assert!(matches!(e, Error::Injected(_)), "{fault:?}: {e}");
        v.inject_fault(None);
        let path = v.path().to_owned();
        drop(v);
        let mut v = Vault::open(&path).unwrap();
        let st = v.status().unwrap();
        // A failed flush may or may not have reached the disk: either
        // epoch is whole, never a mix.
        assert!(st.epoch == 0 || fault == FaultPoint::Flush, "{fault:?}");
        verifies(&v);
        assert_eq!(
            release(&mut v, &["alice", "carol"]).unwrap(),
            "c1",
            "{fault:?}"
        );
        assert_eq!(
            release(&mut v, &["bob", "carol"]).unwrap(),
            "c2",
            "{fault:?}"
        );
        assert!(release(&mut v, &["alice", "bob"]).is_err());
    }
}

#[test]
fn the_officer_overview_shows_drills_and_waiting_shares_from_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = new_vault(dir.path(), &["A-1"]);
    let view = |v: &Vault| -> Vec<(String, bool, bool)> {
        v.officer_overview()
            .unwrap()
            .into_iter()
            .map(|o| (o.name, o.last_drill.is_some(), o.share_waiting))
            .collect()
    };
    let row = |n: &str, drilled, waiting| (n.to_string(), drilled, waiting);
    v.drill("alice", &pass("alice")).unwrap();
    // A wrong passphrase is no drill.
    assert!(v.drill("bob", &pass("nobody")).is_err());
    assert_eq!(
        view(&v),
        [
            row("alice", true, false),
            row("bob", false, false),
            row("carol", false, false)
        ]
    );
    // carol misses the ceremony: her share waits until she authenticates;
    // a refusal naming her does not count as that.
    ceremony(&mut v, add("dave"), &["alice", "bob"]).unwrap();
    assert!(ceremony(&mut v, add("carol"), &["alice", "bob"]).is_err());
    assert_eq!(last_kind(&v), "refused");
    let waiting: Vec<bool> = view(&v).iter().map(|r| r.2).collect();
    assert_eq!(waiting, [false, false, true, false]);
    v.drill("carol", &pass("carol")).unwrap();
    assert_eq!(
        view(&v),
        [
            row("alice", true, false),
            row("bob", false, false),
            row("carol", true, false),
            row("dave", false, false)
        ]
    );
}
