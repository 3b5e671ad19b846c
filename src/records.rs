//! Stored records. Every value the vault writes carries a magic, a record
//! type and a version; parsing and writing are separate small functions, and
//! an unknown version is an error, never a guess.
//!
//! Layout: `b"BG"` ‖ type (1 byte) ‖ version (1 byte) ‖ JSON body. The JSON
//! body is serde's encoding of the struct (fields in declaration order, byte
//! strings in standard base64), so encoding is deterministic and round-trips
//! byte for byte.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::crypto::KdfParams;
use crate::error::{Error, Result};

const MAGIC: &[u8; 2] = b"BG";

/// The on-disk format version of a vault, stored under `meta/format`.
/// 3: officer records bind their salt and Argon2 parameters into the
/// sealed record's additional data, and officers' commitments and the
/// genesis entry state the vault's Argon2 settings. 4: ledger entries of
/// version 4 (receipts, signed display outcomes, origins that follow a
/// restore with a gap, alerts statements bound to their place). 5: ledger
/// entries of version 5 (signed lifecycle policies, rotations, retirements,
/// reviews, end-to-end drills). No migration before
/// 1.0: an older vault is refused (see [`crate::Error::UnsupportedVersion`]).
pub const FORMAT_VERSION: u32 = 5;
/// The bytes before the version in `meta/format`.
pub const FORMAT_MAGIC: &[u8] = b"breakglass-vault\0";

/// Encodes the vault format marker.
pub fn write_format(version: u32) -> Vec<u8> {
    let mut v = FORMAT_MAGIC.to_vec();
    v.extend_from_slice(&version.to_be_bytes());
    v
}

/// Reads the vault format marker; `None` when it is not one.
pub fn read_format(bytes: &[u8]) -> Option<u32> {
    let rest = bytes.strip_prefix(FORMAT_MAGIC)?;
    Some(u32::from_be_bytes(rest.try_into().ok()?))
}

/// A stored record type.
pub trait Record: Serialize + DeserializeOwned {
    /// The type byte.
    const TYPE: u8;
    /// The version this build writes and reads.
    const VERSION: u8;
    /// A name for error messages.
    const NAME: &'static str;

    /// Encodes the record.
    fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        out.push(Self::TYPE);
        out.push(Self::VERSION);
        serde_json::to_writer(&mut out, self)
            .map_err(|e| Error::Corrupt(format!("cannot encode {}: {e}", Self::NAME)))?;
        Ok(out)
    }

    /// Decodes a record, refusing other types and versions.
    fn decode(bytes: &[u8]) -> Result<Self> {
        let corrupt = |why: &str| Error::Corrupt(format!("{} record: {why}", Self::NAME));
        if bytes.len() < 4 || &bytes[..2] != MAGIC {
            return Err(corrupt("bad magic"));
        }
        if bytes[2] != Self::TYPE {
            return Err(corrupt("wrong record type"));
        }
        if bytes[3] != Self::VERSION {
            return Err(Error::Corrupt(format!(
                "{} record version {} is not supported (this breakglass reads version {})",
                Self::NAME,
                bytes[3],
                Self::VERSION
            )));
        }
        serde_json::from_slice(&bytes[4..]).map_err(|_| corrupt("unreadable body"))
    }
}

/// Byte strings in records are standard base64.
mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

/// The vault's configuration (`meta/config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VaultConfig {
    /// Random vault id, 32 hex digits.
    pub vault_id: String,
    /// Officers needed to release.
    pub threshold: u8,
    /// Increases at every rekey.
    pub epoch: u32,
    /// Fingerprint of the current vault encryption key.
    pub vault_key_fingerprint: String,
    /// Fingerprint of the ledger key.
    pub ledger_fingerprint: String,
    /// `AEAD(VK, "breakglass key check v1", aad = vault_id ‖ epoch)`.
    #[serde(with = "b64")]
    pub key_check: Vec<u8>,
    /// The vault encryption key's public certificate (binary).
    #[serde(with = "b64")]
    pub vault_key_cert: Vec<u8>,
    /// The vault encryption key's secret half, sealed under VK.
    #[serde(with = "b64")]
    pub vault_key_sealed: Vec<u8>,
}

impl Record for VaultConfig {
    const TYPE: u8 = b'C';
    const VERSION: u8 = 1;
    const NAME: &'static str = "vault config";
}

/// The ledger signing key (`meta/ledger_key`). Kept online with the vault,
/// like a transparency log's key: see docs/SECURITY.md.
#[derive(Serialize, Deserialize)]
pub struct LedgerKeyRecord {
    /// The transferable secret key.
    #[serde(with = "b64")]
    pub tsk: Vec<u8>,
}

impl Record for LedgerKeyRecord {
    const TYPE: u8 = b'L';
    const VERSION: u8 = 1;
    const NAME: &'static str = "ledger key";
}

impl Drop for LedgerKeyRecord {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.tsk);
    }
}

/// An enrolled officer (`officers/<name>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfficerRecord {
    /// The officer's name.
    pub name: String,
    /// The officer's public certificate (binary).
    #[serde(with = "b64")]
    pub cert: Vec<u8>,
    /// Argon2id salt.
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    /// Argon2id parameters.
    pub kdf: KdfParams,
    /// Epoch of the share inside `sealed`.
    pub epoch: u32,
    /// `AEAD(KEK, share ‖ signing key ‖ commitment, aad = vault_id ‖
    /// officer ‖ epoch)`; the commitment states the vault the officer
    /// joined (I15).
    #[serde(with = "b64")]
    pub sealed: Vec<u8>,
    /// False once removed; kept so old ledger entries still resolve.
    pub active: bool,
    /// A share delivered by a ceremony the officer did not attend: an
    /// OpenPGP message to their certificate's encryption subkey holding
    /// `epoch (u32 BE) ‖ share`. Empty when there is none. The officer's
    /// next authentication checks the ceremony and re-seals it.
    #[serde(with = "b64")]
    pub pending: Vec<u8>,
}

