//! Share and record tampering needs private access (the AAD layout and
//! the officer blob), so these tests live here; the rest of the release
//! invariants are in `tests/library_release.rs`.
use super::*;
use crate::clock::ManualClock;

const PASSES: [(&str, &str); 3] = [
    ("alice", "alice-pass-1"),
    ("bob", "bob-pass-22"),
    ("carol", "carol-pass-333"),
];

fn pass(name: &str) -> Passphrase {
    Passphrase::new(
        PASSES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .to_string(),
    )
}

fn vault(dir: &Path) -> Vault {
    let opts = InitOptions {
        threshold: 2,
        officers: PASSES
            .iter()
            .map(|(n, p)| NewOfficer {
                name: n.to_string(),
                passphrase: Passphrase::new(p.to_string()),
            })
            .collect(),
        kdf: KdfParams::new(8, 1).unwrap(),
    };
    let mut v = Vault::init_with_clock(
        &dir.join("v"),
        opts,
        Arc::new(ManualClock::new(1_800_000_000)),
    )
    .unwrap();
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    v.deposit(
        &s,
        "gh",
        SecretKind::Codes,
        None,
        &[SecretValue::new("c1".into())],
    )
    .unwrap();
    v
}

/// Re-seals `officer`'s record with `share` in place of their own, under
/// their real passphrase and the right AAD: what an attacker who knows
/// the passphrase and can write the disk could do.
fn reseal_share(v: &Vault, officer: &str, share: Vec<u8>) {
    let rec = v.officer_record(officer).unwrap().unwrap();
    let session = v
        .authenticate(officer, &pass(officer), "test", None)
        .unwrap();
    let mut forged = seal_officer(
        officer,
        &pass(officer),
        rec.kdf,
        &SecretBytes::new(share),
        &session.key,
        &session.commitment,
    )
    .unwrap();
    forged.cert = rec.cert.clone();
    v.store
        .transact(|tx| tx.put(Table::Officers, officer.as_bytes(), &forged.encode()?))
        .unwrap();
}

fn try_release(v: &mut Vault) -> Result<Released> {
    let mut req = v.begin_release("gh", "r")?;
    v.approve(&mut req, "alice", &pass("alice"))?;
    v.approve(&mut req, "bob", &pass("bob"))?;
    v.complete_release(req)
}

fn last_kind(v: &Vault) -> String {
    let (_, b) = v.ledger_entries().last().unwrap().unwrap();
    ledger::parse_entry(&b).unwrap()["kind"]
        .as_str()
        .unwrap()
        .to_string()
}

fn remaining(v: &Vault) -> u32 {
    v.secrets().unwrap()[0].remaining
}

#[test]
fn a_share_of_another_vault_fails_the_key_check_and_is_logged() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = vault(da.path());
    let b = vault(db.path());
    let foreign = b.authenticate("bob", &pass("bob"), "test", None).unwrap();
    reseal_share(&a, "bob", foreign.share.expose_secret().to_vec());
    assert!(matches!(try_release(&mut a), Err(Error::KeyCheckFailed)));
    assert_eq!(last_kind(&a), "refused");
    assert_eq!(remaining(&a), 1);
}

#[test]
fn shares_with_x_zero_or_a_wrong_length_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let own = v
        .authenticate("bob", &pass("bob"), "test", None)
        .unwrap()
        .share
        .expose_secret()
        .to_vec();
    let mut zero = own.clone();
    zero[0] = 0;
    reseal_share(&v, "bob", zero);
    assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(o)) if o == "bob"));
    reseal_share(&v, "bob", own[..20].to_vec());
    assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(_))));
    let mut same_x = own.clone();
    same_x[0] = v
        .authenticate("alice", &pass("alice"), "test", None)
        .unwrap()
        .share
        .expose_secret()[0];
    reseal_share(&v, "bob", same_x);
    assert!(matches!(try_release(&mut v), Err(Error::InvalidShare(_))));
    assert_eq!(last_kind(&v), "refused");
    assert_eq!(remaining(&v), 1);
    reseal_share(&v, "bob", own);
    assert_eq!(try_release(&mut v).unwrap().value.expose_secret(), "c1");
}

#[test]
fn officer_blob_aad_binds_vault_officer_epoch_salt_and_kdf() {
    let d = tempfile::tempdir().unwrap();
    let v = vault(d.path());
    let rec = v.officer_record("bob").unwrap().unwrap();
    let kek = crypto::derive_kek(&pass("bob"), &rec.salt, rec.kdf).unwrap();
    let id = v.config.vault_id.as_str();
    let (salt, kdf) = (rec.salt.as_slice(), rec.kdf);
    let aad = |id, officer, epoch| officer_aad(id, officer, epoch, salt, kdf);
    assert!(crypto::open(kek.expose_secret(), &rec.sealed, &aad(id, "bob", 0)).is_ok());
    let other = |f: fn(&mut KdfParams)| {
        let mut k = kdf;
        f(&mut k);
        officer_aad(id, "bob", 0, salt, k)
    };
    for aad in [
        aad("0000", "bob", 0),
        aad(id, "alice", 0),
        aad(id, "bob", 1),
        officer_aad(id, "bob", 0, &[0; 16], kdf),
        other(|k| k.memory_kib += 1024),
        other(|k| k.iterations += 1),
        other(|k| k.parallelism += 1),
    ] {
        assert!(matches!(
            crypto::open(kek.expose_secret(), &rec.sealed, &aad),
            Err(Error::DecryptionFailed)
        ));
    }
}

