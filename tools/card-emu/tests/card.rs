// SPDX-License-Identifier: LGPL-3.0-only
//! The emulated card, driven through the in-process backend by the
//! `openpgp-card` 0.7 client, as the vault's card code will drive it.

use std::sync::Arc;

use breakglass_card_emu::{
    CardConfig, DEFAULT_ADMIN_PIN, DEFAULT_USER_PIN, EmulatedCard, InProcBackend, fresh_card,
};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use openpgp_card::{
    Card, Error,
    ocard::{
        KeyType, StatusBytes,
        algorithm::AlgoSimple,
        crypto::{Cryptogram, PublicKeyMaterial, SigningAlgo},
        data::{Fingerprint, KeyGenerationTime},
    },
    state::Open,
};
use secrecy::SecretString;

fn pin(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn open(backend: InProcBackend) -> Card<Open> {
    Card::new(backend).expect("SELECT of the OpenPGP application")
}

/// The raw 32-byte key from the card's public key material (an optional
/// 0x40 "native point" prefix is dropped).
fn ecc_key(pkm: &PublicKeyMaterial) -> [u8; 32] {
    let PublicKeyMaterial::E(ecc) = pkm else {
        panic!("expected an ECC key, got {pkm}");
    };
    let data = match ecc.data() {
        [0x40, rest @ ..] if rest.len() == 32 => rest,
        data => data,
    };
    data.try_into().expect("32-byte Curve25519 key")
}

/// Test stand-in for the client's v4 fingerprint computation: the card only
/// stores the 20 bytes it is given.
fn test_fingerprint(
    pkm: &PublicKeyMaterial,
    _created: KeyGenerationTime,
    _key_type: KeyType,
) -> Result<Fingerprint, Error> {
    let mut fp = [0u8; 20];
    fp.copy_from_slice(&ecc_key(pkm)[..20]);
    Ok(Fingerprint::from(fp))
}

/// Generates Ed25519 (signing) and Cv25519 (decryption) keys as admin and
/// returns their raw public keys.
fn generate_curve25519(card: &mut Card<Open>) -> ([u8; 32], [u8; 32]) {
    let mut tx = card.transaction().unwrap();
    let mut admin = tx.as_admin_card(pin(DEFAULT_ADMIN_PIN)).unwrap();
    let mut keys = Vec::new();
    for key_type in [KeyType::Signing, KeyType::Decryption] {
        admin
            .set_algorithm(key_type, AlgoSimple::Curve25519)
            .unwrap();
        let (pkm, _time) = admin.generate_key(test_fingerprint, key_type).unwrap();
        keys.push(ecc_key(&pkm));
    }
    (keys[0], keys[1])
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).unwrap();
    b
}

#[test]
fn application_identifier_and_serial() {
    let mut card = open(fresh_card());
    let tx = card.transaction().unwrap();
    let aid = tx.application_identifier().unwrap();
    assert_eq!(aid.ident(), "FFFE:00000001");
    assert_eq!(aid.manufacturer(), 0xFFFE);
    assert_eq!(aid.serial(), 1);
    assert_eq!(aid.version(), 0x0304, "OpenPGP card spec 3.4");

    let config = CardConfig::with_serial(0x1234_ABCD);
    assert_eq!(config.ident(), "FFFE:1234ABCD");
    let mut card = open(InProcBackend::with_config(config).unwrap());
    let tx = card.transaction().unwrap();
    assert_eq!(
        tx.application_identifier().unwrap().ident(),
        "FFFE:1234ABCD"
    );
}

#[test]
fn default_pins_verify() {
    let mut card = open(fresh_card());
    let mut tx = card.transaction().unwrap();
    assert!(tx.check_admin_verified().is_err());
    tx.verify_admin_pin(pin(DEFAULT_ADMIN_PIN)).unwrap();
    tx.check_admin_verified().unwrap();
    tx.verify_user_pin(pin(DEFAULT_USER_PIN)).unwrap();
    tx.check_user_verified().unwrap();
    tx.invalidate_cache().unwrap();
    let pw = tx.pw_status_bytes().unwrap();
    assert_eq!((pw.err_count_pw1(), pw.err_count_pw3()), (3, 3));
}

