//! One function per command. Each opens the vault, gathers input, calls the
//! library and prints the outcome.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use breakglass::alerts::DeliveryReport;
use breakglass::crypto::KdfParams;
use breakglass::records::SecretKind;
use breakglass::vault::{CeremonyKind, CeremonyPlan, Displayed, InitOptions, NewOfficer};
use breakglass::{Passphrase, Vault, ledger};

use super::args::{
    AlertsCommand, Cli, Command, DepositArgs, InitArgs, Kind, LedgerCommand, OfficerCommand,
    RekeyArgs, ReleaseArgs,
};
use super::input::Input;

/// A usage error found after parsing (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Stdout's reader went away (EPIPE, as in `list | head`): what was being
/// printed has nowhere to go. A read-only command ends normally (exit 0);
/// one that changed the vault says so on stderr instead ([`report`]).
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed")]
pub struct StdoutClosed;

/// A failed write to stdout: a closed pipe is [`StdoutClosed`], anything
/// else an error. (`println!` panics on both.)
fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        StdoutClosed.into()
    } else {
        anyhow::Error::new(e).context("cannot write to stdout")
    }
}

/// Writes one line to stdout (line-buffered, so it is flushed here and a
/// closed pipe shows at once).
pub(super) fn out_line(args: std::fmt::Arguments<'_>) -> Result<()> {
    let mut o = std::io::stdout().lock();
    o.write_fmt(args)
        .and_then(|()| o.write_all(b"\n"))
        .map_err(stdout_error)
}

/// The terminal's width when stdout is one (text is then wrapped at words
/// to it, never cut mid-word by the terminal); `None` in a pipe, where
/// each line stays whole for scripts.
fn terminal_width() -> Option<usize> {
    static WIDTH: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(|| {
        std::io::stdout()
            .is_terminal()
            .then(|| crossterm::terminal::size().ok())
            .flatten()
            // A terminal that gives no size (0 columns) is not wrapped.
            .filter(|&(w, _)| w > 0)
            .map(|(w, _)| usize::from(w).max(40))
    })
}

/// Writes text to stdout: on a terminal, each of its lines wrapped at words
/// to the terminal's width, the lines a wrap adds indented by `indent`
/// columns (or by the line's own indentation, if deeper). Its own line
/// breaks and indentation are kept.
pub(super) fn out_words(text: &str, indent: usize) -> Result<()> {
    use breakglass::tui::widgets::wrap;
    for line in text.split('\n') {
        let Some(width) = terminal_width().filter(|&w| line.chars().count() > w) else {
            out_line(format_args!("{line}"))?;
            continue;
        };
        let body = line.trim_start_matches(' ');
        let lead = &line[..line.len() - body.len()];
        // The first line at the whole width, the rest after the indent.
        let head = wrap(body, width.saturating_sub(lead.len()).max(1)).swap_remove(0);
        out_line(format_args!("{lead}{head}"))?;
        let rest = body[head.len()..].trim_start();
        if rest.is_empty() {
            continue;
        }
        let pad = " ".repeat(indent.max(lead.len()).min(width / 2));
        for l in wrap(rest, width - pad.len()) {
            out_line(format_args!("{pad}{l}"))?;
        }
    }
    Ok(())
}

/// `println!` that returns [`StdoutClosed`] instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        out_line(format_args!($($arg)*))?
    };
}

/// Prints the report of a change that is already committed, wrapped to a
/// terminal's width. If stdout was closed, the first line goes to stderr
/// instead, so the change is still reported truthfully, and the command
/// succeeds.
pub(super) fn report(lines: &[String]) -> Result<()> {
    report_as(lines, true)
}

/// [`report`] for JSON: never wrapped, so it stays JSON on a terminal too.
pub(super) fn report_json(v: &serde_json::Value) -> Result<()> {
    report_as(&[serde_json::to_string_pretty(v)?], false)
}

