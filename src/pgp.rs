//! The one module that knows sequoia-openpgp.
//!
//! All keys are v4 (as with `Profile::RFC4880`) Ed25519 / Cv25519 so that gpg 2.2
//! verifies and imports them (invariant I14). Three kinds of key are made
//! here: officer and ledger signing keys (Ed25519 primary that signs), and
//! the vault encryption key (Cv25519 storage-encryption subkey).

use std::fmt;
use std::io::Write;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::crypto::SessionKey;
use openpgp::packet::key::{Key4, PrimaryRole, SecretParts, SubordinateRole};
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{Key, UserID};
use openpgp::packet::{PKESK, SKESK};
use openpgp::parse::Parse;
use openpgp::parse::stream::{
    DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto;
use openpgp::serialize::stream::{Armorer, Encryptor, LiteralWriter, Message, Recipient, Signer};
use openpgp::types::{Features, HashAlgorithm, SignatureType};
use openpgp::types::{KeyFlags, SymmetricAlgorithm};
use openpgp::{Cert, KeyHandle};

use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// Sequoia's standard policy, with its algorithm cutoffs evaluated at a
/// fixed instant ([`POLICY_TIME`]) rather than at the wall clock's: a
/// policy evaluated "now" reads the clock, and cannot represent a clock
/// past 2106 (I16).
static POLICY: LazyLock<StandardPolicy<'static>> =
    LazyLock::new(|| StandardPolicy::at(UNIX_EPOCH + Duration::from_secs(POLICY_TIME)));

/// The instant the algorithm policy is evaluated at: 2026-01-01T00:00:00Z.
/// Algorithms the standard policy had retired by then stay retired; ones
/// it retires later are retired by a later breakglass.
pub const POLICY_TIME: u64 = 1_767_225_600;

/// The creation time of every key the vault makes: 1970-01-01T00:00:01Z.
///
/// A break-glass console is often offline with a wrong clock (I16). Keys
/// created "now" are not yet valid to a clock set back before their
/// creation, and sequoia cannot represent times past 2106. So keys are
/// created at a fixed instant no clock can precede, without expiry; key
/// validity is always evaluated at that instant, and signatures carry a
/// creation time clamped into the range OpenPGP can represent. The
/// signature's time is informative only: the ledger entry it covers holds
/// the time that counts.
pub const KEY_TIME: u32 = 1;

fn key_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(KEY_TIME))
}

/// A signature creation time for a vault time in Unix seconds: clamped to
/// what a v4 signature can say, and never before the keys were made.
fn signature_time(unix: i64) -> SystemTime {
    let t = unix.clamp(i64::from(KEY_TIME), i64::from(u32::MAX));
    UNIX_EPOCH + Duration::from_secs(t as u64)
}

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

/// Builds a v4 certificate: an Ed25519 primary key with `primary_flags`,
/// one User ID, and optionally a Cv25519 encryption subkey, every key and
/// self-signature made at [`KEY_TIME`].
///
/// Sequoia's `CertBuilder` generates each key "now" before back-dating it,
/// which fails once the clock is past 2106; importing fresh random keys
/// with an explicit creation time never reads the clock (I16). The result
/// is what `CertBuilder` makes with the RFC 4880 profile: a direct-key
/// signature and a positive certification carrying the primary key's
/// metadata, and a subkey binding.
fn build_cert(userid: &str, primary_flags: KeyFlags, encryption: bool) -> Result<Cert> {
    let mut primary_seed = zeroize::Zeroizing::new([0u8; 32]);
    crate::crypto::fill_random(&mut primary_seed[..]);
    build_cert_seeded(userid, primary_flags, encryption, &primary_seed)
}

/// [`build_cert`] with the primary key's Ed25519 seed given (test vectors).
fn build_cert_seeded(
    userid: &str,
    primary_flags: KeyFlags,
    encryption: bool,
    primary_seed: &[u8; 32],
) -> Result<Cert> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    let primary: Key<SecretParts, PrimaryRole> =
        Key4::import_secret_ed25519(&primary_seed[..], key_time())?.into();
    let mut signer = primary.clone().into_keypair()?;
    let metadata = |sig: SignatureBuilder| -> Result<SignatureBuilder> {
        Ok(sig
            .set_hash_algo(HashAlgorithm::SHA512)
            .set_signature_creation_time(key_time())?
            .set_features(Features::sequoia())?
            .set_key_flags(primary_flags.clone())?
            .set_preferred_hash_algorithms(vec![HashAlgorithm::SHA512, HashAlgorithm::SHA256])?
            .set_preferred_symmetric_algorithms(vec![
                SymmetricAlgorithm::AES256,
                SymmetricAlgorithm::AES128,
            ])?)
    };
    let direct = metadata(SignatureBuilder::new(SignatureType::DirectKey))?
        .sign_direct_key(&mut signer, primary.parts_as_public())?;
    let cert = Cert::try_from(vec![openpgp::Packet::SecretKey(primary), direct.into()])?;
    let uid = UserID::from(userid);
    let uid_sig = uid.bind(
        &mut signer,
        &cert,
        metadata(SignatureBuilder::new(SignatureType::PositiveCertification))?
            .set_primary_userid(true)?,
    )?;
    let mut packets: Vec<openpgp::Packet> = vec![uid.into(), uid_sig.into()];
    if encryption {
        crate::crypto::fill_random(&mut seed[..]);
        let sub: Key<SecretParts, SubordinateRole> =
            Key4::import_secret_cv25519(&seed[..], None, None, key_time())?.into();
        let binding = sub.bind(
            &mut signer,
            &cert,
            SignatureBuilder::new(SignatureType::SubkeyBinding)
                .set_hash_algo(HashAlgorithm::SHA512)
                .set_signature_creation_time(key_time())?
                .set_key_flags(
                    KeyFlags::empty()
                        .set_storage_encryption()
                        .set_transport_encryption(),
                )?,
        )?;
        packets.push(openpgp::Packet::SecretSubkey(sub));
        packets.push(binding.into());
    }
    Ok(cert.insert_packets(packets)?.0)
}

