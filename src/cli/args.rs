//! Arguments (DESIGN §5).

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use breakglass::crypto::KdfParams;
use breakglass::names;

fn officer_name(s: &str) -> Result<String, String> {
    names::officer(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn secret_name(s: &str) -> Result<String, String> {
    names::secret(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn reason(s: &str) -> Result<String, String> {
    names::reason(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// breakglass: emergency credentials and backup codes, released by a quorum
/// of officers and logged to a signed, append-only ledger.
/// The heading the options every command takes are shown under, once.
const GLOBAL: &str = "Global options";

#[derive(Parser, Debug)]
#[command(
    name = "breakglass",
    version = short_version(),
    long_version = long_version(),
    after_help = "With no command, opens the console on the vault.\n\
Secrets are never taken from arguments or the environment: on a terminal they are\n\
asked for (hidden); with --batch (offered by the commands that ask for secrets) they\n\
are read from stdin, one per line.\n\
\n\
Exit codes: 0 ok, 1 refused or failed, 2 usage, 3 ledger verification failed,\n\
130 interrupted (Ctrl-C)."
)]
pub struct Cli {
    /// The vault directory [default: $XDG_DATA_HOME/breakglass/vault]
    #[arg(long, global = true, env = "BREAKGLASS_VAULT", value_name = "DIR", help_heading = GLOBAL)]
    pub vault: Option<PathBuf>,

    /// Never open the terminal: read every secret from stdin, one per line,
    /// and write a released item to stdout
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub batch: bool,

    /// How long to wait, in seconds, while another process is using the
    /// vault's database (the console lets go of it when idle; readers hold
    /// it while they read). A second writer is refused at once.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        env = "BREAKGLASS_WAIT",
        value_name = "SECS",
        default_value = "10",
        value_parser = parse_wait
    )]
    pub wait: std::time::Duration,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The crypto backend this binary was built with.
pub const BACKEND: &str = if cfg!(feature = "crypto-nettle") {
    "crypto-nettle"
} else if cfg!(feature = "crypto-openssl") {
    "crypto-openssl"
} else if cfg!(feature = "crypto-rust") {
    "crypto-rust"
} else {
    "none"
};

/// Every cargo feature this binary was built with.
fn features() -> Vec<&'static str> {
    [
        ("crypto-rust", cfg!(feature = "crypto-rust")),
        ("crypto-nettle", cfg!(feature = "crypto-nettle")),
        ("crypto-openssl", cfg!(feature = "crypto-openssl")),
        ("testing", cfg!(feature = "testing")),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect()
}

/// `-V`: the version, commit and backend on one line.
fn short_version() -> &'static str {
    static V: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{} ({}, {BACKEND})",
            env!("CARGO_PKG_VERSION"),
            env!("BREAKGLASS_COMMIT")
        )
    });
    V.as_str()
}

/// `--version`: what the binary is, one thing a line.
fn long_version() -> &'static str {
    static V: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let backend = match BACKEND {
            "crypto-rust" => "pure Rust (RustCrypto)",
            "crypto-nettle" => "Nettle",
            "crypto-openssl" => "OpenSSL",
            _ => "none",
        };
        format!(
            "{}\ncommit    {}\nbackend   {BACKEND}: sequoia-openpgp {} on {backend}\nfeatures  {}",
            env!("CARGO_PKG_VERSION"),
            env!("BREAKGLASS_COMMIT"),
            env!("BREAKGLASS_SEQUOIA"),
            features().join(", ")
        )
    });
    V.as_str()
}

/// The command line as parsed: [`Cli`], with `--batch` offered only by
/// the commands it changes, those whose help says what their "Batch
/// stdin:" is. Elsewhere it is still accepted (a script may pass it to
/// every command) but not shown.
pub fn command() -> clap::Command {
    hide_batch_unless_read(Cli::command())
}

