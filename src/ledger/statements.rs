//! The statements officers sign at a release's end, built from the entry
//! they vouch for (docs/LEDGER.md §3): the vault signs them, the verifier
//! rebuilds them from the entry and checks the signatures.

use serde_json::{Value, json};

/// What a release receipt states (docs/LEDGER.md §3.8): read from the
/// release entry, by the vault and by the verifier alike.
pub struct ReceiptFacts<'a> {
    /// The vault id.
    pub vault: &'a str,
    /// The release's epoch.
    pub epoch: u64,
    /// The secret released.
    pub secret: &'a str,
    /// The item's index.
    pub index: u64,
    /// The item's ciphertext digest, as its deposit signed it.
    pub digest: &'a str,
    /// The request's nonce.
    pub nonce: &'a str,
    /// Every approver, in approval order.
    pub approvers: &'a [&'a str],
    /// The unconfirmed release this one re-releases, if any.
    pub re_release_of: Option<u64>,
    /// The entry's time, as the entry states it.
    pub time: &'a str,
}

/// The statement every approver signs when a release completes.
pub fn receipt_statement(f: &ReceiptFacts<'_>) -> Value {
    json!({
        "type": "breakglass-receipt/v1",
        "vault": f.vault,
        "epoch": f.epoch,
        "secret": f.secret,
        "index": f.index,
        "digest": f.digest,
        "nonce": f.nonce,
        "approvers": f.approvers,
        "re_release_of": f.re_release_of,
        "time": f.time,
    })
}

/// What a display statement states (docs/LEDGER.md §3.9).
pub struct DisplayFacts<'a> {
    /// The vault id.
    pub vault: &'a str,
    /// The epoch.
    pub epoch: u64,
    /// The release entry.
    pub release: u64,
    /// The secret released.
    pub secret: &'a str,
    /// The item's index.
    pub index: u64,
    /// How the display ended.
    pub outcome: &'a str,
    /// The approver who signs.
    pub officer: &'a str,
    /// The entry's time, as the entry states it.
    pub time: &'a str,
}

/// The statement an approver signs to record how a release's display
/// ended.
pub fn display_statement(f: &DisplayFacts<'_>) -> Value {
    json!({
        "type": "breakglass-display/v1",
        "vault": f.vault,
        "epoch": f.epoch,
        "release": f.release,
        "secret": f.secret,
        "index": f.index,
        "outcome": f.outcome,
        "officer": f.officer,
        "time": f.time,
    })
}