fn report_as(lines: &[String], wrapped: bool) -> Result<()> {
    for l in lines {
        let written = if wrapped {
            out_words(l, 2)
        } else {
            out_line(format_args!("{l}"))
        };
        match written {
            Ok(()) => {}
            Err(e) if e.is::<StdoutClosed>() => {
                let first = lines.first().map(String::as_str).unwrap_or_default();
                eprintln!("breakglass: {first} (stdout was closed)");
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How long a released item stays on screen.
const REVEAL_TIMEOUT: Duration = Duration::from_secs(60);

pub fn dispatch(cli: Cli) -> Result<i32> {
    let vault_dir = match (&cli.vault, &cli.command) {
        (Some(v), _) => v.clone(),
        // What needs no vault needs no default path either.
        (None, Some(Command::Completions { .. } | Command::Manpages { .. })) => PathBuf::new(),
        (None, _) => default_vault_dir()?,
    };
    let mut input = Input::new(cli.batch);
    breakglass::store::set_lock_wait(cli.wait);
    // What another process is told holds the vault, and how to end it.
    breakglass::store::set_process_role(match &cli.command {
        None | Some(Command::Demo { .. }) => "a console: press q there",
        Some(_) => "a command, perhaps at a prompt: let it finish, or Ctrl-C it there",
    });
    match cli.command {
        None => {
            // The console shows the clock warning and delivers alerts itself.
            // While another process holds the vault for writing, a second
            // console opens read-only beside it.
            let (vault, read_only) = match Vault::open(&vault_dir) {
                Ok(v) => (v, None),
                Err(breakglass::Error::InUse(holder)) => {
                    // Its reads wait briefly: the writer may be busy.
                    breakglass::store::set_lock_wait(cli.wait.min(Duration::from_secs(1)));
                    let holder = holder.unwrap_or_else(|| "another breakglass process".into());
                    (Vault::open_reader(&vault_dir)?, Some(holder))
                }
                Err(e) => return Err(e.into()),
            };
            let options = breakglass::tui::Options {
                read_only,
                ..Default::default()
            };
            let end = breakglass::tui::run(vault, options)?;
            Ok(console_exit(end))
        }
        Some(Command::Init(args)) => init(&vault_dir, &mut input, args),
        Some(Command::Deposit(args)) => deposit(&vault_dir, &mut input, args),
        Some(Command::List { json }) => list(&vault_dir, json),
        Some(Command::Status { json }) => status(&vault_dir, json),
        Some(Command::Release(args)) => release(&vault_dir, &mut input, args),
        Some(Command::Ledger(LedgerCommand::Show { json })) => ledger_show(&vault_dir, json),
        Some(Command::Ledger(LedgerCommand::Verify(args))) => {
            super::verify::ledger_verify(&vault_dir, args)
        }
        Some(Command::Alerts(cmd)) => alerts(&vault_dir, &mut input, cmd),
        Some(Command::Ledger(LedgerCommand::Export { dir })) => ledger_export(&vault_dir, &dir),
        Some(Command::Demo { dir }) => demo(dir),
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Doctor { json }) => super::doctor::doctor(&vault_dir, json),
        Some(Command::Manpages { dir }) => manpages(&dir),
        Some(Command::Backup { dest }) => {
            let mut vault = open_vault(&vault_dir)?;
            let r = vault.backup(&dest)?;
            report(&[format!(
                "Backed up {} to {} ({}; the last is the backup entry).",
                vault_dir.display(),
                dest.display(),
                count(r.entries, "entry", "entries")
            )])?;
            Ok(0)
        }
        Some(Command::Restore {
            backup,
            replay,
            checkpoints,
        }) => {
            let (restored, r) = Vault::restore(
                &backup,
                &vault_dir,
                replay.as_deref(),
                &checkpoints,
                std::sync::Arc::new(breakglass::clock::SystemClock::default()),
            )?;
            let mut lines = vec![format!(
                "Restored {} into {}: {} from the backup, {} replayed; ledger entry {}.",
                backup.display(),
                vault_dir.display(),
                count(r.backup_entries, "entry", "entries"),
                count(r.replayed, "entry", "entries"),
                r.seq
            )];
            for o in &r.passphrase_changes {
                lines.push(format!(
                    "{o} changed their passphrase after the backup: their old one applies again; change it again."
                ));
            }
            if let (Some(e), false) = (&r.evidence, r.gap) {
                lines.push(format!(
                    "The restored ledger reaches the checkpoint collected off this machine ({}, size {}): releases are allowed.",
                    e.file.display(),
                    e.size
                ));
            }
            if let Some(o) = &r.origin {
                lines.push(format!(
                    "From this restore on, its checkpoints are signed as {o}: a new log to witnesses and alert receivers (tell them; docs/LEDGER.md §5.1)."
                ));
            }
            // A copy restored for a drill or a test still carries the
            // production hook: say so before its first event goes out.
            let hook = restored.alert_status().ok().and_then(|a| a.hook);
            drop(restored);
            if let Some(h) = hook {
                lines.push(format!(
                    "The restored vault keeps the alert hook `{}` (set by {}, ledger entry {}): from its next command on, its events go to that receiver. If this copy is a drill or a test, clear the hook first: breakglass --vault {} alerts clear --officer O (the clearing itself still goes through that hook, once, so the receiver sees the copy end there).",
                    h.command_line(),
                    h.set_by,
                    h.seq,
                    shell_quote(&vault_dir.display().to_string())
                ));
            }
            report(&lines)?;
            if r.gap {
                let after = if replay.is_some() {
                    "the bundle"
                } else {
                    "the backup"
                };
                let why = match &r.beyond {
                    Some(b) => format!(
                        "checkpoint {} (size {}) is beyond the restored ledger's {}: entries after {after} are missing",
                        b.file.display(),
                        b.size,
                        count(r.seq, "entry", "entries"),
                    ),
                    None => format!(
                        "nothing collected off this machine (--checkpoint FILE: the latest alert event or a witness's checkpoint) shows that nothing happened after {after}"
                    ),
                };
                eprintln!(
                    "breakglass: WARNING: {why}. Anything released since would be released again, so releases and ceremonies are refused until a quorum runs `breakglass acknowledge-gap`, having checked the auditors' latest export."
                );
            }
            Ok(0)
        }
        Some(Command::AcknowledgeGap { officers }) => {
            let mut vault = open_vault(&vault_dir)?;
            let mut passes = Vec::new();
            vault.let_go();
            for o in &officers {
                passes.push(input.passphrase(o)?);
            }
            let pairs: Vec<(&str, &Passphrase)> = officers
                .iter()
                .map(String::as_str)
                .zip(passes.iter())
                .collect();
            let seq = vault.acknowledge_gap(&pairs)?;
            report(&[format!(
                "The gap is acknowledged (ledger entry {seq}); releases work again."
            )])?;
            Ok(0)
        }
        Some(Command::Officer(OfficerCommand::Add { name, officers })) => {
            let plan = CeremonyPlan {
                kind: CeremonyKind::OfficerAdd,
                add: vec![name],
                remove: vec![],
                threshold: None,
            };
            ceremony(&vault_dir, &mut input, plan, &officers)
        }
        Some(Command::Officer(OfficerCommand::Remove { name, officers })) => {
            let plan = CeremonyPlan {
                kind: CeremonyKind::OfficerRemove,
                add: vec![],
                remove: vec![name],
                threshold: None,
            };
            ceremony(&vault_dir, &mut input, plan, &officers)
        }
        Some(Command::Rekey(RekeyArgs {
            threshold,
            add,
            remove,
            officers,
        })) => {
            let plan = CeremonyPlan {
                kind: CeremonyKind::Rekey,
                add,
                remove,
                threshold,
            };
            ceremony(&vault_dir, &mut input, plan, &officers)
        }
        Some(Command::Drill {
            officers,
            release: true,
        }) => super::lifecycle::drill_release(&vault_dir, &mut input, &officers),
        Some(Command::Drill { officers, .. }) => {
            let [officer] = officers.as_slice() else {
                return Err(Usage(
                    "a passphrase drill is for one --officer; for a whole release with a quorum, add --release".into(),
                )
                .into());
            };
            let vault = open_vault(&vault_dir)?;
            vault.let_go();
            let pass = input.passphrase(officer)?;
            let seq = vault.drill(officer, &pass)?;
            report(&[format!(
                "{officer}'s passphrase unlocks their share; drill logged as ledger entry {seq}."
            )])?;
            Ok(0)
        }
        Some(Command::Rotate { name, officer }) => {
            super::lifecycle::rotate(&vault_dir, &mut input, &name, &officer)
        }
        Some(Command::Retire { name, officers }) => {
            super::lifecycle::retire(&vault_dir, &mut input, &name, &officers)
        }
        Some(Command::Review {
            seq,
            class,
            note,
            incident,
            officer,
        }) => super::lifecycle::review(
            &vault_dir,
            &mut input,
            seq,
            class,
            &note,
            incident.as_deref(),
            &officer,
        ),
        Some(Command::Check { json }) => super::lifecycle::check(&vault_dir, json),
        Some(Command::Passphrase { officer }) => {
            let mut vault = open_vault(&vault_dir)?;
            vault.let_go();
            let old = input.passphrase(&officer)?;
            let new = input.new_passphrase(&officer)?;
            let seq = vault.change_passphrase(&officer, &old, &new)?;
            report(&[format!(
                "{officer}'s passphrase changed; logged as ledger entry {seq}."
            )])?;
            Ok(0)
        }
    }
}

/// Opens the vault, warning on stderr when the system clock disagrees with
/// the ledger (I16): the next write records the jump. When the command
/// ends, pending alert events are delivered (see [`Opened`]).
pub(super) fn open_vault(dir: &std::path::Path) -> Result<Opened> {
    let vault = Vault::open(dir)?;
    if let Some(w) = vault.clock_warning() {
        eprintln!("breakglass: warning: {w}");
    }
    Ok(Opened {
        vault,
        background: None,
    })
}

/// Opens the vault for reading only (`list`, `status`, the ledger
/// commands): these work while the console or another writer has it, and
/// deliver no alerts. Warns like [`open_vault`] when the clock disagrees
/// with the ledger.
pub(super) fn open_reader(dir: &std::path::Path) -> Result<Vault> {
    let vault = Vault::open_reader(dir)?;
    if let Some(w) = vault.clock_warning() {
        eprintln!("breakglass: warning: {w}");
    }
    Ok(vault)
}

/// The most a command waits for alert delivery at its end (I17); what is
/// left stays queued for the next command or `alerts retry`.
const ALERT_BUDGET: Duration = Duration::from_secs(1);
/// How long `alerts retry` may deliver for.
const RETRY_BUDGET: Duration = Duration::from_secs(600);

/// An open vault that delivers pending alert events when the command
/// ends, whether it succeeded or failed: after every flush, within
/// [`ALERT_BUDGET`]. A failure is one warning line; the events stay queued.
pub(super) struct Opened {
    vault: Vault,
    /// A delivery started early (during a reveal), joined at the end.
    background: Option<std::thread::JoinHandle<breakglass::Result<DeliveryReport>>>,
}

impl std::ops::Deref for Opened {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        &self.vault
    }
}

impl std::ops::DerefMut for Opened {
    fn deref_mut(&mut self) -> &mut Vault {
        &mut self.vault
    }
}

impl Opened {
    /// Starts delivering in the background, so that the alert for a
    /// release goes out while the item is on screen, never before it.
    fn deliver_in_background(&mut self) {
        if self.background.is_none() {
            let courier = self.vault.courier();
            self.background = Some(std::thread::spawn(move || courier.deliver(ALERT_BUDGET)));
        }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let start = std::time::Instant::now();
        if let Some(h) = self.background.take() {
            let _ = h.join();
        }
        // The command has said why it stopped; delivery would only fail too.
        if self.vault.store().displaced() {
            return;
        }
        let budget = ALERT_BUDGET.saturating_sub(start.elapsed());
        match self.vault.deliver_alerts(budget) {
            Ok(r) => {
                if let Some(e) = &r.error {
                    eprintln!(
                        "breakglass: warning: alert not delivered ({e}); {} pending, retried at the next command or with `breakglass alerts retry`",
                        r.pending
                    );
                } else if r.pending > 0 && r.out_of_time {
                    eprintln!(
                        "breakglass: warning: {} alert events pending; they are retried at the next command or with `breakglass alerts retry`",
                        r.pending
                    );
                }
            }
            Err(e) => eprintln!("breakglass: warning: alert delivery failed: {e}"),
        }
    }
}

/// `$XDG_DATA_HOME/breakglass/vault`, or `~/.local/share/breakglass/vault`.
fn default_vault_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("breakglass").join("vault"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Usage("no --vault given and neither XDG_DATA_HOME nor HOME is set".into())
        })?;
    Ok(PathBuf::from(home).join(".local/share/breakglass/vault"))
}

