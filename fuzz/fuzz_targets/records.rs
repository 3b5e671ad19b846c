//! Stored records of every type (`src/records.rs`): a vault's database is
//! a file an attacker with disk access can write. Decoding never panics,
//! and what decodes re-encodes to a record that decodes the same.
#![no_main]

use breakglass::records::{
    CheckpointRecord, ItemRecord, LedgerKeyRecord, LockRecord, OfficerRecord, Record, SecretRecord,
    VaultConfig, read_format,
};
use libfuzzer_sys::fuzz_target;

fn round_trip<R: Record + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(r) = R::decode(data) {
        let again = R::decode(&r.encode().expect("a decoded record encodes"))
            .expect("an encoded record decodes");
        assert_eq!(r, again, "{} record changed on a round trip", R::NAME);
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = read_format(data);
    round_trip::<VaultConfig>(data);
    round_trip::<OfficerRecord>(data);
    round_trip::<SecretRecord>(data);
    round_trip::<ItemRecord>(data);
    round_trip::<LockRecord>(data);
    round_trip::<CheckpointRecord>(data);
    // No PartialEq: it holds the ledger's secret key.
    if let Ok(r) = LedgerKeyRecord::decode(data) {
        let again = LedgerKeyRecord::decode(&r.encode().expect("encodes")).expect("decodes");
        assert!(
            r.tsk == again.tsk,
            "ledger key record changed on a round trip"
        );
    }
});
