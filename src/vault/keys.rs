//! Officer records sealed under passphrase-derived keys, and the
//! additional data that binds every sealed value to its vault, officer and
//! epoch.

use std::collections::BTreeMap;

use super::*;

pub(super) fn epoch_bytes(epoch: u32) -> [u8; 4] {
    epoch.to_be_bytes()
}

pub(super) fn key_check_aad(vault_id: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[b"key-check", vault_id.as_bytes(), &epoch_bytes(epoch)])
}

pub(super) fn vault_key_aad(vault_id: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[b"vault-key", vault_id.as_bytes(), &epoch_bytes(epoch)])
}

/// An officer record's additional data: its vault, officer and epoch, and
/// the salt and Argon2 parameters its key is derived with, so that a
/// record whose stored parameters were changed fails to open like a wrong
/// passphrase (and nothing re-seals under parameters it was not opened
/// with).
pub(super) fn officer_aad(
    vault_id: &str,
    officer: &str,
    epoch: u32,
    salt: &[u8],
    kdf: KdfParams,
) -> Vec<u8> {
    crypto::aad(&[
        b"officer",
        vault_id.as_bytes(),
        officer.as_bytes(),
        &epoch_bytes(epoch),
        salt,
        &kdf.memory_kib.to_be_bytes(),
        &kdf.iterations.to_be_bytes(),
        &kdf.parallelism.to_be_bytes(),
    ])
}

/// What every officer's sealed record vouches for: the vault as it stood
/// when the record was sealed (I15). Only that officer's passphrase opens
/// the record, so a disk writer cannot change what it says. After an
/// officer authenticates, the stored configuration, the officer records
/// and the ledger entry that opened the epoch are checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Commitment {
    /// Vault id.
    pub vault: String,
    /// The epoch the record belongs to.
    pub epoch: u32,
    /// Officers needed to release.
    pub threshold: u8,
    /// The vault encryption key's fingerprint.
    pub vault_key: String,
    /// The ledger key's fingerprint.
    pub ledger_key: String,
    /// Every officer of the epoch: name to certificate fingerprint.
    pub officers: BTreeMap<String, String>,
    /// The vault's Argon2 settings, which every officer a ceremony adds
    /// gets (never an approver's stored parameters, which a disk writer
    /// can change); stated by genesis and carried by every ceremony.
    pub kdf: KdfParams,
}

impl Commitment {
    fn to_json(&self) -> Value {
        json!({
            "type": "breakglass-commitment/v2",
            "vault": self.vault,
            "epoch": self.epoch,
            "threshold": self.threshold,
            "vault_key_fingerprint": self.vault_key,
            "ledger_fingerprint": self.ledger_key,
            "officers": self.officers,
            "kdf": self.kdf.to_json(),
        })
    }

    fn from_json(v: &Value) -> Option<Commitment> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        if s("type")?.as_str() != "breakglass-commitment/v2" {
            return None;
        }
        let officers = v
            .get("officers")?
            .as_object()?
            .iter()
            .map(|(k, f)| Some((k.clone(), f.as_str()?.to_owned())))
            .collect::<Option<BTreeMap<_, _>>>()?;
        Some(Commitment {
            vault: s("vault")?,
            epoch: u32::try_from(v.get("epoch")?.as_u64()?).ok()?,
            threshold: u8::try_from(v.get("threshold")?.as_u64()?).ok()?,
            vault_key: s("vault_key_fingerprint")?,
            ledger_key: s("ledger_fingerprint")?,
            officers,
            kdf: KdfParams::from_json(v.get("kdf")?).filter(|k| k.check_bounds().is_ok())?,
        })
    }

    /// The first difference between this commitment and `other` (what the
    /// disk says), in words; `None` when they agree.
    pub fn difference(&self, other: &Commitment, place: &str) -> Option<String> {
        let what = if self.vault != other.vault {
            "vault id"
        } else if self.epoch != other.epoch {
            "epoch"
        } else if self.threshold != other.threshold {
            "threshold"
        } else if self.vault_key != other.vault_key {
            "vault encryption key"
        } else if self.ledger_key != other.ledger_key {
            "ledger key"
        } else if self.officers != other.officers {
            "officer set"
        } else if self.kdf != other.kdf {
            "vault's Argon2 settings"
        } else {
            return None;
        };
        Some(format!(
            "the {what} in {place} differs from the one the officers' sealed records vouch for"
        ))
    }
}

