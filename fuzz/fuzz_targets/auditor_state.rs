//! The auditor's state file (`src/audit/state.rs`), loaded and then used
//! to verify the fixture ledger as `ledger verify --state FILE` does. A
//! state the ledger passes against is rewritten to the ledger's own.
#![no_main]

use breakglass::audit::{self, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = breakglass_fuzz::scratch("state");
    let path = dir.join("state.json");
    std::fs::write(&path, data).expect("write the state file");
    if State::load(&path).is_err() {
        return;
    }
    let source = breakglass_fuzz::fixture().source();
    let opts = audit::Options {
        state_path: Some(path.clone()),
        ..Default::default()
    };
    if let Ok(report) = audit::verify(&source, &opts) {
        let saved = State::load(&path)
            .expect("a written state loads")
            .expect("a state was written");
        assert_eq!(
            saved.size, report.entries,
            "the saved state is not the ledger's"
        );
    }
});