/// A command that does not read stdin gets its own hidden `--batch`, so
/// the visible global one is not propagated to it (clap skips an id the
/// subcommand already has), and the flag still reaches [`Cli::batch`].
fn hide_batch_unless_read(mut cmd: clap::Command) -> clap::Command {
    if cmd.has_subcommands() {
        for sc in cmd.get_subcommands_mut() {
            *sc = hide_batch_unless_read(std::mem::take(sc));
        }
        return cmd;
    }
    let reads = cmd
        .get_after_help()
        .is_some_and(|h| h.to_string().contains(BATCH_STDIN));
    if reads {
        return cmd;
    }
    cmd.arg(
        clap::Arg::new("batch")
            .long("batch")
            .global(true)
            .hide(true)
            .action(clap::ArgAction::SetTrue),
    )
}

/// What every command that reads secrets from stdin says in its help.
pub const BATCH_STDIN: &str = "Batch stdin:";

/// Kinds of secret. The values are explained in `--kind`'s own help, so
/// every command's `--help` keeps one layout (clap switches a command to
/// its long layout when a value has help of its own).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Codes,
    Credential,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a vault: officers, threshold, keys and the ledger's genesis entry
    #[command(
        after_help = "Batch stdin: one passphrase per officer, in --officer order.\n\
\n\
Example:\n  \
breakglass init --threshold 2 --officer alice --officer bob --officer carol"
    )]
    Init(InitArgs),

    /// Deposit backup codes or a credential (one officer, no quorum)
    #[command(
        after_help = "Batch stdin: the officer's passphrase; then the codes, one per line, to EOF (blank lines\n\
are skipped), or the credential as the rest of stdin.\n\
\n\
Examples:\n  \
breakglass deposit github/admin --officer alice\n  \
breakglass deposit db/root --kind credential --rotate-within 24h --officer alice"
    )]
    Deposit(DepositArgs),

    /// List secrets with their remaining counts (never a value)
    List {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },

    /// Show the vault: id, m-of-n, officers, epoch, ledger size and root
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },

    /// Release the next item of a secret with a quorum of officers
    #[command(
        after_help = "Each officer signs the approval statement (secret, reason, nonce, expiry). The item is\n\
marked released and logged before it is shown, once. On a terminal it is shown on a\n\
cleared screen until confirmed (or 60 s); with --batch it is written to stdout.\n\
\n\
Batch stdin: the passphrases, in --officer order.\n\
\n\
Example:\n  \
breakglass release github/admin --reason \"IdP down, INC-42\" --officer alice --officer bob"
    )]
    Release(ReleaseArgs),

    /// Read the ledger
    #[command(subcommand)]
    Ledger(LedgerCommand),

    /// Prove an officer's passphrase still unlocks their share, or (with
    /// --release) the whole chain on a canary item
    #[command(
        after_help = "Without --release: one --officer; nothing is released.\n\
With --release: the first officer deposits a canary code into drill/canary (never a real\n\
secret), the officers release it as a quorum, it is shown (stdout with --batch), and the\n\
alert hook must take every event of the drill. Logged as a drill; nothing real is\n\
consumed.\n\
\n\
Exit 1 when any step fails. Each officer's last drill shows in `status` (due every 90\n\
days).\n\
\n\
Batch stdin: the passphrases in --officer order (with --release, the first officer's\n\
twice: once to deposit the canary, once to approve).\n\
\n\
Examples:\n  \
breakglass drill --officer alice\n  \
breakglass drill --release --officer alice --officer bob"
    )]
    Drill {
        /// The officer; repeat for each with --release (at least the threshold)
        #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
        officers: Vec<String>,

        /// Run a whole release on a canary item, alert hook included
        #[arg(long)]
        release: bool,
    },

    /// Replace a released credential with its new value (one officer signs)
    #[command(
        after_help = "A released credential stays valid at its system until it is changed there: change it,\n\
then deposit the new value here. The released value is void and never released again.\n\
\n\
Batch stdin: the officer's passphrase, then the new credential.\n\
\n\
Example:\n  \
breakglass rotate db/root --officer alice"
    )]
    Rotate {
        /// The credential
        #[arg(value_name = "SECRET", value_parser = secret_name)]
        name: String,

        /// The officer who deposits the new value
        #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
        officer: String,
    },

    /// Void what is left of a code set the identity provider regenerated (a quorum)
    #[command(
        after_help = "Needs the quorum a release of the secret needs: one officer cannot take the emergency\n\
path away. Deposit the new set under the same name afterwards.\n\
\n\
Batch stdin: the passphrases, in --officer order.\n\
\n\
Example:\n  \
breakglass retire github/admin --officer alice --officer bob"
    )]
    Retire {
        /// The code set
        #[arg(value_name = "SECRET", value_parser = secret_name)]
        name: String,

        /// An approving officer; repeat for each
        #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
        officers: Vec<String>,
    },

    /// Review a release: classify it and name the incident (an officer who did not approve it)
    #[command(
        after_help = "SEQ is the release's ledger entry (see `status` or `ledger show`). The reviewer must not\n\
have approved the release.\n\
\n\
Batch stdin: the officer's passphrase.\n\
\n\
Example:\n  \
breakglass review 12 --class emergency --incident INC-7 --note \"IdP down\" --officer carol"
    )]
    Review {
        /// The release's ledger entry
        #[arg(value_name = "SEQ")]
        seq: u64,

        /// What the release was: a real emergency, a drill or test, or a
        /// misuse (a release that should not have happened)
        #[arg(long, value_enum)]
        class: Class,

        /// What happened, in a sentence (1-500 characters)
        #[arg(long, value_name = "TEXT", value_parser = note)]
        note: String,

        /// The incident or ticket (required unless --class drill)
        #[arg(long, value_name = "ID", value_parser = incident)]
        incident: Option<String>,

        /// The reviewing officer
        #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
        officer: String,
    },

    /// Print what needs doing and log a reminder of what is overdue (for a daily timer)
    #[command(
        after_help = "Lists overdue rotations and reviews, drills due and code sets below their reorder level.\n\
What is overdue and was not reminded of in the last day is logged as an `overdue` ledger\n\
entry, which the alert hook receives. Exit 0; run it daily (docs/OPERATIONS.md has a\n\
systemd timer).\n\
\n\
Example:\n  \
breakglass check --json"
    )]
    Check {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },

    /// Change an officer's passphrase (logged)
    #[command(after_help = "On a terminal the new passphrase is asked twice.\n\
