//! breakglass: a terminal vault for emergency credentials and admin backup
//! codes.
//!
//! Secrets are encrypted at rest in an embedded sled database. Releasing one
//! needs an m-of-n Shamir quorum of officers; the released item is marked
//! consumed and written to a signed, append-only Merkle ledger *before* it is
//! shown, once. See `docs/ARCHITECTURE.md` for the map of this crate and
//! `../shared/DESIGN.md` for the invariants (I1…I14) the tests prove.
//!
//! The command line (`src/main.rs`) and the TUI (`tui`) are thin shells over
//! [`vault::Vault`]; neither holds vault logic.

// `unsafe` is denied everywhere; the one exception (disabling core dumps)
// lives in `harden` and says why.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alerts;
pub mod audit;
pub mod clock;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod harden;
pub mod item;
pub mod ledger;
pub mod lifecycle;
pub mod names;
pub mod pgp;
pub mod policy;
pub mod records;
pub mod secret;
pub mod shamir;
pub mod store;
pub mod tui;
pub mod vault;

pub use error::{Error, Result};
pub use secret::{Passphrase, SecretValue};
pub use vault::Vault;
