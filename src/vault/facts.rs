//! What the officers signed about one secret, read from the ledger (I15).
//!
//! A release decides "which item is unused" and "how many approvals" from
//! these facts, not from the stored records a disk writer can change: the
//! kind and minimum approvals come from the first deposit statement, each
//! item's ciphertext digest from the deposit statement that added it (all
//! signed by the depositing officer), and each item's state from the
//! release and display entries. The stored records are then checked
//! against the facts; a disagreement locks the vault and names the item.

use std::collections::{BTreeMap, HashMap};

use sha2::{Digest, Sha256};

use super::*;
use crate::pgp::Verifier;
use crate::policy::Policy;

/// One item as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ItemFact {
    /// SHA-256 of the item's ciphertext, lower-case hex, as signed.
    pub digest: String,
    /// Released or not, by the release and display entries.
    pub state: ItemState,
    /// Replaced by a rotation or voided by a retirement: never released
    /// again (docs/LEDGER.md §2.7).
    pub void: bool,
}

impl ItemFact {
    fn new(digest: String) -> ItemFact {
        ItemFact {
            digest,
            state: ItemState::Available,
            void: false,
        }
    }
}

/// One secret as the ledger knows it.
#[derive(Debug, Clone)]
pub(super) struct SecretFacts {
    /// Codes or credential, from the first deposit statement.
    pub kind: SecretKind,
    /// The minimum approvals the first deposit statement set.
    pub min_approvals: Option<u8>,
    /// The policy the first deposit statement set.
    pub policy: Policy,
    /// Every item of the current epoch, by index.
    pub items: Vec<ItemFact>,
    /// When the secret was last released (Unix seconds), if it was in
    /// this epoch.
    pub last_release: Option<i64>,
}

impl SecretFacts {
    /// The item a release takes next: one released but never confirmed as
    /// seen (I10), else the first never released.
    pub fn next_item(&self) -> Option<u32> {
        let unconfirmed = self.items.iter().position(|i| {
            !i.void
                && matches!(
                    i.state,
                    ItemState::Released {
                        confirmed: false,
                        ..
                    }
                )
        });
        unconfirmed
            .or_else(|| {
                self.items
                    .iter()
                    .position(|i| !i.void && i.state == ItemState::Available)
            })
            .map(|i| i as u32)
    }

    /// Approvals a new release (not a re-release) at `now` needs, given
    /// the vault's threshold and officer count: the threshold or the
    /// secret's minimum, and one more within the policy's minimum interval
    /// after the last release, never more than the officers.
    pub fn approvals_needed(
        &self,
        threshold: usize,
        officers: usize,
        now: i64,
        again: bool,
    ) -> usize {
        let base = threshold.max(self.min_approvals.unwrap_or(0) as usize);
        let soon = match (self.policy.min_interval, self.last_release) {
            (Some(gap), Some(t)) if !again => now.saturating_sub(t) < gap as i64,
            _ => false,
        };
        if soon {
            (base + 1).min(officers.max(base))
        } else {
            base
        }
    }

    /// Items a release could still take.
    pub fn releasable(&self) -> usize {
        self.items
            .iter()
            .filter(|i| {
                !i.void
                    && !matches!(
                        i.state,
                        ItemState::Released {
                            confirmed: true,
                            ..
                        }
                    )
            })
            .count()
    }
}

/// The `restored` entries of the current epoch that left a gap (nothing
/// proved the restored ledger complete) and that no `gap_acknowledged`
/// entry has acknowledged yet. Releases and ceremonies wait while any is
/// open. Read from the ledger, never from a marker a disk writer could
/// delete (I15).
pub(super) type Gaps = std::collections::BTreeSet<u64>;

/// Applies a `restored` or `gap_acknowledged` entry to `gaps`.
fn gap_fact(gaps: &mut Gaps, seq: u64, m: &serde_json::Map<String, Value>) {
    match m.get("kind").and_then(Value::as_str) {
        Some("restored") if m.get("gap").and_then(Value::as_bool) != Some(false) => {
            gaps.insert(seq);
        }
        Some("gap_acknowledged") => {
            if let Some(r) = m.get("restored").and_then(Value::as_u64) {
                gaps.remove(&r);
            }
        }
        _ => {}
    }
}

