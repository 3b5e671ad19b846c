//! Counted views of the vault: never a value.

use super::*;

impl Vault {
    /// Every secret with its counts, by name.
    pub fn secrets(&self) -> Result<Vec<SecretSummary>> {
        // Void items (rotated away, retired) are in the signed ledger
        // only; a ledger that cannot be read leaves the stored counts.
        let facts = self.ledger_facts(None).unwrap_or_default();
        let mut out = Vec::new();
        for (_, v) in self.store.scan_prefix(Table::Secrets, b"")? {
            let r = SecretRecord::decode(&v)?;
            let f = facts.get(&r.name);
            out.push(self.summarize(r, f)?);
        }
        Ok(out)
    }

    fn summarize(
        &self,
        r: SecretRecord,
        facts: Option<&facts::SecretFacts>,
    ) -> Result<SecretSummary> {
        let items = self.items(&r.name)?;
        let void = |i: &ItemRecord| {
            facts
                .and_then(|f| f.items.get(i.index as usize))
                .is_some_and(|f| f.void)
        };
        let items: Vec<&ItemRecord> = items.iter().filter(|i| !void(i)).collect();
        let policy = facts.map(|f| f.policy.words()).unwrap_or_default();
        let remaining = items
            .iter()
            .filter(|i| i.state == ItemState::Available)
            .count() as u32;
        let unconfirmed = items
            .iter()
            .filter(|i| {
                matches!(
                    i.state,
                    ItemState::Released {
                        confirmed: false,
                        ..
                    }
                )
            })
            .count() as u32;
        Ok(SecretSummary {
            name: r.name,
            kind: r.kind.as_str(),
            min_approvals: r.min_approvals,
            total: r.count,
            remaining,
            unconfirmed,
            policy,
        })
    }

    /// The vault's status.
    pub fn status(&self) -> Result<Status> {
        let size = ledger::size(&self.store)?;
        let officers = self.active_officers()?;
        Ok(Status {
            vault_id: self.config.vault_id.clone(),
            threshold: self.config.threshold,
            officer_kdf: officers.iter().map(|o| (o.name.clone(), o.kdf)).collect(),
            officers: officers.into_iter().map(|o| o.name).collect(),
            kdf: self
                .epoch_entry()
                .ok()
                .and_then(|(_, m)| super::trust::epoch_entry_commitment(&m))
                .map(|c| c.kdf),
            epoch: self.config.epoch,
            ledger_size: size,
            // A damaged tree must not hide the rest of the status.
            ledger_root: ledger::root(&self.store, size)
                .map(|r| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, r))
                .unwrap_or_else(|e| format!("unavailable ({e})")),
            fingerprint: self
                .fingerprint()
                .unwrap_or_else(|e| format!("unavailable ({e})")),
            ledger_fingerprint: self.config.ledger_fingerprint.clone(),
            vault_key_fingerprint: self.config.vault_key_fingerprint.clone(),
            secrets: self.store.scan_prefix(Table::Secrets, b"")?.len(),
            ledger_problem: self.ledger_problem.clone(),
            locked: self.locked(),
            clock_warning: self.clock_warning(),
            // A ledger that cannot be read must not hide the rest.
            auth_delays: self.auth_delays().unwrap_or_default(),
            gap: self.gap()?,
            due: self.due().unwrap_or_default(),
            now: self.now(),
            alerts_pending: self.store.count(Table::Alerts)?,
            alerts_warning: self.alert_status().ok().and_then(|a| a.warning),
        })
    }

    /// The current officers, in name order, with their latest drill and
    /// whether a ceremony's share still waits for them. Computed from the
    /// ledger alone: a share is waiting when the latest `rekey` entry lists
    /// the officer as `pending` and no later entry names them as an actor
    /// who authenticated (a refusal or a failed authentication does not
    /// count). An approximation for people: the sealed record decides.
    pub fn officer_overview(&self) -> Result<Vec<OfficerOverview>> {
        let mut drills: std::collections::HashMap<String, i64> = Default::default();
        let mut waiting: std::collections::HashSet<String> = Default::default();
        for e in self.ledger_entries() {
            let (_, bytes) = e?;
            let m = ledger::parse_entry(&bytes)?;
            let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default();
            let actors = text("actor").split('+').filter(|a| !a.is_empty());
            match text("kind") {
                "rekey" => {
                    waiting = m
                        .get("pending")
                        .and_then(Value::as_object)
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default();
                }
                "refused" | "auth_failed" => {}
                kind => {
                    if kind == "drill" && text("result") != "failed" {
                        if let Some(t) = crate::clock::parse_rfc3339(text("time")) {
                            for a in text("actor").split('+') {
                                drills.insert(a.to_string(), t);
                            }
                        }
                    }
                    for a in actors {
                        waiting.remove(a);
                    }
                }
            }
        }
        let due = self.due()?;
        Ok(self
            .active_officers()?
            .into_iter()
            .map(|o| OfficerOverview {
                last_drill: drills.get(&o.name).copied(),
                share_waiting: waiting.contains(&o.name),
                drill_overdue: due.iter().any(|d| {
                    d.what == crate::lifecycle::What::Drill
                        && d.overdue
                        && d.officer.as_deref() == Some(o.name.as_str())
                }),
                name: o.name,
            })
            .collect())
    }

    /// The vault fingerprint: the SHA-256 leaf hash of the genesis entry,
    /// lower-case hex. It covers the vault id, the ledger key, every
    /// officer's certificate, the vault encryption key and the threshold;
    /// auditors pin it with `ledger verify --pin`.
    pub fn fingerprint(&self) -> Result<String> {
        let genesis = ledger::entry(&self.store, 0)?
            .ok_or_else(|| Error::Ledger("the genesis entry is missing".into()))?;
        Ok(hex::encode(crate::ledger::merkle::leaf_hash(&genesis)))
    }

    /// Every ledger entry's canonical bytes, in order.
    pub fn ledger_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        ledger::entries_from(&self.store, 0)
    }

    /// The store, for ledger export and verification.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