fn init(dir: &std::path::Path, input: &mut Input, args: InitArgs) -> Result<i32> {
    let kdf = KdfParams::new(args.kdf_memory_mib, args.kdf_iterations)?;
    // Validate everything the vault will check before asking for a secret.
    breakglass::names::threshold(args.threshold, args.officers.len())?;
    let mut seen = std::collections::HashSet::new();
    for o in &args.officers {
        if !seen.insert(o) {
            return Err(Usage(format!("officer {o} is named twice")).into());
        }
    }
    breakglass::store::check_new_vault_path(dir)?;
    let unanimous = breakglass::names::unanimity_warning(args.threshold, args.officers.len());
    // At a terminal, before anyone types a passphrase; in batch mode once
    // it succeeded, so that a refusal stays one line.
    if let (Some(w), false) = (&unanimous, input.is_batch()) {
        eprintln!("breakglass: warning: {w}.");
    }
    let mut officers = Vec::new();
    for name in &args.officers {
        let passphrase = input.new_passphrase(name)?;
        officers.push(NewOfficer {
            name: name.clone(),
            passphrase,
        });
    }
    if !input.is_batch() {
        eprintln!(
            "Creating the vault (deriving {} officer keys)…",
            officers.len()
        );
    }
    let vault = Vault::init(
        dir,
        InitOptions {
            threshold: args.threshold,
            officers,
            kdf,
        },
    )?;
    let st = vault.status()?;
    if let (Some(w), true) = (&unanimous, input.is_batch()) {
        eprintln!("breakglass: warning: {w}.");
    }
    report(&[
        format!("Created vault {} at {}", st.vault_id, dir.display()),
        format!(
            "  quorum:      {} of {} ({})",
            st.threshold,
            st.officers.len(),
            st.officers.join(", ")
        ),
        format!("  ledger key:  {}", st.ledger_fingerprint),
        format!("  fingerprint: {}", st.fingerprint),
        format!(
            "Give the vault fingerprint to your auditors, on paper or another channel\n\
you trust. With it, they check that they see this vault's ledger:\n  \
breakglass ledger verify --pin {}",
            st.fingerprint
        ),
    ])?;
    Ok(0)
}

