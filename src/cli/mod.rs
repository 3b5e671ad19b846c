//! Command-line shell over the library.

mod args;
mod commands;
mod doctor;
mod input;
mod lifecycle;
mod verify;

use std::io::Write;

use clap::FromArgMatches;

use args::Cli;

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    install_panic_hook();
    // I5: a crash must not write the vault key or an item to disk.
    if !breakglass::harden::disable_core_dumps() {
        eprintln!(
            "breakglass: warning: could not disable core dumps; a crash could write secrets to disk"
        );
    }
    let cli = match args::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    // Said once a command will run (not for `--help`), before any secret
    // exists and before the console could take the screen.
    let lock_refused = match breakglass::harden::memory::probe_lock() {
        Ok(()) => false,
        Err(why) => {
            eprintln!(
                "breakglass: warning: secrets cannot be locked in memory ({why}); the system may write them to swap"
            );
            true
        }
    };
    let code = run_command(cli);
    // Nothing typed ahead or left of a paste may reach the shell.
    input::discard_terminal_input();
    if !lock_refused {
        if let Some(why) = breakglass::harden::memory::lock_failure() {
            eprintln!(
                "breakglass: warning: some secrets could not be locked in memory ({why}); the system may have written them to swap"
            );
        }
    }
    code
}

fn run_command(cli: Cli) -> i32 {
    match commands::dispatch(cli) {
        Ok(code) => code,
        // The reader of stdout went away (`list | head`): a normal end.
        // Commands that changed the vault have said so on stderr.
        Err(e) if e.is::<commands::StdoutClosed>() => 0,
        Err(e) => {
            let code = exit_code(&e);
            let prefix = if code == 3 {
                "ledger verification failed: "
            } else {
                ""
            };
            eprintln!("breakglass: {prefix}{}", one_line(&e));
            code
        }
    }
}

/// Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 ledger verification
/// failed.
fn exit_code(e: &anyhow::Error) -> i32 {
    if let Some(err) = e.downcast_ref::<breakglass::Error>() {
        return err.exit_code();
    }
    if e.downcast_ref::<commands::Usage>().is_some() {
        return 2;
    }
    if e.downcast_ref::<breakglass::audit::Failure>().is_some() {
        return 3;
    }
    1
}

/// Errors are one line: the outermost message and its causes, joined.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

/// Clap's usage errors, cut to their first line (the detail is in --help).
fn clap_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            e.exit_code()
        }
        _ => {
            eprintln!(
                "breakglass: {} (see --help)",
                condense_clap(&e.render().to_string())
            );
            2
        }
    }
}

/// Clap's multi-line message as one line: its text (including lines that
/// name missing arguments, and values that held a line break) without the
/// usage and "for more information" boilerplate.
fn condense_clap(rendered: &str) -> String {
    let text: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    let joined = text.join(" ");
    let joined = joined.strip_prefix("error: ").unwrap_or(&joined);
    if joined.is_empty() {
        "invalid arguments".to_string()
    } else {
        joined.to_string()
    }
}

/// A panic prints where it happened and nothing of its payload, which could
/// in principle hold data (I5). If the console or a reveal had taken the
/// terminal, it is given back first (and only then: no terminal escapes
/// reach a stdout that is a pipe or a file).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        breakglass::tui::restore_terminal();
        let loc = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "breakglass: internal error{loc}; nothing was released by the failed step. Please report this."
        );
    }));
}
