//! After the release: `rotate`, `retire`, `review`, `check` and
//! `drill --release` (docs/OPERATIONS.md, "After a break-glass release").

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use breakglass::Passphrase;
use breakglass::lifecycle::DRILL_SECRET;
use breakglass::vault::ReviewClass;

use super::args::Class;
use super::commands::{approve_and_show, open_vault, out_line, report};
use super::input::Input;

/// How long a drill waits for the alert hook to take its events.
const DRILL_DELIVERY: Duration = Duration::from_secs(30);

pub(super) fn rotate(dir: &Path, input: &mut Input, name: &str, officer: &str) -> Result<i32> {
    let mut vault = open_vault(dir)?;
    vault.let_go();
    let pass = input.passphrase(officer)?;
    let session = vault.authenticate(officer, &pass, "rotate", Some(name))?;
    drop(pass);
    vault.let_go();
    let value = input.credential()?;
    let r = vault.rotate(&session, name, &value)?;
    drop(value);
    report(&[format!(
        "Rotated {name}: the new value is item #{} (ledger entry {}); the released one is void.",
        r.total, r.seq
    )])?;
    Ok(0)
}

pub(super) fn retire(
    dir: &Path,
    input: &mut Input,
    name: &str,
    officers: &[String],
) -> Result<i32> {
    let mut vault = open_vault(dir)?;
    vault.let_go();
    let passes = officers
        .iter()
        .map(|o| input.passphrase(o))
        .collect::<Result<Vec<Passphrase>>>()?;
    let pairs: Vec<(&str, &Passphrase)> = officers
        .iter()
        .map(String::as_str)
        .zip(passes.iter())
        .collect();
    let seq = vault.retire(name, &pairs)?;
    report(&[format!(
        "Retired what was left of {name} (ledger entry {seq}): those codes are never released again. Deposit the new set with `breakglass deposit {name}`."
    )])?;
    Ok(0)
}

pub(super) fn review(
    dir: &Path,
    input: &mut Input,
    seq: u64,
    class: Class,
    note: &str,
    incident: Option<&str>,
    officer: &str,
) -> Result<i32> {
    let class = match class {
        Class::Emergency => ReviewClass::Emergency,
        Class::Drill => ReviewClass::Drill,
        Class::Misuse => ReviewClass::Misuse,
    };
    let mut vault = open_vault(dir)?;
    vault.let_go();
    let pass = input.passphrase(officer)?;
    let session = vault.authenticate(officer, &pass, "review", None)?;
    drop(pass);
    let entry = vault.review(&session, seq, class, note, incident)?;
    report(&[format!(
        "Reviewed release entry {seq} as {} (ledger entry {entry}).",
        class.as_str()
    )])?;
    Ok(0)
}

pub(super) fn check(dir: &Path, json: bool) -> Result<i32> {
    let vault = open_vault(dir)?;
    let (due, logged) = vault.remind()?;
    let now = vault.now();
    if json {
        let v = serde_json::json!({"due": due, "logged": logged});
        out_line(format_args!("{}", serde_json::to_string_pretty(&v)?))?;
        return Ok(0);
    }
    if due.is_empty() {
        out_line(format_args!("Nothing is due."))?;
    }
    for d in &due {
        let tag = if d.overdue { "OVERDUE" } else { "TODO   " };
        out_line(format_args!("{tag}  {}", d.words(now)))?;
    }
    if let Some(seq) = logged {
        out_line(format_args!(
            "Reminder logged as ledger entry {seq} (the alert hook receives it)."
        ))?;
    }
    Ok(0)
}

pub(super) fn drill_release(dir: &Path, input: &mut Input, officers: &[String]) -> Result<i32> {
    let mut vault = open_vault(dir)?;
    let Some(first) = officers.first() else {
        return Ok(2);
    };
    vault.let_go();
    let pass = input.passphrase(first)?;
    let session = vault.authenticate(first, &pass, "drill", Some(DRILL_SECRET))?;
    drop(pass);
    let deposited = vault.deposit_canary(&session)?;
    drop(session);
    eprintln!(
        "Drill: {first} deposited a canary code (ledger entry {deposited}); now the quorum releases it."
    );
    let req = vault.begin_release(DRILL_SECRET, "end-to-end drill")?;
    let names: Vec<&str> = officers.iter().map(String::as_str).collect();
    let shown = approve_and_show(&mut vault, input, req, &names, false)?;
    let r = vault.finish_drill(&shown.released, shown.displayed, DRILL_DELIVERY)?;
    let mut lines = vec![format!(
        "Drill {} (ledger entry {}): quorum {}, release entry {}, alert hook {}.",
        if r.passed { "passed" } else { "FAILED" },
        r.seq,
        shown.released.officers.join("+"),
        r.release,
        match r.delivery {
            "delivered" => "took every event",
            "failed" => "did not take the events",
            _ => "not set",
        }
    )];
    if let Some(p) = &r.problem {
        lines.push(format!("Problem: {p}."));
    }
    report(&lines)?;
    Ok(if r.passed && shown.code == 0 { 0 } else { 1 })
}
