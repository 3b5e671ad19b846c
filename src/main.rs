//! The `breakglass` command: parses arguments, reads secrets from the
//! terminal or (with `--batch`) stdin, and calls the library. No vault logic
//! lives here.

mod cli;

use breakglass::harden::memory;

/// Every freed heap block is zeroed first (I5): the buffers of the OpenPGP
/// and serialization layers hold secrets the secret types never see.
#[global_allocator]
static ALLOCATOR: memory::ZeroizeOnFree = memory::ZeroizeOnFree;

fn main() {
    // Said once, before any secret exists and before the console could
    // take the screen.
    let lock_refused = match memory::probe_lock() {
        Ok(()) => false,
        Err(why) => {
            eprintln!(
                "breakglass: warning: secrets cannot be locked in memory ({why}); the system may write them to swap"
            );
            true
        }
    };
    let code = cli::run();
    if !lock_refused {
        if let Some(why) = memory::lock_failure() {
            eprintln!(
                "breakglass: warning: some secrets could not be locked in memory ({why}); the system may have written them to swap"
            );
        }
    }
    // Test-only: count the secrets the command left in this process's
    // memory.
    #[cfg(all(feature = "testing", target_os = "linux"))]
    breakglass::harden::leftovers::scan_if_asked();
    std::process::exit(code);
}