\n\
Batch stdin: the old passphrase, then the new one.\n\
\n\
Example:\n  \
breakglass passphrase --officer alice")]
    Passphrase {
        /// The officer
        #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
        officer: String,
    },

    /// Alert a program about every ledger entry (docs/ALERTS.md)
    #[command(subcommand)]
    Alerts(AlertsCommand),

    /// Add or remove an officer (a quorum ceremony that starts a new epoch)
    #[command(subcommand)]
    Officer(OfficerCommand),

    /// New keys for the vault, and optionally a new threshold and officers
    /// (a quorum ceremony that starts a new epoch)
    #[command(
        after_help = "Every approving officer signs the change (the new officers, threshold and vault\n\
encryption key). Officers who neither approve nor join keep their passphrase: their new\n\
share waits for their next authentication.\n\
\n\
Batch stdin: the approvers' passphrases in --officer order, then each new officer's\n\
passphrase in --add order (on a terminal, new passphrases are asked twice).\n\
\n\
Example:\n  \
breakglass rekey --threshold 3 --add dave --officer alice --officer bob"
    )]
    Rekey(RekeyArgs),

    /// Write a consistent copy of the vault to DEST (logged as a `backup` entry)
    #[command(
        after_help = "The copy holds no clear secret but does hold the ledger key: keep it like the vault. Run\n\
it while no other breakglass process (the console included) has the vault open.\n\
\n\
Example:\n  \
breakglass backup /media/usb/vault-2026-12-04"
    )]
    Backup {
        /// Directory to create (must not exist or be empty)
        #[arg(value_name = "DEST")]
        dest: PathBuf,
    },

    /// Restore a backup into the directory given with --vault, replaying a newer export
    #[command(
        after_help = "With --replay, every signed entry the export holds after the backup is replayed\n\
(deposits, releases, displays), so nothing released since is released again. A bundle\n\
may be stale, so a replay alone does not allow releases: give the latest checkpoint\n\
collected off this machine (an alert event, a witness's signed note, a checkpoint with\n\
FILE.asc) with --checkpoint. Releases are allowed at once only when the restored ledger\n\
reaches every such checkpoint; otherwise the restored vault refuses releases and\n\
ceremonies until a quorum runs `acknowledge-gap`.\n\
\n\
Example:\n  \
breakglass --vault NEW restore BACKUP --replay BUNDLE --checkpoint event.json"
    )]
    Restore {
        /// The backup directory (from `breakglass backup`)
        #[arg(value_name = "BACKUP")]
        backup: PathBuf,

        /// An export bundle of the same vault, newer than the backup
        #[arg(long, value_name = "BUNDLE")]
        replay: Option<PathBuf>,

        /// A checkpoint collected off this machine (repeatable): an alert
        /// event, a signed note, or a checkpoint body with FILE.asc
        #[arg(long = "checkpoint", value_name = "FILE")]
        checkpoints: Vec<PathBuf>,
    },

    /// A quorum acknowledges the gap a restore without replay left
    #[command(
        name = "acknowledge-gap",
        after_help = "Batch stdin: the passphrases, in --officer order.\n\
\n\
Example:\n  \
breakglass acknowledge-gap --officer alice --officer bob"
    )]
    AcknowledgeGap {
        /// An acknowledging officer; repeat for each (at least the threshold)
        #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
        officers: Vec<String>,
    },

    /// Create a throw-away 2-of-3 demo vault with sample codes and show how to use it
    Demo {
        /// Where to create it [default: a new directory under the system temp dir]
        dir: Option<PathBuf>,
    },

    /// Check this console before an incident: core dumps, memory locking,
    /// the clock, the vault directory, disk, terminal, auditors' tools, alerts
    #[command(
        after_help = "Each line is OK, WARN or FAIL, with what to do. Reads only: nothing is\n\
written to the vault or logged. Exit 0 when nothing fails, 1 otherwise.\n\
\n\
Example:\n  \
breakglass doctor --json"
    )]
    Doctor {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },

    /// Print the shell completion script for SHELL
    #[command(after_help = "Examples:\n  \