impl Record for OfficerRecord {
    const TYPE: u8 = b'O';
    // 2: the sealed blob also holds the officer's commitment to the vault.
    // 3: the additional data binds the salt and Argon2 parameters.
    const VERSION: u8 = 3;
    const NAME: &'static str = "officer";
}

/// What a secret holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretKind {
    /// A set of one-time backup codes, released one at a time.
    Codes,
    /// One credential (password, key), released once.
    Credential,
}

impl SecretKind {
    /// The name used on the command line and in the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::Codes => "codes",
            SecretKind::Credential => "credential",
        }
    }

    /// The item kind byte inside an item's plaintext.
    pub fn byte(self) -> u8 {
        match self {
            SecretKind::Codes => 1,
            SecretKind::Credential => 2,
        }
    }
}

/// A named secret (`secrets/<name>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// The secret's name.
    pub name: String,
    /// Codes or credential.
    pub kind: SecretKind,
    /// A minimum number of approvals above the vault threshold, if any.
    pub min_approvals: Option<u8>,
    /// Items deposited so far (the next item's index).
    pub count: u32,
}

impl Record for SecretRecord {
    const TYPE: u8 = b'S';
    const VERSION: u8 = 1;
    const NAME: &'static str = "secret";
}

/// Where an item is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum ItemState {
    /// Never released.
    Available,
    /// Released by ledger entry `seq`; `confirmed` once an officer confirmed
    /// it was seen (or it was written to stdout in batch mode).
    Released {
        /// The release entry's sequence number.
        seq: u64,
        /// Whether the display was confirmed.
        confirmed: bool,
    },
}

/// One code or credential (`items/<secret>\0<index>`), encrypted to the vault
/// encryption key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemRecord {
    /// The secret's name.
    pub secret: String,
    /// Position in deposit order.
    pub index: u32,
    /// Vault epoch whose encryption key it is encrypted to.
    pub epoch: u32,
    /// The OpenPGP message.
    #[serde(with = "b64")]
    pub ciphertext: Vec<u8>,
    /// Released or not.
    pub state: ItemState,
}

impl Record for ItemRecord {
    const TYPE: u8 = b'I';
    const VERSION: u8 = 1;
    const NAME: &'static str = "item";
}

/// Why the vault locked itself (`meta/lock`): stored facts disagreed with
/// what officers signed (I15). While it exists nothing is written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LockRecord {
    /// What disagreed, in words.
    pub cause: String,
    /// When it was found, RFC 3339.
    pub time: String,
}

impl Record for LockRecord {
    const TYPE: u8 = b'X';
    const VERSION: u8 = 1;
    const NAME: &'static str = "lock";
}

/// A signed checkpoint (`checkpoints/<size>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// The checkpoint body (C2SP tlog-checkpoint).
    pub body: String,
    /// Armored detached signature by the ledger key over `body`.
    pub signature: String,
}

impl Record for CheckpointRecord {
    const TYPE: u8 = b'K';
    const VERSION: u8 = 1;
    const NAME: &'static str = "checkpoint";
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> ItemRecord {
        ItemRecord {
            secret: "github".into(),
            index: 3,
            epoch: 0,
            ciphertext: vec![0xc1, 0x5e, 0x00],
            state: ItemState::Released {
                seq: 9,
                confirmed: false,
            },
        }
    }

    #[test]
    fn item_record_is_byte_exact() {
        let bytes = item().encode().unwrap();
        assert_eq!(
            bytes,
            b"BGI\x01{\"secret\":\"github\",\"index\":3,\"epoch\":0,\"ciphertext\":\"wV4A\",\"state\":{\"state\":\"released\",\"seq\":9,\"confirmed\":false}}".to_vec()
        );
        let back = ItemRecord::decode(&bytes).unwrap();
        assert_eq!(back, item());
        assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn secret_and_checkpoint_round_trip() {
        let s = SecretRecord {
            name: "n".into(),
            kind: SecretKind::Codes,
            min_approvals: Some(3),
            count: 2,
        };
        let b = s.encode().unwrap();
        assert_eq!(SecretRecord::decode(&b).unwrap().encode().unwrap(), b);
        let c = CheckpointRecord {
            body: "a\n1\nAA==\n".into(),
            signature: "sig".into(),
        };
        let b = c.encode().unwrap();
        assert_eq!(CheckpointRecord::decode(&b).unwrap(), c);
    }

    #[test]
    fn unknown_version_type_and_magic_are_errors() {
        let mut bytes = item().encode().unwrap();
        bytes[3] = 2;
        let e = ItemRecord::decode(&bytes).unwrap_err().to_string();
        assert!(e.contains("version 2 is not supported"), "{e}");
        bytes[3] = 1;
        bytes[2] = b'S';
        assert!(ItemRecord::decode(&bytes).is_err());
        assert!(ItemRecord::decode(b"XXI\x01{}").is_err());
        assert!(ItemRecord::decode(b"BG").is_err());
    }

    #[test]
    fn format_marker_round_trips() {
        assert_eq!(read_format(&write_format(1)), Some(1));
        assert_eq!(read_format(&write_format(7)), Some(7));
        assert_eq!(read_format(b"something else"), None);
    }
}