fn deposit(dir: &std::path::Path, input: &mut Input, args: DepositArgs) -> Result<i32> {
    let mut vault = open_vault(dir)?;
    let kind = match args.kind {
        Kind::Codes => SecretKind::Codes,
        Kind::Credential => SecretKind::Credential,
    };
    // What the vault's state refuses is said before anyone types a
    // passphrase.
    vault.check_deposit(&args.officer, &args.name, kind)?;
    vault.let_go();
    let pass = input.passphrase(&args.officer)?;
    let session = vault.authenticate(&args.officer, &pass, "deposit", Some(&args.name))?;
    drop(pass);
    vault.let_go();
    let values = match kind {
        SecretKind::Codes => input.codes()?,
        SecretKind::Credential => vec![input.credential()?],
    };
    let policy = breakglass::policy::Policy {
        rotate_within: args.rotate_within,
        reorder_below: args.reorder_below,
        review_within: args.review_within,
        min_interval: args.min_interval,
        hours: args.hours,
    };
    // A later deposit of codes keeps the set's policy unless one is given.
    let given = args.rotate_within.is_some()
        || args.reorder_below.is_some()
        || args.min_interval.is_some()
        || args.hours.is_some()
        || args.review_within != breakglass::policy::DEFAULT_REVIEW_WITHIN;
    let policy = (given || vault.secrets()?.iter().all(|s| s.name != args.name)).then_some(&policy);
    let report = vault.deposit_with_policy(
        &session,
        &args.name,
        kind,
        args.min_approvals,
        policy,
        &values,
    )?;
    drop(values);
    let noun = match (kind, report.added) {
        (SecretKind::Codes, 1) => "code",
        (SecretKind::Codes, _) => "codes",
        (SecretKind::Credential, _) => "credential",
    };
    let line = format!(
        "Deposited {} {noun} into {} ({} in all; ledger entry {}).",
        report.added, args.name, report.total, report.seq
    );
    if args.json {
        let v = serde_json::json!({
            "secret": args.name,
            "kind": kind,
            "added": report.added,
            "total": report.total,
            "entry": report.seq,
        });
        report_json(&v)?;
    } else {
        self::report(&[line])?;
    }
    Ok(0)
}

fn list(dir: &std::path::Path, json: bool) -> Result<i32> {
    let vault = open_reader(dir)?;
    let secrets = vault.secrets()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&secrets)?);
        return Ok(0);
    }
    use breakglass::lifecycle::What;
    let due = vault.due()?;
    if secrets.is_empty() {
        out!("No secrets yet. Deposit some with `breakglass deposit NAME --officer O`.");
        return Ok(0);
    }
    let width = secrets
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out!(
        "{:<width$}  {:<10}  {:>9}  {:>5}  NOTES",
        "NAME",
        "KIND",
        "REMAINING",
        "TOTAL"
    );
    for s in &secrets {
        let mut notes = Vec::new();
        if s.remaining == 0 && s.unconfirmed == 0 {
            notes.push("none left".to_string());
        } else if s.kind == "codes" && s.remaining <= 2 {
            notes.push("few left".to_string());
        }
        if s.unconfirmed > 0 {
            notes.push(format!("{} released but unconfirmed", s.unconfirmed));
        }
        if let Some(k) = s.min_approvals {
            notes.push(format!("needs {k} approvals"));
        }
        // What its releases still owe (`status` has the commands).
        let owed = |what| {
            due.iter()
                .filter(move |d| d.what == what && d.secret.as_deref() == Some(&s.name))
        };
        if let Some(d) = owed(What::Rotation).next() {
            notes.push(
                if d.overdue {
                    "ROTATION OVERDUE"
                } else {
                    "rotate it"
                }
                .to_string(),
            );
        }
        let reviews = owed(What::Review).count();
        if reviews > 0 {
            let late = owed(What::Review).filter(|d| d.overdue).count();
            notes.push(match late {
                0 => format!("{reviews} to review"),
                n => format!("{reviews} to review ({n} OVERDUE)"),
            });
        }
        if owed(What::Reorder).next().is_some() {
            notes.push("below its reorder level".to_string());
        }
        if !s.policy.is_empty() {
            notes.push(s.policy.clone());
        }
        out!(
            "{:<width$}  {:<10}  {:>9}  {:>5}  {}",
            s.name,
            s.kind,
            s.remaining,
            s.total,
            notes.join("; ")
        );
    }
    Ok(0)
}