impl SecretKey {
    /// A new Ed25519 key whose primary key certifies and signs: an officer's
    /// or the ledger's.
    pub fn generate_signing(userid: &str) -> Result<Self> {
        let flags = KeyFlags::empty().set_certification().set_signing();
        Ok(SecretKey(build_cert(userid, flags, false)?))
    }

    /// An officer's key: an Ed25519 primary key that certifies and signs
    /// approvals, and a Cv25519 encryption subkey to which a ceremony
    /// delivers the officer's new share when they are not present.
    pub fn generate_officer(userid: &str) -> Result<Self> {
        let flags = KeyFlags::empty().set_certification().set_signing();
        Ok(SecretKey(build_cert(userid, flags, true)?))
    }

    /// A new key with a Cv25519 storage-encryption subkey: the vault
    /// encryption key.
    pub fn generate_encryption(userid: &str) -> Result<Self> {
        let flags = KeyFlags::empty().set_certification();
        Ok(SecretKey(build_cert(userid, flags, true)?))
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
    /// `gpg --verify sig data` checks), dated `unix` (clamped, see
    /// [`KEY_TIME`]).
    pub fn sign_detached(&self, data: &[u8], unix: i64) -> Result<String> {
        let keypair = self.signing_keypair()?;
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Signature)
                .build()?;
            let mut signer = Signer::new(message, keypair)?
                .creation_time(signature_time(unix))
                .detached()
                .build()?;
            signer.write_all(data)?;
            signer.finalize()?;
        }
        String::from_utf8(sink).map_err(|_| Error::Pgp("armor is not UTF-8".into()))
    }

    /// A raw Ed25519 signature (R ‖ S, 64 bytes) over `message` by the
    /// key's signing key: what a C2SP signed note carries (`note.rs`).
    /// For EdDSA keys sequoia's `Signer::sign` signs the given bytes as the
    /// Ed25519 message itself (no OpenPGP hashing), and Ed25519 is
    /// deterministic, so the same message always gets the same signature.
    pub fn sign_ed25519(&self, message: &[u8]) -> Result<[u8; 64]> {
        use openpgp::crypto::Signer as _;
        use openpgp::crypto::mpi;
        let mut keypair = self.signing_keypair()?;
        match keypair.sign(HashAlgorithm::SHA512, message)? {
            mpi::Signature::EdDSA { r, s } => {
                let mut out = [0u8; 64];
                out[..32].copy_from_slice(&r.value_padded(32)?);
                out[32..].copy_from_slice(&s.value_padded(32)?);
                Ok(out)
            }
            _ => Err(Error::Pgp("the signing key is not an Ed25519 key".into())),
        }
    }

    fn signing_keypair(&self) -> Result<openpgp::crypto::KeyPair> {
        Ok(self
            .0
            .keys()
            .with_policy(&*POLICY, Some(key_time()))
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .secret()
            .next()
            .ok_or_else(|| Error::Pgp("key has no usable signing key".into()))?
            .key()
            .clone()
            .into_keypair()?)
    }

    /// Decrypts a message encrypted to this key by [`PublicCert::encrypt`].
    ///
    /// The plaintext is read into one zeroizing buffer sized from the
    /// ciphertext, which is always longer: it never grows, so no copy is
    /// left where it was. (Sequoia's own layers hold the plaintext too,
    /// in buffers the binary's allocator wipes when they are freed; see
    /// `harden::memory`.)
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<SecretBytes> {
        use std::io::Read;
        let helper = DecryptHelper { key: &self.0 };
        let mut plaintext = zeroize::Zeroizing::new(vec![0u8; ciphertext.len()]);
        let mut decryptor = DecryptorBuilder::from_bytes(ciphertext)
            .map_err(|_| Error::DecryptionFailed)?
            .with_policy(&*POLICY, Some(key_time()), helper)
            .map_err(|_| Error::DecryptionFailed)?;
        let mut len = 0;
        loop {
            if len == plaintext.len() {
                // The plaintext cannot be as long as the ciphertext.
                return Err(Error::DecryptionFailed);
            }
            match decryptor.read(&mut plaintext[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Error::DecryptionFailed),
            }
        }
        plaintext.truncate(len);
        Ok(SecretBytes::take(&mut plaintext))
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

    /// ASCII-armored serialization, as `gpg --import` takes it. Without
    /// armor comment headers: sequoia computes those under a policy
    /// evaluated at the wall clock, which cannot represent a clock past
    /// 2106 (I16).
    pub fn armored(&self) -> Result<String> {
        let mut w = openpgp::armor::Writer::new(Vec::new(), openpgp::armor::Kind::PublicKey)?;
        openpgp::serialize::Serialize::serialize(&self.0, &mut w)?;
        let v = w.finalize()?;
        String::from_utf8(v).map_err(|_| Error::Pgp("armor is not UTF-8".into()))
    }

    /// The fingerprint, upper-case hex.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint().to_hex()
    }

    /// Encrypts `plaintext` to this certificate's storage-encryption subkey.
    ///
    /// Always as a SEIPDv1 message (RFC 4880 §5.13: CFB with a modification
    /// detection code), never SEIPDv2, whatever the certificate's features
    /// say. Sequoia would pick SEIPDv2 with the backend's best AEAD mode:
    /// OCB under the Rust and OpenSSL backends, which Nettle before 3.9
    /// (Debian 12 ships 3.8) cannot decrypt, so the hardened build could not
    /// release what the default build deposited; and gpg 2.2, the referee,
    /// reads no SEIPDv2 at all. Every backend and gpg read SEIPDv1.
    /// (docs/SECURITY.md, "One message format for every build".)
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        use openpgp::types::Features;
        let recipients = self
            .0
            .keys()
            .with_policy(&*POLICY, Some(key_time()))
            .supported()
            .alive()
            .revoked(false)
            .for_storage_encryption()
            .map(|ka| {
                let key = ka.key();
                Recipient::new(
                    Features::empty().set_seipdv1(),
                    KeyHandle::from(key.keyid()),
                    key,
                )
            });
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

    /// A verifier for many signatures by this certificate's signing key,
    /// for ledger verification: the key is resolved once, and each check
    /// is one packet parse and one signature verification.
    pub fn verifier(&self) -> Result<Verifier> {
        let key = self
            .0
            .keys()
            .with_policy(&*POLICY, Some(key_time()))
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
        Ok(Verifier::new(key, self.fingerprint()))
    }
}