/// SHA-256 of an item's ciphertext, lower-case hex: what deposit
/// statements sign and release entries name.
pub(super) fn digest(ciphertext: &[u8]) -> String {
    hex::encode(Sha256::digest(ciphertext))
}

/// The state words a `rekey` entry's item snapshot uses.
pub(super) fn state_json(item: &ItemFact) -> Value {
    match item.state {
        ItemState::Available if item.void => json!({"state": "void"}),
        ItemState::Available => json!({"state": "available"}),
        ItemState::Released { seq, .. } if item.void => json!({"state": "void", "release": seq}),
        ItemState::Released { seq, confirmed } => json!({
            "state": if confirmed { "seen" } else { "released" },
            "release": seq,
        }),
    }
}

/// An item's state and whether it is void, from a `rekey` snapshot. A
/// void item keeps the state of its records: released if it ever was.
fn state_from_json(v: &Value) -> Option<(ItemState, bool)> {
    let released = |confirmed| {
        Some(ItemState::Released {
            seq: v.get("release")?.as_u64()?,
            confirmed,
        })
    };
    match v.get("state")?.as_str()? {
        "available" => Some((ItemState::Available, false)),
        "released" => Some((released(false)?, false)),
        "seen" => Some((released(true)?, false)),
        "void" if v.get("release").is_some() => Some((released(false)?, true)),
        "void" => Some((ItemState::Available, true)),
        _ => None,
    }
}

