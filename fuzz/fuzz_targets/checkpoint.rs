//! Checkpoints: the body (`ledger::parse_checkpoint`), its OpenPGP detached
//! signature (`pgp::Verifier::verify`, its fast path compared with
//! Sequoia's own check) and the C2SP signed note
//! (`note::parse`), checked against the fixture's real ledger key.
//!
//! Input: body \0 signature \0 note (missing parts are empty).
#![no_main]

use std::sync::OnceLock;

use breakglass::ledger;
use breakglass::ledger::note;
use breakglass::pgp::{PublicCert, Verifier};
use libfuzzer_sys::fuzz_target;

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        PublicCert::from_bytes(&breakglass_fuzz::fixture().ledger_cert)
            .expect("the fixture's ledger certificate")
            .verifier()
            .expect("the fixture's ledger key signs")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let body = parts.next().unwrap_or_default();
    let sig = parts.next().unwrap_or_default();
    let note_bytes = parts.next().unwrap_or_default();
    let v = verifier();
    if let Ok(text) = std::str::from_utf8(body) {
        if let Ok(cp) = ledger::parse_checkpoint(text) {
            if let Some(id) = cp.origin.strip_prefix("breakglass/") {
                assert_eq!(
                    ledger::checkpoint_body(id, cp.size, &cp.root),
                    text,
                    "a checkpoint parsed from other bytes than its own"
                );
            }
        }
    }
    // The fast path answers as Sequoia's own verification does.
    assert_eq!(
        v.verify(body, sig).is_ok(),
        v.verify_with_sequoia(body, sig).is_ok(),
        "the fast signature check disagrees with Sequoia's"
    );
    if let Ok(text) = std::str::from_utf8(note_bytes) {
        if let Ok(n) = note::parse(text) {
            let public = v.ed25519_public().expect("an Ed25519 ledger key");
            if let Some(s) = n.ed25519_signature("breakglass/x", &public) {
                let _ = v.verify_ed25519(n.text.as_bytes(), &s);
            }
            for (name, _, _) in &n.signatures {
                if let Some(s) = n.ed25519_signature(name, &public) {
                    let _ = v.verify_ed25519(n.text.as_bytes(), &s);
                }
            }
        }
    }
});