/// Verifies detached signatures by one signing key (see
/// [`PublicCert::verifier`]).
pub struct Verifier {
    key: openpgp::packet::Key<
        openpgp::packet::key::PublicParts,
        openpgp::packet::key::UnspecifiedRole,
    >,
    /// The Ed25519 key decompressed once, for the fast path of
    /// [`Verifier::verify`] (pure-Rust backend only).
    #[cfg(feature = "crypto-rust")]
    ed25519: Option<ed25519_dalek::VerifyingKey>,
    fingerprint: String,
}

impl Verifier {
    fn new(
        key: openpgp::packet::Key<
            openpgp::packet::key::PublicParts,
            openpgp::packet::key::UnspecifiedRole,
        >,
        fingerprint: String,
    ) -> Self {
        let v = Verifier {
            key,
            #[cfg(feature = "crypto-rust")]
            ed25519: None,
            fingerprint,
        };
        #[cfg(feature = "crypto-rust")]
        let v = Verifier {
            ed25519: v
                .ed25519_public()
                .ok()
                .and_then(|p| ed25519_dalek::VerifyingKey::from_bytes(&p).ok()),
            ..v
        };
        v
    }

    /// The certificate's fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The signing key's raw 32-byte Ed25519 public key (the `q` point
    /// without its 0x40 prefix), for a signed note's key hash.
    pub fn ed25519_public(&self) -> Result<[u8; 32]> {
        use openpgp::crypto::mpi;
        use openpgp::types::Curve;
        match self.key.mpis() {
            mpi::PublicKey::EdDSA { curve, q } if *curve == Curve::Ed25519 => {
                let (point, _) = q.decode_point(&Curve::Ed25519)?;
                point
                    .try_into()
                    .map_err(|_| Error::Pgp("the Ed25519 point is not 32 bytes".into()))
            }
            _ => Err(Error::Pgp(format!(
                "ledger key {} is not an Ed25519 key",
                self.fingerprint
            ))),
        }
    }

    /// Checks a raw Ed25519 signature (R ‖ S) over `message`, as made by
    /// [`SecretKey::sign_ed25519`].
    pub fn verify_ed25519(&self, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        use openpgp::crypto::mpi;
        let sig = mpi::Signature::EdDSA {
            r: mpi::MPI::new(&signature[..32]),
            s: mpi::MPI::new(&signature[32..]),
        };
        self.key
            .verify(&sig, HashAlgorithm::SHA512, message)
            .map_err(|_| Error::Pgp("bad signature".into()))
    }

