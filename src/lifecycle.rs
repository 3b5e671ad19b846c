//! What happened after each release, read from the ledger (docs/LEDGER.md
//! §2.7): which releases were displayed, reviewed and rotated, which code
//! sets run low, which officers' drills are old, and what looks unusual.
//!
//! A fold over the entries in order, across epochs, that checks no
//! signature: what steers a release (which item, how many approvals) comes
//! from the signed facts in `vault::facts`, and the verifiers check every
//! signature this reads. This is for people: `status`, `check`, the
//! console's home screen, alert events and `ledger verify`'s summary.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::clock::parse_rfc3339;
use crate::error::Result;
use crate::ledger;
use crate::policy::{DRILL_EVERY, Policy};
use crate::records::SecretKind;
use crate::store::Store;

/// The secret end-to-end drills release from (never a real secret).
pub const DRILL_SECRET: &str = "drill/canary";
/// How often the same overdue item is reminded of.
pub const REMIND_EVERY: i64 = 86_400;

/// One item's life.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemLife {
    /// Its latest release.
    pub release: Option<u64>,
    /// Whether that release was confirmed seen.
    pub seen: bool,
    /// Replaced by a rotation or voided by a retirement.
    pub void: bool,
}

/// One secret's life.
#[derive(Debug, Clone)]
pub struct SecretLife {
    /// Codes or credential.
    pub kind: SecretKind,
    /// Its policy, as its first deposit signed it.
    pub policy: Policy,
    /// Every item, by index.
    pub items: Vec<ItemLife>,
}

impl SecretLife {
    /// Items a release could still take: neither void nor seen.
    pub fn releasable(&self) -> usize {
        self.items.iter().filter(|i| !i.void && !i.seen).count()
    }

    /// The release a rotation would answer: the credential's last item,
    /// released and not yet replaced.
    pub fn needs_rotation(&self) -> Option<u64> {
        let last = self.items.last()?;
        (self.kind == SecretKind::Credential && !last.void)
            .then_some(last.release)
            .flatten()
    }
}

/// A review of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The `reviewed` entry.
    pub seq: u64,
    /// `emergency`, `drill` or `misuse`.
    pub class: String,
    /// The reviewer.
    pub officer: String,
    /// The incident named, if any.
    pub incident: Option<String>,
}

/// One release and what followed it.
#[derive(Debug, Clone)]
pub struct ReleaseLife {
    /// The release entry.
    pub seq: u64,
    /// The secret.
    pub secret: String,
    /// The item, from 0.
    pub index: u64,
    /// When, Unix seconds.
    pub time: i64,
    /// The approving officers.
    pub approvers: Vec<String>,
    /// The reason they gave.
    pub reason: String,
    /// How its display ended, and in which entry.
    pub display: Option<(u64, String)>,
    /// Its review.
    pub review: Option<Review>,
    /// The `rotated` entry that replaced the released credential.
    pub rotated_by: Option<u64>,
    /// Released outside the secret's stated hours.
    pub outside_hours: bool,
}

impl ReleaseLife {
    /// What became of it, in words (`ledger show`, the console's ledger):
    /// its display, review and rotation.
    pub fn links(&self) -> String {
        let mut parts = vec![match &self.display {
            Some((seq, how)) => format!("displayed: {how} (entry {seq})"),
            None => "never displayed".into(),
        }];
        parts.push(match &self.review {
            Some(v) => format!("reviewed: {} by {} (entry {})", v.class, v.officer, v.seq),
            None if self.is_drill() => "a drill".into(),
            None => "NOT REVIEWED".into(),
        });
        if let Some(seq) = self.rotated_by {
            parts.push(format!("rotated (entry {seq})"));
        }
        if self.outside_hours {
            parts.push("outside the secret's hours".into());
        }
        parts.join("; ")
    }

    /// A release of the drill canary: a drill by construction.
    pub fn is_drill(&self) -> bool {
        self.secret == DRILL_SECRET
    }
}

/// What a due item is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// A released credential to replace.
    Rotation,
    /// A release to review.
    Review,
    /// An officer's drill.
    Drill,
    /// A code set below its reorder level.
    Reorder,
}

impl What {
    /// The word the ledger and the events use.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Rotation => "rotation",
            What::Review => "review",
            What::Drill => "drill",
            What::Reorder => "reorder",
        }
    }
}

/// Something that needs doing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Due {
    /// What.
    pub what: What,
    /// The secret, for a rotation, review or reorder.
    pub secret: Option<String>,
    /// The release, for a rotation or review.
    pub release: Option<u64>,
    /// The officer, for a drill.
    pub officer: Option<String>,
    /// When it falls (or fell) due, Unix seconds; `None`: no deadline.
    pub due_at: Option<i64>,
    /// Whether that is past.
    pub overdue: bool,
}