/// What an officer's sealed record holds once opened.
pub(super) struct Unsealed {
    pub share: SecretBytes,
    pub key: SecretKey,
    pub commitment: Commitment,
}

/// `share length (u16) ‖ share ‖ key length (u32) ‖ signing key ‖
/// commitment (canonical JSON)`, sealed per officer.
pub(super) fn officer_plaintext(
    share: &SecretBytes,
    key: &SecretKey,
    commitment: &Commitment,
) -> Result<SecretBytes> {
    let tsk = key.to_bytes()?;
    let c = canonical::to_vec(&commitment.to_json())?;
    let mut v = Vec::with_capacity(6 + share.len() + tsk.len() + c.len());
    v.extend_from_slice(&(share.len() as u16).to_be_bytes());
    v.extend_from_slice(share.expose_secret());
    v.extend_from_slice(&(tsk.len() as u32).to_be_bytes());
    v.extend_from_slice(tsk.expose_secret());
    v.extend_from_slice(&c);
    Ok(SecretBytes::new(v))
}

pub(super) fn parse_officer_plaintext(p: &SecretBytes) -> Result<Unsealed> {
    let corrupt = || Error::Corrupt("officer key blob".into());
    let b = p.expose_secret();
    let (n, rest) = b.split_first_chunk::<2>().ok_or_else(corrupt)?;
    let n = u16::from_be_bytes(*n) as usize;
    let share = rest.get(..n).ok_or_else(corrupt)?;
    let (k, rest) = rest[n..].split_first_chunk::<4>().ok_or_else(corrupt)?;
    let k = u32::from_be_bytes(*k) as usize;
    let tsk = rest.get(..k).ok_or_else(corrupt)?;
    let commitment = canonical::parse_canonical(&rest[k..])
        .ok()
        .as_ref()
        .and_then(Commitment::from_json)
        .ok_or_else(corrupt)?;
    Ok(Unsealed {
        share: SecretBytes::new(share.to_vec()),
        key: SecretKey::from_bytes(tsk)?,
        commitment,
    })
}

pub(super) fn check_passphrase(name: &str, p: &Passphrase) -> Result<()> {
    if p.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::invalid(
            "passphrase",
            format!("the passphrase for {name} is shorter than {MIN_PASSPHRASE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Seals `name`'s share, signing key and `commitment` under a key derived
/// from `pass` with a fresh salt; the vault id and epoch are the
/// commitment's.
pub(super) fn seal_officer(
    name: &str,
    pass: &Passphrase,
    kdf: KdfParams,
    share: &SecretBytes,
    key: &SecretKey,
    commitment: &Commitment,
) -> Result<OfficerRecord> {
    let salt: [u8; 16] = crypto::random_array();
    let kek = crypto::derive_kek(pass, &salt, kdf)?;
    seal_with_kek(name, &kek, &salt, kdf, share, key, commitment)
}

/// [`seal_officer`] with a key already derived from the officer's
/// passphrase with `salt` and `kdf`: a ceremony re-seals an approver's or
/// a delivered share without asking for the passphrase again.
pub(super) fn seal_with_kek(
    name: &str,
    kek: &SecretBytes,
    salt: &[u8],
    kdf: KdfParams,
    share: &SecretBytes,
    key: &SecretKey,
    commitment: &Commitment,
) -> Result<OfficerRecord> {
    let sealed = crypto::seal(
        kek.expose_secret(),
        officer_plaintext(share, key, commitment)?.expose_secret(),
        &officer_aad(&commitment.vault, name, commitment.epoch, salt, kdf),
    )?;
    Ok(OfficerRecord {
        name: name.to_string(),
        cert: key.public().to_bytes()?,
        salt: salt.to_vec(),
        kdf,
        epoch: commitment.epoch,
        sealed,
        active: true,
        pending: Vec::new(),
    })
}
