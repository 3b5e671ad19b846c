//! The library's error type: one enum, messages a person at a console can act
//! on. Cryptographic failures collapse into opaque variants so that no error
//! says more than "this did not authenticate".

use std::path::PathBuf;

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where a release can be made to fail on purpose, to prove that a failure at
/// any step shows nothing and leaves the vault consistent (invariant I2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultPoint {
    /// Decrypting the item after the key check passed.
    Decrypt,
    /// Inside the transaction, after the item was marked consumed.
    Transaction,
    /// Signing the checkpoint inside the transaction.
    CheckpointSigning,
    /// `flush()` after the transaction committed.
    Flush,
    /// Queuing the entry's alert event inside the transaction (a full
    /// disk while queuing).
    AlertQueue,
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No vault at the path.
    #[error("no vault at {0} (create one with `breakglass init`, or pass --vault DIR)")]
    NoVault(PathBuf),
    /// `init` on a path that already holds something.
    #[error("{0} already exists and is not empty; refusing to overwrite it")]
    VaultExists(PathBuf),
    /// The vault path names a file.
    #[error("{0} is a file, not a vault directory")]
    NotADirectory(PathBuf),
    /// The directory holds something that is not a breakglass vault.
    #[error("{0} is not a breakglass vault")]
    NotAVault(PathBuf),
    /// Another process holds the vault's lock; names it when it can.
    #[error(
        "vault is in use by another breakglass process{}; `list`, `status`, `ledger` and a read-only console (`breakglass` with no command) still work beside it; try again once it has ended",
        .0.as_deref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    InUse(Option<String>),
    /// A vault written by an older or newer (or unknown) format. There is
    /// no migration before 1.0.
    #[error(
        "{}; this build reads format {supported}: {}",
        match *found { 1 => "this vault was made by breakglass 0.1 (format 1)".to_string(), 2 | 3 => format!("this vault was made by an earlier breakglass 0.2 (format {found})"), 4 => "this vault was made by breakglass 0.2 (format 4)".to_string(), f => format!("this vault has format {f}") },
        if *found < *supported { "no migration before 1.0 — keep the old binary to read it, or create a new vault with `breakglass init` and deposit the codes again" } else { "use the breakglass that made it" }
    )]
    UnsupportedVersion {
        /// Version found on disk.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Stored bytes did not parse.
    #[error("vault data is corrupt: {0}")]
    Corrupt(String),
    /// An argument or an input failed validation (exit code 2).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// What was invalid, e.g. "officer name".
        what: &'static str,
        /// Why, in words.
        why: String,
    },
    /// The vault's state refuses the operation (exit code 1), e.g. a
    /// second value for a credential.
    #[error("{0}")]
    Refused(String),
    /// A passphrase did not unlock the officer's key.
    #[error("wrong passphrase for officer {0}")]
    BadPassphrase(String),
    /// The officer is not enrolled. The text may end with the nearest
    /// enrolled name, as "alise (did you mean alice?)".
    #[error("unknown officer {0}")]
    UnknownOfficer(String),
    /// The officer was enrolled once and removed in a ceremony; names are
    /// never reused.
    #[error(
        "officer {0} was removed from this vault in a ceremony; a removed officer approves nothing"
    )]
    RemovedOfficer(String),
    /// The same officer was named twice for one approval.
    #[error("officer {0} is named twice; each approval needs a distinct officer")]
    DuplicateOfficer(String),
    /// Not enough distinct officers approved.
    #[error("too few officers: {got} of the {need} needed")]
    TooFewOfficers {
        /// Distinct officers that approved.
        got: usize,
        /// Approvals needed.
        need: usize,
    },
    /// The secret does not exist. The text may end with the nearest
    /// existing name, as "Github/admin (did you mean github/admin?)".
    #[error("unknown secret {0}")]
    UnknownSecret(String),
    /// Every item of the secret has been released.
    #[error(
        "nothing left to release in {0}: every item has been released; deposit more with `breakglass deposit {0}`"
    )]
    NothingLeft(String),
    /// The partial quorum expired before it was complete.
    #[error(
        "the approvals expired at {0}; collected shares were discarded, start the release again"
    )]
    Expired(String),
    /// A share was malformed: x = 0, wrong length, or not distinct.
    #[error("invalid share from officer {0}")]
    InvalidShare(String),
    /// The reconstructed vault key failed the key check.
    #[error("the officers' shares do not reconstruct this vault's key; nothing was decrypted")]
    KeyCheckFailed,
    /// An AEAD or OpenPGP decryption failed (opaque on purpose).
    #[error("decryption failed")]
    DecryptionFailed,
    /// A stored item does not belong where it was found.
    #[error("item {secret} #{} does not match its record; refusing to release it", index + 1)]
    ItemMismatch {
        /// Secret name the record is under.
        secret: String,
        /// Index the record is under.
        index: u32,
    },
    /// The vault refuses every write: stored data disagrees with what the
    /// officers signed, or the ledger's tail with its checkpoint.
    #[error("the vault is locked: {0}")]
    Locked(String),
    /// The ledger disagrees with itself or with its checkpoint.
    #[error("ledger: {0}")]
    Ledger(String),
    /// An OpenPGP operation failed.
    #[error("OpenPGP: {0}")]
    Pgp(String),
    /// The embedded database failed.
    #[error("storage: {0}")]
    Storage(String),
    /// An I/O error outside the database.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A fault injected by a test.
    #[error("injected fault at {0:?}")]
    Injected(FaultPoint),
}

impl Error {
    /// The process exit code for this error: 2 for usage errors, 1 for
    /// everything refused or failed.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } => 2,
            _ => 1,
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(what: &'static str, why: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            why: why.into(),
        }
    }
}

impl From<anyhow::Error> for Error {
    // Sequoia reports through anyhow. Its messages name packets and
    // algorithms, never key material.
    fn from(e: anyhow::Error) -> Self {
        Error::Pgp(e.to_string())
    }
}