#[test]
fn generate_sign_and_decrypt_curve25519() {
    let mut card = open(fresh_card());
    let (sig_pub, dec_pub) = generate_curve25519(&mut card);

    let mut tx = card.transaction().unwrap();
    tx.invalidate_cache().unwrap();
    let fps = tx.fingerprints().unwrap();
    assert_eq!(fps.signature().unwrap().as_bytes(), &sig_pub[..20]);
    assert_eq!(fps.decryption().unwrap().as_bytes(), &dec_pub[..20]);

    // PSO:CDS over a digest; check it with the public key. The signature
    // PIN is "forced" by default: verify PW1/81 before every signature.
    let vk = VerifyingKey::from_bytes(&sig_pub).unwrap();
    for digest in [[0x11u8; 32], random_bytes::<32>()] {
        tx.verify_user_signing_pin(pin(DEFAULT_USER_PIN)).unwrap();
        let sig = tx
            .card()
            .signature_for_hash(SigningAlgo::ECC, &digest)
            .unwrap();
        let sig = Signature::from_slice(&sig).expect("64-byte EdDSA r||s");
        vk.verify(&digest, &sig)
            .expect("card's Ed25519 signature verifies");
    }
    assert!(
        tx.card()
            .signature_for_hash(SigningAlgo::ECC, &[0u8; 32])
            .is_err(),
        "a second signature without a new PW1/81 must fail"
    );

    // PSO:DECIPHER: the card's ECDH with an ephemeral key equals ours.
    let eph = x25519_dalek::StaticSecret::from(random_bytes::<32>());
    let eph_pub = x25519_dalek::PublicKey::from(&eph);
    let ours = eph.diffie_hellman(&x25519_dalek::PublicKey::from(dec_pub));
    tx.verify_user_pin(pin(DEFAULT_USER_PIN)).unwrap();
    let shared = tx
        .card()
        .decipher(Cryptogram::ECDH(eph_pub.as_bytes()))
        .unwrap();
    assert_eq!(shared.as_slice(), ours.as_bytes());
}

#[test]
fn two_cards_get_different_keys() {
    let handles: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| generate_curve25519(&mut open(fresh_card()))))
        .collect();
    let keys: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_ne!(
        keys[0].0, keys[1].0,
        "Ed25519 keys must differ between cards"
    );
    assert_ne!(
        keys[0].1, keys[1].1,
        "Cv25519 keys must differ between cards"
    );
}

#[test]
fn same_seed_gives_same_keys() {
    let seeded = || {
        let config = CardConfig {
            seed: Some([7; 32]),
            ..CardConfig::default()
        };
        generate_curve25519(&mut open(InProcBackend::with_config(config).unwrap()))
    };
    assert_eq!(seeded(), seeded());
}

#[test]
fn wrong_user_pin_counts_down_and_locks() {
    let mut card = open(fresh_card());
    let mut tx = card.transaction().unwrap();
    for left in [2u8, 1, 0] {
        let err = tx.verify_user_pin(pin("999999")).unwrap_err();
        assert!(
            matches!(err, Error::CardStatus(StatusBytes::PasswordNotChecked(n)) if n == left),
            "wrong PIN: {err:?}"
        );
        // openpgp-card caches the ARD, which holds the counters.
        tx.invalidate_cache().unwrap();
        assert_eq!(tx.pw_status_bytes().unwrap().err_count_pw1(), left);
    }
    // Blocked: even the right PIN fails. opcard reports 63C0, not 6983.
    let err = tx.verify_user_pin(pin(DEFAULT_USER_PIN)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CardStatus(
                StatusBytes::PasswordNotChecked(0) | StatusBytes::AuthenticationMethodBlocked
            )
        ),
        "blocked PIN: {err:?}"
    );
    // The admin PIN is independent.
    tx.verify_admin_pin(pin(DEFAULT_ADMIN_PIN)).unwrap();
    assert_eq!(tx.pw_status_bytes().unwrap().err_count_pw3(), 3);
}