fn status(dir: &std::path::Path, json: bool) -> Result<i32> {
    // The clock warning is part of the status itself.
    let vault = Vault::open_reader(dir)?;
    let st = vault.status()?;
    if json {
        out!("{}", serde_json::to_string_pretty(&st)?);
        return Ok(0);
    }
    out!("vault        {}", st.vault_id);
    out!("path         {}", dir.display());
    out!("quorum       {} of {}", st.threshold, st.officers.len());
    out!("officers     {}", st.officers.join(", "));
    out!("epoch        {}", st.epoch);
    out!("secrets      {}", st.secrets);
    out!(
        "ledger       {}, root {}",
        count(st.ledger_size, "entry", "entries"),
        st.ledger_root
    );
    out!("fingerprint  {}", st.fingerprint);
    out!("ledger key   {}", st.ledger_fingerprint);
    out!("vault key    {}", st.vault_key_fingerprint);
    for line in argon2_lines(&st) {
        out_words(&line, 13)?;
    }
    if let Some(p) = &st.ledger_problem {
        out_words(
            &format!(
                "LOCKED       {p}: nothing is written until an auditor has run `breakglass ledger verify`"
            ),
            13,
        )?;
    }
    if let Some(p) = &st.locked {
        out_words(
            &format!(
                "LOCKED       {p}: nothing is written; restore the vault from a copy you trust and verify it with --pin"
            ),
            13,
        )?;
    }
    if let Some(w) = &st.clock_warning {
        out_words(&format!("CLOCK        {w}"), 13)?;
    }
    if let Some(w) = &st.alerts_warning {
        out_words(&format!("ALERTS       {w}"), 13)?;
    }
    if let Some(r) = st.gap {
        out_words(
            &format!("GAP          {}", breakglass::vault::gap_warning(r)),
            13,
        )?;
    }
    for d in &st.due {
        // The tag is padded to the 13 columns of the other labels.
        let tag = if d.overdue { "OVERDUE" } else { "TODO" };
        out_words(&format!("{tag:<13}{}", d.words(st.now)), 13)?;
    }
    for (name, secs) in &st.auth_delays {
        out_words(
            &format!(
                "WAIT         {name} must wait {secs} s before authenticating again (wrong passphrases in a row)"
            ),
            13,
        )?;
    }
    Ok(0)
}

/// `status`'s Argon2 lines: every officer's settings, officers who share
/// them on one line, so a demo-weak vault (or one weak officer) shows; then
/// the epoch's, which new passphrases get, if no officer has them.
fn argon2_lines(st: &breakglass::vault::Status) -> Vec<String> {
    let weak = |k: &KdfParams| {
        if k.is_weak() {
            " (below RFC 9106's 64 MiB, 3 passes: a demo or test vault?)"
        } else {
            ""
        }
    };
    let mut groups: Vec<(&KdfParams, Vec<&str>)> = Vec::new();
    for (name, k) in &st.officer_kdf {
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, names)) => names.push(name),
            None => groups.push((k, vec![name])),
        }
    }
    let mut out: Vec<String> = groups
        .iter()
        .map(|(k, names)| {
            format!(
                "argon2       {}: {}{}",
                names.join(", "),
                k.describe(),
                weak(k)
            )
        })
        .collect();
    match &st.kdf {
        Some(k) if groups.iter().any(|(g, _)| *g == k) => {}
        Some(k) => out.push(format!(
            "argon2       new passphrases: {}{}",
            k.describe(),
            weak(k)
        )),
        None => out.push(
            "argon2       new passphrases: unknown (the epoch's ledger entry is unreadable)".into(),
        ),
    }
    out
}

fn release(dir: &std::path::Path, input: &mut Input, args: ReleaseArgs) -> Result<i32> {
    if args.json && !input.is_batch() {
        return Err(Usage(
            "release --json writes the release, item included, to stdout: use it with --batch"
                .into(),
        )
        .into());
    }
    // I3: without --batch the item is shown only on a terminal screen.
    if !input.is_batch() && !std::io::stdout().is_terminal() {
        return Err(Usage(
            "release shows the item on the terminal, and stdout is not one; use --batch to write it to stdout".into(),
        )
        .into());
    }
    let mut vault = open_vault(dir)?;
    let req = vault.begin_release(&args.name, &args.reason)?;
    // An item written to a closed stdout or a device (/dev/null, /dev/zero)
    // would be logged as delivered and reach nobody: refuse, and log the
    // refusal, before anything is asked or used.
    if input.is_batch() {
        if let Some(why) = breakglass::harden::stdout_unusable() {
            let why = format!(
                "release --batch writes the item to stdout, and {why}: nobody would get it; nothing was released"
            );
            vault.refuse_release(req, &why)?;
            return Err(Usage(why).into());
        }
    }
    // Too few officers is refused with the reason, in one line.
    if let Some(why) = req
        .extra_approval()
        .filter(|_| args.officers.len() >= req.needed())
    {
        eprintln!("breakglass: {} {why} ({} in all).", args.name, req.needed());
    }
    let officers: Vec<&str> = args.officers.iter().map(String::as_str).collect();
    Ok(approve_and_show(&mut vault, input, req, &officers, args.json)?.code)
}

/// What [`approve_and_show`] left: the released item (its value still
/// held), its display entry, and the exit status.
pub(super) struct Shown {
    pub released: breakglass::vault::Released,
    pub displayed: Option<u64>,
    pub code: i32,
}

