//! The second pass: what the entries mean (docs/LEDGER.md §2 and §5).
//! Every entry holds exactly its kind's fields; officer signatures,
//! quorum, expiry, replay, duplicate approvals, and that every release
//! takes an item that was deposited, by its signed digest, once.
//!
//! This file holds the schema, the pass that hands each entry to its
//! kind's rules, and the helpers they share; each kind's rules are in
//! their own file, named for it.

use std::collections::BTreeMap;

use super::*;
use crate::crypto::KdfParams;
use crate::names;

mod alerts;
mod clock;
mod deposit;
mod display;
mod drill;
mod genesis;
mod overdue;
mod rekey;
mod release;
mod restore;
mod retired;
mod reviewed;
mod rotated;
mod summary;
#[cfg(test)]
mod tests;

use alerts::check_hook;
use deposit::Policy;
use genesis::{genesis, kdf_field, officer_list, vault_key};

/// The fields each kind holds besides the common ones (`v`, `seq`,
/// `time`, `kind`, `actor`): required, then optional. Any other field is
/// an error.
const SCHEMA: &[(&str, &[&str], &[&str])] = &[
    (
        "genesis",
        &[
            "vault",
            "epoch",
            "threshold",
            "officers",
            "ledger_cert",
            "ledger_fingerprint",
            "vault_key_cert",
            "vault_key_fingerprint",
            "kdf",
        ],
        &[],
    ),
    (
        "deposit",
        &[
            "secret",
            "item_kind",
            "count",
            "total",
            "min_approvals",
            "policy",
            "statement",
            "signature",
            "ciphertexts",
        ],
        &[],
    ),
    (
        "release",
        &[
            "secret",
            "index",
            "digest",
            "reason",
            "nonce",
            "epoch",
            "approvals",
            "receipts",
        ],
        &["re_release_of"],
    ),
    (
        "displayed",
        &[
            "secret",
            "index",
            "release",
            "outcome",
            "signer",
            "signature",
        ],
        &[],
    ),
    ("refused", &["action", "cause"], &["secret", "reason"]),
    ("auth_failed", &["action"], &["secret"]),
    ("expired", &["nonce", "approvals"], &["secret", "ceremony"]),
    (
        "cancelled",
        &["nonce", "approvals"],
        &["secret", "ceremony"],
    ),
    (
        "rekey",
        &[
            "vault",
            "epoch",
            "threshold",
            "officers",
            "ledger_cert",
            "ledger_fingerprint",
            "vault_key_cert",
            "vault_key_fingerprint",
            "kdf",
            "ceremony",
            "nonce",
            "approvals",
            "added",
            "removed",
            "pending",
            "secrets",
            "receipts",
        ],
        &[],
    ),
    ("drill", &["result"], &["release", "delivery"]),
    ("overdue", &["due"], &[]),
    ("passphrase", &[], &[]),
    ("locked", &["cause"], &[]),
    ("backup", &[], &[]),
    (
        "restored",
        &[
            "backup_entries",
            "replayed",
            "gap",
            "origin",
            "evidence",
            "beyond",
        ],
        &[],
    ),
    ("gap_acknowledged", &["restored", "nonce", "approvals"], &[]),
    ("clock", &["direction", "clock", "previous"], &[]),
    (
        "alerts",
        &["action", "program", "args", "statement", "signature"],
        &[],
    ),
    (
        "rotated",
        &[
            "secret",
            "release",
            "index",
            "statement",
            "signature",
            "ciphertexts",
        ],
        &[],
    ),
    ("retired", &["secret", "nonce", "voided", "approvals"], &[]),
    (
        "reviewed",
        &[
            "release",
            "secret",
            "index",
            "class",
            "note",
            "incident",
            "statement",
            "signature",
        ],
        &[],
    ),
];

/// The common fields of every entry.
pub(super) const COMMON: [&str; 6] = ["v", "seq", "time", "kind", "actor", "hook"];

