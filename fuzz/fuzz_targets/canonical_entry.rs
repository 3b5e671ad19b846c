//! Canonical JSON ledger entries (`src/canonical.rs`, `ledger::parse_entry`)
//! and what the console and `ledger show` make of them. An entry that
//! parses re-encodes to exactly its bytes (one value, one encoding).
#![no_main]

use breakglass::ledger;
use breakglass::ledger::canonical;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = canonical::parse_canonical(data) {
        assert_eq!(
            canonical::to_vec(&v).expect("a parsed value encodes"),
            data,
            "a canonical value re-encodes to other bytes"
        );
    }
    if let Ok(m) = ledger::parse_entry(data) {
        let _ = ledger::item_no(&m);
        let _ = ledger::summary_line(0, &m);
        let _ = ledger::summary_detail(&m);
    }
});