/// The secrets a `rekey` entry carries into its epoch: each secret's kind,
/// minimum approvals, and every item's digest and state, as the approvers
/// of the ceremony had them checked.
fn snapshot(m: &serde_json::Map<String, Value>) -> Option<BTreeMap<String, SecretFacts>> {
    let mut out = BTreeMap::new();
    for s in m.get("secrets")?.as_array()? {
        let kind = match s.get("kind")?.as_str()? {
            "codes" => SecretKind::Codes,
            "credential" => SecretKind::Credential,
            _ => return None,
        };
        let min_approvals = match s.get("min_approvals")? {
            Value::Null => None,
            v => Some(u8::try_from(v.as_u64()?).ok()?),
        };
        let items = s
            .get("items")?
            .as_array()?
            .iter()
            .map(|i| {
                let (state, void) = state_from_json(i)?;
                Some(ItemFact {
                    digest: i.get("digest")?.as_str()?.to_owned(),
                    state,
                    void,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        out.insert(
            s.get("name")?.as_str()?.to_owned(),
            SecretFacts {
                kind,
                min_approvals,
                policy: Policy::from_json(s.get("policy")?, kind)?,
                items,
                last_release: None,
            },
        );
    }
    Some(out)
}

impl Vault {
    /// The facts about every secret (or only `only`) in the current epoch:
    /// the snapshot of the entry that opened the epoch, then every deposit,
    /// release and display after it.
    pub(super) fn ledger_facts(&self, only: Option<&str>) -> Result<BTreeMap<String, SecretFacts>> {
        Ok(self.ledger_facts_since(only, None, &mut Gaps::new())?.0)
    }

    /// The open gaps of the current epoch ([`Gaps`]): a scan of the
    /// epoch's entries, for what does not read the facts anyway.
    pub(super) fn open_gaps(&self) -> Result<Gaps> {
        let mut gaps = Gaps::new();
        self.ledger_facts_since(Some(""), None, &mut gaps)?;
        Ok(gaps)
    }

    /// [`Vault::ledger_facts`], resuming from facts read earlier up to
    /// entry `next` (so a release reads only what was appended since it
    /// began); returns the facts and where the ledger ends now, and
    /// applies the gap entries it reads to `gaps`.
    pub(super) fn ledger_facts_since(
        &self,
        only: Option<&str>,
        resume: Option<(BTreeMap<String, SecretFacts>, u64)>,
        gaps: &mut Gaps,
    ) -> Result<(BTreeMap<String, SecretFacts>, u64)> {
        let (from, epoch) = self.epoch_entry()?;
        let officers = officer_verifiers(&epoch);
        let vault_key = epoch
            .get("vault_key_fingerprint")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (mut facts, start) = match resume {
            // Facts read in an earlier epoch are of no use.
            Some((facts, next)) if next > from => (facts, next),
            _ => (self.epoch_facts(from, &epoch)?, from + 1),
        };
        if let Some(s) = only {
            facts.retain(|k, _| k == s);
        }
        // Canonical JSON writes a secret name the same way every time, so
        // entries that do not mention it are skipped unparsed.
        let needle = only
            .map(|s| canonical::to_string(&Value::from(s)))
            .transpose()?
            .map(|s| format!("\"secret\":{s}"));
        let needle = needle.as_ref().map(memchr::memmem::Finder::new);
        let restored = memchr::memmem::Finder::new(b"\"kind\":\"restored\"");
        let acknowledged = memchr::memmem::Finder::new(b"\"kind\":\"gap_acknowledged\"");
        let mut next = start;
        // Retirement nonces seen: a copy of an old retirement, replayed
        // after a new set of the same size was deposited, must not void it.
        let mut retirements = std::collections::HashSet::new();
        for e in ledger::entries_from(&self.store, start) {
            let (seq, bytes) = e?;
            next = seq + 1;
            if restored.find(&bytes).is_some() || acknowledged.find(&bytes).is_some() {
                gap_fact(gaps, seq, &ledger::parse_entry(&bytes)?);
                continue;
            }
            // An entry that opens an epoch is always read: one after this
            // epoch's means the vault's records are older than its ledger.
            if needle.as_ref().is_some_and(|n| n.find(&bytes).is_none())
                && !ledger::opens_epoch(&bytes)
            {
                continue;
            }
            let m = ledger::parse_entry(&bytes)?;
            let bad = |why: String| Error::Ledger(format!("entry {seq}: {why}"));
            let kind = m.get("kind").and_then(Value::as_str);
            if matches!(kind, Some("genesis") | Some("rekey")) {
                return Err(bad(format!(
                    "a later epoch began here, but this vault is at epoch {}",
                    self.config.epoch
                )));
            }
            let Some(secret) = m.get("secret").and_then(Value::as_str) else {
                continue;
            };
            if only.is_some_and(|s| s != secret) {
                continue;
            }
            match kind {
                Some("deposit") => {
                    let depositor = m.get("actor").and_then(Value::as_str).unwrap_or_default();
                    let verifier = officers.get(depositor).ok_or_else(|| {
                        bad(format!("deposit by {depositor:?}, who is not an officer"))
                    })?;
                    let added = self.deposit_fact(&m, verifier, &vault_key, facts.get(secret));
                    let (kind, min, policy, digests) = added.map_err(bad)?;
                    let f = facts.entry(secret.to_owned()).or_insert(SecretFacts {
                        kind,
                        min_approvals: min,
                        policy,
                        items: Vec::new(),
                        last_release: None,
                    });
                    f.items.extend(digests.into_iter().map(ItemFact::new));
                }
                Some("rotated") => {
                    let officer = m.get("actor").and_then(Value::as_str).unwrap_or_default();
                    let verifier = officers.get(officer).ok_or_else(|| {
                        bad(format!("rotation by {officer:?}, who is not an officer"))
                    })?;
                    let f = facts
                        .get_mut(secret)
                        .ok_or_else(|| bad(format!("rotation of {secret}, never deposited")))?;
                    let digest = self
                        .rotation_fact(&m, verifier, &vault_key, f)
                        .map_err(bad)?;
                    if let Some(old) = f.items.last_mut() {
                        old.void = true;
                    }
                    f.items.push(ItemFact::new(digest));
                }
                Some("retired") => {
                    let f = facts
                        .get_mut(secret)
                        .ok_or_else(|| bad(format!("retirement of {secret}, never deposited")))?;
                    self.retirement_fact(&m, &officers, f).map_err(bad)?;
                    let nonce = m.get("nonce").and_then(Value::as_str).unwrap_or_default();
                    if !retirements.insert((secret.to_owned(), nonce.to_owned())) {
                        return Err(bad("the retirement replays an earlier one's nonce".into()));
                    }
                    for item in f.items.iter_mut().filter(|i| {
                        !matches!(
                            i.state,
                            ItemState::Released {
                                confirmed: true,
                                ..
                            }
                        )
                    }) {
                        item.void = true;
                    }
                }
                Some("release") => {
                    let f = facts
                        .get_mut(secret)
                        .ok_or_else(|| bad(format!("release of {secret}, never deposited")))?;
                    release_fact(f, seq, &m).map_err(bad)?;
                    f.last_release = m
                        .get("time")
                        .and_then(Value::as_str)
                        .and_then(crate::clock::parse_rfc3339);
                }
                Some("displayed") => {
                    if let Some(f) = facts.get_mut(secret) {
                        displayed_fact(f, &m);
                    }
                }
                _ => {}
            }
        }
        Ok((facts, next))
    }

    /// The secrets the entry that opened the epoch carries: a ceremony's
    /// snapshot, or nothing at genesis.
    fn epoch_facts(
        &self,
        from: u64,
        epoch: &serde_json::Map<String, Value>,
    ) -> Result<BTreeMap<String, SecretFacts>> {
        if epoch.get("kind").and_then(Value::as_str) != Some("rekey") {
            return Ok(BTreeMap::new());
        }
        snapshot(epoch).ok_or_else(|| {
            Error::Ledger(format!(
                "entry {from}: the secrets it carries are malformed"
            ))
        })
    }

    /// Checks one deposit entry's signed statement and returns what it
    /// adds: the kind, the minimum approvals and the items' digests.
    fn deposit_fact(
        &self,
        m: &serde_json::Map<String, Value>,
        verifier: &Verifier,
        vault_key: &str,
        before: Option<&SecretFacts>,
    ) -> std::result::Result<(SecretKind, Option<u8>, Policy, Vec<String>), String> {
        let st = m.get("statement").ok_or("the deposit has no statement")?;
        let sig = m
            .get("signature")
            .and_then(Value::as_str)
            .ok_or("the deposit has no signature")?;
        let bytes = canonical::to_vec(st).map_err(|e| e.to_string())?;
        verifier
            .verify(&bytes, sig.as_bytes())
            .map_err(|_| "the deposit statement's signature does not verify".to_string())?;
        let s = |k: &str| st.get(k).and_then(Value::as_str);
        let kind = match s("kind") {
            Some("codes") => SecretKind::Codes,
            Some("credential") => SecretKind::Credential,
            _ => return Err("the deposit statement names no kind".into()),
        };
        let min = match st.get("min_approvals") {
            Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|k| u8::try_from(k).ok())
                    .ok_or("min_approvals is not a number")?,
            ),
            None => return Err("the deposit statement has no min_approvals".into()),
        };
        let digests: Vec<String> = st
            .get("items")
            .and_then(Value::as_array)
            .ok_or("the deposit statement lists no items")?
            .iter()
            .map(|d| d.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or("an item digest is not a string")?;
        let policy = st
            .get("policy")
            .and_then(|p| Policy::from_json(p, kind))
            .ok_or("the deposit statement's policy is not a policy within bounds")?;
        let first = before.map_or(0, |f| f.items.len() as u64);
        let fits = s("type") == Some("breakglass-deposit/v3")
            && m.get("policy") == st.get("policy")
            && before.is_none_or(|f| f.policy == policy)
            && s("vault") == Some(self.config.vault_id.as_str())
            && st.get("epoch").and_then(Value::as_u64) == Some(u64::from(self.config.epoch))
            && s("officer") == m.get("actor").and_then(Value::as_str)
            && s("vault_key_fingerprint") == Some(vault_key)
            && st.get("first_index").and_then(Value::as_u64) == Some(first)
            && st.get("count").and_then(Value::as_u64) == Some(digests.len() as u64)
            && before.is_none_or(|f| f.kind == kind && (min.is_none() || min == f.min_approvals));
        if !fits {
            return Err("the signed deposit statement does not follow the secret's history".into());
        }
        Ok((
            kind,
            before.map_or(min, |f| f.min_approvals),
            policy,
            digests,
        ))
    }

    /// Checks one retirement entry: a quorum of distinct current officers
    /// (as many as a release of the secret needs) each signed its
    /// statement, naming this vault, epoch, secret, nonce and time, and
    /// the count of items it voids, which must be what is left
    /// (docs/LEDGER.md rule 25b). The ledger key alone cannot take the
    /// emergency path away.
    fn retirement_fact(
        &self,
        m: &serde_json::Map<String, Value>,
        officers: &HashMap<String, Verifier>,
        f: &SecretFacts,
    ) -> std::result::Result<(), String> {
        if f.kind != SecretKind::Codes {
            return Err("the retirement is of a credential".into());
        }
        let approvals = m
            .get("approvals")
            .and_then(Value::as_array)
            .ok_or("the retirement has no approvals")?;
        let needed = (self.config.threshold as usize).max(f.min_approvals.unwrap_or(0) as usize);
        let mut signed = std::collections::BTreeSet::new();
        for a in approvals {
            let officer = a.get("officer").and_then(Value::as_str).unwrap_or_default();
            let verifier = officers.get(officer).ok_or_else(|| {
                format!("retirement approved by {officer:?}, who is not an officer")
            })?;
            let st = a
                .get("statement")
                .ok_or("a retirement approval has no statement")?;
            let sig = a
                .get("signature")
                .and_then(Value::as_str)
                .ok_or("a retirement approval has no signature")?;
            let bytes = canonical::to_vec(st).map_err(|e| e.to_string())?;
            verifier
                .verify(&bytes, sig.as_bytes())
                .map_err(|_| format!("{officer}'s retirement approval does not verify"))?;
            let s = |k: &str| st.get(k).and_then(Value::as_str);
            let fits = s("type") == Some("breakglass-retire/v1")
                && s("vault") == Some(self.config.vault_id.as_str())
                && st.get("epoch").and_then(Value::as_u64) == Some(u64::from(self.config.epoch))
                && s("secret") == m.get("secret").and_then(Value::as_str)
                && st.get("nonce") == m.get("nonce")
                && st.get("voided") == m.get("voided")
                && s("officer") == Some(officer)
                && s("time") == m.get("time").and_then(Value::as_str);
            if !fits {
                return Err(format!(
                    "{officer}'s retirement approval is for something else"
                ));
            }
            signed.insert(officer);
        }
        if signed.len() < needed || signed.len() != approvals.len() {
            return Err(format!(
                "the retirement carries {} distinct approvals; it needs {needed}",
                signed.len()
            ));
        }
        let voided = m.get("voided").and_then(Value::as_u64);
        if voided != Some(f.releasable() as u64) || voided == Some(0) {
            return Err("the retirement voids another count than what was left".into());
        }
        Ok(())
    }

    /// Checks one rotation entry's signed statement against the secret's
    /// facts and returns the new item's digest: the secret is a
    /// credential whose last item was released and not yet replaced, and
    /// the statement names that release (docs/LEDGER.md rule 25a).
    fn rotation_fact(
        &self,
        m: &serde_json::Map<String, Value>,
        verifier: &Verifier,
        vault_key: &str,
        f: &SecretFacts,
    ) -> std::result::Result<String, String> {
        let st = m.get("statement").ok_or("the rotation has no statement")?;
        let sig = m
            .get("signature")
            .and_then(Value::as_str)
            .ok_or("the rotation has no signature")?;
        let bytes = canonical::to_vec(st).map_err(|e| e.to_string())?;
        verifier
            .verify(&bytes, sig.as_bytes())
            .map_err(|_| "the rotation statement's signature does not verify".to_string())?;
        let s = |k: &str| st.get(k).and_then(Value::as_str);
        let ciphertext = m
            .get("ciphertexts")
            .and_then(Value::as_array)
            .filter(|c| c.len() == 1)
            .and_then(|c| c[0].as_str())
            .and_then(|c| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, c).ok()
            })
            .ok_or("the rotation carries no ciphertext")?;
        let item = digest(&ciphertext);
        let last = f.items.last().filter(|i| !i.void);
        let answers = match last.map(|i| i.state) {
            Some(ItemState::Released { seq, .. }) => Some(seq),
            _ => None,
        };
        let fits = f.kind == SecretKind::Credential
            && s("type") == Some("breakglass-rotation/v1")
            && s("vault") == Some(self.config.vault_id.as_str())
            && st.get("epoch").and_then(Value::as_u64) == Some(u64::from(self.config.epoch))
            && s("officer") == m.get("actor").and_then(Value::as_str)
            && s("vault_key_fingerprint") == Some(vault_key)
            && s("secret") == m.get("secret").and_then(Value::as_str)
            && s("time") == m.get("time").and_then(Value::as_str)
            && s("item") == Some(item.as_str())
            && st.get("index") == m.get("index")
            && st.get("release") == m.get("release")
            && m.get("index").and_then(Value::as_u64) == Some(f.items.len() as u64)
            && answers.is_some()
            && m.get("release").and_then(Value::as_u64) == answers;
        if !fits {
            return Err(
                "the signed rotation statement does not follow the secret's history".into(),
            );
        }
        Ok(item)
    }
}

/// The verifiers of the officers an epoch-opening entry (genesis or
/// rekey) enrolls, by name; certificates that do not parse are left out.
pub(super) fn officer_verifiers(
    epoch: &serde_json::Map<String, Value>,
) -> HashMap<String, Verifier> {
    epoch
        .get("officers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| {
            let name = o.get("name")?.as_str()?;
            let cert = PublicCert::from_bytes(o.get("cert")?.as_str()?.as_bytes()).ok()?;
            Some((name.to_owned(), cert.verifier().ok()?))
        })
        .collect()
}

