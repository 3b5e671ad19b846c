//! Officer records sealed under passphrase-derived keys, and the
//! additional data that binds every sealed value to its vault, officer and
//! epoch.

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

pub(super) fn officer_aad(vault_id: &str, officer: &str, epoch: u32) -> Vec<u8> {
    crypto::aad(&[
        b"officer",
        vault_id.as_bytes(),
        officer.as_bytes(),
        &epoch_bytes(epoch),
    ])
}

/// `share length (u16) ‖ share ‖ signing key`, sealed per officer.
pub(super) fn officer_plaintext(share: &SecretBytes, key: &SecretKey) -> Result<SecretBytes> {
    let tsk = key.to_bytes()?;
    let mut v = Vec::with_capacity(2 + share.len() + tsk.len());
    v.extend_from_slice(&(share.len() as u16).to_be_bytes());
    v.extend_from_slice(share.expose_secret());
    v.extend_from_slice(tsk.expose_secret());
    Ok(SecretBytes::new(v))
}

pub(super) fn parse_officer_plaintext(p: &SecretBytes) -> Result<(SecretBytes, SecretKey)> {
    let b = p.expose_secret();
    let corrupt = || Error::Corrupt("officer key blob".into());
    if b.len() < 2 {
        return Err(corrupt());
    }
    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
    if b.len() < 2 + n {
        return Err(corrupt());
    }
    let share = SecretBytes::new(b[2..2 + n].to_vec());
    let key = SecretKey::from_bytes(&b[2 + n..])?;
    Ok((share, key))
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

pub(super) fn seal_officer(
    vault_id: &str,
    name: &str,
    epoch: u32,
    pass: &Passphrase,
    kdf: KdfParams,
    share: &SecretBytes,
    key: &SecretKey,
) -> Result<OfficerRecord> {
    let salt: [u8; 16] = crypto::random_array();
    let kek = crypto::derive_kek(pass, &salt, kdf)?;
    let sealed = crypto::seal(
        kek.expose_secret(),
        officer_plaintext(share, key)?.expose_secret(),
        &officer_aad(vault_id, name, epoch),
    )?;
    Ok(OfficerRecord {
        name: name.to_string(),
        cert: key.public().to_bytes()?,
        salt: salt.to_vec(),
        kdf,
        epoch,
        sealed,
        active: true,
    })
}