/// Checks that `m` holds exactly the common fields and its kind's.
pub(super) fn check_fields(m: &Map<String, Value>, seq: u64, kind: &str) -> Result<(), Failure> {
    let Some((_, required, optional)) = SCHEMA.iter().find(|(k, _, _)| *k == kind) else {
        return fail(
            Some(seq),
            FailureKind::Malformed,
            format!("unknown entry kind {}", quoted(kind)),
        );
    };
    for f in COMMON.iter().chain(required.iter()) {
        if !m.contains_key(*f) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("a {kind} entry needs the field {}", quoted(f)),
            );
        }
    }
    exact_fields(m, seq, &format!("a {kind} entry"), |k| {
        COMMON.contains(&k) || required.contains(&k) || optional.contains(&k)
    })
}

fn exact_fields(
    m: &Map<String, Value>,
    seq: u64,
    what: &str,
    known: impl Fn(&str) -> bool,
) -> Result<(), Failure> {
    match m.keys().find(|k| !known(k)) {
        Some(k) => fail(
            Some(seq),
            FailureKind::Malformed,
            format!("{what} has the unknown field {}", quoted(k)),
        ),
        None => Ok(()),
    }
}

pub(super) struct Meaning {
    pub(super) releases: u64,
    pub(super) officers: usize,
    pub(super) signatures: u64,
    /// Every officer ever enrolled: name and armored certificate, as the
    /// ledger states them (a bundle's `officers/` must match).
    pub(super) certs: Vec<(String, String)>,
    /// What the ledger says of each secret's releases, reviews and
    /// rotations.
    pub(super) lifecycle: Lifecycle,
}

struct SecretInfo {
    kind: String,
    min_approvals: u64,
    /// The policy its first deposit signed (§2.7), as JSON: a ceremony
    /// must carry it unchanged, and later deposits repeat it.
    policy: Value,
    /// The same policy, read.
    rules: Policy,
    /// Each item's ciphertext digest, by index.
    digests: Vec<String>,
    /// The items a rotation replaced or a retirement voided (§2.7).
    void: std::collections::BTreeSet<u64>,
    /// When its latest release happened, for rule 18's `min_interval`.
    last_release: Option<i64>,
    /// Its first deposit's entry: the summary lists secrets in this order.
    first: u64,
    /// Its `rotated` entries.
    rotated: u64,
}

#[derive(Clone, Copy)]
struct ItemInfo {
    release_seq: u64,
    confirmed: bool,
}

/// A release entry, as later entries refer to it.
struct ReleaseInfo {
    secret: String,
    index: u64,
    /// The approvers joined by `+`.
    actor: String,
    time: i64,
    /// The `reviewed` entry that classified it, if any.
    reviewed: Option<u64>,
}

struct Semantics {
    vault: String,
    epoch: u64,
    threshold: u64,
    vault_key: String,
    ledger_key: String,
    /// The vault's Argon2 settings (genesis, carried by every ceremony).
    kdf: KdfParams,
    officers: HashMap<String, Verifier>,
    /// The current officers' certificate fingerprints.
    fingerprints: HashMap<String, String>,
    certs: Vec<(String, String)>,
    secrets: HashMap<String, SecretInfo>,
    items: HashMap<(String, u64), ItemInfo>,
    releases: HashMap<u64, ReleaseInfo>,
    /// Each release whose display is recorded, and the entry recording it.
    displays: HashMap<u64, u64>,
    nonces: HashMap<String, u64>,
    /// `restored` entries without replay, not yet acknowledged.
    gaps: std::collections::HashSet<u64>,
    /// The latest `alerts` entry so far: the one every later entry names
    /// in its `hook` field.
    hook: Option<u64>,
    release_count: u64,
    signatures: u64,
}

/// The semantic checks, fed one entry at a time, in order, by the
/// integrity walk (which reads and parses each entry once for both).
#[derive(Default)]
pub(super) struct MeaningPass {
    sem: Option<Semantics>,
}