/// Applies a release entry to the facts: the item exists, its digest is
/// the deposited one, and it is released once (or re-released after an
/// unconfirmed release, I10).
fn release_fact(
    f: &mut SecretFacts,
    seq: u64,
    m: &serde_json::Map<String, Value>,
) -> std::result::Result<(), String> {
    let index = m
        .get("index")
        .and_then(Value::as_u64)
        .ok_or("the release names no item")?;
    let item = f.items.get_mut(index as usize).ok_or_else(|| {
        format!(
            "the release names item #{}, which was never deposited",
            index + 1
        )
    })?;
    if m.get("digest").and_then(Value::as_str) != Some(item.digest.as_str()) {
        return Err(format!(
            "the release of item #{} names another ciphertext than the deposited one",
            index + 1
        ));
    }
    let again = m.get("re_release_of").and_then(Value::as_u64);
    item.state = match (item.state, again) {
        (ItemState::Available, None) => ItemState::Released {
            seq,
            confirmed: false,
        },
        (
            ItemState::Released {
                seq: prev,
                confirmed: false,
            },
            Some(r),
        ) if r == prev => ItemState::Released {
            seq,
            confirmed: false,
        },
        _ => return Err(format!("item #{} is released twice", index + 1)),
    };
    Ok(())
}

/// Applies a display entry: a confirmed or stdout display of the item's
/// current release makes it confirmed.
fn displayed_fact(f: &mut SecretFacts, m: &serde_json::Map<String, Value>) {
    let (Some(index), Some(release)) = (
        m.get("index").and_then(Value::as_u64),
        m.get("release").and_then(Value::as_u64),
    ) else {
        return;
    };
    let seen = matches!(
        m.get("outcome").and_then(Value::as_str),
        Some("confirmed") | Some("stdout")
    );
    if let Some(item) = f.items.get_mut(index as usize) {
        if seen && matches!(item.state, ItemState::Released { seq, .. } if seq == release) {
            item.state = ItemState::Released {
                seq: release,
                confirmed: true,
            };
        }
    }
}

