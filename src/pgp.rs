//! The one module that knows sequoia-openpgp.
//!
//! All keys are v4 (`Profile::RFC4880`) Ed25519 / Cv25519 so that gpg 2.2
//! verifies and imports them (invariant I14). Three kinds of key are made
//! here: officer and ledger signing keys (Ed25519 primary that signs), and
//! the vault encryption key (Cv25519 storage-encryption subkey).

use std::fmt;
use std::io::Write;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::crypto::SessionKey;
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, DetachedVerifierBuilder, MessageLayer, MessageStructure,
    VerificationHelper,
};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Signer};
use openpgp::types::{KeyFlags, SymmetricAlgorithm};
use openpgp::{Cert, KeyHandle, Profile};

use crate::error::{Error, Result};
use crate::secret::SecretBytes;

static POLICY: StandardPolicy<'static> = StandardPolicy::new();

/// A public certificate: an officer's, the ledger's or the vault
/// encryption key's.
#[derive(Clone, PartialEq)]
pub struct PublicCert(Cert);

/// A transferable secret key. Its `Debug` names only the fingerprint.
pub struct SecretKey(Cert);

impl fmt::Debug for PublicCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicCert({})", self.fingerprint())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, [REDACTED])", self.0.fingerprint())
    }
}

fn builder(userid: &str) -> Result<CertBuilder<'static>> {
    Ok(CertBuilder::new()
        .set_profile(Profile::RFC4880)?
        .set_cipher_suite(CipherSuite::Cv25519)
        .add_userid(userid))
}

impl SecretKey {
    /// A new Ed25519 key whose primary key certifies and signs: an officer's
    /// or the ledger's.
    pub fn generate_signing(userid: &str) -> Result<Self> {
        let (cert, _revocation) = builder(userid)?
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .generate()?;
        Ok(SecretKey(cert))
    }

    /// A new key with a Cv25519 storage-encryption subkey: the vault
    /// encryption key.
    pub fn generate_encryption(userid: &str) -> Result<Self> {
        let (cert, _revocation) = builder(userid)?
            .add_subkey(
                KeyFlags::empty()
                    .set_storage_encryption()
                    .set_transport_encryption(),
                None,
                None,
            )
            .generate()?;
        Ok(SecretKey(cert))
    }

    /// Parses a serialized transferable secret key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let cert =
            Cert::from_bytes(bytes).map_err(|_| Error::Corrupt("unreadable secret key".into()))?;
        if !cert.is_tsk() {
            return Err(Error::Corrupt("stored key has no secret part".into()));
        }
        Ok(SecretKey(cert))
    }

    /// Serializes the key with its secret parts.
    pub fn to_bytes(&self) -> Result<SecretBytes> {
        Ok(SecretBytes::new(self.0.as_tsk().to_vec()?))
    }

    /// The public half.
    pub fn public(&self) -> PublicCert {
        PublicCert(self.0.clone().strip_secret_key_material())
    }

    /// The fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint().to_hex()
    }

    /// A detached, ASCII-armored signature over `data` (what
    /// `gpg --verify sig data` checks).
    pub fn sign_detached(&self, data: &[u8]) -> Result<String> {
        let keypair = self
            .0
            .keys()
            .with_policy(&POLICY, None)
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .secret()
            .next()
            .ok_or_else(|| Error::Pgp("key has no usable signing key".into()))?
            .key()
            .clone()
            .into_keypair()?;
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Signature)
                .build()?;
            let mut signer = Signer::new(message, keypair)?.detached().build()?;
            signer.write_all(data)?;
            signer.finalize()?;
        }
        String::from_utf8(sink).map_err(|_| Error::Pgp("armor is not UTF-8".into()))
    }

    /// Decrypts a message encrypted to this key by [`PublicCert::encrypt`].
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<SecretBytes> {
        let helper = DecryptHelper { key: &self.0 };
        let mut plaintext = zeroize::Zeroizing::new(Vec::new());
        let mut decryptor = DecryptorBuilder::from_bytes(ciphertext)
            .map_err(|_| Error::DecryptionFailed)?
            .with_policy(&POLICY, None, helper)
            .map_err(|_| Error::DecryptionFailed)?;
        std::io::copy(&mut decryptor, &mut *plaintext).map_err(|_| Error::DecryptionFailed)?;
        Ok(SecretBytes::new(std::mem::take(&mut *plaintext)))
    }
}

