//! The second pass: what the entries mean. Officer signatures, quorum,
//! expiry, replay and double release.

use super::*;

pub(super) struct Meaning {
    pub(super) releases: u64,
    pub(super) officers: usize,
    pub(super) signatures: u64,
}

struct SecretInfo {
    min_approvals: u64,
    total: u64,
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
    officers: HashMap<String, Verifier>,
    secrets: HashMap<String, SecretInfo>,
    items: HashMap<(String, u64), ItemInfo>,
    releases: HashMap<u64, (String, u64)>,
    release_count: u64,
    signatures: u64,
}

pub(super) fn check_meaning(
    source: &dyn Source,
    _integrity: &super::integrity::Integrity,
) -> Result<Meaning, Failure> {
    let mut sem: Option<Semantics> = None;
    for (pos, bytes) in source.entries().map_err(io_fail)?.enumerate() {
        let seq = pos as u64;
        let bytes = bytes.map_err(io_fail)?;
        let m = ledger::parse_entry(&bytes)
            .or_else(|e| fail(Some(seq), FailureKind::NotCanonical, e.to_string()))?;
        let kind = str_field(&m, seq, "kind")?;
        if kind == "genesis" {
            sem = Some(genesis(&m)?);
            continue;
        }
        let s = sem
            .as_mut()
            .expect("integrity pass checked genesis is first");
        match kind {
            "deposit" => s.deposit(seq, &m)?,
            "release" => s.release(seq, &m)?,
            "displayed" => s.displayed(seq, &m)?,
            "refused" | "auth_failed" | "expired" | "cancelled" | "drill" | "passphrase" => {}
            other => {
                return fail(
                    Some(seq),
                    FailureKind::Malformed,
                    format!("unknown entry kind {other:?}"),
                );
            }
        }
    }
    let s = sem.expect("integrity pass checked genesis");
    Ok(Meaning {
        releases: s.release_count,
        officers: s.officers.len(),
        signatures: s.signatures,
    })
}

fn genesis(m: &Map<String, Value>) -> Result<Semantics, Failure> {
    let mut officers = HashMap::new();
    let list = m.get("officers").and_then(Value::as_array).map_or_else(
        || fail(Some(0), FailureKind::Malformed, "genesis lists no officers"),
        Ok,
    )?;
    for o in list {
        let o = o.as_object().map_or_else(
            || fail(Some(0), FailureKind::Malformed, "officer is not an object"),
            Ok,
        )?;
        let name = str_field(o, 0, "name")?;
        let cert = PublicCert::from_bytes(str_field(o, 0, "cert")?.as_bytes()).or_else(|e| {
            fail(
                Some(0),
                FailureKind::Malformed,
                format!("officer {name}: {e}"),
            )
        })?;
        if cert.fingerprint() != str_field(o, 0, "fingerprint")? {
            return fail(
                Some(0),
                FailureKind::Malformed,
                format!("officer {name}'s fingerprint does not match the certificate"),
            );
        }
        let v = cert
            .verifier()
            .or_else(|e| fail(Some(0), FailureKind::Malformed, e.to_string()))?;
        officers.insert(name.to_string(), v);
    }
    let threshold = u64_field(m, 0, "threshold")?;
    if threshold < 2 || threshold as usize > officers.len() {
        return fail(Some(0), FailureKind::Malformed, "threshold out of range");
    }
    Ok(Semantics {
        vault: str_field(m, 0, "vault")?.to_string(),
        epoch: u64_field(m, 0, "epoch")?,
        threshold,
        officers,
        secrets: HashMap::new(),
        items: HashMap::new(),
        releases: HashMap::new(),
        release_count: 0,
        signatures: 0,
    })
}

fn statement_bytes(st: &Value) -> Vec<u8> {
    canonical::to_vec(st).unwrap_or_default()
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
        let prev_total = self.secrets.get(secret).map_or(0, |s| s.total);
        let matches = st.get("type").and_then(Value::as_str) == Some("breakglass-deposit/v1")
            && st.get("vault").and_then(Value::as_str) == Some(&self.vault)
            && st.get("secret").and_then(Value::as_str) == Some(secret)
            && st.get("officer").and_then(Value::as_str) == Some(actor)
            && st.get("count").and_then(Value::as_u64) == Some(count)
            && st.get("first_index").and_then(Value::as_u64) == Some(prev_total)
            && st.get("kind") == m.get("item_kind")
            && prev_total + count == total;
        if !matches {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed deposit statement does not match the entry",
            );
        }
        let min = m.get("min_approvals").and_then(Value::as_u64).unwrap_or(0);
        let info = self
            .secrets
            .entry(secret.to_string())
            .or_insert(SecretInfo {
                min_approvals: min,
                total: 0,
            });
        info.total = total;
        Ok(())
    }

    fn release(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let secret = str_field(m, seq, "secret")?.to_string();
        let index = u64_field(m, seq, "index")?;
        let reason = str_field(m, seq, "reason")?;
        let nonce = str_field(m, seq, "nonce")?;
        let time = time_field(m, seq, "time")?;
        let info = self.secrets.get(&secret).map_or_else(
            || {
                fail(
                    Some(seq),
                    FailureKind::Malformed,
                    format!("secret {secret:?} was never deposited"),
                )
            },
            Ok,
        )?;
        if index >= info.total {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("{secret} has no item {index}"),
            );
        }
        let needed = self.threshold.max(info.min_approvals);
        let approvals = m.get("approvals").and_then(Value::as_array).map_or_else(
            || fail(Some(seq), FailureKind::Malformed, "no approvals"),
            Ok,
        )?;
        let mut distinct = HashSet::new();
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
            let expires = field("expires").and_then(parse_rfc3339);
            if expires.is_none_or(|e| time > e) {
                return fail(
                    Some(seq),
                    FailureKind::ApprovalExpired,
                    format!("{officer}'s approval had expired when it was used"),
                );
            }
            distinct.insert(officer.to_string());
        }
        if (distinct.len() as u64) < needed {
            return fail(
                Some(seq),
                FailureKind::NoQuorum,
                format!(
                    "{} distinct officers approved, {needed} needed",
                    distinct.len()
                ),
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
                        "{secret}#{index} was already released by entry {}{}",
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
            key.clone(),
            ItemInfo {
                release_seq: seq,
                confirmed: false,
            },
        );
        self.releases.insert(seq, key);
        self.release_count += 1;
        Ok(())
    }

    fn displayed(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let r = u64_field(m, seq, "release")?;
        let key = (
            str_field(m, seq, "secret")?.to_string(),
            u64_field(m, seq, "index")?,
        );
        if self.releases.get(&r) != Some(&key) {
            return fail(
                Some(seq),
                FailureKind::Malformed,
                format!("entry {r} is not the release of {}#{}", key.0, key.1),
            );
        }
        if matches!(str_field(m, seq, "outcome")?, "confirmed" | "stdout") {
            if let Some(item) = self.items.get_mut(&key).filter(|i| i.release_seq == r) {
                item.confirmed = true;
            }
        }
        Ok(())
    }
}