#[test]
fn an_officer_record_moved_to_another_name_does_not_open() {
    let d = tempfile::tempdir().unwrap();
    let v = vault(d.path());
    // Carol's record stored under bob's name, with carol's passphrase.
    let mut carol = v.officer_record("carol").unwrap().unwrap();
    carol.name = "bob".into();
    v.store
        .transact(|tx| tx.put(Table::Officers, b"bob", &carol.encode()?))
        .unwrap();
    assert!(matches!(
        v.authenticate("bob", &pass("carol"), "test", None),
        Err(Error::BadPassphrase(_))
    ));
}

#[test]
fn key_check_and_vault_key_aad_bind_vault_and_epoch() {
    let d = tempfile::tempdir().unwrap();
    let v = vault(d.path());
    let sa = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
    let sb = v.authenticate("bob", &pass("bob"), "t", None).unwrap();
    let shares = [
        NamedShare {
            officer: "alice",
            share: &sa.share,
        },
        NamedShare {
            officer: "bob",
            share: &sb.share,
        },
    ];
    let vk = shamir::combine(2, &shares).unwrap();
    let id = v.config.vault_id.as_str();
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.key_check,
            &key_check_aad(id, 0)
        )
        .is_ok()
    );
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.key_check,
            &key_check_aad(id, 1)
        )
        .is_err()
    );
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.key_check,
            &key_check_aad("other", 0)
        )
        .is_err()
    );
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.vault_key_sealed,
            &vault_key_aad(id, 0)
        )
        .is_ok()
    );
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.vault_key_sealed,
            &vault_key_aad(id, 1)
        )
        .is_err()
    );
    assert!(
        crypto::open(
            vk.expose_secret(),
            &v.config.vault_key_sealed,
            &key_check_aad(id, 0)
        )
        .is_err()
    );
}

#[test]
fn an_item_ciphertext_swapped_between_records_locks_the_vault() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let s = v
        .authenticate("alice", &pass("alice"), "deposit", None)
        .unwrap();
    v.deposit(
        &s,
        "gh",
        SecretKind::Codes,
        None,
        &[SecretValue::new("c2".into())],
    )
    .unwrap();
    // Put item 1's ciphertext into item 0's record.
    let [i0, i1]: [ItemRecord; 2] = v.items("gh").unwrap().try_into().unwrap();
    let swapped = ItemRecord {
        ciphertext: i1.ciphertext,
        ..i0
    };
    v.store
        .transact(|tx| tx.put(Table::Items, &item_key("gh", 0), &swapped.encode()?))
        .unwrap();
    // The digest its depositor signed no longer matches: locked before
    // any passphrase is asked, and the lock is in the ledger.
    let e = try_release(&mut v).unwrap_err();
    assert!(matches!(e, Error::Locked(_)), "{e}");
    assert!(e.to_string().contains("gh #1"), "{e}");
    assert_eq!(last_kind(&v), "locked");
    assert!(v.locked().unwrap().contains("gh #1"));
}

#[test]
fn an_item_header_names_its_place() {
    let d = tempfile::tempdir().unwrap();
    let v = vault(d.path());
    let sa = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
    let sb = v.authenticate("bob", &pass("bob"), "t", None).unwrap();
    let shares = [
        NamedShare {
            officer: "alice",
            share: &sa.share,
        },
        NamedShare {
            officer: "bob",
            share: &sb.share,
        },
    ];
    let vk = shamir::combine(2, &shares).unwrap();
    let mut item = v.items("gh").unwrap().remove(0);
    assert_eq!(
        v.decrypt_item(&vk, "gh", SecretKind::Codes, &item)
            .unwrap()
            .expose_secret(),
        "c1"
    );
    item.index = 1;
    assert!(matches!(
        v.decrypt_item(&vk, "gh", SecretKind::Codes, &item),
        Err(Error::ItemMismatch { .. })
    ));
}

#[test]
fn debug_of_sessions_requests_and_releases_shows_no_secret() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let s = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
    // A code no hex id or nonce can contain by chance.
    let code = SecretValue::new("ZQ-UNIQUE-CODE-77".into());
    v.deposit(&s, "dbg", SecretKind::Codes, None, &[code])
        .unwrap();
    let mut req = v.begin_release("dbg", "r").unwrap();
    v.approve(&mut req, "alice", &pass("alice")).unwrap();
    v.approve(&mut req, "bob", &pass("bob")).unwrap();
    let share_hex = hex::encode(s.share.expose_secret());
    let dbg_req = format!("{req:?} {s:?} {v:?}");
    let r = v.complete_release(req).unwrap();
    let dbg = format!("{dbg_req} {r:?} {:?}", v.ledger_key);
    assert_eq!(r.value.expose_secret(), "ZQ-UNIQUE-CODE-77");
    assert!(!dbg.contains("UNIQUE-CODE"), "{dbg}");
    assert!(!dbg.contains(&share_hex), "{dbg}");
    assert!(!dbg.contains("alice-pass"), "{dbg}");
    assert!(dbg.contains("REDACTED"));
}

#[test]
fn the_library_refuses_a_code_holding_a_control_or_format_character() {
    let d = tempfile::tempdir().unwrap();
    let mut v = vault(d.path());
    let s = v.authenticate("alice", &pass("alice"), "t", None).unwrap();
    for bad in ["AAAA\rBBBB", "AB\u{202E}CD", "ZW\u{200B}J", "TAB\tX"] {
        let e = v
            .deposit(
                &s,
                "gh",
                SecretKind::Codes,
                None,
                &[SecretValue::new(bad.into())],
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("code 1"), "{e}");
        assert!(!e.contains(bad), "the message holds the code: {e}");
    }
    assert_eq!(v.secrets().unwrap()[0].total, 1);
}