    /// Checks one detached signature (armored or binary) over `data`: a
    /// single binary-document signature, by this key, with a hash the
    /// standard policy accepts.
    ///
    /// Ledger verification calls this once per checkpoint, so the common
    /// shape (the armor and v4 EdDSA signature this module writes) takes
    /// a fast path that gives the same answer as Sequoia's
    /// `verify_message`, which [`Verifier::verify_with_sequoia`] keeps as
    /// the reference (a test and the `checkpoint` fuzz target compare
    /// them): the armor is decoded without Sequoia's streaming reader, the
    /// public key was decompressed once, and Sequoia's process-wide cache
    /// of verified signatures (which only grows) is not consulted.
    /// Anything else takes Sequoia's path.
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        self.check(data, signature, true)
    }

    /// [`Verifier::verify`] through Sequoia's own `verify_message` only:
    /// the reference the fast path is tested against.
    #[doc(hidden)]
    pub fn verify_with_sequoia(&self, data: &[u8], signature: &[u8]) -> Result<()> {
        self.check(data, signature, false)
    }

    fn check(&self, data: &[u8], signature: &[u8], fast: bool) -> Result<()> {
        let bad = |why: &str| Error::Pgp(why.to_string());
        // Only what §3.6 allows reaches Sequoia, which is more tolerant.
        let Some(raw) = strict_signature_packet(signature) else {
            return Err(bad("unreadable signature"));
        };
        let sig = match openpgp::Packet::from_bytes(&raw) {
            Ok(openpgp::Packet::Signature(sig)) => sig,
            _ => return Err(bad("unreadable signature")),
        };
        // A binary-document signature only: sequoia also accepts a
        // canonical-text one (type 0x01) for the same bytes.
        if sig.typ() != openpgp::types::SignatureType::Binary {
            return Err(bad("not a binary-document signature"));
        }
        if !matches!(
            sig.hash_algo(),
            openpgp::types::HashAlgorithm::SHA256
                | openpgp::types::HashAlgorithm::SHA384
                | openpgp::types::HashAlgorithm::SHA512
        ) {
            return Err(bad("signature uses a weak hash"));
        }
        if fast {
            if let Some(ok) = self.check_ed25519_v4(&sig, data) {
                return if ok {
                    Ok(())
                } else {
                    Err(bad("bad signature"))
                };
            }
        }
        sig.verify_message(&self.key, data)
            .map_err(|_| bad("bad signature"))
    }

    /// What `Signature::verify_message` decides for a v4 EdDSA signature
    /// by a v4 Ed25519 key, without its cache: `None` for any other
    /// shape, which Sequoia then checks. The steps and their order are
    /// Sequoia 2's (`verify_message`, `verify_digest_internal`,
    /// `Key::verify`, the Rust backend's `ed25519_verify`).
    #[cfg(feature = "crypto-rust")]
    fn check_ed25519_v4(&self, sig: &openpgp::packet::Signature, data: &[u8]) -> Option<bool> {
        use openpgp::crypto::hash::Hash;
        use openpgp::crypto::mpi;
        let key = self.ed25519.as_ref()?;
        if sig.version() != 4 || self.key.version() != 4 {
            return None;
        }
        let mpi::Signature::EdDSA { r, s } = sig.mpis() else {
            return None;
        };
        // No creation time, or one before the key's: Sequoia refuses.
        match sig.signature_creation_time() {
            Some(t) if t >= self.key.creation_time() => {}
            _ => return Some(false),
        }
        let mut ctx = sig.hash_algo().context().ok()?.for_signature(4);
        ctx.update(data);
        sig.hash(&mut ctx).ok()?;
        let digest = ctx.into_digest().ok()?;
        let (Ok(r), Ok(s)) = (r.value_padded(32), s.value_padded(32)) else {
            return Some(false);
        };
        let mut rs = [0u8; 64];
        rs[..32].copy_from_slice(&r);
        rs[32..].copy_from_slice(&s);
        let rs = ed25519_dalek::Signature::from_bytes(&rs);
        Some(ed25519_dalek::Verifier::verify(key, &digest, &rs).is_ok())
    }

    #[cfg(not(feature = "crypto-rust"))]
    fn check_ed25519_v4(&self, _sig: &openpgp::packet::Signature, _data: &[u8]) -> Option<bool> {
        None
    }
}

// ---------------------------------------------------------------------------
// The strict reading of the ledger's OpenPGP (docs/LEDGER.md §3.6): what a
// verifier accepts is exactly what breakglass writes, so that the Rust
// and the Python verifier, and any third one written from the spec, give
// the same verdict on every input. Sequoia is more tolerant (indented
// armor, headers, zero-padded MPIs, certificates without their
// self-signatures); these checks run before it.