impl Vault {
    /// Checks the stored secret and item records against the ledger's
    /// facts. The first disagreement is returned in words, naming the
    /// item.
    pub(super) fn records_disagree(
        &self,
        secret: &str,
        facts: &SecretFacts,
    ) -> Result<Option<String>> {
        let record = self.secret_record(secret)?;
        let Some(record) = record else {
            return Ok(Some(format!(
                "secret {secret} is in the ledger but has no stored record"
            )));
        };
        if record.kind != facts.kind
            || record.min_approvals != facts.min_approvals
            || record.count as usize != facts.items.len()
        {
            return Ok(Some(format!(
                "the stored record of {secret} (its kind, minimum approvals or count) differs from what its depositors signed"
            )));
        }
        let items = self.items(secret)?;
        for (i, fact) in facts.items.iter().enumerate() {
            let no = i + 1;
            let Some(rec) = items.iter().find(|r| r.index as usize == i) else {
                return Ok(Some(format!(
                    "item {secret} #{no} is missing from the store"
                )));
            };
            // A seen or void item keeps the ciphertext of the epoch it was
            // released or voided in: ceremonies re-encrypt only what may
            // still be released.
            let seen = matches!(
                fact.state,
                ItemState::Released {
                    confirmed: true,
                    ..
                }
            );
            if rec.secret != secret || (rec.epoch != self.config.epoch && !seen && !fact.void) {
                return Ok(Some(format!(
                    "item {secret} #{no} is stored under another secret or epoch"
                )));
            }
            if digest(&rec.ciphertext) != fact.digest {
                return Ok(Some(format!(
                    "item {secret} #{no}'s ciphertext is not the one its depositor signed"
                )));
            }
            // A ceremony carries a void item as void, whether it was seen
            // or not; it is never released again either way.
            if rec.state != fact.state && !fact.void {
                return Ok(Some(format!(
                    "item {secret} #{no} is stored as {}, but the ledger says {}",
                    state_words(rec.state),
                    state_words(fact.state)
                )));
            }
        }
        if items.len() != facts.items.len() {
            return Ok(Some(format!(
                "{secret} has items in the store that no deposit statement signed"
            )));
        }
        Ok(None)
    }