/// The officers approve `req` in turn, the release completes and the item
/// is shown (stdout with --batch, else a cleared screen until confirmed),
/// and how its display ended is recorded.
pub(super) fn approve_and_show(
    vault: &mut Opened,
    input: &mut Input,
    mut req: breakglass::vault::ReleaseRequest,
    officers: &[&str],
    json: bool,
) -> Result<Shown> {
    vault.check_officers(&req, officers)?;
    for officer in officers {
        if !input.is_batch() {
            let st = vault.statement(&req, officer);
            eprintln!("{officer} approves: {}", serde_json::to_string_pretty(&st)?);
        }
        let store = vault.store().clone();
        let approved = with_retries(input, &store, officer, |pass| {
            vault.approve(&mut req, officer, pass)
        });
        if let Err(e) = approved {
            // The request is abandoned: its approvals are discarded and the
            // abandonment is logged (I7), then the cause is reported.
            if !req.approved_by().is_empty() {
                vault.cancel_release(req)?;
            }
            return Err(e);
        }
    }
    let mut released = vault.complete_release(req)?;
    // Flushed: the release's alert may go out, but never delays the item.
    vault.deliver_in_background();
    if input.is_batch() {
        let written = if json {
            super::input::write_item_json(&released)
        } else {
            super::input::write_item(&released.value)
        };
        // Delivered only once stdout took it; otherwise it stays
        // re-releasable (I10).
        written.context("cannot write the item to stdout; it stays re-releasable")?;
        let displayed = vault.record_display(&mut released, Displayed::Stdout)?;
        return Ok(Shown {
            released,
            displayed: Some(displayed),
            code: 0,
        });
    }
    let end = breakglass::tui::reveal(&released, REVEAL_TIMEOUT).with_context(|| {
        format!(
            "the terminal could not show the item (released as ledger entry {}, never displayed; a new quorum can release it again)",
            released.seq
        )
    })?;
    let how = end.how;
    let displayed = vault.record_display(&mut released, how)?;
    if end.interrupted {
        // Ctrl-C: the officers may not have read it. Say what happened
        // to the item, and fail, so no script takes this for success.
        eprintln!(
            "breakglass: interrupted: {} #{} was released (ledger entry {}) and cleared without confirmation; a new quorum can release it again",
            released.secret,
            released.index + 1,
            released.seq
        );
        return Ok(Shown {
            released,
            displayed: Some(displayed),
            code: 1,
        });
    }
    eprintln!(
        "Released {} #{} ({}); ledger entry {}.",
        released.secret,
        released.index + 1,
        match how {
            Displayed::Confirmed => "confirmed seen",
            Displayed::TimedOut => "cleared by timeout, not confirmed",
            Displayed::Dismissed => "dismissed, not confirmed",
            Displayed::Stdout => "written to stdout",
        },
        released.seq
    );
    if released.kind == SecretKind::Credential {
        eprintln!(
            "Rotate it now: change it at its system, then run `breakglass rotate {}` with the new value.",
            released.secret
        );
    }
    Ok(Shown {
        released,
        displayed: Some(displayed),
        code: 0,
    })
}

/// Wrong passphrases typed at a terminal may be retried.
const TERMINAL_ATTEMPTS: usize = 3;

/// A ceremony: the approvers authenticate and sign, then the new officers
/// set their passphrases, then the new epoch is written in one
/// transaction.
fn ceremony(
    dir: &std::path::Path,
    input: &mut Input,
    plan: CeremonyPlan,
    officers: &[String],
) -> Result<i32> {
    let mut vault = open_vault(dir)?;
    let before = vault.status()?;
    let mut req = vault.begin_ceremony(&plan)?;
    let named: Vec<&str> = officers.iter().map(String::as_str).collect();
    vault.check_ceremony_officers(&req, &named)?;
    if !input.is_batch() {
        eprintln!(
            "now:      {} of {} ({})",
            before.threshold,
            before.officers.len(),
            before.officers.join(", ")
        );
        eprintln!(
            "proposed: {} of {} ({})",
            req.threshold(),
            req.officers().len(),
            req.officers().join(", ")
        );
        eprintln!(
            "carried:  {}",
            breakglass::tui::ceremony::carried_summary(req.carried())
        );
    }
    // As at init: at a terminal before anyone signs, in batch mode once
    // the ceremony completed.
    let unanimous =
        breakglass::names::unanimity_warning(req.threshold().into(), req.officers().len());
    if let (Some(w), false) = (&unanimous, input.is_batch()) {
        eprintln!("breakglass: warning: {w}.");
    }
    for officer in officers {
        if !input.is_batch() {
            let st = vault.ceremony_statement(&req, officer);
            eprintln!("{officer} approves: {}", serde_json::to_string_pretty(&st)?);
        }
        let store = vault.store().clone();
        let approved = with_retries(input, &store, officer, |pass| {
            vault.approve_ceremony(&mut req, officer, pass)
        });
        if let Err(e) = approved {
            if !req.approved_by().is_empty() {
                vault.cancel_ceremony(req)?;
            }
            return Err(e);
        }
    }
    let mut new = Vec::new();
    vault.let_go();
    for name in plan.add.iter() {
        new.push((name.clone(), input.new_passphrase(name)?));
    }
    if !input.is_batch() {
        eprintln!("Re-encrypting the vault for the new epoch…");
    }
    let r = vault.complete_ceremony(req, &new)?;
    if let (Some(w), true) = (&unanimous, input.is_batch()) {
        eprintln!("breakglass: warning: {w}.");
    }
    let mut lines = vec![
        format!(
            "Epoch {}: {} of {} ({}); ledger entry {}.",
            r.epoch,
            r.threshold,
            r.officers.len(),
            r.officers.join(", "),
            r.seq
        ),
        format!(
            "Re-encrypted {} to the new vault key.",
            count(r.reencrypted as u64, "item", "items")
        ),
    ];
    if !r.delivered.is_empty() {
        lines.push(format!(
            "{} receive{} their new share at their next authentication (a drill will do).",
            r.delivered.join(", "),
            if r.delivered.len() == 1 { "s" } else { "" }
        ));
    }
    report(&lines)?;
    Ok(0)
}

