//! The plaintext inside an item's OpenPGP message. It names its secret and
//! index, so a ciphertext moved to another record is refused on decryption.
//!
//! Layout: `b"BGITEM"` ‖ version (1) ‖ kind (1) ‖ name length (1) ‖ name ‖
//! index (u32 big-endian) ‖ value (UTF-8, to the end).

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::records::SecretKind;
use crate::secret::{SecretBytes, SecretValue};

const MAGIC: &[u8; 6] = b"BGITEM";
const VERSION: u8 = 1;

/// Writes an item's plaintext. The result holds the secret: it is zeroized.
pub fn write(secret: &str, index: u32, kind: SecretKind, value: &SecretValue) -> SecretBytes {
    let v = value.expose_secret().as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(13 + secret.len() + v.len()));
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(kind.byte());
    out.push(secret.len() as u8);
    out.extend_from_slice(secret.as_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(v);
    SecretBytes::take(&mut out)
}

/// Reads an item's plaintext, checking that it names `secret`, `index` and
/// `kind`.
pub fn read(
    plain: &SecretBytes,
    secret: &str,
    index: u32,
    kind: SecretKind,
) -> Result<SecretValue> {
    let mismatch = || Error::ItemMismatch {
        secret: secret.to_string(),
        index,
    };
    let b = plain.expose_secret();
    let rest = b.strip_prefix(MAGIC.as_slice()).ok_or_else(mismatch)?;
    let (&version, rest) = rest.split_first().ok_or_else(mismatch)?;
    if version != VERSION {
        return Err(Error::Corrupt(format!(
            "item format version {version} is not supported"
        )));
    }
    let (&k, rest) = rest.split_first().ok_or_else(mismatch)?;
    let (&len, rest) = rest.split_first().ok_or_else(mismatch)?;
    let len = len as usize;
    if rest.len() < len + 4 || &rest[..len] != secret.as_bytes() || k != kind.byte() {
        return Err(mismatch());
    }
    let stored_index = u32::from_be_bytes(rest[len..len + 4].try_into().map_err(|_| mismatch())?);
    if stored_index != index {
        return Err(mismatch());
    }
    let value = std::str::from_utf8(&rest[len + 4..]).map_err(|_| mismatch())?;
    Ok(SecretValue::new(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_byte_exact() {
        let p = write(
            "gh",
            258,
            SecretKind::Codes,
            &SecretValue::new("AB-12".into()),
        );
        assert_eq!(
            p.expose_secret(),
            b"BGITEM\x01\x01\x02gh\x00\x00\x01\x02AB-12"
        );
        let v = read(&p, "gh", 258, SecretKind::Codes).unwrap();
        assert_eq!(v.expose_secret(), "AB-12");
    }

    #[test]
    fn another_secret_index_or_kind_is_refused() {
        let p = write("gh", 1, SecretKind::Codes, &SecretValue::new("x".into()));
        assert!(matches!(
            read(&p, "gi", 1, SecretKind::Codes),
            Err(Error::ItemMismatch { .. })
        ));
        assert!(matches!(
            read(&p, "g", 1, SecretKind::Codes),
            Err(Error::ItemMismatch { .. })
        ));
        assert!(matches!(
            read(&p, "gh", 2, SecretKind::Codes),
            Err(Error::ItemMismatch { .. })
        ));
        assert!(matches!(
            read(&p, "gh", 1, SecretKind::Credential),
            Err(Error::ItemMismatch { .. })
        ));
        let mut t = p.expose_secret().to_vec();
        t[6] = 9;
        assert!(read(&SecretBytes::new(t), "gh", 1, SecretKind::Codes).is_err());
    }
}