breakglass completions bash > ~/.local/share/bash-completion/completions/breakglass\n  \
breakglass completions zsh > ~/.zfunc/_breakglass\n  \
breakglass completions fish > ~/.config/fish/completions/breakglass.fish")]
    Completions {
        /// The shell: bash, zsh or fish
        #[arg(value_enum, value_name = "SHELL")]
        shell: CompletionShell,
    },

    /// Write the man pages, breakglass(1) and one per subcommand, into DIR
    /// (for packagers; generated from this command line, never by hand)
    #[command(hide = true)]
    Manpages {
        /// An existing directory; pages in it are replaced
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// The shells `completions` writes for.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Send every ledger entry from now on to PROGRAM (one officer signs the change)
    #[command(
        after_help = "PROGRAM runs directly (no shell) with the event as one JSON line on stdin, an\n\
environment of only PATH=/usr/bin:/bin and LANG=C, and your user's rights; exit 0 means\n\
delivered. It is killed after 10 s. The change is a ledger entry, alerted through the\n\
new hook and the old one.\n\
\n\
Batch stdin: the officer's passphrase.\n\
\n\
Example:\n  \
breakglass alerts set --officer alice -- /usr/bin/logger -t breakglass"
    )]
    Set {
        /// The officer who signs the change
        #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
        officer: String,

        /// The program and its arguments, after `--`
        #[arg(last = true, required = true, num_args = 1.., value_name = "PROGRAM")]
        command: Vec<String>,
    },

    /// Stop alerting (one officer signs the change; alerted through the old hook)
    #[command(after_help = "Batch stdin: the officer's passphrase.\n\
\n\
Example:\n  \
breakglass alerts clear --officer alice")]
    Clear {
        /// The officer who signs the change
        #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
        officer: String,
    },

    /// Show the hook, undelivered events, the last delivery and the last error
    Status {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },

    /// Deliver the pending events now
    Retry,
}

