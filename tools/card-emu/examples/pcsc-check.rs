// SPDX-License-Identifier: LGPL-3.0-only
//! End-to-end check over real PC/SC (pcscd + vpcd + breakglass-card-emu):
//! lists the OpenPGP cards, requires the given idents (default
//! `FFFE:00000001`), and on the first one verifies the default PINs,
//! generates an Ed25519 key, signs a digest and checks the signature.
//!
//! `cargo run --features pcsc-check --example pcsc-check [IDENT...]`
//! (start the cards first: `scripts/card-env start`).

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use card_backend_pcsc::PcscBackend;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use openpgp_card::{
    Card, Error,
    ocard::{
        KeyType,
        algorithm::AlgoSimple,
        crypto::{PublicKeyMaterial, SigningAlgo},
        data::{Fingerprint, KeyGenerationTime},
    },
};
use secrecy::SecretString;

fn pin(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn ecc_key(pkm: &PublicKeyMaterial) -> Result<[u8; 32], String> {
    let PublicKeyMaterial::E(ecc) = pkm else {
        return Err(format!("expected an ECC key, got {pkm}"));
    };
    let data = match ecc.data() {
        [0x40, rest @ ..] if rest.len() == 32 => rest,
        data => data,
    };
    data.try_into()
        .map_err(|_| format!("bad key length {}", data.len()))
}

/// Stand-in fingerprint (the card just stores 20 bytes).
fn fingerprint(
    pkm: &PublicKeyMaterial,
    _: KeyGenerationTime,
    _: KeyType,
) -> Result<Fingerprint, Error> {
    let key = ecc_key(pkm).map_err(Error::InternalError)?;
    let mut fp = [0u8; 20];
    fp.copy_from_slice(&key[..20]);
    Ok(Fingerprint::from(fp))
}

/// Idents of all OpenPGP cards visible over PC/SC (other cards are skipped).
fn list() -> Result<Vec<String>, String> {
    let backends = PcscBackend::card_backends(None).map_err(|e| format!("PC/SC: {e}"))?;
    let mut idents = Vec::new();
    for backend in backends {
        let ident = backend.map_err(|e| e.to_string()).and_then(|backend| {
            let mut card = Card::new(backend).map_err(|e| format!("SELECT OpenPGP: {e}"))?;
            let tx = card
                .transaction()
                .map_err(|e| format!("transaction: {e}"))?;
            let aid = tx
                .application_identifier()
                .map_err(|e| format!("AID: {e}"))?;
            Ok(aid.ident())
        });
        match ident {
            Ok(ident) => idents.push(ident),
            Err(e) => eprintln!("pcsc-check: skipping a card: {e}"),
        }
    }
    Ok(idents)
}

fn sign_check(ident: &str) -> Result<(), String> {
    let started = Instant::now();
    let backends = PcscBackend::card_backends(None).map_err(|e| format!("PC/SC: {e}"))?;
    let mut card = Card::open_by_ident(backends, ident).map_err(|e| e.to_string())?;
    let mut tx = card.transaction().map_err(|e| e.to_string())?;
    let version = tx
        .application_identifier()
        .map_err(|e| e.to_string())?
        .version();
    let sig_pub = {
        let mut admin = tx
            .as_admin_card(pin(breakglass_card_emu::DEFAULT_ADMIN_PIN))
            .map_err(|e| format!("admin PIN: {e}"))?;
        admin
            .set_algorithm(KeyType::Signing, AlgoSimple::Curve25519)
            .map_err(|e| format!("set algorithm: {e}"))?;
        let (pkm, _) = admin
            .generate_key(fingerprint, KeyType::Signing)
            .map_err(|e| format!("generate Ed25519: {e}"))?;
        ecc_key(&pkm)?
    };
    let digest = [0x42u8; 32];
    tx.verify_user_signing_pin(pin(breakglass_card_emu::DEFAULT_USER_PIN))
        .map_err(|e| format!("user PIN: {e}"))?;
    let sig = tx
        .card()
        .signature_for_hash(SigningAlgo::ECC, &digest)
        .map_err(|e| format!("PSO:CDS: {e}"))?;
    let vk = VerifyingKey::from_bytes(&sig_pub).map_err(|e| e.to_string())?;
    let sig = Signature::from_slice(&sig).map_err(|e| e.to_string())?;
    vk.verify(&digest, &sig)
        .map_err(|e| format!("signature does not verify: {e}"))?;
    println!(
        "{ident}: spec {}.{}, PINs OK, Ed25519 key generated, signature verified ({} ms)",
        version >> 8,
        version & 0xff,
        started.elapsed().as_millis()
    );
    Ok(())
}

fn main() -> ExitCode {
    let mut wanted: Vec<String> = std::env::args()
        .skip(1)
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if wanted.is_empty() {
        wanted.push("FFFE:00000001".into());
    }
    // pcscd may still be settling right after `card-env start`: retry ~5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    let idents = loop {
        match list() {
            Ok(idents) if wanted.iter().all(|w| idents.contains(w)) => break idents,
            Ok(idents) if Instant::now() >= deadline => break idents,
            Err(e) if Instant::now() >= deadline => {
                eprintln!("pcsc-check: {e}");
                return ExitCode::FAILURE;
            }
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    };
    println!("OpenPGP cards over PC/SC: {}", idents.join(", "));
    let missing: Vec<_> = wanted.iter().filter(|w| !idents.contains(w)).collect();
    if !missing.is_empty() {
        eprintln!("pcsc-check: card(s) not found over PC/SC: {missing:?}");
        return ExitCode::FAILURE;
    }
    match sign_check(&wanted[0]) {
        Ok(()) => {
            println!("pcsc-check: OK");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pcsc-check: {}: {e}", wanted[0]);
            ExitCode::FAILURE
        }
    }
}
