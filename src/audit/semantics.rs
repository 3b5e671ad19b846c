//! The second pass: what the entries mean (docs/LEDGER.md §2 and §5).
//! Every entry holds exactly its kind's fields; officer signatures,
//! quorum, expiry, replay, duplicate approvals, and that every release
//! takes an item that was deposited, by its signed digest, once.

use std::collections::BTreeMap;

use super::*;
use crate::crypto::KdfParams;
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
        ],
        &["re_release_of"],
    ),
    ("displayed", &["secret", "index", "release", "outcome"], &[]),
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
        ],
        &[],
    ),
    ("drill", &["result"], &[]),
    ("passphrase", &[], &[]),
    ("locked", &["cause"], &[]),
    ("backup", &[], &[]),
    (
        "restored",
        &["backup_entries", "replayed", "gap", "evidence", "beyond"],
        &[],
    ),
    ("gap_acknowledged", &["restored", "nonce", "approvals"], &[]),
    ("clock", &["direction", "clock", "previous"], &[]),
    (
        "alerts",
        &["action", "program", "args", "statement", "signature"],
        &[],
    ),
];

/// The fields of a signed `alerts` statement.
const ALERTS_FIELDS: [&str; 8] = [
    "type", "vault", "epoch", "action", "program", "args", "officer", "time",
];

/// The common fields of every entry.
pub(super) const COMMON: [&str; 6] = ["v", "seq", "time", "kind", "actor", "hook"];

/// The fields of a signed approval statement.
const APPROVAL_FIELDS: [&str; 8] = [
    "type", "vault", "epoch", "secret", "reason", "nonce", "expires", "officer",
];

