//! Share bytes as `shamir::combine` takes them from officers' records
//! (`src/shamir.rs`). Input: the threshold, then a length byte and that
//! many bytes for each share.
#![no_main]

use breakglass::secret::SecretBytes;
use breakglass::shamir::{self, NamedShare};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&m, mut rest)) = data.split_first() else {
        return;
    };
    let mut shares = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        shares.push(SecretBytes::new(tail[..n].to_vec()));
        rest = &tail[n..];
    }
    let named: Vec<NamedShare<'_>> = shares
        .iter()
        .map(|s| NamedShare {
            officer: "officer",
            share: s,
        })
        .collect();
    if shamir::combine(m, &named).is_ok() {
        assert!(
            shares.len() >= m as usize,
            "combined from fewer than m shares"
        );
    }
});
