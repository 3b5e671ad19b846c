//! Symmetric primitives: Argon2id for passphrases, XChaCha20-Poly1305 for
//! everything sealed under the vault key or an officer's key-encryption key.
//!
//! A sealed blob is `nonce (24 bytes) ‖ ciphertext ‖ tag`; the additional
//! data always binds the record's identity (vault, officer or record, epoch),
//! so a blob moved to another record fails to open.

use argon2::{Algorithm, Argon2, Block, Params, Version};
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
    /// Highest lane count accepted (the default uses 4).
    pub const MAX_LANES: u32 = 16;
    /// The salt length the vault writes, and the only one it reads.
    pub const SALT_LEN: usize = 16;

    /// What new vaults get: twice the memory of RFC 9106 §4's second
    /// recommended option, 128 MiB, 3 passes, 4 lanes. The lanes run on
    /// separate cores (argon2's `parallel` feature), so on a 2-core console
    /// this costs an officer about 1.3 times the wait of the option itself
    /// on one thread (docs/PERFORMANCE.md, "Argon2: parallel lanes").
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 128 * 1024,
        iterations: 3,
        parallelism: 4,
    };

    /// RFC 9106 §4's second recommended option (64 MiB, 3 passes, 4
    /// lanes), the default of earlier versions: settings below it in memory
    /// or passes are a demo's or a test suite's ([`KdfParams::is_weak`]).
    pub const RFC_9106_SECOND: KdfParams = KdfParams {
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

    /// Checks parameters and a salt read back from disk before any memory
    /// is allocated for them (DESIGN I21): a disk writer could otherwise
    /// ask for 4 TiB (the allocation aborts the process) or 2^32 passes
    /// (it never returns). `Err` says which value is out of bounds, in
    /// words; it names no secret.
    pub fn check_stored(&self, salt: &[u8]) -> std::result::Result<(), String> {
        self.check_bounds()?;
        if salt.len() != Self::SALT_LEN {
            return Err(format!(
                "a salt of {} bytes is not {} bytes",
                salt.len(),
                Self::SALT_LEN
            ));
        }
        Ok(())
    }

    /// [`KdfParams::check_stored`] without a salt: for the vault's
    /// settings as the ledger and the officers' commitments state them.
    pub fn check_bounds(&self) -> std::result::Result<(), String> {
        let mib = self.memory_kib / 1024;
        if !self.memory_kib.is_multiple_of(1024)
            || !(Self::MIN_MEMORY_MIB..=Self::MAX_MEMORY_MIB).contains(&mib)
        {
            return Err(format!(
                "memory {} KiB is outside {}..={} MiB",
                self.memory_kib,
                Self::MIN_MEMORY_MIB,
                Self::MAX_MEMORY_MIB
            ));
        }
        if !(1..=Self::MAX_ITERATIONS).contains(&self.iterations) {
            return Err(format!(
                "{} iterations is outside 1..={}",
                self.iterations,
                Self::MAX_ITERATIONS
            ));
        }
        if !(1..=Self::MAX_LANES).contains(&self.parallelism) {
            return Err(format!(
                "{} lanes is outside 1..={}",
                self.parallelism,
                Self::MAX_LANES
            ));
        }
        Ok(())
    }

    /// The settings in words, e.g. `64 MiB, 3 passes, 4 lanes`.
    pub fn describe(&self) -> String {
        format!(
            "{} MiB, {} pass{}, {} lane{}",
            self.memory_kib / 1024,
            self.iterations,
            if self.iterations == 1 { "" } else { "es" },
            self.parallelism,
            if self.parallelism == 1 { "" } else { "s" }
        )
    }

    /// Whether these settings are weaker than RFC 9106's second
    /// recommendation ([`KdfParams::RFC_9106_SECOND`]) in memory or passes
    /// (the demo's and the test suite's are; a vault made with the earlier
    /// 64 MiB default is not).
    pub fn is_weak(&self) -> bool {
        self.memory_kib < Self::RFC_9106_SECOND.memory_kib
            || self.iterations < Self::RFC_9106_SECOND.iterations
    }

    /// The parameters as the ledger states them (genesis, ceremonies):
    /// `{"memory_kib", "iterations", "parallelism"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "parallelism": self.parallelism,
        })
    }

    /// Parses [`KdfParams::to_json`]'s shape: exactly those three fields,
    /// each a number that fits; bounds are [`KdfParams::check_bounds`]'s.
    pub fn from_json(v: &serde_json::Value) -> Option<KdfParams> {
        let o = v.as_object()?;
        if o.len() != 3 {
            return None;
        }
        let n = |k: &str| u32::try_from(o.get(k)?.as_u64()?).ok();
        Some(KdfParams {
            memory_kib: n("memory_kib")?,
            iterations: n("iterations")?,
            parallelism: n("parallelism")?,
        })
    }
}

// The defaults never drop below RFC 9106's second recommendation.
const _: () = assert!(
    KdfParams::DEFAULT.memory_kib >= KdfParams::RFC_9106_SECOND.memory_kib
        && KdfParams::DEFAULT.iterations >= KdfParams::RFC_9106_SECOND.iterations
);