impl PublicCert {
    /// Parses a certificate (binary or armored); refuses secret material.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let cert = Cert::from_bytes(bytes)
            .map_err(|e| Error::Pgp(format!("unreadable certificate: {e}")))?;
        if cert.is_tsk() {
            return Err(Error::Pgp("certificate holds secret key material".into()));
        }
        Ok(PublicCert(cert))
    }

    /// Binary serialization.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.0.to_vec()?)
    }

    /// ASCII-armored serialization, as `gpg --import` takes it.
    pub fn armored(&self) -> Result<String> {
        let v = self.0.armored().to_vec()?;
        String::from_utf8(v).map_err(|_| Error::Pgp("armor is not UTF-8".into()))
    }

    /// The fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint().to_hex()
    }

    /// Encrypts `plaintext` to this certificate's storage-encryption subkey.
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let recipients = self
            .0
            .keys()
            .with_policy(&POLICY, None)
            .supported()
            .alive()
            .revoked(false)
            .for_storage_encryption();
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Encryptor::for_recipients(message, recipients).build()?;
            let mut literal = LiteralWriter::new(message).build()?;
            literal.write_all(plaintext)?;
            literal.finalize()?;
        }
        Ok(sink)
    }

    /// Verifies a detached signature (armored or binary) over `data` with
    /// the full streaming verifier (policy, key validity at signing time).
    pub fn verify_detached(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let helper = VerifyHelper { cert: &self.0 };
        let mut verifier = DetachedVerifierBuilder::from_bytes(signature)
            .map_err(|_| Error::Pgp("unreadable signature".into()))?
            .with_policy(&POLICY, None, helper)
            .map_err(|_| Error::Pgp("bad signature".into()))?;
        verifier
            .verify_bytes(data)
            .map_err(|_| Error::Pgp("bad signature".into()))
    }

    /// A verifier for many signatures by this certificate's signing key,
    /// for ledger verification: the key is resolved once, and each check
    /// is one packet parse and one signature verification.
    pub fn verifier(&self) -> Result<Verifier> {
        let key = self
            .0
            .keys()
            .with_policy(&POLICY, None)
            .supported()
            .revoked(false)
            .for_signing()
            .next()
            .ok_or_else(|| {
                Error::Pgp(format!(
                    "certificate {} has no signing key",
                    self.fingerprint()
                ))
            })?
            .key()
            .clone()
            .role_into_unspecified();
        Ok(Verifier {
            key,
            fingerprint: self.fingerprint(),
        })
    }
}

/// Verifies detached signatures by one signing key (see
/// [`PublicCert::verifier`]).
pub struct Verifier {
    key: openpgp::packet::Key<
        openpgp::packet::key::PublicParts,
        openpgp::packet::key::UnspecifiedRole,
    >,
    fingerprint: String,
}

impl Verifier {
    /// The certificate's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Checks one detached signature (armored or binary) over `data`: a
    /// single binary-document signature, by this key, with a hash the
    /// standard policy accepts.
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        let bad = |why: &str| Error::Pgp(why.to_string());
        let binary;
        let raw = if signature.starts_with(b"-----BEGIN") {
            let mut r = openpgp::armor::Reader::from_bytes(
                signature,
                openpgp::armor::ReaderMode::Tolerant(Some(openpgp::armor::Kind::Signature)),
            );
            let mut v = Vec::with_capacity(signature.len());
            std::io::Read::read_to_end(&mut r, &mut v)
                .map_err(|_| bad("unreadable signature armor"))?;
            binary = v;
            &binary[..]
        } else {
            signature
        };
        let sig = match openpgp::Packet::from_bytes(raw) {
            Ok(openpgp::Packet::Signature(sig)) => sig,
            _ => return Err(bad("unreadable signature")),
        };
        if !matches!(
            sig.hash_algo(),
            openpgp::types::HashAlgorithm::SHA256
                | openpgp::types::HashAlgorithm::SHA384
                | openpgp::types::HashAlgorithm::SHA512
        ) {
            return Err(bad("signature uses a weak hash"));
        }
        sig.verify_message(&self.key, data)
            .map_err(|_| bad("bad signature"))
    }
}

struct VerifyHelper<'a> {
    cert: &'a Cert,
}

