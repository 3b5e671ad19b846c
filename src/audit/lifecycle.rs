//! What a verified ledger says about each secret after its releases
//! (LEDGER.md §2.7): reviews, rotations and what is overdue. These are
//! reports for the auditor, never failures: a release not yet reviewed is
//! a question to ask, not a broken ledger.

/// The lifecycle of every secret, as the entries state it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// Each secret, in the order of their first deposits.
    pub secrets: Vec<SecretLifecycle>,
    /// Every release no `reviewed` entry classified, in ledger order;
    /// drills (releases of `drill/canary`) are not listed.
    pub unreviewed: Vec<Unreviewed>,
}

/// One secret's releases, reviews and rotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretLifecycle {
    /// The secret's name.
    pub secret: String,
    /// Its `release` entries, drills and re-releases included.
    pub releases: u64,
    /// Its releases a `reviewed` entry classified.
    pub reviewed: u64,
    /// Its `rotated` entries.
    pub rotated: u64,
    /// When each thing still owed falls due, in Unix seconds: the review
    /// of each unreviewed release (`review_within` after it; drills owe
    /// none), and the rotation of each release of a credential whose item
    /// no rotation has replaced yet (`rotate_within` after it).
    pub due: Vec<i64>,
}

impl SecretLifecycle {
    /// How many of the things it owes are past their deadline at `now`
    /// (Unix seconds): the verifier's wall clock, not the ledger's.
    pub fn overdue(&self, now: i64) -> usize {
        self.due.iter().filter(|&&d| d < now).count()
    }
}

/// A release no review classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreviewed {
    /// The release entry.
    pub release: u64,
    /// The secret released.
    pub secret: String,
    /// The item, from 0.
    pub index: u64,
}
