//! `ledger verify`: the auditor's summary, in words or as JSON.

use anyhow::{Context, Result};
use breakglass::audit::{self, BundleSource, Failure, Options, Report, StateOutcome, VaultSource};
use serde_json::{Value, json};

use super::args::VerifyArgs;
use super::commands::{Usage, count, open_reader, out_line};

macro_rules! out {
    ($($arg:tt)*) => {
        out_line(format_args!($($arg)*))?
    };
}

pub(super) fn ledger_verify(dir: &std::path::Path, args: VerifyArgs) -> Result<i32> {
    let cert = match &args.cert {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(
                breakglass::pgp::PublicCert::from_bytes(&bytes)
                    .with_context(|| format!("{} is not an OpenPGP certificate", path.display()))?,
            )
        }
        None => None,
    };
    let pin = args.pin.as_deref().map(audit::parse_pin).transpose()?;
    let opts = Options {
        cert,
        state_path: args.state.clone(),
        pin,
        checkpoints: args.checkpoints.clone(),
    };
    let (source, what) = match &args.bundle {
        Some(b) => {
            if !b.is_dir() {
                return Err(Usage(format!("--bundle {}: no such directory", b.display())).into());
            }
            (json!({"bundle": b}), format!("bundle {}", b.display()))
        }
        None => (json!({"vault": dir}), format!("vault {}", dir.display())),
    };
    let verified = match &args.bundle {
        Some(b) => BundleSource::new(b).and_then(|src| audit::verify(&src, &opts)),
        None => {
            let vault = open_reader(dir)?;
            audit::verify(&VaultSource(vault.store()), &opts)
        }
    };
    // Reports, not failures (LEDGER.md §2.7): what each secret's releases
    // still owe, at this machine's clock.
    let now = breakglass::clock::Clock::now(&breakglass::clock::SystemClock::default());
    match (verified, args.json) {
        (Ok(report), false) => words(&report, &what, &args, now)?,
        (Ok(report), true) => {
            let v = summary(&report, source, args.state.as_deref(), now);
            out!("{}", serde_json::to_string_pretty(&v)?);
        }
        (Err(failure), json) => {
            if json {
                out!(
                    "{}",
                    serde_json::to_string_pretty(&failed(&failure, source))?
                );
            }
            // The one line on stderr and exit 3, with or without --json.
            return Err(failure.into());
        }
    }
    Ok(0)
}

/// What `--json` prints when the ledger fails: the first failing entry
/// (null when no one entry is to blame) and the kind of failure.
fn failed(f: &Failure, source: Value) -> Value {
    json!({
        "ok": false,
        "source": source,
        "failure": {
            "entry": f.entry,
            "kind": f.kind,
            "description": f.kind.describe(),
            "detail": f.detail,
        },
    })
}

/// What `--json` prints when the ledger verifies.
fn summary(r: &Report, source: Value, state: Option<&std::path::Path>, now: i64) -> Value {
    let state = match (state, &r.state) {
        (Some(path), Some(StateOutcome::Created)) => {
            json!({"file": path, "outcome": "created", "from": null})
        }
        (Some(path), Some(StateOutcome::Extended { from })) => json!({
            "file": path,
            "outcome": if *from == r.entries { "unchanged" } else { "extended" },
            "from": from,
        }),
        _ => Value::Null,
    };
    let secrets: Vec<Value> = r
        .lifecycle
        .secrets
        .iter()
        .map(|s| {
            json!({
                "secret": s.secret,
                "releases": s.releases,
                "reviewed": s.reviewed,
                "rotated": s.rotated,
                "overdue": s.overdue(now),
            })
        })
        .collect();
    let unreviewed: Vec<Value> = r
        .lifecycle
        .unreviewed
        .iter()
        .map(|u| json!({"entry": u.release, "secret": u.secret, "item": u.index.saturating_add(1)}))
        .collect();
    json!({
        "ok": true,
        "source": source,
        "entries": r.entries,
        "releases": r.releases,
        "officers": r.officers,
        "checkpoint": {
            "origin": r.checkpoint.origin,
            "size": r.checkpoint.size,
            "root": base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                r.checkpoint.root
            ),
        },
        "fingerprint": r.fingerprint,
        "fingerprint_pinned": r.fingerprint_pinned,
        "ledger_key": r.ledger_fingerprint,
        "ledger_key_pinned": r.cert_pinned,
        "signatures_verified": r.signatures_checked,
        "checkpoints_verified": r.checkpoints_checked,
        "collected_checkpoints": r.collected,
        "state": state,
        "lifecycle": secrets,
        "unreviewed": unreviewed,
    })
}

/// The summary in words.
fn words(report: &Report, what: &str, args: &VerifyArgs, now: i64) -> Result<()> {
    out!(
        "ledger OK ({what}): {}, {}, {}",
        count(report.entries, "entry", "entries"),
        count(report.releases, "release", "releases"),
        count(report.officers as u64, "officer", "officers")
    );
    out!(
        "  checkpoint: size {}, root {} (base64)",
        report.checkpoint.size,
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            report.checkpoint.root
        )
    );
    // The 64 hex digits on a line of their own, so the report fits 80
    // columns.
    if report.fingerprint_pinned {
        out!("  vault fingerprint (pinned with --pin):");
    } else {
        out!("  vault fingerprint (not pinned: compare it with init's, or pass --pin):");
    }
    out!("    {}", report.fingerprint);
    out!(
        "  ledger key: {}{}",
        report.ledger_fingerprint,
        if report.cert_pinned {
            " (pinned with --cert)"
        } else {
            ""
        }
    );
    out!(
        "  signatures: {} verified ({} checkpoint{})",
        report.signatures_checked,
        report.checkpoints_checked,
        if report.checkpoints_checked == 1 {
            ""
        } else {
            "s"
        }
    );
    if report.collected > 0 {
        out!(
            "  collected checkpoints: {} signed by the ledger key and extended by this ledger",
            report.collected
        );
    }
    if let (Some(path), Some(outcome)) = (&args.state, &report.state) {
        match outcome {
            StateOutcome::Created => out!(
                "  state: {} created (first verification; later runs must extend it)",
                path.display()
            ),
            StateOutcome::Extended { from } if *from == report.entries => out!(
                "  state: {} matches the saved state ({}); nothing new",
                path.display(),
                count(report.entries, "entry", "entries")
            ),
            StateOutcome::Extended { from } => out!(
                "  state: {} extended from {} to {}; updated",
                path.display(),
                count(*from, "entry", "entries"),
                count(report.entries, "entry", "entries")
            ),
        }
    }
    for s in &report.lifecycle.secrets {
        out!(
            "lifecycle: {}: {} releases, {} reviewed, {} rotated, {} overdue",
            s.secret,
            s.releases,
            s.reviewed,
            s.rotated,
            s.overdue(now)
        );
    }
    for u in &report.lifecycle.unreviewed {
        out!(
            "unreviewed: entry {} ({} #{})",
            u.release,
            u.secret,
            u.index.saturating_add(1)
        );
    }
    Ok(())
}