impl Due {
    fn key(&self) -> String {
        format!(
            "{}\0{}\0{}\0{}",
            self.what.as_str(),
            self.secret.as_deref().unwrap_or(""),
            self.release.map(|r| r.to_string()).unwrap_or_default(),
            self.officer.as_deref().unwrap_or("")
        )
    }

    /// Whether it belongs in a reminder: past its deadline, or a code set
    /// running low.
    pub fn pressing(&self) -> bool {
        self.overdue || self.what == What::Reorder
    }

    /// One line for people, with what to run.
    pub fn words(&self, now: i64) -> String {
        let secret = self.secret.as_deref().unwrap_or("?");
        let release = self.release.unwrap_or_default();
        let when = match self.due_at {
            Some(t) if t <= now => format!("overdue by {}", crate::policy::age_words(now - t)),
            Some(t) => format!("due in {}", crate::policy::age_words(t - now)),
            None => "no deadline".into(),
        };
        match self.what {
            What::Rotation => format!(
                "rotate {secret} (released in entry {release}; {when}): breakglass rotate {secret}"
            ),
            What::Review => {
                format!("review entry {release} ({secret}; {when}): breakglass review {release}")
            }
            What::Drill => format!(
                "drill for {officer} ({when}): breakglass drill --release --officer {officer} --officer …",
                officer = self.officer.as_deref().unwrap_or("?")
            ),
            What::Reorder => format!(
                "{secret} runs low: have the identity provider issue a new set, then breakglass retire {secret} and deposit the new set under the same name"
            ),
        }
    }
}

/// What looks unusual when an entry is written (in every alert event).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Unusual {
    /// Whether any of the below is out of the ordinary: one field a SIEM
    /// rule can key on.
    pub flag: bool,
    /// Wrong passphrases since the last successful authentication; for
    /// an entry that authenticated, the ones it ended.
    pub failed_auths: u32,
    /// Releases in the 24 hours up to the entry.
    pub releases_24h: u32,
    /// Overdue rotations, reviews and drills.
    pub overdue: u32,
    /// The entry is a release outside its secret's stated hours.
    pub outside_hours: bool,
}

/// The ledger's lifecycle, entry by entry.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// Every secret, by name.
    pub secrets: BTreeMap<String, SecretLife>,
    /// Every release, by seq.
    pub releases: BTreeMap<u64, ReleaseLife>,
    /// The current epoch's officers.
    pub officers: Vec<String>,
    /// Each officer's last passed end-to-end drill, or when they joined.
    pub last_drill: BTreeMap<String, (i64, bool)>,
    /// Wrong passphrases since the last successful authentication.
    pub failed_auths: u32,
    /// The same, before the last entry read: an entry that authenticated
    /// (and so reset the count) still reports the failures it ended.
    failed_before: u32,
    /// When each due item was last reminded of (`overdue` entries).
    reminded: BTreeMap<String, i64>,
    /// Entries read.
    pub size: u64,
    /// The entries that opened each epoch (`genesis`, `rekey`), in order:
    /// whose certificates verify what was signed in it.
    pub epochs: Vec<u64>,
}

fn names_of(actor: &str) -> impl Iterator<Item = &str> {
    actor.split('+').filter(|s| !s.is_empty())
}

impl Lifecycle {
    /// Reads the whole ledger.
    pub fn read(store: &Store) -> Result<Lifecycle> {
        let mut life = Lifecycle::default();
        for e in ledger::entries_from(store, 0) {
            let (seq, bytes) = e?;
            life.apply(seq, &ledger::parse_entry(&bytes)?);
        }
        Ok(life)
    }