#[derive(Subcommand, Debug)]
pub enum OfficerCommand {
    /// Enrol a new officer; a quorum of current officers approves
    #[command(
        after_help = "Batch stdin: the approvers' passphrases in --officer order, then the new officer's\n\
passphrase (on a terminal it is asked twice).\n\
\n\
Example:\n  \
breakglass officer add dave --officer alice --officer bob"
    )]
    Add {
        /// The new officer's name
        #[arg(value_name = "NAME", value_parser = officer_name)]
        name: String,

        /// An approving officer; repeat for each (at least the threshold)
        #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
        officers: Vec<String>,
    },

    /// Remove an officer; a quorum of current officers approves
    #[command(
        after_help = "Batch stdin: the approvers' passphrases in --officer order.\n\
\n\
Example:\n  \
breakglass officer remove carol --officer alice --officer bob"
    )]
    Remove {
        /// The officer who leaves
        #[arg(value_name = "NAME", value_parser = officer_name)]
        name: String,

        /// An approving officer; repeat for each (at least the threshold)
        #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
        officers: Vec<String>,
    },
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    /// The new threshold (2 ≤ M ≤ officers); unchanged when omitted
    #[arg(long, value_name = "M")]
    pub threshold: Option<usize>,

    /// An officer who joins; repeatable
    #[arg(long = "add", value_name = "NAME", value_parser = officer_name)]
    pub add: Vec<String>,

    /// An officer who leaves; repeatable
    #[arg(long = "remove", value_name = "NAME", value_parser = officer_name)]
    pub remove: Vec<String>,

    /// An approving officer; repeat for each (at least the current threshold)
    #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
    pub officers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Officers needed to release (m); 2 ≤ m ≤ n
    #[arg(long, value_name = "M")]
    pub threshold: usize,

    /// An officer's name; repeat for each officer (n ≤ 255)
    #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
    pub officers: Vec<String>,

    /// Argon2id memory per passphrase, MiB (8 to 4096)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.memory_kib / 1024)]
    pub kdf_memory_mib: u32,

    /// Argon2id passes (1 to 64)
    #[arg(long, value_name = "N", default_value_t = KdfParams::DEFAULT.iterations)]
    pub kdf_iterations: u32,
}

#[derive(Args, Debug)]
pub struct DepositArgs {
    /// The secret's name, e.g. github/admin
    #[arg(value_name = "SECRET", value_parser = secret_name)]
    pub name: String,

    /// The depositing officer
    #[arg(long, value_name = "OFFICER", value_parser = officer_name)]
    pub officer: String,

    /// codes: one-time backup codes, one per line, each release gives the
    /// next; credential: one value, released once
    #[arg(long, value_enum, default_value_t = Kind::Codes)]
    pub kind: Kind,

    /// Approvals this secret needs, if more than the vault threshold
    #[arg(long, value_name = "K")]
    pub min_approvals: Option<u8>,

    /// A credential: a release must be answered by `rotate` within DUR
    /// (1h to 366d); overdue releases are alerted daily
    #[arg(long, value_name = "DUR", value_parser = rotate_within)]
    pub rotate_within: Option<u64>,

    /// Codes: fewer releasable codes than N asks for a new set
    #[arg(long, value_name = "N")]
    pub reorder_below: Option<u32>,

    /// Each release must be reviewed within DUR (1h to 90d)
    #[arg(long, value_name = "DUR", value_parser = review_within, default_value = "7d")]
    pub review_within: u64,

    /// A release less than DUR after the previous one needs one approval more
    #[arg(long, value_name = "DUR", value_parser = min_interval)]
    pub min_interval: Option<u64>,

    /// The UTC hours releases are expected in, as 08:00-18:00; others are flagged
    #[arg(long, value_name = "HH:MM-HH:MM", value_parser = hours)]
    pub hours: Option<breakglass::policy::Hours>,

    /// Report the deposit as JSON (secret, kind, added, total, ledger
    /// entry; never a value)
    #[arg(long)]
    pub json: bool,
}

fn rotate_within(s: &str) -> Result<u64, String> {
    breakglass::policy::parse_duration("--rotate-within", s).map_err(|e| e.to_string())
}

fn review_within(s: &str) -> Result<u64, String> {
    breakglass::policy::parse_duration("--review-within", s).map_err(|e| e.to_string())
}

fn min_interval(s: &str) -> Result<u64, String> {
    breakglass::policy::parse_duration("--min-interval", s).map_err(|e| e.to_string())
}

