//! The statements officers sign at a release's end, built from the entry
//! they vouch for (docs/LEDGER.md §3): the vault signs them, the verifier
//! rebuilds them from the entry and checks the signatures.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::canonical;

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

/// The fields of a `rekey` entry that its receipt does not commit to: the
/// common fields (the receipt states the time and approvers itself; the
/// ledger key vouches for the rest), and the approvals and receipts.
const NOT_INHERITED: [&str; 8] = [
    "v",
    "seq",
    "time",
    "kind",
    "actor",
    "hook",
    "approvals",
    "receipts",
];

/// What a ceremony hands the new epoch, as one digest: SHA-256, lower-case
/// hex, of the canonical JSON of the `rekey` entry's fields without
/// [`NOT_INHERITED`] (the officers and their certificates, threshold, keys,
/// Argon2 settings, every carried item with its state and digest, the
/// pending shares' digests…). `None` if they cannot be encoded.
pub fn ceremony_inherits(entry: &Map<String, Value>) -> Option<String> {
    let body: Map<String, Value> = entry
        .iter()
        .filter(|(k, _)| !NOT_INHERITED.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let bytes = canonical::to_vec(&Value::Object(body)).ok()?;
    Some(hex::encode(Sha256::digest(&bytes)))
}

/// What a ceremony receipt states (docs/LEDGER.md §3.10).
pub struct CeremonyReceiptFacts<'a> {
    /// The vault id.
    pub vault: &'a str,
    /// The epoch the ceremony ends.
    pub epoch: u64,
    /// The epoch it opens.
    pub new_epoch: u64,
    /// Which ceremony.
    pub ceremony: &'a str,
    /// The request's nonce.
    pub nonce: &'a str,
    /// Every approver, in approval order.
    pub approvers: &'a [&'a str],
    /// [`ceremony_inherits`] of the entry.
    pub inherits: &'a str,
    /// The entry's time, as the entry states it.
    pub time: &'a str,
}

/// The statement every approver signs when a ceremony completes: what the
/// new epoch inherits, after the items were re-encrypted and the shares
/// dealt, which no approval statement could know.
pub fn ceremony_receipt_statement(f: &CeremonyReceiptFacts<'_>) -> Value {
    json!({
        "type": "breakglass-ceremony-receipt/v1",
        "vault": f.vault,
        "epoch": f.epoch,
        "new_epoch": f.new_epoch,
        "ceremony": f.ceremony,
        "nonce": f.nonce,
        "approvers": f.approvers,
        "inherits": f.inherits,
        "time": f.time,
    })
}
