//! A whole export bundle directory (`src/audit/bundle_source.rs`): entries,
//! checkpoint, its signature, the ledger certificate and the officers'
//! certificates, written to a scratch directory and verified as
//! `ledger verify --bundle` does. Input: a packed bundle (see the lib).
#![no_main]

use breakglass::audit::{self, BundleSource};
use breakglass_fuzz::Packed;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let packed = Packed::parse(data);
    let dir = breakglass_fuzz::scratch("bundle");
    packed.write_dir(&dir).expect("write the bundle");
    if let Ok(source) = BundleSource::new(&dir) {
        let _ = audit::verify(&source, &audit::Options::default());
    }
});
