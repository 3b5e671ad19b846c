//! Symmetric primitives: Argon2id for passphrases, XChaCha20-Poly1305 for
//! everything sealed under the vault key or an officer's key-encryption key.
//!
//! A sealed blob is `nonce (24 bytes) ‖ ciphertext ‖ tag`; the additional
//! data always binds the record's identity (vault, officer or record, epoch),
//! so a blob moved to another record fails to open.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::{Passphrase, SecretBytes};

const NONCE_LEN: usize = 24;

/// Fills `buf` from the operating system's CSPRNG.
pub fn fill_random(buf: &mut [u8]) {
    rand::rngs::OsRng.fill_bytes(buf);
}

/// `N` random bytes.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut a = [0u8; N];
    fill_random(&mut a);
    a
}

/// Argon2id parameters, stored with each officer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// Lowest memory accepted, in MiB (for tests; never a default).
    pub const MIN_MEMORY_MIB: u32 = 8;
    /// Highest memory accepted, in MiB.
    pub const MAX_MEMORY_MIB: u32 = 4096;
    /// Highest iteration count accepted.
    pub const MAX_ITERATIONS: u32 = 64;

    /// RFC 9106 §4, second recommended option: 64 MiB, 3 passes, 4 lanes.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };

    /// Parameters from the command line, validated.
    pub fn new(memory_mib: u32, iterations: u32) -> Result<Self> {
        if !(Self::MIN_MEMORY_MIB..=Self::MAX_MEMORY_MIB).contains(&memory_mib) {
            return Err(Error::invalid(
                "--kdf-memory-mib",
                format!(
                    "{memory_mib} is outside {}..={}",
                    Self::MIN_MEMORY_MIB,
                    Self::MAX_MEMORY_MIB
                ),
            ));
        }
        if !(1..=Self::MAX_ITERATIONS).contains(&iterations) {
            return Err(Error::invalid(
                "--kdf-iterations",
                format!("{iterations} is outside 1..={}", Self::MAX_ITERATIONS),
            ));
        }
        Ok(KdfParams {
            memory_kib: memory_mib * 1024,
            iterations,
            parallelism: Self::DEFAULT.parallelism,
        })
    }
}

// The defaults never drop below RFC 9106's second recommendation.
const _: () =
    assert!(KdfParams::DEFAULT.memory_kib >= 64 * 1024 && KdfParams::DEFAULT.iterations >= 3);

/// Derives a 32-byte key-encryption key from a passphrase with Argon2id.
pub fn derive_kek(pass: &Passphrase, salt: &[u8], params: KdfParams) -> Result<SecretBytes> {
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| Error::Corrupt(format!("stored Argon2 parameters rejected: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut out = Zeroizing::new(vec![0u8; 32]);
    argon
        .hash_password_into(pass.expose_secret().as_bytes(), salt, &mut out)
        .map_err(|e| Error::Corrupt(format!("Argon2 failed: {e}")))?;
    Ok(SecretBytes::take(&mut out))
}

/// Seals `plaintext` under a 32-byte key with a random nonce.
pub fn seal(key: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let cipher = XChaCha20Poly1305::new_from_slice(key)
        .map_err(|_| Error::Corrupt("AEAD key of the wrong length".into()))?;
    let nonce: [u8; NONCE_LEN] = random_array();
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Corrupt("AEAD encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a blob made by [`seal`]. Any failure — wrong key, changed byte,
/// other additional data — is the same opaque [`Error::DecryptionFailed`].
pub fn open(key: &[u8], blob: &[u8], aad: &[u8]) -> Result<SecretBytes> {
    if blob.len() < NONCE_LEN + 16 {
        return Err(Error::DecryptionFailed);
    }
    let cipher = XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::DecryptionFailed)?;
    let (nonce, ct) = blob.split_at(NONCE_LEN);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(SecretBytes::new)
        .map_err(|_| Error::DecryptionFailed)
}

/// Additional data: length-prefixed fields, so that no two field lists
/// produce the same bytes.
pub fn aad(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in fields {
        out.extend_from_slice(&(f.len() as u32).to_be_bytes());
        out.extend_from_slice(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let key = [7u8; 32];
        let blob = seal(&key, b"hello", b"ad").unwrap();
        assert_eq!(open(&key, &blob, b"ad").unwrap().expose_secret(), b"hello");
    }

    #[test]
    fn open_refuses_other_aad_key_or_a_flipped_byte() {
        let key = [7u8; 32];
        let blob = seal(&key, b"hello", b"ad").unwrap();
        assert!(matches!(
            open(&key, &blob, b"ae"),
            Err(Error::DecryptionFailed)
        ));
        assert!(matches!(
            open(&[8u8; 32], &blob, b"ad"),
            Err(Error::DecryptionFailed)
        ));
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 1;
            assert!(open(&key, &t, b"ad").is_err(), "flip at {i} accepted");
        }
        assert!(open(&key, &blob[..20], b"ad").is_err());
    }

    #[test]
    fn aad_is_unambiguous() {
        assert_ne!(aad(&[b"ab", b"c"]), aad(&[b"a", b"bc"]));
    }

    #[test]
    fn kdf_depends_on_passphrase_and_salt() {
        let p = KdfParams::new(8, 1).unwrap();
        let a = derive_kek(&Passphrase::new("one".into()), b"saltsaltsaltsalt", p).unwrap();
        let b = derive_kek(&Passphrase::new("two".into()), b"saltsaltsaltsalt", p).unwrap();
        let c = derive_kek(&Passphrase::new("one".into()), b"SALTSALTSALTSALT", p).unwrap();
        let a2 = derive_kek(&Passphrase::new("one".into()), b"saltsaltsaltsalt", p).unwrap();
        assert_eq!(a.expose_secret(), a2.expose_secret());
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_ne!(a.expose_secret(), c.expose_secret());
    }

    #[test]
    fn kdf_params_bounds() {
        assert!(KdfParams::new(7, 1).is_err());
        assert!(KdfParams::new(8, 0).is_err());
        assert!(KdfParams::new(8, 1).is_ok());
    }
}