/// Runs `approve` with the officer's passphrase: at a terminal a wrong one
/// (logged each time) may be typed again; in batch mode there is no second
/// try.
fn with_retries(
    input: &mut Input,
    store: &breakglass::store::Store,
    officer: &str,
    mut approve: impl FnMut(&Passphrase) -> breakglass::Result<()>,
) -> Result<()> {
    let attempts = if input.is_batch() {
        1
    } else {
        TERMINAL_ATTEMPTS
    };
    for attempt in 1..=attempts {
        // Readers may open the vault while the officer types.
        store.let_go();
        let pass: Passphrase = input.passphrase(officer)?;
        match approve(&pass) {
            Err(breakglass::Error::BadPassphrase(_)) if attempt < attempts => {
                eprintln!(
                    "Wrong passphrase for {officer} (attempt {attempt} of {attempts}, logged); try again."
                );
            }
            other => return Ok(other?),
        }
    }
    unreachable!("the last attempt returns")
}

fn ledger_show(dir: &std::path::Path, json: bool) -> Result<i32> {
    let vault = open_reader(dir)?;
    // Each release is followed by what became of it (display, review,
    // rotation), which later entries say.
    let life = if json { None } else { Some(vault.lifecycle()?) };
    let stdout = std::io::stdout();
    // On a terminal, an entry too wide for it gives its details on the
    // lines below, wrapped at words; in a pipe each entry stays one line.
    let width = terminal_width();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for e in vault.ledger_entries() {
        let (seq, bytes) = e?;
        if json {
            out.write_all(&bytes)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(stdout_error)?;
        } else {
            let m = ledger::parse_entry(&bytes)?;
            for line in entry_lines(seq, &m, width) {
                writeln!(out, "{line}").map_err(stdout_error)?;
            }
            if let Some(r) = life.as_ref().and_then(|l| l.releases.get(&seq)) {
                writeln!(out, "      -> {}", r.links()).map_err(stdout_error)?;
            }
        }
    }
    out.flush().map_err(stdout_error)?;
    Ok(0)
}

/// One entry of `ledger show`: its summary line, or, when that is wider
/// than `width`, the line up to the actor and the details below it,
/// indented and wrapped at words.
fn entry_lines(
    seq: u64,
    m: &serde_json::Map<String, serde_json::Value>,
    width: Option<usize>,
) -> Vec<String> {
    let line = ledger::summary_line(seq, m);
    let Some(width) = width.filter(|&w| line.chars().count() > w) else {
        return vec![line];
    };
    let detail = ledger::summary_detail(m);
    let head = line
        .strip_suffix(&detail)
        .unwrap_or(&line)
        .trim_end()
        .to_string();
    std::iter::once(head)
        .chain(
            breakglass::tui::widgets::wrap(&detail, width - 8)
                .into_iter()
                .map(|l| format!("        {l}")),
        )
        .collect()
}

fn ledger_export(dir: &std::path::Path, out: &std::path::Path) -> Result<i32> {
    let vault = open_reader(dir)?;
    let n = breakglass::audit::export(vault.store(), &vault.ledger_cert(), out)?;
    let abs = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    // The hints name the files through the directory as it was given, so
    // they work from the current directory.
    let d = shell_quote(&out.display().to_string());
    let file = |f: &str| shell_quote(&out.join(f).display().to_string());
    out!(
        "Exported {} to {}",
        count(n, "entry", "entries"),
        abs.display()
    );
    // Each command on a line of its own, so they can be copied, and the
    // words around them fit 80 columns.
    out!("Verify with:");
    out!("  breakglass ledger verify --bundle {d} --pin FINGERPRINT --state STATE-FILE");
    out!("where FINGERPRINT is the vault fingerprint `init` printed, as the auditors");
    out!("took it down (this vault says its own is:");
    out!("  {})", vault.fingerprint()?);
    out!("or with gpg:");
    out!(
        "  gpg --import {} && gpg --verify {} {}",
        file("ledger-cert.asc"),
        file("checkpoint.asc"),
        file("checkpoint")
    );
    Ok(0)
}

fn alerts(dir: &std::path::Path, input: &mut Input, cmd: AlertsCommand) -> Result<i32> {
    match cmd {
        AlertsCommand::Set { officer, command } => {
            let (program, args) = command
                .split_first()
                .ok_or_else(|| Usage("give the program after `--`".into()))?;
            let search = std::env::var("PATH").ok();
            // Refused before anyone types a passphrase.
            let program = breakglass::alerts::resolve_program(program, search.as_deref())?;
            breakglass::alerts::check_args(args)?;
            let vault = open_vault(dir)?;
            vault.let_go();
            let pass = input.passphrase(&officer)?;
            let session = vault.authenticate(&officer, &pass, "alerts", None)?;
            drop(pass);
            let seq = vault.set_alert_hook(&session, &program, args, None)?;
            let hook = vault.alert_hook()?;
            out!(
                "Alert hook set by {officer}: {} (ledger entry {seq}). Every ledger entry from now on is delivered to it.",
                hook.map(|h| h.command_line()).unwrap_or(program)
            );
            Ok(0)
        }
        AlertsCommand::Clear { officer } => {
            let vault = open_vault(dir)?;
            vault.let_go();
            let pass = input.passphrase(&officer)?;
            let session = vault.authenticate(&officer, &pass, "alerts", None)?;
            drop(pass);
            let seq = vault.clear_alert_hook(&session)?;
            out!(
                "Alert hook cleared by {officer} (ledger entry {seq}); entries are no longer alerted."
            );
            Ok(0)
        }
        AlertsCommand::Status { json } => {
            // A look at the queue, without delivering.
            let vault = Vault::open_reader(dir)?;
            let st = vault.alert_status()?;
            if json {
                out!("{}", serde_json::to_string_pretty(&st)?);
                return Ok(0);
            }
            match (&st.hook, &st.hook_problem) {
                (Some(h), _) => out!(
                    "hook           {} (set by {}, ledger entry {})",
                    h.command_line(),
                    h.set_by,
                    h.seq
                ),
                (None, Some(p)) => out!("hook           NOT RUN: {p}"),
                (None, None) => out!("hook           none (`breakglass alerts set` sets one)"),
            }
            out!("pending        {}", st.pending);
            if let Some(o) = &st.oldest_pending {
                out!("oldest         entry {}: {}", o.seq, o.summary);
            }
            match (&st.state.last_delivered, &st.state.last_delivered_at) {
                (Some(seq), Some(at)) => out!("last delivery  entry {seq} at {at}"),
                _ => out!("last delivery  none"),
            }
            if let (Some(e), Some(at)) = (&st.state.last_error, &st.state.last_error_at) {
                if st.state.error_resolved() {
                    out!("last error     {e} (at {at}; resolved: delivered since)");
                } else {
                    out!("last error     {e} (at {at})");
                }
            }
            if let Some(e) = &st.state.last_stderr {
                out!("last stderr    {e}");
            }
            if let Some(w) = &st.warning {
                out!("WARNING        {w}");
            }
            Ok(0)
        }
        AlertsCommand::Retry => {
            let vault = Vault::open(dir)?;
            let r = vault.deliver_alerts(RETRY_BUDGET)?;
            if r.pending == 0 {
                out!(
                    "Delivered {}; nothing is pending.",
                    count(r.delivered, "alert event", "alert events")
                );
                return Ok(0);
            }
            let why = match (&r.error, r.no_hook) {
                (Some(e), _) => e.clone(),
                (None, true) => "no alert hook is set (`breakglass alerts set`)".into(),
                (None, false) => "out of time".into(),
            };
            Err(anyhow::Error::new(breakglass::Error::Refused(format!(
                "delivered {}, {} still pending: {why}",
                count(r.delivered, "alert event", "alert events"),
                r.pending
            ))))
        }
    }
}