    /// The facts about `secret`, after checking the stored records against
    /// them; any disagreement locks the vault. `None` when it was never
    /// deposited (and nothing is stored for it).
    pub(super) fn checked_facts(&self, secret: &str) -> Result<Option<SecretFacts>> {
        Ok(self.checked_facts_since(secret, None, &mut Gaps::new())?.0)
    }

    /// [`Vault::checked_facts`], resuming from facts read up to entry
    /// `next`; returns where the ledger ends now too, and applies the gap
    /// entries it reads to `gaps`.
    pub(super) fn checked_facts_since(
        &self,
        secret: &str,
        resume: Option<(SecretFacts, u64)>,
        gaps: &mut Gaps,
    ) -> Result<(Option<SecretFacts>, u64)> {
        let resume = resume.map(|(f, next)| (BTreeMap::from([(secret.to_owned(), f)]), next));
        let (facts, next) = match self.ledger_facts_since(Some(secret), resume, gaps) {
            Ok((mut all, next)) => (all.remove(secret), next),
            Err(e) => return Err(self.lock_vault(format!("the ledger of {secret}: {e}"))),
        };
        let problem = match &facts {
            Some(f) => self.records_disagree(secret, f)?,
            None if self.secret_record(secret)?.is_some() => Some(format!(
                "secret {secret} is stored, but no deposit statement in the ledger signed it"
            )),
            None => None,
        };
        match problem {
            Some(why) => {
                Err(self.lock_vault(format!("{why}; this blocks every release of {secret}")))
            }
            None => Ok((facts, next)),
        }
    }
}

fn state_words(s: ItemState) -> String {
    match s {
        ItemState::Available => "never released".into(),
        ItemState::Released {
            seq,
            confirmed: true,
        } => format!("released by entry {seq} and seen"),
        ItemState::Released {
            seq,
            confirmed: false,
        } => format!("released by entry {seq}, not confirmed seen"),
    }
}