impl MeaningPass {
    /// Checks entry `seq`, the next one.
    ///
    /// `prior_root` is the root of the entries before it, given for a
    /// `restored` entry, whose evidence is checked against it.
    pub(super) fn entry(
        &mut self,
        seq: u64,
        m: &Map<String, Value>,
        prior_root: Option<Hash>,
    ) -> Result<(), Failure> {
        let kind = str_field(m, seq, "kind")?;
        check_fields(m, seq, kind)?;
        let expected = self.sem.as_ref().and_then(|s| s.hook);
        check_hook(m, seq, expected)?;
        let Some(s) = self.sem.as_mut() else {
            // The integrity pass made sure the first entry, and only it,
            // is the genesis entry.
            self.sem = Some(genesis(m)?);
            return Ok(());
        };
        // Rule 10 made sure `actor` is a string.
        match kind {
            "deposit" => s.deposit(seq, m)?,
            "release" => s.release(seq, m)?,
            "rekey" => s.rekey(seq, m)?,
            "displayed" => s.displayed(seq, m)?,
            "gap_acknowledged" => s.gap_acknowledged(seq, m)?,
            "drill" => s.drill(seq, m)?,
            "passphrase" | "auth_failed" => s.by_officer(seq, m)?,
            "alerts" => s.alerts(seq, m)?,
            "clock" => s.clock(seq, m)?,
            "rotated" => s.rotated(seq, m)?,
            "retired" => s.retired(seq, m)?,
            "reviewed" => s.reviewed(seq, m)?,
            "overdue" => s.overdue(seq, m)?,
            "restored" => {
                let prior = prior_root.expect("the walk gives a restored entry its prior root");
                s.restored(seq, m, &prior)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// What the whole ledger means, once every entry was given.
    pub(super) fn finish(self) -> Result<Meaning, Failure> {
        let s = self.sem.map_or_else(
            || fail(None, FailureKind::Malformed, "the ledger is empty"),
            Ok,
        )?;
        let lifecycle = s.lifecycle();
        Ok(Meaning {
            releases: s.release_count,
            officers: s.officers.len(),
            signatures: s.signatures,
            certs: s.certs,
            lifecycle,
        })
    }
}

/// A base64 SHA-256 hash.
fn hash_field(v: Option<&Value>, seq: u64, what: &str) -> Result<Hash, Failure> {
    v.and_then(Value::as_str)
        .and_then(|s| STANDARD.decode(s).ok())
        .and_then(|b| Hash::try_from(b.as_slice()).ok())
        .map_or_else(
            || malformed(seq, format!("{what} is not a base64 SHA-256 hash")),
            Ok,
        )
}

/// An entry's `statement` object (`malformed entry: no NOUN statement`).
fn statement_object<'m>(
    m: &'m Map<String, Value>,
    seq: u64,
    noun: &str,
) -> Result<&'m Map<String, Value>, Failure> {
    m.get("statement")
        .and_then(Value::as_object)
        .map_or_else(|| malformed(seq, format!("no {noun} statement")), Ok)
}

/// A signed statement with exactly `fields` (`malformed entry`): none
/// beyond them, the first unknown one in key order named, then none of
/// them missing, the first in `fields`' order named.
fn exactly(st: &Map<String, Value>, seq: u64, what: &str, fields: &[&str]) -> Result<(), Failure> {
    exact_fields(st, seq, what, |k| fields.contains(&k))?;
    match fields.iter().find(|f| !st.contains_key(**f)) {
        Some(f) => malformed(seq, format!("{what} has no {}", quoted(f))),
        None => Ok(()),
    }
}

/// Text of 1 to `max` characters, none a control character (§2.7: a
/// review's `note` and `incident`).
fn is_short_text(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    (1..=max).contains(&n) && !s.chars().any(char::is_control)
}

fn malformed<T>(seq: u64, why: impl Into<String>) -> Result<T, Failure> {
    fail(Some(seq), FailureKind::Malformed, why)
}

fn statement_bytes(st: &Value) -> Vec<u8> {
    canonical::to_vec(st).unwrap_or_default()
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What sets one kind's approvals apart in the loop they share
/// ([`Semantics::approvals`]).
struct Approvals {
    /// One approval, as in `O's NOUN has no signature`: "approval" or
    /// "acknowledgement".
    noun: &'static str,
    /// The failure when officer O's signature does not verify.
    unverified: fn(&str) -> String,
    /// What an approval must carry before its signature is checked.
    needs: Needs,
}

/// What an approval must carry before its signature is checked, else
/// `approval without statement`.
enum Needs {
    /// Nothing: a missing statement is checked as `null` (rule 21).
    Nothing,
    /// A `statement` field (rule 18).
    Statement,
    /// A `statement` that is an object (rule 19).
    Object,
}

impl Approvals {
    /// A release's (rule 18).
    const RELEASE: Self = Self {
        noun: "approval",
        unverified: unverified_approval,
        needs: Needs::Statement,
    };
    /// A ceremony's (rule 19).
    const CEREMONY: Self = Self {
        noun: "approval",
        unverified: unverified_approval,
        needs: Needs::Object,
    };
    /// A gap acknowledgement's (rule 21).
    const GAP: Self = Self {
        noun: "acknowledgement",
        unverified: |officer| format!("{officer}'s acknowledgement does not verify"),
        needs: Needs::Nothing,
    };
    /// A retirement's (rule 25b: "as in rule 21").
    const RETIRE: Self = Self {
        noun: "approval",
        unverified: unverified_approval,
        needs: Needs::Nothing,
    };
}

/// A release's or a ceremony's approval whose signature does not verify
/// (rules 18, 19).
fn unverified_approval(officer: &str) -> String {
    format!("the approval by {officer} does not verify with {officer}'s certificate")
}

impl Semantics {
    fn officer(&self, seq: u64, name: &str, kind: FailureKind) -> Result<&Verifier, Failure> {
        self.officers.get(name).map_or_else(
            || {
                fail(
                    Some(seq),
                    kind,
                    format!("{} is not an enrolled officer", quoted(name)),
                )
            },
            Ok,
        )
    }

    /// The statement of an entry its actor signs alone (a deposit, an
    /// alerts change): a `statement` object (`no NOUN statement`), a
    /// signature (missing: `SIG_WHAT has no signature`) by the actor, a
    /// current officer, over its canonical JSON (else `kind`), exactly
    /// `fields`, and a ledger `time`. `what` is (NOUN, SIG_WHAT).
    fn actor_statement<'m>(
        &mut self,
        seq: u64,
        m: &'m Map<String, Value>,
        what: (&str, &str),
        kind: FailureKind,
        fields: &[&str],
    ) -> Result<&'m Map<String, Value>, Failure> {
        let (noun, sig_what) = what;
        let actor = str_field(m, seq, "actor")?;
        let st = m
            .get("statement")
            .and_then(Value::as_object)
            .map_or_else(|| malformed(seq, format!("no {noun} statement")), Ok)?;
        let sig = signature_field(m, seq, kind, sig_what)?;
        let v = self.officer(seq, actor, FailureKind::UnknownOfficer)?;
        if v.verify(&statement_bytes(&Value::Object(st.clone())), sig.as_bytes())
            .is_err()
        {
            return fail(
                Some(seq),
                kind,
                format!("the {noun} statement does not verify with {actor}'s certificate"),
            );
        }
        self.signatures += 1;
        exact_fields(st, seq, &format!("the {noun} statement"), |k| {
            fields.contains(&k)
        })?;
        time_field(st, seq, "time")?;
        Ok(st)
    }

