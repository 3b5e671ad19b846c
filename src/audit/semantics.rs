//! The second pass: what the entries mean (docs/LEDGER.md §2 and §5).
//! Every entry holds exactly its kind's fields; officer signatures,
//! quorum, expiry, replay, duplicate approvals, and that every release
//! takes an item that was deposited, by its signed digest, once.

use super::*;
use crate::names;

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
            "statement",
            "signature",
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
        ],
        &["re_release_of"],
    ),
    ("displayed", &["secret", "index", "release", "outcome"], &[]),
    ("refused", &["action", "cause"], &["secret", "reason"]),
    ("auth_failed", &["action"], &["secret"]),
    ("expired", &["secret", "nonce", "approvals"], &[]),
    ("cancelled", &["secret", "nonce", "approvals"], &[]),
    ("drill", &["result"], &[]),
    ("passphrase", &[], &[]),
    ("locked", &["cause"], &[]),
    ("clock", &["direction", "clock", "previous"], &[]),
];

/// The common fields of every entry.
pub(super) const COMMON: [&str; 5] = ["v", "seq", "time", "kind", "actor"];

/// The fields of a signed approval statement.
const APPROVAL_FIELDS: [&str; 8] = [
    "type", "vault", "epoch", "secret", "reason", "nonce", "expires", "officer",
];

/// The fields of a signed deposit statement.
const DEPOSIT_FIELDS: [&str; 12] = [
    "type",
    "vault",
    "epoch",
    "secret",
    "kind",
    "first_index",
    "count",
    "items",
    "min_approvals",
    "vault_key_fingerprint",
    "officer",
    "time",
];

/// Checks that `m` holds exactly the common fields and its kind's.
pub(super) fn check_fields(m: &Map<String, Value>, seq: u64, kind: &str) -> Result<(), Failure> {
    let Some((_, required, optional)) = SCHEMA.iter().find(|(k, _, _)| *k == kind) else {
        return fail(
            Some(seq),
            FailureKind::Malformed,
            format!("unknown entry kind {kind:?}"),
        );
    };
    for f in COMMON.iter().chain(required.iter()) {
        if !m.contains_key(*f) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("a {kind} entry needs the field {f:?}"),
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
            format!("{what} has the unknown field {k:?}"),
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
}

struct SecretInfo {
    kind: String,
    min_approvals: u64,
    /// Each item's ciphertext digest, by index.
    digests: Vec<String>,
}

#[derive(Clone, Copy)]
struct ItemInfo {
    release_seq: u64,
    confirmed: bool,
}

struct Semantics {
    vault: String,
    epoch: u64,
    threshold: u64,
    vault_key: String,
    officers: HashMap<String, Verifier>,
    certs: Vec<(String, String)>,
    secrets: HashMap<String, SecretInfo>,
    items: HashMap<(String, u64), ItemInfo>,
    releases: HashMap<u64, (String, u64, String)>,
    nonces: HashMap<String, u64>,
    release_count: u64,
    signatures: u64,
}

pub(super) fn check_meaning(source: &dyn Source) -> Result<Meaning, Failure> {
    let mut sem: Option<Semantics> = None;
    for (pos, bytes) in source.entries().map_err(io_fail)?.enumerate() {
        let seq = pos as u64;
        let bytes = bytes.map_err(io_fail)?;
        let m = ledger::parse_entry(&bytes)
            .or_else(|e| fail(Some(seq), FailureKind::NotCanonical, e.to_string()))?;
        let kind = str_field(&m, seq, "kind")?;
        check_fields(&m, seq, kind)?;
        let Some(s) = sem.as_mut() else {
            // The integrity pass made sure the first entry, and only it,
            // is the genesis entry.
            sem = Some(genesis(&m)?);
            continue;
        };
        let actor = str_field(&m, seq, "actor")?;
        match kind {
            "deposit" => s.deposit(seq, &m)?,
            "release" => s.release(seq, &m)?,
            "displayed" => s.displayed(seq, &m)?,
            "drill" | "passphrase" | "auth_failed" => {
                s.officer(seq, actor, FailureKind::UnknownOfficer)?;
            }
            "clock" => {
                let d = str_field(&m, seq, "direction")?;
                time_field(&m, seq, "previous")?;
                if !matches!(d, "behind" | "ahead")
                    || str_field(&m, seq, "clock")? != str_field(&m, seq, "time")?
                {
                    return fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "a clock entry's direction is \"behind\" or \"ahead\", and its clock is its time",
                    );
                }
            }
            _ => {}
        }
    }
    let s = sem.map_or_else(
        || fail(None, FailureKind::Malformed, "the ledger is empty"),
        Ok,
    )?;
    Ok(Meaning {
        releases: s.release_count,
        officers: s.officers.len(),
        signatures: s.signatures,
        certs: s.certs,
    })
}