/// The fields of a signed ceremony statement.
const CEREMONY_FIELDS: [&str; 12] = [
    "type",
    "vault",
    "epoch",
    "ceremony",
    "new_epoch",
    "threshold",
    "officers",
    "vault_key_fingerprint",
    "kdf",
    "nonce",
    "expires",
    "officer",
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
    ledger_key: String,
    /// The vault's Argon2 settings (genesis, carried by every ceremony).
    kdf: KdfParams,
    officers: HashMap<String, Verifier>,
    /// The current officers' certificate fingerprints.
    fingerprints: HashMap<String, String>,
    certs: Vec<(String, String)>,
    secrets: HashMap<String, SecretInfo>,
    items: HashMap<(String, u64), ItemInfo>,
    releases: HashMap<u64, (String, u64, String)>,
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
        let actor = str_field(m, seq, "actor")?;
        match kind {
            "deposit" => s.deposit(seq, m)?,
            "release" => s.release(seq, m)?,
            "rekey" => s.rekey(seq, m)?,
            "gap_acknowledged" => s.gap_acknowledged(seq, m)?,
            "restored" => {
                let prior = prior_root.expect("the walk gives a restored entry its prior root");
                if restored(seq, m, &prior)? {
                    s.gaps.insert(seq);
                }
            }
            "displayed" => s.displayed(seq, m)?,
            "alerts" => {
                s.alerts(seq, m)?;
                s.hook = Some(seq);
            }
            "drill" | "passphrase" | "auth_failed" => {
                s.officer(seq, actor, FailureKind::UnknownOfficer)?;
            }
            "clock" => {
                let d = str_field(m, seq, "direction")?;
                time_field(m, seq, "previous")?;
                if !matches!(d, "behind" | "ahead")
                    || str_field(m, seq, "clock")? != str_field(m, seq, "time")?
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
        Ok(())
    }

    /// What the whole ledger means, once every entry was given.
    pub(super) fn finish(self) -> Result<Meaning, Failure> {
        let s = self.sem.map_or_else(
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
}

/// Rule 2a: an entry's `hook` names the latest `alerts` entry before it
/// (`null` when there is none), so where alerts go is read from the
/// ledger's last entry and a marker cannot steer it.
fn check_hook(m: &Map<String, Value>, seq: u64, expected: Option<u64>) -> Result<(), Failure> {
    let named = match m.get("hook") {
        Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(n),
            None => return malformed(seq, "hook is not an integer or null"),
        },
        None => return malformed(seq, "no hook field"),
    };
    if named == expected {
        return Ok(());
    }
    let say = |h: Option<u64>| h.map_or("none".to_string(), |h| format!("entry {h}"));
    fail(
        Some(seq),
        FailureKind::HookMismatch,
        format!(
            "it names {} as the alerts entry in force, but the latest alerts entry before it is {}",
            say(named),
            say(expected)
        ),
    )
}

/// One officer of an epoch entry: name, fingerprint, armored certificate
/// and its signature verifier.
type Officer = (String, String, String, Verifier);

/// An epoch entry's officers (genesis or rekey): exactly `{name,
/// fingerprint, cert}`, valid distinct names, certificates that match
/// their fingerprints. In list order.
fn officer_list(m: &Map<String, Value>, seq: u64) -> Result<Vec<Officer>, Failure> {
    let bad = |why: String| fail(Some(seq), FailureKind::Malformed, why);
    let Some(list) = m.get("officers").and_then(Value::as_array) else {
        return bad("the entry lists no officers".into());
    };
    let mut out: Vec<Officer> = Vec::new();
    for o in list {
        let Some(o) = o.as_object() else {
            return bad("an officer is not an object".into());
        };
        exact_fields(o, seq, "an officer", |k| {
            matches!(k, "name" | "fingerprint" | "cert")
        })?;
        let name = str_field(o, seq, "name")?;
        if names::officer(name).is_err() {
            return bad(format!("{name:?} is not a valid officer name"));
        }
        let armored = str_field(o, seq, "cert")?;
        let cert = match PublicCert::from_bytes(armored.as_bytes()) {
            Ok(c) => c,
            Err(e) => return bad(format!("officer {name}: {e}")),
        };
        let fpr = str_field(o, seq, "fingerprint")?;
        if cert.fingerprint() != fpr {
            return bad(format!(
                "officer {name}'s fingerprint does not match the certificate"
            ));
        }
        let v = match cert.verifier() {
            Ok(v) => v,
            Err(e) => return bad(e.to_string()),
        };
        if out.iter().any(|(n, ..)| n == name) {
            return bad(format!("officer {name} is listed twice"));
        }
        out.push((name.into(), fpr.into(), armored.into(), v));
    }
    Ok(out)
}

/// An epoch entry's vault encryption key: its fingerprint, checked
/// against its certificate.
fn vault_key(m: &Map<String, Value>, seq: u64) -> Result<String, Failure> {
    let fpr = str_field(m, seq, "vault_key_fingerprint")?;
    let cert = PublicCert::from_bytes(str_field(m, seq, "vault_key_cert")?.as_bytes());
    if cert.map(|c| c.fingerprint()).ok().as_deref() != Some(fpr) {
        return fail(
            Some(seq),
            FailureKind::Malformed,
            "vault_key_fingerprint does not match vault_key_cert",
        );
    }
    Ok(fpr.to_string())
}

fn genesis(m: &Map<String, Value>) -> Result<Semantics, Failure> {
    fn bad<T>(why: String) -> Result<T, Failure> {
        fail(Some(0), FailureKind::Malformed, why)
    }
    let list = officer_list(m, 0)?;
    let actor: Vec<&str> = list.iter().map(|(n, ..)| n.as_str()).collect();
    if str_field(m, 0, "actor")? != actor.join("+") {
        return bad("the genesis actor is not its officers joined by \"+\"".into());
    }
    let threshold = u64_field(m, 0, "threshold")?;
    if threshold < 2 || threshold as usize > list.len() {
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
    let vault_key = vault_key(m, 0)?;
    let epoch = u64_field(m, 0, "epoch")?;
    if epoch != 0 {
        return bad("the genesis entry opens epoch 0".into());
    }
    let kdf = kdf_field(m, 0)?;
    let mut sem = Semantics {
        vault: vault.to_string(),
        epoch,
        threshold,
        vault_key,
        ledger_key: str_field(m, 0, "ledger_fingerprint")?.to_string(),
        kdf,
        officers: HashMap::new(),
        fingerprints: HashMap::new(),
        certs: Vec::new(),
        secrets: HashMap::new(),
        items: HashMap::new(),
        releases: HashMap::new(),
        nonces: HashMap::new(),
        gaps: Default::default(),
        hook: None,
        release_count: 0,
        signatures: 0,
    };
    for (name, fpr, armored, v) in list {
        sem.certs.push((name.clone(), armored));
        sem.fingerprints.insert(name.clone(), fpr);
        sem.officers.insert(name, v);
    }
    Ok(sem)
}

/// The vault's Argon2 settings (LEDGER.md rule 16): exactly
/// `memory_kib`, `iterations`, `parallelism`, within the bounds an officer
/// record is read with (DESIGN I21).
fn kdf_field(m: &Map<String, Value>, seq: u64) -> Result<KdfParams, Failure> {
    m.get("kdf")
        .and_then(KdfParams::from_json)
        .filter(|k| k.check_bounds().is_ok())
        .map_or_else(
            || malformed(seq, "kdf is not Argon2 settings within bounds"),
            Ok,
        )
}

/// A `restored` entry (rule 24): its numbers agree with the ledger, its
/// evidence is a checkpoint the entries before it extend, and it leaves a
/// gap exactly when nothing proves the restored ledger complete. Returns
/// whether it leaves a gap. `prior` is the root of the entries before it.
fn restored(seq: u64, m: &Map<String, Value>, prior: &Hash) -> Result<bool, Failure> {
    let bad = |why: String| fail(Some(seq), FailureKind::BadRestore, why);
    let backup = u64_field(m, seq, "backup_entries")?;
    let replayed = u64_field(m, seq, "replayed")?;
    if backup == 0 || backup.checked_add(replayed) != Some(seq) {
        return bad(format!(
            "it restores {backup} entries from the backup and replays {replayed}, but {seq} entries come before it"
        ));
    }
    let Some(gap) = m.get("gap").and_then(Value::as_bool) else {
        return malformed(seq, "gap is not true or false");
    };
    let reached = match m.get("evidence") {
        Some(Value::Null) => None,
        Some(Value::Object(e)) => {
            exact_fields(e, seq, "the evidence", |k| {
                matches!(k, "size" | "root" | "proof")
            })?;
            let size = u64_field(e, seq, "size")?;
            let root = hash_field(e.get("root"), seq, "the evidence's root")?;
            let Some(proof) = e.get("proof").and_then(Value::as_array) else {
                return malformed(seq, "the evidence's proof is not a list");
            };
            let proof = proof
                .iter()
                .map(|h| hash_field(Some(h), seq, "a proof hash"))
                .collect::<Result<Vec<_>, _>>()?;
            if size == 0 || !merkle::verify_consistency(size, seq, &root, prior, &proof) {
                return bad(format!(
                    "its evidence does not prove that the {seq} entries before it extend the checkpoint of size {size}"
                ));
            }
            Some(size)
        }
        _ => return malformed(seq, "evidence is not an object or null"),
    };
    let beyond = match m.get("beyond") {
        Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(b) if b > seq => Some(b),
            _ => {
                return bad(format!(
                    "beyond names a checkpoint the {seq} entries before it would reach"
                ));
            }
        },
        None => return malformed(seq, "no beyond"),
    };
    if gap != (reached.is_none() || beyond.is_some()) {
        return bad(if gap {
            "it claims a gap, yet its evidence proves the restored ledger complete".into()
        } else {
            "it claims no gap, but no evidence proves the restored ledger complete".into()
        });
    }
    Ok(gap)
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

fn malformed<T>(seq: u64, why: impl Into<String>) -> Result<T, Failure> {
    fail(Some(seq), FailureKind::Malformed, why)
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
        let st = self.actor_statement(
            seq,
            m,
            ("deposit", "the deposit"),
            FailureKind::BadDepositSignature,
            &DEPOSIT_FIELDS,
        )?;
        let digests: Option<Vec<String>> =
            st.get("items").and_then(Value::as_array).and_then(|a| {
                a.iter()
                    .map(|d| d.as_str().filter(|d| is_digest(d)).map(str::to_owned))
                    .collect()
            });
        let prev = self.secrets.get(secret);
        let prev_total = prev.map_or(0, |s| s.digests.len() as u64);
        // Every statement field is there, and a minimum is a number or
        // null, in the entry and in what the depositor signed.
        if let Some(f) = DEPOSIT_FIELDS.iter().find(|f| !st.contains_key(**f)) {
            return malformed(seq, format!("the deposit statement has no {f:?}"));
        }
        let typed = |v: Option<&Value>| v.is_some_and(|v| v.is_null() || v.is_u64());
        if !typed(m.get("min_approvals")) || !typed(st.get("min_approvals")) {
            return malformed(seq, "min_approvals is neither a number nor null");
        }
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
        // Each ciphertext carried in the entry is the one the depositor
        // signed, by its digest.
        let carried: Option<Vec<String>> =
            m.get("ciphertexts")
                .and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .map(|c| {
                            let bytes = STANDARD.decode(c.as_str()?).ok()?;
                            Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
                        })
                        .collect()
                });
        if carried != digests {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the ciphertexts in the entry are not the ones the depositor signed",
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
        self.outside_gap(seq, "release")?;
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
                    index.saturating_add(1)
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
        let again = match m.get("re_release_of") {
            None => None,
            Some(v) => Some(v.as_u64().map_or_else(
                || malformed(seq, "re_release_of is not an entry number"),
                Ok,
            )?),
        };
        match (self.items.get(&key), again) {
            (None, None) => {}
            (Some(prev), Some(r)) if prev.release_seq == r && !prev.confirmed => {}
            (Some(prev), _) => {
                return fail(
                    Some(seq),
                    FailureKind::DoubleRelease,
                    format!(
                        "{secret} #{} was already released by entry {}{}",
                        index.saturating_add(1),
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

    /// A ceremony: approved by a quorum of the current officers, each
    /// signing this very change; it carries every secret's state into the
    /// new epoch, whose officers, threshold and keys it names.
    fn rekey(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        self.outside_gap(seq, "ceremony")?;
        let epoch = u64_field(m, seq, "epoch")?;
        if epoch != self.epoch + 1
            || str_field(m, seq, "vault")? != self.vault
            || str_field(m, seq, "ledger_fingerprint")? != self.ledger_key
        {
            return malformed(
                seq,
                "a ceremony opens the next epoch of this vault, under its ledger key",
            );
        }
        let ledger_cert = PublicCert::from_bytes(str_field(m, seq, "ledger_cert")?.as_bytes());
        if ledger_cert.map(|c| c.fingerprint()).ok().as_deref() != Some(self.ledger_key.as_str()) {
            return malformed(seq, "ledger_cert is not the ledger key");
        }
        let ceremony = str_field(m, seq, "ceremony")?;
        let list = officer_list(m, seq)?;
        let new_fprs: BTreeMap<String, String> = list
            .iter()
            .map(|(n, f, ..)| (n.clone(), f.clone()))
            .collect();
        let names_of = |k: &str| -> Result<Vec<String>, Failure> {
            m.get(k)
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                .map_or_else(|| malformed(seq, format!("{k} is not a list of names")), Ok)
        };
        let mut added = names_of("added")?;
        let mut removed = names_of("removed")?;
        let mut want_added: Vec<String> = new_fprs
            .keys()
            .filter(|n| !self.fingerprints.contains_key(*n))
            .cloned()
            .collect();
        let mut want_removed: Vec<String> = self
            .fingerprints
            .keys()
            .filter(|n| !new_fprs.contains_key(*n))
            .cloned()
            .collect();
        for v in [&mut added, &mut removed, &mut want_added, &mut want_removed] {
            v.sort();
        }
        if added != want_added || removed != want_removed {
            return malformed(seq, "added and removed do not match the change of officers");
        }
        if new_fprs
            .iter()
            .any(|(n, f)| self.fingerprints.get(n).is_some_and(|old| old != f))
        {
            return malformed(seq, "an officer who stays has another certificate");
        }
        if self.certs.iter().any(|(n, _)| added.contains(n)) {
            return malformed(seq, "a name is enrolled a second time");
        }
        let fits_kind = match ceremony {
            "officer_add" => added.len() == 1 && removed.is_empty(),
            "officer_remove" => removed.len() == 1 && added.is_empty(),
            "rekey" => true,
            _ => false,
        };
        if !fits_kind {
            return malformed(
                seq,
                format!("a {ceremony:?} ceremony cannot make this change"),
            );
        }
        let threshold = u64_field(m, seq, "threshold")?;
        if threshold < 2 || threshold as usize > list.len() {
            return malformed(seq, "threshold out of range");
        }
        let vault_key = vault_key(m, seq)?;
        if kdf_field(m, seq)? != self.kdf {
            return malformed(seq, "a ceremony changes the vault's Argon2 settings");
        }
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by entry {first}"),
            );
        }
        let Some(approvals) = m.get("approvals").and_then(Value::as_array) else {
            return malformed(seq, "no approvals");
        };
        let mut approvers: Vec<String> = Vec::new();
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
                &format!("{officer}'s approval"),
            )?;
            let Some(st) = a.get("statement").and_then(Value::as_object) else {
                return malformed(seq, "approval without statement");
            };
            let v = self.officer(seq, officer, FailureKind::BadApprovalSignature)?;
            if v.verify(&statement_bytes(&Value::Object(st.clone())), sig.as_bytes())
                .is_err()
            {
                return fail(
                    Some(seq),
                    FailureKind::BadApprovalSignature,
                    format!(
                        "the approval by {officer} does not verify with {officer}'s certificate"
                    ),
                );
            }
            self.signatures += 1;
            if approvers.iter().any(|o| o == officer) {
                return fail(
                    Some(seq),
                    FailureKind::DuplicateApproval,
                    format!("{officer} approves twice"),
                );
            }
            exact_fields(st, seq, "a ceremony statement", |k| {
                CEREMONY_FIELDS.contains(&k)
            })?;
            let field = |k: &str| st.get(k).and_then(Value::as_str);
            let signed_officers: Option<BTreeMap<String, String>> =
                st.get("officers").and_then(Value::as_object).and_then(|o| {
                    o.iter()
                        .map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                });
            let same = field("type") == Some("breakglass-ceremony/v1")
                && field("vault") == Some(&self.vault)
                && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
                && st.get("new_epoch").and_then(Value::as_u64) == Some(epoch)
                && field("ceremony") == Some(ceremony)
                && st.get("threshold").and_then(Value::as_u64) == Some(threshold)
                && field("vault_key_fingerprint") == Some(&vault_key)
                && st.get("kdf").and_then(KdfParams::from_json) == Some(self.kdf)
                && field("officer") == Some(officer)
                && signed_officers.as_ref() == Some(&new_fprs);
            if !same {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s signed statement is for another ceremony"),
                );
            }
            if field("nonce") != Some(nonce) {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalReplayed,
                    format!("{officer}'s approval carries another request's nonce"),
                );
            }
            if time > time_field(st, seq, "expires")? {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalExpired,
                    format!("{officer}'s approval had expired when it was used"),
                );
            }
            approvers.push(officer.to_string());
        }
        if (approvers.len() as u64) < self.threshold {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved the ceremony, {} needed",
                    approvers.len(),
                    self.threshold
                ),
            );
        }
        if str_field(m, seq, "actor")? != approvers.join("+") {
            return malformed(seq, "the actor is not the approvers joined by \"+\"");
        }
        // Every officer who neither approved nor joined gets a delivered
        // share, and only they do.
        let pending = m.get("pending").and_then(Value::as_object);
        let want: Vec<&String> = new_fprs
            .keys()
            .filter(|n| !approvers.contains(n) && !added.contains(n))
            .collect();
        let fits = pending.is_some_and(|p| {
            p.len() == want.len()
                && want
                    .iter()
                    .all(|n| p.get(*n).and_then(Value::as_str).is_some_and(is_digest))
        });
        if !fits {
            return malformed(
                seq,
                "pending does not deliver a share to exactly the absent officers",
            );
        }
        self.carry_secrets(seq, m)?;
        self.nonces.insert(nonce.to_string(), seq);
        self.epoch = epoch;
        self.threshold = threshold;
        self.vault_key = vault_key;
        self.officers.clear();
        self.fingerprints.clear();
        for (name, fpr, armored, v) in list {
            if added.contains(&name) {
                self.certs.push((name.clone(), armored));
            }
            self.fingerprints.insert(name.clone(), fpr);
            self.officers.insert(name, v);
        }
        Ok(())
    }

    /// A ceremony's `secrets` must carry every secret exactly as it stands:
    /// kind, minimum approvals, every item and its state; an item already
    /// seen keeps its digest, the others are re-encrypted.
    fn carry_secrets(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let Some(list) = m.get("secrets").and_then(Value::as_array) else {
            return malformed(seq, "secrets is not a list");
        };
        if list.len() != self.secrets.len() {
            return malformed(seq, "the ceremony does not carry every secret");
        }
        let mut carried: HashMap<String, Vec<String>> = HashMap::new();
        for s in list {
            let Some(s) = s.as_object() else {
                return malformed(seq, "a carried secret is not an object");
            };
            exact_fields(s, seq, "a carried secret", |k| {
                matches!(k, "name" | "kind" | "min_approvals" | "items")
            })?;
            let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
            if carried.contains_key(name) {
                return malformed(seq, format!("the ceremony carries {name:?} twice"));
            }
            let Some(info) = self.secrets.get(name) else {
                return malformed(
                    seq,
                    format!("the ceremony carries {name:?}, which was never deposited"),
                );
            };
            let min = match s.get("min_approvals") {
                Some(Value::Null) => 0,
                Some(v) if v.is_u64() => v.as_u64().unwrap_or_default(),
                _ => return malformed(seq, format!("{name}'s min_approvals is not a number")),
            };
            let items = s.get("items").and_then(Value::as_array);
            let same = s.get("kind").and_then(Value::as_str) == Some(info.kind.as_str())
                && min == info.min_approvals
                && items.is_some_and(|i| i.len() == info.digests.len());
            if !same {
                return malformed(
                    seq,
                    format!("the ceremony changes {name}'s kind, minimum or items"),
                );
            }
            let mut digests = Vec::new();
            for (i, it) in items.into_iter().flatten().enumerate() {
                let Some(it) = it.as_object() else {
                    return malformed(seq, "a carried item is not an object");
                };
                exact_fields(it, seq, "a carried item", |k| {
                    matches!(k, "digest" | "state" | "release")
                })?;
                if it.get("release").is_some_and(|r| !r.is_u64()) {
                    return malformed(seq, "a carried item's release is not an entry number");
                }
                let d = it
                    .get("digest")
                    .and_then(Value::as_str)
                    .filter(|d| is_digest(d));
                let state = it.get("state").and_then(Value::as_str);
                let release = it.get("release").and_then(Value::as_u64);
                let now = self.items.get(&(name.to_string(), i as u64));
                let fits = match (now, state) {
                    (None, Some("available")) => release.is_none(),
                    (Some(r), Some("released")) => !r.confirmed && release == Some(r.release_seq),
                    (Some(r), Some("seen")) => {
                        r.confirmed
                            && release == Some(r.release_seq)
                            && d == Some(info.digests[i].as_str())
                    }
                    _ => false,
                };
                match (fits, d) {
                    (true, Some(d)) => digests.push(d.to_string()),
                    _ => {
                        return malformed(
                            seq,
                            format!(
                                "the ceremony carries {name} #{} in another state than the ledger's",
                                i + 1
                            ),
                        );
                    }
                }
            }
            carried.insert(name.to_string(), digests);
        }
        for (name, digests) in carried {
            if let Some(info) = self.secrets.get_mut(&name) {
                info.digests = digests;
            }
        }
        Ok(())
    }

    /// Refuses a release or ceremony while a restore's gap waits for its
    /// acknowledgement (rule 24b): the restored ledger may lack releases,
    /// so its items may have been shown already.
    fn outside_gap(&self, seq: u64, what: &str) -> Result<(), Failure> {
        match self.gaps.iter().min() {
            None => Ok(()),
            Some(r) => fail(
                Some(seq),
                FailureKind::UnacknowledgedGap,
                format!(
                    "a {what} follows the restore in entry {r}, whose gap no quorum acknowledged"
                ),
            ),
        }
    }

    /// A quorum's acknowledgement of a restore without replay: each
    /// approval signed by a current officer, for this vault, epoch and
    /// restore, with the entry's nonce; at least the threshold of them.
    fn gap_acknowledged(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let restored = u64_field(m, seq, "restored")?;
        let nonce = str_field(m, seq, "nonce")?;
        if !self.gaps.remove(&restored) {
            return malformed(
                seq,
                format!(
                    "entry {restored} is not a restore without replay waiting for acknowledgement"
                ),
            );
        }
        if let Some(first) = self.nonces.get(nonce) {
            return fail(
                Some(seq),
                FailureKind::ApprovalReplayed,
                format!("the nonce was already used by entry {first}"),
            );
        }
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
            let st = a.get("statement").cloned().unwrap_or_default();
            let sig = signature_field(
                a,
                seq,
                FailureKind::BadApprovalSignature,
                &format!("{officer}'s acknowledgement"),
            )?;
            let v = self.officer(seq, officer, FailureKind::BadApprovalSignature)?;
            if v.verify(&statement_bytes(&st), sig.as_bytes()).is_err() {
                return fail(
                    Some(seq),
                    FailureKind::BadApprovalSignature,
                    format!("{officer}'s acknowledgement does not verify"),
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
            let expected = serde_json::json!({
                "type": "breakglass-gap/v1",
                "vault": self.vault,
                "epoch": self.epoch,
                "restored": restored,
                "nonce": nonce,
                "officer": officer,
            });
            if st != expected {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalMismatch,
                    format!("{officer}'s acknowledgement is for something else"),
                );
            }
            approvers.push(officer);
        }
        if (approvers.len() as u64) < self.threshold {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} officers acknowledged the gap, {} needed",
                    approvers.len(),
                    self.threshold
                ),
            );
        }
        if str_field(m, seq, "actor")? != approvers.join("+") {
            return malformed(seq, "the actor is not the approvers joined by \"+\"");
        }
        self.nonces.insert(nonce.to_string(), seq);
        Ok(())
    }

    /// Setting or clearing the alert hook: signed by an officer of the
    /// epoch, for this vault, naming exactly the entry's program and
    /// arguments.
    fn alerts(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let actor = str_field(m, seq, "actor")?;
        let action = str_field(m, seq, "action")?;
        let st = self.actor_statement(
            seq,
            m,
            ("alerts", "the alerts change"),
            FailureKind::BadApprovalSignature,
            &ALERTS_FIELDS,
        )?;
        let args_ok = m
            .get("args")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().all(Value::is_string));
        let shape_ok = match action {
            "set" => m.get("program").is_some_and(Value::is_string) && args_ok,
            "clear" => {
                m.get("program").is_some_and(Value::is_null)
                    && m.get("args")
                        .and_then(Value::as_array)
                        .is_some_and(Vec::is_empty)
            }
            _ => false,
        };
        let field = |k: &str| st.get(k).and_then(Value::as_str);
        let same = field("type") == Some("breakglass-alerts/v1")
            && field("vault") == Some(&self.vault)
            && st.get("epoch").and_then(Value::as_u64) == Some(self.epoch)
            && field("action") == Some(action)
            && st.get("program") == m.get("program")
            && st.get("args") == m.get("args")
            && field("officer") == Some(actor);
        if !shape_ok || !same {
            return fail(
                Some(seq),
                FailureKind::ApprovalMismatch,
                "the signed alerts statement does not match the entry",
            );
        }
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
                    index.saturating_add(1)
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