    /// Applies one entry. Entries that do not fit (which a verifier
    /// refuses) are skipped, never a panic.
    pub fn apply(&mut self, seq: u64, m: &Map<String, Value>) {
        self.size = seq + 1;
        self.failed_before = self.failed_auths;
        let s = |k: &str| m.get(k).and_then(Value::as_str);
        let n = |k: &str| m.get(k).and_then(Value::as_u64);
        let time = s("time").and_then(parse_rfc3339).unwrap_or_default();
        let actor = s("actor").unwrap_or("");
        match s("kind").unwrap_or("") {
            "genesis" | "rekey" => {
                self.epochs.push(seq);
                self.epoch(m, time)
            }
            "deposit" => {
                let (Some(secret), Some(count)) = (s("secret"), n("count")) else {
                    return;
                };
                let kind = match s("item_kind") {
                    Some("credential") => SecretKind::Credential,
                    _ => SecretKind::Codes,
                };
                let policy = m
                    .get("policy")
                    .and_then(|p| Policy::from_json(p, kind))
                    .unwrap_or_default();
                let life = self.secrets.entry(secret.to_owned()).or_insert(SecretLife {
                    kind,
                    policy,
                    items: Vec::new(),
                });
                life.items
                    .extend((0..count.min(100_000)).map(|_| ItemLife::default()));
            }
            "release" => {
                let (Some(secret), Some(index)) = (s("secret"), n("index")) else {
                    return;
                };
                let mut outside = false;
                if let Some(life) = self.secrets.get_mut(secret) {
                    outside = life.policy.hours.is_some_and(|h| !h.contains(time));
                    if let Some(item) = life.items.get_mut(index as usize) {
                        item.release = Some(seq);
                        item.seen = false;
                    }
                }
                self.releases.insert(
                    seq,
                    ReleaseLife {
                        seq,
                        secret: secret.to_owned(),
                        index,
                        time,
                        approvers: names_of(actor).map(str::to_owned).collect(),
                        reason: s("reason").unwrap_or("").to_owned(),
                        display: None,
                        review: None,
                        rotated_by: None,
                        outside_hours: outside,
                    },
                );
                self.failed_auths = 0;
            }
            "displayed" => {
                let (Some(release), Some(outcome)) = (n("release"), s("outcome")) else {
                    return;
                };
                let Some(r) = self.releases.get_mut(&release) else {
                    return;
                };
                r.display = Some((seq, outcome.to_owned()));
                let seen = matches!(outcome, "confirmed" | "stdout");
                if let Some(item) = self
                    .secrets
                    .get_mut(&r.secret)
                    .and_then(|l| l.items.get_mut(r.index as usize))
                {
                    if seen && item.release == Some(release) {
                        item.seen = true;
                    }
                }
            }
            "rotated" => {
                let (Some(secret), Some(release), Some(index)) =
                    (s("secret"), n("release"), n("index"))
                else {
                    return;
                };
                if let Some(life) = self.secrets.get_mut(secret) {
                    if let Some(old) = index
                        .checked_sub(1)
                        .and_then(|i| life.items.get_mut(i as usize))
                    {
                        old.void = true;
                    }
                    life.items.push(ItemLife::default());
                }
                if let Some(r) = self.releases.get_mut(&release) {
                    r.rotated_by = Some(seq);
                }
                self.failed_auths = 0;
            }
            "retired" => {
                if let Some(life) = s("secret").and_then(|x| self.secrets.get_mut(x)) {
                    for item in life.items.iter_mut().filter(|i| !i.seen) {
                        item.void = true;
                    }
                }
                self.failed_auths = 0;
            }
            "reviewed" => {
                let Some(r) = n("release").and_then(|r| self.releases.get_mut(&r)) else {
                    return;
                };
                r.review = Some(Review {
                    seq,
                    class: s("class").unwrap_or("").to_owned(),
                    officer: actor.to_owned(),
                    incident: s("incident").map(str::to_owned),
                });
                self.failed_auths = 0;
            }
            "drill" => {
                // Only a passed end-to-end drill (one naming its canary
                // release) resets the 90 days; a passphrase drill proves
                // one passphrase, not the chain.
                if m.contains_key("release") && s("result") == Some("passed") {
                    for name in names_of(actor) {
                        self.last_drill.insert(name.to_owned(), (time, true));
                    }
                }
                self.failed_auths = 0;
            }
            "auth_failed" => self.failed_auths = self.failed_auths.saturating_add(1),
            "passphrase" | "alerts" | "gap_acknowledged" => self.failed_auths = 0,
            "overdue" => {
                for d in m.get("due").and_then(Value::as_array).into_iter().flatten() {
                    let what = match d.get("what").and_then(Value::as_str) {
                        Some("rotation") => What::Rotation,
                        Some("review") => What::Review,
                        Some("drill") => What::Drill,
                        Some("reorder") => What::Reorder,
                        _ => continue,
                    };
                    let due = Due {
                        what,
                        secret: d.get("secret").and_then(Value::as_str).map(str::to_owned),
                        release: d.get("release").and_then(Value::as_u64),
                        officer: d.get("officer").and_then(Value::as_str).map(str::to_owned),
                        due_at: None,
                        overdue: true,
                    };
                    self.reminded.insert(due.key(), time);
                }
            }
            _ => {}
        }
    }

