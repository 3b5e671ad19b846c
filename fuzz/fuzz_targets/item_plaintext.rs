//! An item's plaintext (`src/item.rs`). Input: a selector byte (bit 0: the
//! item is a credential; bit 1: expect the name and index the plaintext
//! claims rather than fixed ones), then the plaintext. What reads back
//! writes back to the same bytes.
#![no_main]

use breakglass::item;
use breakglass::records::SecretKind;
use breakglass::secret::SecretBytes;
use libfuzzer_sys::fuzz_target;

/// The name and index a plaintext claims, read leniently.
fn claimed(p: &[u8]) -> Option<(String, u32)> {
    let len = *p.get(8)? as usize;
    let name = std::str::from_utf8(p.get(9..9 + len)?).ok()?;
    let index = u32::from_be_bytes(p.get(9 + len..13 + len)?.try_into().ok()?);
    Some((name.to_string(), index))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, plain)) = data.split_first() else {
        return;
    };
    let kind = if sel & 1 == 1 {
        SecretKind::Credential
    } else {
        SecretKind::Codes
    };
    let (secret, index) = match claimed(plain) {
        Some(c) if sel & 2 == 0 => c,
        _ => ("github/admin".to_string(), 0),
    };
    let bytes = SecretBytes::new(plain.to_vec());
    if let Ok(value) = item::read(&bytes, &secret, index, kind) {
        let again = item::write(&secret, index, kind, &value);
        assert_eq!(
            again.expose_secret(),
            plain,
            "an item read back writes other bytes"
        );
    }
});