#[test]
fn reconnect_forgets_verified_pins() {
    let card = Arc::new(EmulatedCard::start(CardConfig::default()).unwrap());
    {
        let mut c = open(InProcBackend::connect(&card).unwrap());
        let mut tx = c.transaction().unwrap();
        tx.verify_user_pin(pin(DEFAULT_USER_PIN)).unwrap();
        tx.check_user_verified().unwrap();
    }
    let mut c = open(InProcBackend::connect(&card).unwrap());
    let mut tx = c.transaction().unwrap();
    assert!(tx.check_user_verified().is_err());
}

#[test]
fn state_dir_keeps_keys_and_counters() {
    let dir = std::env::temp_dir().join(format!("card-emu-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = CardConfig {
        state_dir: Some(dir.clone()),
        ..CardConfig::default()
    };
    let (sig_pub, _) = {
        let mut card = open(InProcBackend::with_config(config.clone()).unwrap());
        let keys = generate_curve25519(&mut card);
        let mut tx = card.transaction().unwrap();
        assert!(tx.verify_user_pin(pin("000000")).is_err());
        keys
    };
    let mut card = open(InProcBackend::with_config(config).unwrap());
    let mut tx = card.transaction().unwrap();
    assert_eq!(
        tx.fingerprints().unwrap().signature().unwrap().as_bytes(),
        &sig_pub[..20]
    );
    assert_eq!(tx.pw_status_bytes().unwrap().err_count_pw1(), 2);
    tx.verify_user_signing_pin(pin(DEFAULT_USER_PIN)).unwrap();
    let sig = tx
        .card()
        .signature_for_hash(SigningAlgo::ECC, &[3; 32])
        .unwrap();
    VerifyingKey::from_bytes(&sig_pub)
        .unwrap()
        .verify(&[3; 32], &Signature::from_slice(&sig).unwrap())
        .unwrap();
    drop(tx);
    drop(card);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_state_file_is_an_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("card-emu-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("internal.littlefs"), b"short").unwrap();
    let config = CardConfig {
        state_dir: Some(dir.clone()),
        ..CardConfig::default()
    };
    let err = EmulatedCard::start(config).unwrap_err().to_string();
    assert!(err.contains("expected 65536"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "rsa")]
#[test]
fn rsa2048_keygen_and_sign() {
    use openpgp_card::ocard::crypto::HashAlgo;
    fn rsa_fp(
        pkm: &PublicKeyMaterial,
        _: KeyGenerationTime,
        _: KeyType,
    ) -> Result<Fingerprint, Error> {
        let PublicKeyMaterial::R(rsa) = pkm else {
            panic!("expected RSA, got {pkm}");
        };
        let mut fp = [0u8; 20];
        fp.copy_from_slice(&rsa.n()[..20]);
        Ok(Fingerprint::from(fp))
    }
    let mut card = open(fresh_card());
    let mut tx = card.transaction().unwrap();
    let mut admin = tx.as_admin_card(pin(DEFAULT_ADMIN_PIN)).unwrap();
    admin
        .set_algorithm(KeyType::Signing, AlgoSimple::RSA2k)
        .unwrap();
    let (pkm, _) = admin.generate_key(rsa_fp, KeyType::Signing).unwrap();
    let PublicKeyMaterial::R(rsa) = pkm else {
        panic!("expected RSA");
    };
    assert_eq!(rsa.n().len(), 256);
    tx.verify_user_signing_pin(pin(DEFAULT_USER_PIN)).unwrap();
    let sig = tx
        .card()
        .signature_for_hash(SigningAlgo::RSA(HashAlgo::SHA256), &[5; 32])
        .unwrap();
    assert_eq!(sig.len(), 256);
}
