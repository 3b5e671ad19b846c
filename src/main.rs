//! The `breakglass` command: parses arguments, reads secrets from the
//! terminal or (with `--batch`) stdin, and calls the library. No vault logic
//! lives here.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