fn genesis(m: &Map<String, Value>) -> Result<Semantics, Failure> {
    fn bad<T>(why: String) -> Result<T, Failure> {
        fail(Some(0), FailureKind::Malformed, why)
    }
    let mut officers = HashMap::new();
    let mut certs = Vec::new();
    let Some(list) = m.get("officers").and_then(Value::as_array) else {
        return bad("genesis lists no officers".into());
    };
    for o in list {
        let Some(o) = o.as_object() else {
            return bad("an officer is not an object".into());
        };
        exact_fields(o, 0, "an officer", |k| {
            matches!(k, "name" | "fingerprint" | "cert")
        })?;
        let name = str_field(o, 0, "name")?;
        if names::officer(name).is_err() {
            return bad(format!("{name:?} is not a valid officer name"));
        }
        let armored = str_field(o, 0, "cert")?;
        let cert = PublicCert::from_bytes(armored.as_bytes())
            .or_else(|e| bad(format!("officer {name}: {e}")))?;
        if cert.fingerprint() != str_field(o, 0, "fingerprint")? {
            return bad(format!(
                "officer {name}'s fingerprint does not match the certificate"
            ));
        }
        let v = cert.verifier().or_else(|e| bad(e.to_string()))?;
        if officers.insert(name.to_string(), v).is_some() {
            return bad(format!("officer {name} is listed twice"));
        }
        certs.push((name.to_string(), armored.to_string()));
    }
    let actor: Vec<&str> = list
        .iter()
        .filter_map(|o| o.get("name").and_then(Value::as_str))
        .collect();
    if str_field(m, 0, "actor")? != actor.join("+") {
        return bad("the genesis actor is not its officers joined by \"+\"".into());
    }
    let threshold = u64_field(m, 0, "threshold")?;
    if threshold < 2 || threshold as usize > officers.len() {
        return bad("threshold out of range".into());
    }
    let vault = str_field(m, 0, "vault")?;
    if vault.len() != 32
        || !vault
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return bad("the vault id is not 32 lower-case hex digits".into());
    }
    let vault_key = str_field(m, 0, "vault_key_fingerprint")?;
    let vk_cert = PublicCert::from_bytes(str_field(m, 0, "vault_key_cert")?.as_bytes())
        .or_else(|e| bad(format!("genesis vault key certificate: {e}")))?;
    if vk_cert.fingerprint() != vault_key {
        return bad("vault_key_fingerprint does not match vault_key_cert".into());
    }
    let epoch = u64_field(m, 0, "epoch")?;
    if epoch != 0 {
        return bad("the genesis entry opens epoch 0".into());
    }
    Ok(Semantics {
        vault: vault.to_string(),
        epoch,
        threshold,
        vault_key: vault_key.to_string(),
        officers,
        certs,
        secrets: HashMap::new(),
        items: HashMap::new(),
        releases: HashMap::new(),
        nonces: HashMap::new(),
        release_count: 0,
        signatures: 0,
    })
}

fn statement_bytes(st: &Value) -> Vec<u8> {
    canonical::to_vec(st).unwrap_or_default()
}

