//! Secret types (invariant I5). Every secret in memory is one of these: it
//! zeroizes on drop, its pages are locked in RAM where the system allows,
//! its `Debug` is redacted, and its bytes are reached only through an
//! explicit `expose_secret()`.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::harden::memory;

/// Where every secret lives: one heap buffer of exactly its size, so it
/// never moves or grows; its pages locked in RAM while it lives (where the
/// system allows, `harden::memory::lock`); zeroized when dropped, and only
/// then unlocked and freed.
struct Locked<T: ?Sized + Zeroize + AsRef<[u8]>>(Box<T>);

impl<T: ?Sized + Zeroize + AsRef<[u8]>> Locked<T> {
    fn new(b: Box<T>) -> Self {
        memory::lock((*b).as_ref());
        Locked(b)
    }
}

impl<T: ?Sized + Zeroize + AsRef<[u8]>> Drop for Locked<T> {
    fn drop(&mut self) {
        (*self.0).zeroize();
        memory::unlock((*self.0).as_ref());
    }
}

/// Moves `s` into a box of exactly its length without leaving a copy
/// behind: a `String` whose capacity exceeds its length would be
/// reallocated on the way into a boxed `str`, and the old buffer freed
/// unwiped. The bytes are then copied into an exact-size allocation and
/// the incoming buffer zeroized.
fn exact_str(mut s: String) -> Locked<str> {
    let exact: Box<str> = if s.capacity() == s.len() {
        s.into_boxed_str()
    } else {
        let copy = Box::<str>::from(s.as_str());
        s.zeroize();
        copy
    };
    Locked::new(exact)
}

/// [`exact_str`] for bytes.
fn exact_bytes(mut v: Vec<u8>) -> Locked<[u8]> {
    let exact: Box<[u8]> = if v.capacity() == v.len() {
        v.into_boxed_slice()
    } else {
        let copy = Box::<[u8]>::from(v.as_slice());
        v.zeroize();
        copy
    };
    Locked::new(exact)
}

/// An officer's passphrase.
pub struct Passphrase(Locked<str>);

impl Passphrase {
    /// Wraps a passphrase; the `String` is moved in, not copied.
    pub fn new(s: String) -> Self {
        Passphrase(exact_str(s))
    }

    /// The passphrase itself.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
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
pub struct SecretValue(Locked<str>);

impl SecretValue {
    /// Wraps an item value.
    pub fn new(s: String) -> Self {
        SecretValue(exact_str(s))
    }

    /// The value itself.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

/// The 32-byte vault key (VK): split among officers, never stored whole.
pub struct VaultKey(Locked<[u8; 32]>);

impl VaultKey {
    /// Wraps key bytes. The caller's copy is its own to zeroize.
    pub fn new(bytes: [u8; 32]) -> Self {
        VaultKey(Locked::new(Box::new(bytes)))
    }

    /// A fresh random key, drawn into its locked buffer in place.
    pub fn random() -> Self {
        let mut k = VaultKey::new([0u8; 32]);
        crate::crypto::fill_random(&mut k.0.0[..]);
        k
    }

    /// The key bytes.
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0.0
    }
}

impl fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VaultKey([REDACTED])")
    }
}

/// A byte secret of any length: a Shamir share, a key-encryption key, a
/// serialized secret key, an item's plaintext.
pub struct SecretBytes(Locked<[u8]>);

impl SecretBytes {
    /// Wraps bytes, moved in without a copy left behind (see
    /// [`Passphrase::new`]); they are zeroized when dropped.
    pub fn new(v: Vec<u8>) -> Self {
        SecretBytes(exact_bytes(v))
    }

    /// Takes the bytes out of a zeroizing buffer, leaving it empty.
    pub fn take(v: &mut Zeroizing<Vec<u8>>) -> Self {
        Self::new(std::mem::take(&mut **v))
    }

    /// The bytes.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0.0
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.0.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([REDACTED; {}])", self.len())
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

    #[test]
    fn a_vec_with_spare_capacity_is_stored_exactly() {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(b"share");
        let b = SecretBytes::new(v);
        assert_eq!(b.expose_secret(), b"share");
        let mut s = String::with_capacity(64);
        s.push_str("code");
        assert_eq!(SecretValue::new(s).expose_secret(), "code");
        let mut z = Zeroizing::new(b"kek".to_vec());
        assert_eq!(SecretBytes::take(&mut z).expose_secret(), b"kek");
        assert!(z.is_empty());
    }

    #[test]
    fn random_vault_keys_differ() {
        assert_ne!(
            VaultKey::random().expose_secret(),
            VaultKey::random().expose_secret()
        );
    }
}