    /// A `genesis` or `rekey` entry: the officers, and the items a
    /// ceremony carries (their states as its approvers signed them).
    fn epoch(&mut self, m: &Map<String, Value>, time: i64) {
        let names: Vec<String> = m
            .get("officers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("name")?.as_str().map(str::to_owned))
            .collect();
        for name in &names {
            // A new officer's first drill is due DRILL_EVERY after joining.
            self.last_drill.entry(name.clone()).or_insert((time, false));
        }
        self.officers = names;
        for s in m
            .get("secrets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(life) = s
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| self.secrets.get_mut(n))
            else {
                continue;
            };
            let items = s.get("items").and_then(Value::as_array);
            for (item, carried) in life.items.iter_mut().zip(items.into_iter().flatten()) {
                let state = carried.get("state").and_then(Value::as_str);
                item.void = state == Some("void");
                item.seen = state == Some("seen");
                item.release = carried.get("release").and_then(Value::as_u64);
            }
        }
    }

    /// Everything that needs doing at `now`, most pressing first.
    pub fn due(&self, now: i64) -> Vec<Due> {
        let mut out = Vec::new();
        let mut push =
            |what, secret: Option<&str>, release, officer: Option<&str>, due_at: Option<i64>| {
                out.push(Due {
                    what,
                    secret: secret.map(str::to_owned),
                    release,
                    officer: officer.map(str::to_owned),
                    due_at,
                    overdue: due_at.is_some_and(|t| t <= now),
                })
            };
        for (name, life) in &self.secrets {
            if name == DRILL_SECRET {
                continue;
            }
            if let Some(release) = life.needs_rotation() {
                let at = self.releases.get(&release).map_or(0, |r| r.time);
                let due_at = life
                    .policy
                    .rotate_within
                    .map(|d| at.saturating_add(d as i64));
                push(What::Rotation, Some(name), Some(release), None, due_at);
            }
            if let Some(level) = life.policy.reorder_below {
                if life.kind == SecretKind::Codes && life.releasable() < level as usize {
                    push(What::Reorder, Some(name), None, None, None);
                }
            }
        }
        for r in self.releases.values() {
            if r.review.is_some() || r.is_drill() {
                continue;
            }
            let within = self
                .secrets
                .get(&r.secret)
                .map_or(crate::policy::DEFAULT_REVIEW_WITHIN, |l| {
                    l.policy.review_within
                });
            push(
                What::Review,
                Some(&r.secret),
                Some(r.seq),
                None,
                Some(r.time.saturating_add(within as i64)),
            );
        }
        for name in &self.officers {
            let since = self.last_drill.get(name).map_or(0, |d| d.0);
            push(
                What::Drill,
                None,
                None,
                Some(name),
                Some(since.saturating_add(DRILL_EVERY as i64)),
            );
        }
        // Drills that are not due yet are not news.
        out.retain(|d| d.what != What::Drill || d.overdue);
        out.sort_by_key(|d| (!d.pressing(), d.what, d.due_at));
        out
    }

    /// What a reminder (`overdue` entry) at `now` should name: pressing
    /// items not reminded of in the last day.
    pub fn reminders(&self, now: i64) -> Vec<Due> {
        self.due(now)
            .into_iter()
            .filter(|d| d.pressing())
            .filter(|d| {
                self.reminded
                    .get(&d.key())
                    .is_none_or(|t| now.saturating_sub(*t) >= REMIND_EVERY)
            })
            .collect()
    }

    /// What looks unusual once entry `last` (just applied) is in, at its
    /// time `now`.
    pub fn unusual(&self, last: u64, now: i64) -> Unusual {
        let releases_24h = self
            .releases
            .values()
            .rev()
            .take_while(|r| now.saturating_sub(r.time) < 86_400)
            .filter(|r| !r.is_drill())
            .count() as u32;
        let overdue = self.due(now).iter().filter(|d| d.overdue).count() as u32;
        let outside_hours = self.releases.get(&last).is_some_and(|r| r.outside_hours);
        let failed_auths = self.failed_auths.max(self.failed_before);
        Unusual {
            flag: failed_auths > 0 || releases_24h > 1 || overdue > 0 || outside_hours,
            failed_auths,
            releases_24h,
            overdue,
            outside_hours,
        }
    }
}

/// The `due` list an `overdue` entry carries (docs/LEDGER.md §2.5).
pub fn due_json(items: &[Due], now: i64) -> Value {
    Value::from(
        items
            .iter()
            .map(|d| {
                serde_json::json!({
                    "what": d.what.as_str(),
                    "secret": d.secret,
                    "release": d.release,
                    "officer": d.officer,
                    "since": crate::clock::rfc3339(d.due_at.unwrap_or(now)),
                })
            })
            .collect::<Vec<_>>(),
    )
}

/// Whether `secret` is kept for end-to-end drills (`drill/…`).
pub fn is_drill_secret(secret: &str) -> bool {
    secret.starts_with("drill/")
}