/// The message for a certificate whose packets are not breakglass's shape.
pub const CERT_SHAPE: &str = "the certificate is not a primary key, its direct-key signature, one User ID, its certification, and optionally one subkey with its binding signature";
/// The message for a certificate whose self-signatures do not check out.
pub const CERT_SELF_SIG: &str = "the certificate's self-signatures do not verify";
/// The message for a certificate whose primary key may not sign.
pub const CERT_NOT_SIGNING: &str = "the certificate's primary key is not flagged for signing";

/// The binary content of ASCII armor `-----BEGIN PGP <label>-----`, read
/// strictly: the BEGIN line, one empty line (no armor headers), lines of
/// 1 to 76 base64 characters, an optional `=XXXX` checksum line (not
/// checked, as RFC 9580 §6.1 says), the END line, then nothing but line
/// feeds. Line feeds only, no other whitespace; canonical base64.
pub fn dearmor_strict(text: &[u8], label: &str) -> std::result::Result<Vec<u8>, String> {
    use base64::Engine as _;
    if !text.is_ascii() {
        return Err("armor is not ASCII".into());
    }
    let text = std::str::from_utf8(text).map_err(|_| "armor is not ASCII".to_string())?;
    let begin = format!("-----BEGIN PGP {label}-----\n\n");
    let end = format!("\n-----END PGP {label}-----");
    let Some(rest) = text.strip_prefix(&begin) else {
        return Err(format!("not an armored PGP {label}"));
    };
    let Some(body) = rest.trim_end_matches('\n').strip_suffix(&end) else {
        return Err("the armor does not end with its END line".into());
    };
    let mut lines: Vec<&str> = body.split('\n').collect();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    if lines.len() > 1 {
        let last = lines[lines.len() - 1].as_bytes();
        if last.len() == 5 && last[0] == b'=' && last[1..].iter().all(|&c| is_b64(c)) {
            lines.pop();
        }
    }
    if !lines
        .iter()
        .all(|l| (1..=76).contains(&l.len()) && l.bytes().all(|c| is_b64(c) || c == b'='))
    {
        return Err("the armor is not base64".into());
    }
    let joined: String = lines.concat();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&joined)
        .map_err(|_| "the armor is not base64".to_string())?;
    if base64::engine::general_purpose::STANDARD.encode(&raw) != joined {
        return Err("the armor is not canonical base64".into());
    }
    Ok(raw)
}

/// The (tag, body) of each OpenPGP packet in `data`: old or new format
/// headers with a definite length (no partial or indeterminate length).
fn packet_bodies(data: &[u8]) -> std::result::Result<Vec<(u8, &[u8])>, ()> {
    let mut out = Vec::new();
    let mut i = 0usize;
    let n = data.len();
    let be = |b: &[u8]| b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
    while i < n {
        let h = data[i];
        i += 1;
        if h & 0x80 == 0 {
            return Err(());
        }
        let (tag, length);
        if h & 0x40 != 0 {
            tag = h & 0x3f;
            let l1 = usize::from(*data.get(i).ok_or(())?);
            i += 1;
            length = match l1 {
                0..192 => l1,
                192..224 => {
                    let l2 = usize::from(*data.get(i).ok_or(())?);
                    i += 1;
                    ((l1 - 192) << 8) + l2 + 192
                }
                255 => {
                    let b = data.get(i..i + 4).ok_or(())?;
                    i += 4;
                    be(b)
                }
                _ => return Err(()),
            };
        } else {
            tag = (h >> 2) & 0x0f;
            let size = match h & 3 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => return Err(()),
            };
            let b = data.get(i..i + size).ok_or(())?;
            i += size;
            length = be(b);
        }
        let body = data.get(i..i.checked_add(length).ok_or(())?).ok_or(())?;
        i += length;
        out.push((tag, body));
    }
    Ok(out)
}

/// One MPI at `at`: its value and where the next starts. Canonical: its
/// bit count is exactly its value's bit length (no zero byte leads it).
fn canonical_mpi(data: &[u8], at: usize) -> std::result::Result<(&[u8], usize), ()> {
    let bits = usize::from(u16::from_be_bytes(
        data.get(at..at + 2).ok_or(())?.try_into().map_err(|_| ())?,
    ));
    let end = at + 2 + bits.div_ceil(8);
    let value = data.get(at + 2..end).ok_or(())?;
    let len = match value.iter().position(|&b| b != 0) {
        None => 0,
        Some(p) => (value.len() - p) * 8 - value[p].leading_zeros() as usize,
    };
    if len != bits {
        return Err(());
    }
    Ok((value, end))
}

