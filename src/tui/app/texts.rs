//! What the console says in its messages and approval panes, when the
//! wording takes more than one line to build: wrong passphrases, a lost
//! quorum, a finished ceremony. One place, so a release and a ceremony word
//! the same event alike.

use crate::error::Error;
use crate::records::SecretKind;
use crate::tui::release::{ATTEMPTS, WrongPassphrase};
use crate::tui::widgets::plural;
use crate::vault::CeremonyReport;

/// What the approval pane says after a wrong passphrase for `officer` in
/// a quorum for a `what` ("release", "ceremony"); `None` once the quorum
/// is lost, which [`quorum_out_text`] says instead.
pub(super) fn wrong_passphrase_text(
    officer: &str,
    what: &str,
    outcome: &WrongPassphrase,
) -> Option<String> {
    match outcome {
        WrongPassphrase::Retry(n) => Some(format!(
            "Wrong passphrase for {officer} (attempt {n} of {ATTEMPTS}, logged). Try again, or Esc to choose another officer."
        )),
        WrongPassphrase::OfficerOut => Some(format!(
            "Wrong passphrase for {officer} {ATTEMPTS} times (logged): {officer} cannot approve this {what}. Another officer can."
        )),
        WrongPassphrase::QuorumOut => None,
    }
}

/// Why a `what` ("Release", "Ceremony") ended when `officer`'s third wrong
/// passphrase left too few officers, with the `approved` approvals lost.
pub(super) fn quorum_out_text(officer: &str, what: &str, approved: usize) -> String {
    format!(
        "{what} cancelled: wrong passphrase for {officer} {ATTEMPTS} times, and too few officers are left to approve; {} discarded (logged).",
        plural(approved, "approval", "approvals")
    )
}

/// An error as the message line and the panes show it.
pub(super) fn err_text(e: &Error) -> String {
    e.to_string()
}

/// `code`/`codes`, `credential`/`credentials`.
pub(super) fn kind_noun(kind: SecretKind, many: bool) -> &'static str {
    match (kind, many) {
        (SecretKind::Codes, false) => "code",
        (SecretKind::Codes, true) => "codes",
        (SecretKind::Credential, false) => "credential",
        (SecretKind::Credential, true) => "credentials",
    }
}

/// What a finished ceremony tells the officers: the new epoch, its
/// quorum, and who takes their share later.
pub(super) fn report_text(r: &CeremonyReport) -> String {
    let mut text = format!(
        "Epoch {}: {} of {} ({}); ledger entry {}. Re-encrypted {} to the new vault key.",
        r.epoch,
        r.threshold,
        r.officers.len(),
        r.officers.join(", "),
        r.seq,
        plural(r.reencrypted, "item", "items")
    );
    if !r.delivered.is_empty() {
        text.push_str(&format!(
            " {} take{} the new share at the next drill.",
            r.delivered.join(", "),
            if r.delivered.len() == 1 { "s" } else { "" }
        ));
    }
    text
}