impl VerificationHelper for VerifyHelper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(vec![self.cert.clone()])
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        // Exactly one signature group, and every signature in it good.
        let mut good = false;
        for layer in structure.into_iter() {
            match layer {
                MessageLayer::SignatureGroup { results } => {
                    for r in results {
                        match r {
                            Ok(_) => good = true,
                            Err(e) => return Err(anyhow::anyhow!("bad signature: {e}")),
                        }
                    }
                }
                _ => return Err(anyhow::anyhow!("unexpected message structure")),
            }
        }
        if good {
            Ok(())
        } else {
            Err(anyhow::anyhow!("no signature"))
        }
    }
}

struct DecryptHelper<'a> {
    key: &'a Cert,
}

impl VerificationHelper for DecryptHelper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(Vec::new())
    }

    fn check(&mut self, _structure: MessageStructure) -> openpgp::Result<()> {
        // Items are not signed: their integrity comes from the AEAD-protected
        // key and the item header checked after decryption.
        Ok(())
    }
}

impl DecryptionHelper for DecryptHelper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[PKESK],
        _skesks: &[SKESK],
        sym_algo: Option<SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for ka in self
            .key
            .keys()
            .with_policy(&POLICY, None)
            .for_storage_encryption()
            .secret()
        {
            let mut pair = ka.key().clone().into_keypair()?;
            for pkesk in pkesks {
                if let Some((algo, sk)) = pkesk.decrypt(&mut pair, sym_algo) {
                    if decrypt(algo, &sk) {
                        return Ok(None);
                    }
                }
            }
        }
        Err(anyhow::anyhow!("no key to decrypt"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_v4_and_sign_and_verify() {
        let k = SecretKey::generate_signing("t").unwrap();
        assert_eq!(k.0.primary_key().key().version(), 4);
        let sig = k.sign_detached(b"body").unwrap();
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"));
        let cert = k.public();
        cert.verify_detached(b"body", sig.as_bytes()).unwrap();
        assert!(cert.verify_detached(b"bodz", sig.as_bytes()).is_err());
        let other = SecretKey::generate_signing("u").unwrap().public();
        assert!(other.verify_detached(b"body", sig.as_bytes()).is_err());

        let fast = cert.verifier().unwrap();
        fast.verify(b"body", sig.as_bytes()).unwrap();
        assert!(fast.verify(b"bodz", sig.as_bytes()).is_err());
        assert!(
            other
                .verifier()
                .unwrap()
                .verify(b"body", sig.as_bytes())
                .is_err()
        );
        assert!(fast.verify(b"body", b"garbage").is_err());
    }

    /// deny.toml's exception for RUSTSEC-2023-0071 (the `rsa` crate) rests
    /// on this: every key the vault makes is Ed25519 or Cv25519, so it never
    /// holds an RSA secret key.
    #[test]
    fn generated_keys_are_never_rsa() {
        use openpgp::crypto::mpi::PublicKey as Mpis;
        use openpgp::types::Curve;
        let keys = [
            SecretKey::generate_signing("s").unwrap(),
            SecretKey::generate_encryption("e").unwrap(),
        ];
        for k in &keys {
            for ka in k.0.keys() {
                let ok = match ka.key().mpis() {
                    Mpis::EdDSA { curve, .. } => *curve == Curve::Ed25519,
                    Mpis::ECDH { curve, .. } => *curve == Curve::Cv25519,
                    _ => false,
                };
                assert!(ok, "{} is {}", ka.key().fingerprint(), ka.key().pk_algo());
            }
        }
    }

    #[test]
    fn encrypt_decrypt_round_trip_and_wrong_key() {
        let k = SecretKey::generate_encryption("v").unwrap();
        let ct = k.public().encrypt(b"4F2K9QX7").unwrap();
        assert_eq!(k.decrypt(&ct).unwrap().expose_secret(), b"4F2K9QX7");
        let other = SecretKey::generate_encryption("w").unwrap();
        assert!(matches!(other.decrypt(&ct), Err(Error::DecryptionFailed)));
    }

    #[test]
    fn secret_key_serializes_and_debug_is_redacted() {
        let k = SecretKey::generate_signing("t").unwrap();
        let bytes = k.to_bytes().unwrap();
        let back = SecretKey::from_bytes(bytes.expose_secret()).unwrap();
        assert_eq!(back.fingerprint(), k.fingerprint());
        assert!(PublicCert::from_bytes(bytes.expose_secret()).is_err());
        let dbg = format!("{k:?}");
        assert!(dbg.contains("REDACTED") && !dbg.contains("Secret {"));
    }
}
