//! Secret types (invariant I5). Every secret in memory is one of these: it
//! zeroizes on drop, its `Debug` is redacted, and its bytes are reached only
//! through an explicit `expose_secret()`.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::Zeroizing;

/// Moves `s` into a secret box without leaving a copy behind: a `String`
/// whose capacity exceeds its length would be reallocated on the way into
/// a boxed `str`, and the old buffer freed unwiped. The bytes are copied
/// into an exact-size allocation and the incoming buffer zeroized.
fn exact_box(mut s: String) -> SecretString {
    let exact: Box<str> = if s.capacity() == s.len() {
        s.into_boxed_str()
    } else {
        let copy = Box::<str>::from(s.as_str());
        zeroize::Zeroize::zeroize(&mut s);
        copy
    };
    SecretString::from(exact)
}

/// An officer's passphrase.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase; the `String` is moved in, not copied.
    pub fn new(s: String) -> Self {
        Passphrase(exact_box(s))
    }

    /// The passphrase itself.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.expose_secret().is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

/// A deposited or released item: a backup code or a credential.
pub struct SecretValue(SecretString);

impl SecretValue {
    /// Wraps an item value.
    pub fn new(s: String) -> Self {
        SecretValue(exact_box(s))
    }

    /// The value itself.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

/// The 32-byte vault key (VK): split among officers, never stored whole.
pub struct VaultKey(SecretBox<[u8; 32]>);

impl VaultKey {
    /// Wraps key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        VaultKey(SecretBox::new(Box::new(bytes)))
    }

    /// A fresh random key.
    pub fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        crate::crypto::fill_random(&mut k[..]);
        Self::new(*k)
    }

    /// The key bytes.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([REDACTED])")
    }
}

/// A byte secret of any length: a Shamir share, a key-encryption key, a
/// serialized secret key.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps bytes; they are zeroized when dropped.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(Zeroizing::new(v))
    }

    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_every_secret_type_is_redacted() {
        let p = Passphrase::new("correct horse battery".into());
        let v = SecretValue::new("4F2K-9QX7".into());
        let k = VaultKey::new([0xAB; 32]);
        let b = SecretBytes::new(vec![0xCD; 33]);
        let all = format!("{p:?} {v:?} {k:?} {b:?} {p:#?} {v:#?}");
        assert!(!all.contains("horse"), "{all}");
        assert!(!all.contains("4F2K"), "{all}");
        assert!(!all.to_lowercase().contains("abab"), "{all}");
        assert!(!all.contains("171"), "{all}"); // 0xAB in decimal
        assert!(!all.contains("205"), "{all}"); // 0xCD in decimal
        assert!(all.contains("REDACTED"));
    }
}