    /// Rules 25a and 25c: a `statement` its actor signs alone, checked in
    /// the order they give: the actor is a current officer (`unknown
    /// officer`), then `signature` is a string (`the NOUN has no
    /// signature`) that verifies over the statement's canonical JSON with
    /// the actor's certificate (`the NOUN statement does not verify with
    /// A's certificate`), both failing as `kind`.
    fn signed_by_actor(
        &mut self,
        seq: u64,
        m: &Map<String, Value>,
        st: &Map<String, Value>,
        kind: FailureKind,
        noun: &str,
    ) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let v = self.officer(seq, actor, FailureKind::UnknownOfficer)?;
        let sig = signature_field(m, seq, kind, &format!("the {noun}"))?;
        if v.verify(&statement_bytes(&Value::Object(st.clone())), sig.as_bytes())
            .is_err()
        {
            return fail(
                Some(seq),
                kind,
                format!("the {noun} statement does not verify with {actor}'s certificate"),
            );
        }
        self.signatures += 1;
        Ok(())
    }

    /// Rules 18, 19 and 21: the approvals of a release, a ceremony or a
    /// gap acknowledgement, in order; returns the approving officers, in
    /// order. `approvals` is a list; each approval an object with no field
    /// beyond `officer`, `statement`, `signature` and a string `officer`
    /// (`malformed entry`); a string `signature` (`O's NOUN has no
    /// signature`); what `rules.needs` before the signature is checked
    /// (`approval without statement`); a signature by a current officer
    /// over the statement's canonical JSON (`null` if there is none), else
    /// `rules.unverified`; an officer not already approving (`duplicate
    /// approval`); then the kind's own `check(self, officer, statement)`.
    fn approvals<'m>(
        &mut self,
        seq: u64,
        m: &'m Map<String, Value>,
        rules: Approvals,
        mut check: impl FnMut(&Self, &'m str, &'m Value) -> Result<(), Failure>,
    ) -> Result<Vec<&'m str>, Failure> {
        const NONE: &Value = &Value::Null;
        let Some(approvals) = m.get("approvals").and_then(Value::as_array) else {
            return malformed(seq, "no approvals");
        };
        let mut approvers: Vec<&str> = Vec::new();
        for a in approvals {
            let Some(a) = a.as_object() else {
                return malformed(seq, "approval is not an object");
            };
            exact_fields(a, seq, "an approval", |k| {
                matches!(k, "officer" | "statement" | "signature")
            })?;
            let officer = str_field(a, seq, "officer")?;
            let sig = signature_field(
                a,
                seq,
                FailureKind::BadApprovalSignature,
                &format!("{officer}'s {}", rules.noun),
            )?;
            let st = a.get("statement").unwrap_or(NONE);
            let has = match rules.needs {
                Needs::Nothing => true,
                Needs::Statement => a.contains_key("statement"),
                Needs::Object => st.is_object(),
            };
            if !has {
                return malformed(seq, "approval without statement");
            }
            let v = self.officer(seq, officer, FailureKind::BadApprovalSignature)?;
            if v.verify(&statement_bytes(st), sig.as_bytes()).is_err() {
                return fail(
                    Some(seq),
                    FailureKind::BadApprovalSignature,
                    (rules.unverified)(officer),
                );
            }
            self.signatures += 1;
            if approvers.contains(&officer) {
                return fail(
                    Some(seq),
                    FailureKind::DuplicateApproval,
                    format!("{officer} approves twice"),
                );
            }
            check(self, officer, st)?;
            approvers.push(officer);
        }
        Ok(approvers)
    }

    /// Rules 18 and 19: officer's approval `statement` carries the
    /// request's `nonce` (`replayed approval`) and an `expires` time
    /// (`malformed entry`) that the entry's `time` is not past (`expired
    /// approval`).
    fn nonce_and_expiry(
        seq: u64,
        officer: &str,
        statement: &Map<String, Value>,
        nonce: &str,
        time: i64,
    ) -> Result<(), Failure> {
        if statement.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("{officer}'s approval carries another request's nonce"),
            );
        }
        if time > time_field(statement, seq, "expires")? {
            return fail(
                Some(seq),
                FailureKind::ApprovalExpired,
                format!("{officer}'s approval had expired when it was used"),
            );
        }
        Ok(())
    }

    /// Rules 18a and 19a: every approver, in approval order, signed the
    /// entry's receipt `statement`, which the verifier built from the
    /// entry itself.
    fn receipts(
        &mut self,
        seq: u64,
        m: &Map<String, Value>,
        approvers: &[&str],
        statement: &Value,
    ) -> Result<(), Failure> {
        let Some(receipts) = m.get("receipts").and_then(Value::as_array) else {
            return malformed(seq, "no receipts");
        };
        let bad = |why: String| fail(Some(seq), FailureKind::BadReceipt, why);
        if receipts.len() != approvers.len() {
            return bad(format!(
                "{} receipts for {} approvers: every approver signs the receipt",
                receipts.len(),
                approvers.len()
            ));
        }
        let bytes = statement_bytes(statement);
        for (r, approver) in receipts.iter().zip(approvers) {
            let Some(r) = r.as_object() else {
                return malformed(seq, "a receipt is not an object");
            };
            exact_fields(r, seq, "a receipt", |k| {
                matches!(k, "officer" | "signature")
            })?;
            let officer = str_field(r, seq, "officer")?;
            if officer != *approver {
                return bad(format!(
                    "a receipt is {officer}'s where {approver}'s belongs (approval order)"
                ));
            }
            let Some(sig) = r.get("signature").and_then(Value::as_str) else {
                return bad(format!("{officer}'s receipt has no signature"));
            };
            let v = self.officer(seq, officer, FailureKind::BadReceipt)?;
            if v.verify(&bytes, sig.as_bytes()).is_err() {
                return bad(format!(
                    "{officer}'s receipt does not verify: the entry is not the one its approvers signed"
                ));
            }
            self.signatures += 1;
        }
        Ok(())
    }
}
