// SPDX-License-Identifier: LGPL-3.0-only
//! Per-card RNG seed.
//!
//! trussed's virtual platform seeds its "hardware" RNG with the constant
//! `[42; 32]`, so without help every emulated card makes the same keys.
//! trussed's service builds its DRBG on first use from the file
//! `rng-state.bin` in the `trussed` client's internal storage (that is
//! `/trussed/dat/rng-state.bin`), XORed with 32 bytes from the platform RNG,
//! and then writes a fresh seed back for the next boot. This is how a real
//! device gets "externally injected entropy on first run"
//! (`Service::set_seed_if_uninitialized` does the same, but the virt runner
//! does not expose its `Service`). We write that file before the service
//! starts, if it is not there yet (a persistent state directory keeps its own).

use std::fmt;

use littlefs2_core::{PathBuf, path};
use trussed::{
    platform::Platform as _,
    store::{ClientFilestore, Filestore as _},
    virt::Platform,
};
use trussed_core::types::Location;

/// Environment variable with a fixed 32-byte seed (64 hex digits).
pub const SEED_ENV: &str = "OPCARD_EMU_SEED";

/// A bad `OPCARD_EMU_SEED` value.
#[derive(Debug)]
pub struct BadSeed(pub String);

impl fmt::Display for BadSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SEED_ENV} must be 64 hex digits (32 bytes): {}", self.0)
    }
}

impl std::error::Error for BadSeed {}

/// Parses 64 hex digits into a seed.
pub fn parse_seed(hex: &str) -> Result<[u8; 32], BadSeed> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(BadSeed(format!("got {:?}", hex)));
    }
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte =
            u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| BadSeed(e.to_string()))?;
    }
    Ok(seed)
}

/// The seed to use: `explicit`, else `OPCARD_EMU_SEED`, else fresh OS randomness.
pub fn choose_seed(
    explicit: Option<[u8; 32]>,
) -> Result<[u8; 32], Box<dyn std::error::Error + Send + Sync>> {
    if let Some(seed) = explicit {
        return Ok(seed);
    }
    match std::env::var(SEED_ENV) {
        Ok(hex) if !hex.trim().is_empty() => Ok(parse_seed(&hex)?),
        _ => {
            let mut seed = [0u8; 32];
            getrandom::getrandom(&mut seed).map_err(|e| format!("no OS randomness: {e}"))?;
            Ok(seed)
        }
    }
}

/// Writes `seed` as trussed's stored RNG state unless one is already stored.
/// Returns whether it was written.
pub fn plant_seed(platform: &Platform<'_>, seed: &[u8; 32]) -> bool {
    let mut fs = ClientFilestore::new(PathBuf::from(path!("trussed")), platform.store());
    let file = path!("rng-state.bin");
    if fs.exists(file, Location::Internal) {
        return false;
    }
    fs.write(file, Location::Internal, seed)
        .expect("cannot write the RNG seed to the card's internal storage");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_64_hex_digits() {
        let hex = "00".repeat(31) + "fF";
        let seed = parse_seed(&hex).unwrap();
        assert_eq!(seed[31], 0xFF);
        assert!(seed[..31].iter().all(|&b| b == 0));
    }

    #[test]
    fn rejects_bad_seeds() {
        for bad in [
            "",
            "zz",
            &"0".repeat(63),
            &"0".repeat(66),
            &("g".to_string() + &"0".repeat(63)),
        ] {
            assert!(parse_seed(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn explicit_seed_wins() {
        assert_eq!(choose_seed(Some([9; 32])).unwrap(), [9; 32]);
    }

    #[test]
    fn random_seeds_differ() {
        // Unless OPCARD_EMU_SEED is set for the whole test run.
        if std::env::var(SEED_ENV).is_err() {
            assert_ne!(choose_seed(None).unwrap(), choose_seed(None).unwrap());
        }
    }
}
