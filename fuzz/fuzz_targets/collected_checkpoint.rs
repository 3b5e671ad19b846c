//! A checkpoint collected off the machine (`ledger verify --checkpoint
//! FILE`, `src/audit/collected.rs`): an alert event, a signed note, or a
//! body with `FILE.asc` beside it. Verified against the fixture ledger.
//!
//! Input: the file \0 the `.asc` beside it (absent when there is no NUL).
#![no_main]

use breakglass::audit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = breakglass_fuzz::scratch("collected");
    let file = dir.join("checkpoint");
    let (content, asc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    std::fs::write(&file, content).expect("write the collected checkpoint");
    if let Some(asc) = asc {
        std::fs::write(dir.join("checkpoint.asc"), asc).expect("write its signature");
    }
    let source = breakglass_fuzz::fixture().source();
    let _ = audit::verify(
        &source,
        &audit::Options {
            checkpoints: vec![file],
            ..Default::default()
        },
    );
});
