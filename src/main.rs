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
    let code = cli::run();
    // Test-only: count the secrets the command left in this process's
    // memory.
    #[cfg(all(feature = "testing", target_os = "linux"))]
    breakglass::harden::leftovers::scan_if_asked();
    std::process::exit(code);
}