/// The subpackets of a signature's area: (type without the critical bit,
/// value). Each has a length of at least 1 that stays within the area.
fn subpackets(area: &[u8]) -> std::result::Result<Vec<(u8, &[u8])>, ()> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < area.len() {
        let l1 = usize::from(area[i]);
        i += 1;
        let length = match l1 {
            0..192 => l1,
            192..255 => {
                let l2 = usize::from(*area.get(i).ok_or(())?);
                i += 1;
                ((l1 - 192) << 8) + l2 + 192
            }
            _ => {
                let b = area.get(i..i + 4).ok_or(())?;
                i += 4;
                b.iter().fold(0usize, |a, &x| (a << 8) | usize::from(x))
            }
        };
        if length == 0 || i.checked_add(length).is_none_or(|e| e > area.len()) {
            return Err(());
        }
        out.push((area[i] & 0x7f, &area[i + 1..i + length]));
        i += length;
    }
    Ok(out)
}

/// A version 4 EdDSA signature packet's body, as §3.6 requires it.
struct SigShape<'a> {
    typ: u8,
    hash: HashAlgorithm,
    hashed_part: &'a [u8],
    created: u32,
    flags: Option<&'a [u8]>,
    rs: [u8; 64],
}

impl<'a> SigShape<'a> {
    fn parse(body: &'a [u8]) -> std::result::Result<Self, ()> {
        if body.len() < 6 || body[0] != 4 || body[2] != 22 {
            return Err(());
        }
        let hash = match body[3] {
            8 => HashAlgorithm::SHA256,
            9 => HashAlgorithm::SHA384,
            10 => HashAlgorithm::SHA512,
            _ => return Err(()),
        };
        let at = 6 + usize::from(u16::from_be_bytes([body[4], body[5]]));
        if at + 2 > body.len() {
            return Err(());
        }
        let mut created = None;
        let mut flags = None;
        for (tag, value) in subpackets(&body[6..at])? {
            match tag {
                2 => created = Some(u32::from_be_bytes(value.try_into().map_err(|_| ())?)),
                27 => flags = Some(value),
                _ => {}
            }
        }
        let unhashed = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
        let u = at + 2;
        if u + unhashed + 2 > body.len() {
            return Err(());
        }
        subpackets(&body[u..u + unhashed])?;
        let (r, next) = canonical_mpi(body, u + unhashed + 2)?;
        let (s, end) = canonical_mpi(body, next)?;
        if end != body.len() || r.len() > 32 || s.len() > 32 {
            return Err(());
        }
        let mut rs = [0u8; 64];
        rs[32 - r.len()..32].copy_from_slice(r);
        rs[64 - s.len()..].copy_from_slice(s);
        Ok(SigShape {
            typ: body[1],
            hash,
            hashed_part: &body[..at],
            created: created.ok_or(())?,
            flags,
            rs,
        })
    }

    /// The digest this signature signs over `prefix` (RFC 4880 §5.2.4).
    fn digest(&self, prefix: &[u8]) -> Result<Vec<u8>> {
        let mut ctx = self.hash.context()?.for_digest();
        ctx.update(prefix);
        ctx.update(self.hashed_part);
        ctx.update(&[0x04, 0xff]);
        ctx.update(&(self.hashed_part.len() as u32).to_be_bytes());
        Ok(ctx.into_digest()?)
    }
}

/// `0x99`, the key packet body's length (2 bytes) and the body: how a key
/// enters a fingerprint and a self-signature's hash.
fn key_prefix(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x99];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// The packet of a signature (armored strictly, or binary): exactly one
/// signature packet, of §3.6's shape. `None` for anything else.
fn strict_signature_packet(signature: &[u8]) -> Option<Vec<u8>> {
    let raw = if signature.starts_with(b"-----BEGIN") {
        dearmor_strict(signature, "SIGNATURE").ok()?
    } else {
        signature.to_vec()
    };
    match packet_bodies(&raw).ok()?.as_slice() {
        [(2, body)] if SigShape::parse(body).is_ok_and(|s| s.typ == 0) => {}
        _ => return None,
    }
    Some(raw)
}