fn hours(s: &str) -> Result<breakglass::policy::Hours, String> {
    breakglass::policy::Hours::parse(s).map_err(|e| e.to_string())
}

fn note(s: &str) -> Result<String, String> {
    if s.trim().is_empty() || s.chars().count() > breakglass::vault::MAX_NOTE_CHARS {
        return Err(format!(
            "give 1 to {} characters",
            breakglass::vault::MAX_NOTE_CHARS
        ));
    }
    names::check_no_control("--note", s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

fn incident(s: &str) -> Result<String, String> {
    if s.trim().is_empty() || s.chars().count() > breakglass::vault::MAX_INCIDENT_CHARS {
        return Err(format!(
            "give 1 to {} characters",
            breakglass::vault::MAX_INCIDENT_CHARS
        ));
    }
    names::check_no_control("--incident", s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// How a review classifies a release (explained in `--class`'s help, as
/// [`Kind`] is).
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Emergency,
    Drill,
    Misuse,
}

#[derive(Args, Debug)]
pub struct ReleaseArgs {
    /// The secret to release from
    #[arg(value_name = "SECRET", value_parser = secret_name)]
    pub name: String,

    /// Why (1-500 characters); signed by every approving officer and logged
    #[arg(long, value_name = "TEXT", value_parser = reason)]
    pub reason: String,

    /// An approving officer; repeat for each (at least the threshold)
    #[arg(long = "officer", value_name = "OFFICER", required = true, value_parser = officer_name)]
    pub officers: Vec<String>,

    /// With --batch: write the release as one JSON object (secret, item
    /// number, the item in `value`, ledger entry, approvers)
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Print every entry
    Show {
        /// One canonical JSON entry per line, exactly as hashed
        #[arg(long)]
        json: bool,
    },

    /// Verify the ledger: canonical entries, Merkle root, checkpoint and
    /// approval signatures, quorums, expiry, replay and double release
    #[command(
        after_help = "Exit 0 when valid, 3 when not (the message names the first failing entry; with --json,\n\
stdout says it too).\n\
\n\
Pin the vault fingerprint that `init` printed (`--pin HEX`): it covers the vault id, the\n\
ledger key, every officer's certificate, the vault encryption key and the threshold, so\n\
a ledger regenerated or with a rewritten genesis fails. Without --pin (or --cert) the\n\
ledger only proves it is self-consistent. With --state the ledger must extend the size\n\
and root seen last time (catches truncation, rollback and forks); the file is created on\n\
first use and updated on success. Each --checkpoint FILE (an alert event, a checkpoint\n\
with FILE.asc, or a signed note) must be signed by the ledger key and extended by the\n\
ledger.\n\
\n\
Example:\n  \
breakglass ledger verify --bundle DIR --pin FINGERPRINT --state audit-state.json"
    )]
    Verify(VerifyArgs),

    /// Write an export bundle for auditors: entries.jsonl, checkpoint,
    /// checkpoint.asc, ledger-cert.asc, officers/*.asc
    Export {
        /// Directory to create (must not exist or be empty)
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Verify an export bundle instead of the vault (no vault needed)
    #[arg(long, value_name = "DIR")]
    pub bundle: Option<PathBuf>,

    /// The vault fingerprint to trust: 64 hex digits, as `init` printed it
    #[arg(long, value_name = "HEX")]
    pub pin: Option<String>,

    /// The ledger certificate to trust (armored or binary OpenPGP)
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// The auditor's saved {size, root}, kept outside the vault's machine
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// A checkpoint collected elsewhere: an alert event, a checkpoint body
    /// with FILE.asc beside it, or a signed note; repeatable
    #[arg(long = "checkpoint", value_name = "FILE")]
    pub checkpoints: Vec<PathBuf>,

    /// Machine-readable output: the summary, or on failure the failing
    /// entry and the kind of failure (on stdout; the exit code still says)
    #[arg(long)]
    pub json: bool,
}

/// `--wait`: seconds, a decimal number from 0 to 3600.
fn parse_wait(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=3600.0).contains(&secs) {
        return Err("must be from 0 to 3600 seconds".into());
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}
