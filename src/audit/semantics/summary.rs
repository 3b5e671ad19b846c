//! The lifecycle summary (§2.7), gathered from what the pass remembered
//! of every secret and release once the last entry was checked.

use super::drill::CANARY;
use super::*;
use crate::audit::lifecycle::{Lifecycle, SecretLifecycle, Unreviewed};

impl Semantics {
    pub(super) fn lifecycle(&self) -> Lifecycle {
        let mut names: Vec<(&String, &SecretInfo)> = self.secrets.iter().collect();
        names.sort_by_key(|(_, info)| info.first);
        let mut secrets: Vec<SecretLifecycle> = names
            .iter()
            .map(|(name, info)| SecretLifecycle {
                secret: name.to_string(),
                releases: 0,
                reviewed: 0,
                rotated: info.rotated,
                due: Vec::new(),
            })
            .collect();
        let position: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let mut seqs: Vec<&u64> = self.releases.keys().collect();
        seqs.sort();
        let mut unreviewed = Vec::new();
        for seq in seqs {
            let r = &self.releases[seq];
            // A release is of a deposited secret (rule 18).
            let (Some(&at), Some(info)) =
                (position.get(r.secret.as_str()), self.secrets.get(&r.secret))
            else {
                continue;
            };
            let s = &mut secrets[at];
            s.releases += 1;
            if r.reviewed.is_some() {
                s.reviewed += 1;
            } else if r.secret != CANARY {
                s.due
                    .push(r.time.saturating_add(info.rules.review_within as i64));
                unreviewed.push(Unreviewed {
                    release: *seq,
                    secret: r.secret.clone(),
                    index: r.index,
                });
            }
            // A rotation voids the item it replaces, answering every
            // release of it.
            if let Some(within) = info.rules.rotate_within {
                if !info.void.contains(&r.index) {
                    s.due.push(r.time.saturating_add(within as i64));
                }
            }
        }
        Lifecycle {
            secrets,
            unreviewed,
        }
    }
}
