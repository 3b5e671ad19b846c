//! The throw-away demo vault: three officers (any two release), sample code
//! sets and one credential, with weak KDF settings so it starts at once.

use std::path::Path;

use crate::crypto::{self, KdfParams};
use crate::error::Result;
use crate::records::SecretKind;
use crate::secret::{Passphrase, SecretValue};
use crate::vault::{InitOptions, NewOfficer, Vault};

/// What the demo made.
pub struct Demo {
    /// Officer names with their passphrases (printed for the user).
    pub officers: Vec<(String, Passphrase)>,
    /// Secret names, in the order the console and `list` show them.
    pub secrets: Vec<String>,
    /// The secret the printed commands suggest releasing; the console opens
    /// with it selected, so the two agree.
    pub suggested: String,
    /// The open vault.
    pub vault: Vault,
}

const OFFICERS: [&str; 3] = ["alice", "bob", "carol"];
/// The code set the demo suggests releasing first: the largest.
const SUGGESTED: &str = "github/admin";
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_code() -> String {
    let bytes: [u8; 8] = crypto::random_array();
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

fn demo_passphrase(name: &str) -> Passphrase {
    Passphrase::new(format!(
        "{name}-{}",
        hex::encode(crypto::random_array::<3>())
    ))
}

/// Creates the demo vault at `dir`.
pub fn create(dir: &Path) -> Result<Demo> {
    let officers: Vec<(String, Passphrase)> = OFFICERS
        .iter()
        .map(|n| (n.to_string(), demo_passphrase(n)))
        .collect();
    let copy = |p: &Passphrase| Passphrase::new(p.expose_secret().to_string());
    let mut vault = Vault::init(
        dir,
        InitOptions {
            threshold: 2,
            officers: officers
                .iter()
                .map(|(n, p)| NewOfficer {
                    name: n.clone(),
                    passphrase: copy(p),
                })
                .collect(),
            kdf: KdfParams::new(KdfParams::MIN_MEMORY_MIB, 1)?,
        },
    )?;
    let session = vault.authenticate(&officers[0].0, &officers[0].1, "deposit", None)?;
    let sets = [
        ("github/admin", 10),
        ("okta/recovery", 8),
        ("aws/root-mfa", 3),
    ];
    for (name, n) in sets {
        let codes: Vec<SecretValue> = (0..n).map(|_| SecretValue::new(random_code())).collect();
        vault.deposit(&session, name, SecretKind::Codes, None, &codes)?;
    }
    let credential = SecretValue::new(format!(
        "db-root:{}",
        hex::encode(crypto::random_array::<12>())
    ));
    vault.deposit(
        &session,
        "postgres/root",
        SecretKind::Credential,
        Some(3),
        &[credential],
    )?;
    let secrets = vault.secrets()?.into_iter().map(|s| s.name).collect();
    Ok(Demo {
        officers,
        secrets,
        suggested: SUGGESTED.to_string(),
        vault,
    })
}