impl PublicCert {
    /// A certificate as the ledger holds one (§3.6), from its strict
    /// armor: packets exactly a v4 Ed25519 primary key, a direct-key
    /// self-signature, one User ID and its positive certification, and
    /// optionally one v4 ECDH subkey with its binding signature; every
    /// self-signature verifies and is dated from the key's creation to
    /// [`KEY_TIME`]. Also says whether both primary self-signatures flag
    /// the primary key for signing. The error is the words both verifiers
    /// use.
    pub fn from_ledger(text: &[u8]) -> std::result::Result<(PublicCert, bool), String> {
        use openpgp::crypto::mpi;
        let raw = dearmor_strict(text, "PUBLIC KEY BLOCK")?;
        let unreadable = || "unreadable certificate".to_string();
        let pk = packet_bodies(&raw).map_err(|_| unreadable())?;
        let tags: Vec<u8> = pk.iter().map(|(t, _)| *t).collect();
        if tags != [6, 2, 13, 2] && tags != [6, 2, 13, 2, 14, 2] {
            return Err(CERT_SHAPE.into());
        }
        let key = pk[0].1;
        if key.len() < 6 || key[0] != 4 {
            return Err("the primary key is not a version 4 key".into());
        }
        let fingerprint = {
            let mut ctx = HashAlgorithm::SHA1
                .context()
                .map_err(|_| unreadable())?
                .for_digest();
            ctx.update(&key_prefix(key));
            hex::encode_upper(ctx.into_digest().map_err(|_| unreadable())?)
        };
        let created = u32::from_be_bytes([key[1], key[2], key[3], key[4]]);
        const ED25519_OID: [u8; 9] = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
        let ed25519 = key[5] == 22
            && key.len() > 6
            && key.get(7..7 + usize::from(key[6])) == Some(&ED25519_OID[..])
            && canonical_mpi(key, 7 + usize::from(key[6]))
                .is_ok_and(|(p, end)| end == key.len() && p.len() == 33 && p[0] == 0x40);
        if !ed25519 {
            return Err(format!(
                "certificate {fingerprint} has no Ed25519 (EdDSA legacy) primary key"
            ));
        }
        // `0x99 ‖ length ‖ body` is the key as an old-format packet.
        let primary = match openpgp::Packet::from_bytes(&key_prefix(key)) {
            Ok(openpgp::Packet::PublicKey(k)) => k,
            _ => return Err(unreadable()),
        };
        let prefix = key_prefix(key);
        let uid = pk[2].1;
        let mut uid_prefix = prefix.clone();
        uid_prefix.push(0xb4);
        uid_prefix.extend_from_slice(&(uid.len() as u32).to_be_bytes());
        uid_prefix.extend_from_slice(uid);
        let mut signed = vec![(pk[1].1, 0x1f, prefix.clone()), (pk[3].1, 0x13, uid_prefix)];
        if tags.len() == 6 {
            let sub = pk[4].1;
            if sub.len() < 6 || sub[0] != 4 || sub[5] != 18 {
                return Err(CERT_SHAPE.into());
            }
            signed.push((pk[5].1, 0x18, [prefix.clone(), key_prefix(sub)].concat()));
        }
        let mut signs = true;
        for (body, typ, data) in signed {
            let bad = || CERT_SELF_SIG.to_string();
            let sig = SigShape::parse(body).map_err(|_| bad())?;
            if sig.typ != typ || !(created..=KEY_TIME).contains(&sig.created) || created > KEY_TIME
            {
                return Err(bad());
            }
            let digest = sig.digest(&data).map_err(|_| bad())?;
            let mpis = mpi::Signature::EdDSA {
                r: mpi::MPI::new(&sig.rs[..32]),
                s: mpi::MPI::new(&sig.rs[32..]),
            };
            primary
                .verify(&mpis, sig.hash, &digest)
                .map_err(|_| bad())?;
            let may_sign = sig
                .flags
                .and_then(|f| f.first())
                .is_some_and(|b| b & 0x02 != 0);
            if typ != 0x18 && !may_sign {
                signs = false;
            }
        }
        let cert = Cert::from_bytes(&raw).map_err(|_| unreadable())?;
        Ok((PublicCert(cert), signs))
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
            .with_policy(&*POLICY, Some(key_time()))
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
        let sig = k.sign_detached(b"body", 1_800_000_000).unwrap();
        assert!(sig.starts_with("-----BEGIN PGP SIGNATURE-----"));
        let cert = k.public();
        let other = SecretKey::generate_signing("u").unwrap().public();

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

    /// The fast path of `Verifier::verify` answers as Sequoia's
    /// `verify_message` does, on the signatures this module writes and on
    /// every single-byte change, truncation and re-wrapping of them.
    #[test]
    fn fast_verify_agrees_with_sequoia() {
        let k = SecretKey::generate_signing("t").unwrap();
        let v = k.public().verifier().unwrap();
        let other = SecretKey::generate_signing("u")
            .unwrap()
            .public()
            .verifier()
            .unwrap();
        let data = b"breakglass/00112233\n42\nAAAA=\n";
        let armored = k.sign_detached(data, 1_800_000_000).unwrap();
        assert!(
            dearmor_strict(armored.as_bytes(), "SIGNATURE").is_ok(),
            "our own armor is read"
        );
        #[cfg(feature = "crypto-rust")]
        assert!(v.ed25519.is_some(), "an Ed25519 key takes the fast path");
        let binary = {
            let mut r = openpgp::armor::Reader::from_bytes(
                armored.as_bytes(),
                openpgp::armor::ReaderMode::Tolerant(Some(openpgp::armor::Kind::Signature)),
            );
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut b).unwrap();
            b
        };
        assert_eq!(
            dearmor_strict(armored.as_bytes(), "SIGNATURE").unwrap(),
            binary
        );

        let mut cases: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for sig in [armored.as_bytes().to_vec(), binary.clone()] {
            cases.push((data.to_vec(), sig.clone()));
            cases.push((b"breakglass/00112233\n43\nAAAA=\n".to_vec(), sig.clone()));
            for i in 0..sig.len() {
                for flip in [0x01u8, 0x80] {
                    let mut m = sig.clone();
                    m[i] ^= flip;
                    cases.push((data.to_vec(), m));
                }
                cases.push((data.to_vec(), sig[..i].to_vec()));
            }
        }
        let crlf = armored.replace('\n', "\r\n");
        cases.push((data.to_vec(), crlf.clone().into_bytes()));
        let without_sum: String = armored
            .lines()
            .filter(|l| !l.starts_with('='))
            .map(|l| format!("{l}\n"))
            .collect();
        cases.push((data.to_vec(), without_sum.clone().into_bytes()));
        let header = armored.replacen("-----\n\n", "-----\nComment: x\n\n", 1);
        cases.push((data.to_vec(), header.clone().into_bytes()));

        let mut accepted = 0;
        for (d, sig) in &cases {
            let fast = v.verify(d, sig).is_ok();
            assert_eq!(
                fast,
                v.verify_with_sequoia(d, sig).is_ok(),
                "{:?}",
                String::from_utf8_lossy(sig)
            );
            accepted += usize::from(fast);
            assert!(other.verify(d, sig).is_err());
        }
        // The original, both encodings, the checksum-less armor, and the
        // flips in the ignored checksum.
        assert!(accepted >= 5, "{accepted}");
        // Not armor headers or CRLF (LEDGER.md §3.6), which Sequoia's own
        // reader takes.
        assert!(v.verify(data, crlf.as_bytes()).is_err());
        assert!(v.verify(data, header.as_bytes()).is_err());
        assert!(v.verify(data, without_sum.as_bytes()).is_ok());
    }