fn demo(dir: Option<PathBuf>) -> Result<i32> {
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "breakglass-demo-{}",
            hex::encode(breakglass::crypto::random_array::<4>())
        )),
    };
    let demo = breakglass::demo::create(&dir)?;
    out!("Demo vault created (throw-away; weak KDF settings for speed):");
    out!("  {}", dir.display());
    out!("It releases with any 2 of these 3 officers:");
    for (name, pass) in &demo.officers {
        out!("  {name:<6} passphrase: {}", pass.expose_secret());
    }
    out!("Secrets: {}", demo.secrets.join(", "));
    let try_lines = demo_commands(&dir, &demo.suggested);
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        // Printed now, the commands would hide behind the console; they
        // come when it closes.
        out!("Opening the console on it; q leaves, and then the commands to try are printed.");
        std::io::stdout().flush().map_err(stdout_error)?;
        let demo_passphrases = demo
            .officers
            .iter()
            .map(|(n, p)| (n.clone(), p.expose_secret().to_string()))
            .collect();
        let end = breakglass::tui::run(
            demo.vault,
            breakglass::tui::Options {
                demo: demo_passphrases,
                select: Some(demo.suggested.clone()),
                read_only: None,
            },
        )?;
        for l in &try_lines {
            out!("{l}");
        }
        return Ok(console_exit(end));
    }
    for l in &try_lines {
        out!("{l}");
    }
    Ok(0)
}

/// The demo's "Try:" block for the vault at `dir`: the vault named once,
/// in `BREAKGLASS_VAULT`, and the long release broken where a shell
/// continues it, so no line wraps at 80 columns but for a long path.
fn demo_commands(dir: &std::path::Path, suggested: &str) -> Vec<String> {
    let v = shell_quote(&dir.display().to_string());
    let exe = std::env::current_exe()
        .map(|p| shell_quote(&p.display().to_string()))
        .unwrap_or_else(|_| "breakglass".into());
    vec![
        String::new(),
        "Try, here or in a second terminal:".into(),
        format!("  export BREAKGLASS_VAULT={v}"),
        format!("  {exe} list"),
        format!("  {exe} release {suggested} \\"),
        "      --reason \"IdP outage drill\" --officer alice --officer bob".into(),
        format!("  {exe} ledger show"),
        format!("  {exe}    # the console"),
        "Readers (list, status, ledger, and a second console, read-only) work".into(),
        "beside an open console; commands that write wait until it is closed.".into(),
    ]
}

/// `completions SHELL`: the script, generated from the command line itself.
fn completions(shell: super::args::CompletionShell) -> Result<i32> {
    use super::args::CompletionShell as S;
    use clap_complete::Shell;
    let shell = match shell {
        S::Bash => Shell::Bash,
        S::Zsh => Shell::Zsh,
        S::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut super::args::command(),
        "breakglass",
        &mut script,
    );
    let mut o = std::io::stdout().lock();
    o.write_all(&script)
        .and_then(|()| o.flush())
        .map_err(stdout_error)?;
    Ok(0)
}

/// `manpages DIR`: breakglass.1 and one page per subcommand
/// (breakglass-ledger-verify.1 …), generated from the command line.
fn manpages(dir: &std::path::Path) -> Result<i32> {
    if !dir.is_dir() {
        return Err(Usage(format!("{}: no such directory", dir.display())).into());
    }
    clap_mangen::generate_to(super::args::command(), dir)
        .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    let n = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
        .count();
    report(&[format!("Wrote {n} man pages into {}.", dir.display())])?;
    Ok(0)
}

/// The console's exit code, with its note on stderr: 1 when it left an
/// item released but not confirmed (Ctrl-C on the reveal); 130 when Ctrl-C
/// cut a release, a ceremony or a drill short, as Ctrl-C at a prompt ends
/// with; 0 otherwise.
fn console_exit(end: breakglass::tui::ConsoleEnd) -> i32 {
    match (end.unconfirmed, end.interrupted) {
        (Some(note), _) => {
            eprintln!("breakglass: {note}");
            1
        }
        (None, Some(note)) => {
            eprintln!("breakglass: {note}");
            130
        }
        (None, None) => 0,
    }
}

/// `1 entry`, `2 entries`.
pub(super) fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
