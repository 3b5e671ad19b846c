// SPDX-License-Identifier: LGPL-3.0-only
//! Emulated OpenPGP card for breakglass tests. **Test support only.**
//!
//! Runs Nitrokey's [`opcard`] (OpenPGP card spec 3.4) on trussed's virtual
//! platform, on a thread of its own ([`EmulatedCard`]), and offers it
//!
//! - in-process, as a [`card_backend::CardBackend`] ([`InProcBackend`]), so
//!   that tests can call `openpgp_card::Card::new(backend)` without pcscd;
//!   each [`InProcBackend::new`] is a fresh card;
//! - to pcscd through vsmartcard's vpcd driver ([`vpcd::serve`], the
//!   `breakglass-card-emu` binary).
//!
//! Every card gets its own RNG seed (trussed's virt platform would
//! otherwise give all of them the same keys), see [`seed`].
//!
//! License: LGPL-3.0-only, because it links opcard.

mod card;
mod dispatch;
mod inproc;
pub mod seed;
pub mod vpcd;

pub use card::{CardConfig, CardError, EmulatedCard, MAX_APDU, TEST_MANUFACTURER};
pub use inproc::{InProcBackend, fresh_card};

/// opcard's default user PIN (PW1).
pub const DEFAULT_USER_PIN: &str = "123456";
/// opcard's default admin PIN (PW3).
pub const DEFAULT_ADMIN_PIN: &str = "12345678";