    /// The certificates breakglass makes have the one shape the ledger
    /// allows (LEDGER.md §3.6); cut or reordered, they do not.
    #[test]
    fn ledger_certificates_have_breakglass_shape() {
        let signing = SecretKey::generate_signing("s").unwrap().public();
        let officer = SecretKey::generate_officer("o").unwrap().public();
        let vault = SecretKey::generate_encryption("v").unwrap().public();
        for (c, signs) in [(&signing, true), (&officer, true), (&vault, false)] {
            let (back, s) = PublicCert::from_ledger(c.armored().unwrap().as_bytes()).unwrap();
            assert_eq!(s, signs);
            assert_eq!(&back, c);
        }
        let raw = officer.to_bytes().unwrap();
        let pk = packet_bodies(&raw).unwrap();
        assert_eq!(pk.len(), 6);
        // The primary key alone.
        let mut w =
            openpgp::armor::Writer::new(Vec::new(), openpgp::armor::Kind::PublicKey).unwrap();
        assert_eq!(raw[0], 0xc6, "a new-format public key packet");
        w.write_all(&raw[..2 + pk[0].1.len()]).unwrap();
        let cut = w.finalize().unwrap();
        assert_eq!(PublicCert::from_ledger(&cut).unwrap_err(), CERT_SHAPE);
        assert!(PublicCert::from_ledger(b"  -----BEGIN PGP PUBLIC KEY BLOCK-----\n").is_err());
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

    /// The signed-note vector of docs/ALERTS.md: the Ed25519 seed is the
    /// bytes 0x00..0x1f; the expected note was computed independently with
    /// Python's `cryptography` (see the doc).
    #[test]
    fn signed_note_matches_the_documented_vector() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let flags = KeyFlags::empty().set_certification().set_signing();
        let key = SecretKey(build_cert_seeded("ledger", flags, false, &seed).unwrap());
        let public = key.public().verifier().unwrap().ed25519_public().unwrap();
        assert_eq!(hex::encode(public), NOTE_VECTOR_PUBLIC);
        let id = "00112233445566778899aabbccddeeff";
        let body = crate::ledger::checkpoint_body(id, 1, &[0u8; 32]);
        let note = crate::ledger::signed_note(&body, &key).unwrap();
        assert_eq!(note, NOTE_VECTOR);
        let v = key.public().verifier().unwrap();
        let parsed = crate::ledger::note::parse(&note).unwrap();
        let sig = parsed
            .ed25519_signature(&format!("breakglass/{id}"), &public)
            .unwrap();
        v.verify_ed25519(body.as_bytes(), &sig).unwrap();
        let mut bad = sig;
        bad[10] ^= 1;
        assert!(v.verify_ed25519(body.as_bytes(), &bad).is_err());
        assert!(v.verify_ed25519(b"other", &sig).is_err());
    }

    const NOTE_VECTOR_PUBLIC: &str =
        "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const NOTE_VECTOR: &str = "breakglass/00112233445566778899aabbccddeeff\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u{2014} breakglass/00112233445566778899aabbccddeeff /b9nDzH098EoFLC71AKZVlI8cyEoJuvu8N2wlXCcHx4yeKANALxEJ3w05e/dQTepnhs6RDnot37rNs+Mtgh3UBjEzwQ=\n";

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