fn is_digest(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Semantics {
    fn officer(&self, seq: u64, name: &str, kind: FailureKind) -> Result<&Verifier, Failure> {
        self.officers.get(name).map_or_else(
            || {
                fail(
                    Some(seq),
                    kind,
                    format!("{name:?} is not an enrolled officer"),
                )
            },
            Ok,
        )
    }

    fn deposit(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let secret = str_field(m, seq, "secret")?;
        if names::secret(secret).is_err() {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{secret:?} is not a valid secret name"),
            );
        }
        let count = u64_field(m, seq, "count")?;
        let total = u64_field(m, seq, "total")?;
        let st = m.get("statement").and_then(Value::as_object).map_or_else(
            || fail(Some(seq), FailureKind::Malformed, "no deposit statement"),
            Ok,
        )?;
        let sig = signature_field(m, seq, FailureKind::BadDepositSignature, "the deposit")?;
        let v = self.officer(seq, actor, FailureKind::UnknownOfficer)?;
        if v.verify(&statement_bytes(&Value::Object(st.clone())), sig.as_bytes())
            .is_err()
        {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                format!("the deposit statement does not verify with {actor}'s certificate"),
            );
        }
        self.signatures += 1;
        exact_fields(st, seq, "the deposit statement", |k| {
            DEPOSIT_FIELDS.contains(&k)
        })?;
        time_field(st, seq, "time")?;
        let digests: Option<Vec<String>> =
            st.get("items").and_then(Value::as_array).and_then(|a| {
                a.iter()
                    .map(|d| d.as_str().filter(|d| is_digest(d)).map(str::to_owned))
                    .collect()
            });
        let prev = self.secrets.get(secret);
        let prev_total = prev.map_or(0, |s| s.digests.len() as u64);
        let entry_min = m.get("min_approvals").filter(|v| !v.is_null());
        let signed_min = st.get("min_approvals").filter(|v| !v.is_null());
        let field = |k: &str| st.get(k).and_then(Value::as_str);
        let matches = field("type") == Some("breakglass-deposit/v2")
            && field("vault") == Some(&self.vault)
            && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
            && field("secret") == Some(secret)
            && field("officer") == Some(actor)
            && field("vault_key_fingerprint") == Some(&self.vault_key)
            && st.get("count").and_then(Value::as_u64) == Some(count)
            && st.get("first_index").and_then(Value::as_u64) == Some(prev_total)
            && st.get("kind") == m.get("item_kind")
            && matches!(field("kind"), Some("codes") | Some("credential"))
            && digests.as_ref().is_some_and(|d| d.len() as u64 == count)
            && count > 0
            && (field("kind") != Some("credential") || count == 1)
            && prev_total + count == total
            && entry_min == signed_min
            && prev.is_none_or(|p| {
                Some(p.kind.as_str()) == field("kind")
                    && p.kind == "codes"
                    && signed_min.is_none_or(|k| k.as_u64() == Some(p.min_approvals))
            });
        if !matches {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed deposit statement does not match the entry or the secret's history",
            );
        }
        let min = signed_min.and_then(Value::as_u64);
        if min.is_some_and(|k| k < self.threshold || k as usize > self.officers.len()) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                "min_approvals is outside threshold..officers",
            );
        }
        let info = self
            .secrets
            .entry(secret.to_string())
            .or_insert(SecretInfo {
                kind: field("kind").unwrap_or_default().to_string(),
                // Set by the first deposit; later ones may only repeat it.
                min_approvals: min.unwrap_or(0),
                digests: Vec::new(),
            });
        info.digests.extend(digests.unwrap_or_default());
        Ok(())
    }

    fn release(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let secret = str_field(m, seq, "secret")?.to_string();
        let index = u64_field(m, seq, "index")?;
        let digest = str_field(m, seq, "digest")?;
        let reason = str_field(m, seq, "reason")?;
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        if u64_field(m, seq, "epoch")? != self.epoch {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                "the release names another epoch",
            );
        }
        let info = self.secrets.get(&secret).map_or_else(
            || {
                fail(
                    Some(seq),
                    FailureKind::UnknownItem,
                    format!("secret {secret:?} was never deposited"),
                )
            },
            Ok,
        )?;
        if info.digests.get(index as usize).map(String::as_str) != Some(digest) {
            return fail(
                Some(seq),
                FailureKind::UnknownItem,
                format!(
                    "{secret} #{} with digest {digest} is not an item any deposit signed",
                    index + 1
                ),
            );
        }
        let needed = self.threshold.max(info.min_approvals);
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by the release in entry {first}"),
            );
        }
        let approvals = m.get("approvals").and_then(Value::as_array).map_or_else(
            || fail(Some(seq), FailureKind::Malformed, "no approvals"),
            Ok,
        )?;
        let mut approvers: Vec<&str> = Vec::new();
        for a in approvals {
            let a = a.as_object().map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "approval is not an object",
                    )
                },
                Ok,
            )?;
            exact_fields(a, seq, "an approval", |k| {
                matches!(k, "officer" | "statement" | "signature")
            })?;
            let officer = str_field(a, seq, "officer")?;
            let sig = signature_field(
                a,
                seq,
                FailureKind::BadApprovalSignature,
                &format!("{officer}'s approval"),
            )?;
            let st = a.get("statement").map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "approval without statement",
                    )
                },
                Ok,
            )?;
            let v = self.officer(seq, officer, FailureKind::BadApprovalSignature)?;
            if v.verify(&statement_bytes(st), sig.as_bytes()).is_err() {
                return fail(
                    Some(seq),
                    FailureKind::BadApprovalSignature,
                    format!(
                        "the approval by {officer} does not verify with {officer}'s certificate"
                    ),
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
            let st = st.as_object().map_or_else(
                || {
                    fail(
                        Some(seq),
                        FailureKind::Malformed,
                        "statement is not an object",
                    )
                },
                Ok,
            )?;
            exact_fields(st, seq, "an approval statement", |k| {
                APPROVAL_FIELDS.contains(&k)
            })?;
            let field = |k: &str| st.get(k).and_then(Value::as_str);
            let same = field("type") == Some("breakglass-approval/v1")
                && field("vault") == Some(&self.vault)
                && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
                && field("officer") == Some(officer)
                && field("secret") == Some(&secret)
                && field("reason") == Some(reason);
            if !same {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s signed statement is for another release"),
                );
            }
            if field("nonce") != Some(nonce) {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalReplayed,
                    format!("{officer}'s approval carries another request's nonce"),
                );
            }
            let expires = time_field(st, seq, "expires")?;
            if time > expires {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalExpired,
                    format!("{officer}'s approval had expired when it was used"),
                );
            }
            approvers.push(officer);
        }
        if (approvers.len() as u64) < needed {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved, {needed} needed",
                    approvers.len()
                ),
            );
        }
        let actor = approvers.join("+");
        if str_field(m, seq, "actor")? != actor {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("the actor is not the approvers joined by \"+\" ({actor})"),
            );
        }
        let key = (secret.clone(), index);
        let again = m.get("re_release_of").and_then(Value::as_u64);
        match (self.items.get(&key), again) {
            (None, None) => {}
            (Some(prev), Some(r)) if prev.release_seq == r && !prev.confirmed => {}
            (Some(prev), _) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!(
                        "{secret} #{} was already released by entry {}{}",
                        index + 1,
                        prev.release_seq,
                        if prev.confirmed {
                            " and confirmed seen"
                        } else {
                            ""
                        }
                    ),
                );
            }
            (None, Some(r)) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!("re-release of entry {r}, which did not release this item"),
                );
            }
        }
        self.items.insert(
            key,
            ItemInfo {
                release_seq: seq,
                confirmed: false,
            },
        );
        self.nonces.insert(nonce.to_string(), seq);
        self.releases.insert(seq, (secret, index, actor));
        self.release_count += 1;
        Ok(())
    }

    fn displayed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let r = u64_field(m, seq, "release")?;
        let secret = str_field(m, seq, "secret")?;
        let index = u64_field(m, seq, "index")?;
        let outcome = str_field(m, seq, "outcome")?;
        let Some((s, i, actor)) = self.releases.get(&r) else {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("entry {r} is not a release"),
            );
        };
        if (s.as_str(), *i) != (secret, index) || str_field(m, seq, "actor")? != actor {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!(
                    "entry {r} is not the release of {secret} #{} by its actor",
                    index + 1
                ),
            );
        }
        if !matches!(outcome, "confirmed" | "stdout" | "timeout" | "dismissed") {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("unknown display outcome {outcome:?}"),
            );
        }
        if matches!(outcome, "confirmed" | "stdout") {
            let key = (secret.to_string(), index);
            if let Some(item) = self.items.get_mut(&key).filter(|i| i.release_seq == r) {
                item.confirmed = true;
            }
        }
        Ok(())
    }
}