/// Derives a 32-byte key-encryption key from a passphrase with Argon2id.
/// Parameters out of [`KdfParams::check_stored`]'s bounds are refused
/// before anything is allocated.
pub fn derive_kek(pass: &Passphrase, salt: &[u8], params: KdfParams) -> Result<SecretBytes> {
    params
        .check_stored(salt)
        .map_err(|why| Error::Corrupt(format!("Argon2 parameters out of bounds: {why}")))?;
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(32),
    )
    .map_err(|e| Error::Corrupt(format!("stored Argon2 parameters rejected: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    let mut out = Zeroizing::new(vec![0u8; 32]);
    // The work memory is ours, so it is wiped before it is freed: the last
    // block of each lane is all it takes to compute the key, and
    // `hash_password_into` frees its own memory as it is. (The binary's
    // allocator wipes what it frees anyway; a program embedding this
    // library may have no such allocator.)
    let mut memory = Zeroizing::new(vec![Block::default(); argon.params().block_count()]);
    argon
        .hash_password_into_with_memory(
            pass.expose_secret().as_bytes(),
            salt,
            &mut out,
            memory.as_mut_slice(),
        )
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

    #[test]
    fn stored_kdf_params_are_bounded() {
        let salt = [0u8; KdfParams::SALT_LEN];
        let ok = KdfParams::new(8, 1).unwrap();
        assert!(ok.check_stored(&salt).is_ok());
        assert!(KdfParams::DEFAULT.check_stored(&salt).is_ok());
        let bad = [
            KdfParams {
                memory_kib: u32::MAX,
                ..ok
            },
            KdfParams {
                memory_kib: 8 * 1024 + 1,
                ..ok
            },
            KdfParams {
                memory_kib: 7 * 1024,
                ..ok
            },
            KdfParams {
                iterations: 0,
                ..ok
            },
            KdfParams {
                iterations: KdfParams::MAX_ITERATIONS + 1,
                ..ok
            },
            KdfParams {
                parallelism: 0,
                ..ok
            },
            KdfParams {
                parallelism: KdfParams::MAX_LANES + 1,
                ..ok
            },
        ];
        for p in bad {
            assert!(p.check_stored(&salt).is_err(), "{p:?} accepted");
        }
        assert!(ok.check_stored(&salt[..15]).is_err());
        assert!(ok.check_stored(&[0; 17]).is_err());
    }

    #[test]
    fn kdf_json_round_trips_and_refuses_other_shapes() {
        let p = KdfParams::DEFAULT;
        assert_eq!(KdfParams::from_json(&p.to_json()), Some(p));
        let mut extra = p.to_json();
        extra["x"] = 1.into();
        assert_eq!(KdfParams::from_json(&extra), None);
        let mut big = p.to_json();
        big["iterations"] = (u64::from(u32::MAX) + 1).into();
        assert_eq!(KdfParams::from_json(&big), None);
    }

    /// RFC 9106 §5 test vectors (m = 32 KiB, t = 3, p = 4, with secret and
    /// associated data), for the Argon2 this crate uses and for the
    /// previous release, whose output stored records were made with.
    #[test]
    fn argon2_matches_the_rfc_9106_vectors_in_both_releases() {
        let vectors = [
            (
                Algorithm::Argon2d,
                "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb",
            ),
            (
                Algorithm::Argon2i,
                "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8",
            ),
            (
                Algorithm::Argon2id,
                "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
            ),
        ];
        let (pwd, salt, secret, ad) = ([1u8; 32], [2u8; 16], [3u8; 8], [4u8; 12]);
        for (alg, want) in vectors {
            let params = argon2::ParamsBuilder::new()
                .m_cost(32)
                .t_cost(3)
                .p_cost(4)
                .output_len(32)
                .data(argon2::AssociatedData::new(&ad).unwrap())
                .build()
                .unwrap();
            let mut now = [0u8; 32];
            Argon2::new_with_secret(&secret, alg, Version::V0x13, params)
                .unwrap()
                .hash_password_into(&pwd, &salt, &mut now)
                .unwrap();
            assert_eq!(hex::encode(now), want, "argon2 0.6, {alg:?}");

            let old_alg = match alg {
                Algorithm::Argon2d => argon2_05::Algorithm::Argon2d,
                Algorithm::Argon2i => argon2_05::Algorithm::Argon2i,
                _ => argon2_05::Algorithm::Argon2id,
            };
            let params = argon2_05::ParamsBuilder::new()
                .m_cost(32)
                .t_cost(3)
                .p_cost(4)
                .output_len(32)
                .data(argon2_05::AssociatedData::new(&ad).unwrap())
                .build()
                .unwrap();
            let mut before = [0u8; 32];
            argon2_05::Argon2::new_with_secret(&secret, old_alg, argon2_05::Version::V0x13, params)
                .unwrap()
                .hash_password_into(&pwd, &salt, &mut before)
                .unwrap();
            assert_eq!(hex::encode(before), want, "argon2 0.5, {alg:?}");
        }
    }

    /// Records sealed before the upgrade keep opening: `derive_kek` (0.6,
    /// lanes on several threads, its own wiped memory) gives what 0.5 gave
    /// on one thread, at the test suite's settings, at other lane counts,
    /// and at the old default.
    #[test]
    fn derive_kek_gives_what_argon2_0_5_gave_for_stored_parameters() {
        let pass = Passphrase::new("correct horse battery staple".into());
        let salt = *b"0123456789abcdef";
        let lanes = |parallelism| KdfParams {
            parallelism,
            ..KdfParams::new(8, 2).unwrap()
        };
        let old_default = KdfParams::RFC_9106_SECOND;
        for p in [
            KdfParams::new(8, 1).unwrap(),
            lanes(1),
            lanes(3),
            lanes(16),
            old_default,
        ] {
            let now = derive_kek(&pass, &salt, p).unwrap();
            let params =
                argon2_05::Params::new(p.memory_kib, p.iterations, p.parallelism, Some(32))
                    .unwrap();
            let mut before = [0u8; 32];
            argon2_05::Argon2::new(
                argon2_05::Algorithm::Argon2id,
                argon2_05::Version::V0x13,
                params,
            )
            .hash_password_into(pass.expose_secret().as_bytes(), &salt, &mut before)
            .unwrap();
            assert_eq!(now.expose_secret(), &before[..], "{p:?}");
        }
    }
}
