//! The lifecycle rules of entry version 5 (rules 17–19, 22, 25a–25d) on
//! hand-built entries fed straight to the meaning pass: each signed by
//! freshly made officer keys, so a case states only what it changes. The
//! byte-level rules (canonical JSON, the tree, checkpoints) are the
//! integrity walk's and are tested with real vaults.

use serde_json::json;
use sha2::Digest;

use super::*;
use crate::clock::rfc3339;
use crate::ledger::statements::{
    CeremonyReceiptFacts, DisplayFacts, ReceiptFacts, ceremony_inherits,
    ceremony_receipt_statement, display_statement, receipt_statement,
};
use crate::pgp::SecretKey;

/// 2026-01-01T00:00:00Z: the first entry's time.
const START: i64 = 1_767_225_600;
/// An hour, a day: policy durations.
const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().expect("an object").clone()
}

fn digest(ciphertext: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(ciphertext))
}

/// A policy (§2.7) with breakglass's defaults but for `changes`.
fn policy(changes: Value) -> Value {
    let mut p = obj(json!({
        "rotate_within": null,
        "reorder_below": null,
        "review_within": 7 * DAY,
        "min_interval": null,
        "hours": null,
    }));
    p.extend(obj(changes));
    Value::Object(p)
}

/// A ledger being written by hand: the officers' keys, and the meaning
/// pass it is fed to.
struct Book {
    pass: MeaningPass,
    officers: Vec<(String, SecretKey)>,
    vault: String,
    ledger: SecretKey,
    vault_key: SecretKey,
    epoch: u64,
    seq: u64,
    time: i64,
    /// Items each secret holds, for the next deposit's `first_index`.
    held: HashMap<String, u64>,
}

impl Book {
    /// A vault of `names` with threshold 2.
    fn new(names: &[&str]) -> Book {
        let officers: Vec<(String, SecretKey)> = names
            .iter()
            .map(|n| (n.to_string(), SecretKey::generate_officer(n).unwrap()))
            .collect();
        let ledger = SecretKey::generate_signing("ledger").unwrap();
        let vault_key = SecretKey::generate_encryption("vault").unwrap();
        let mut book = Book {
            pass: MeaningPass::default(),
            officers,
            vault: "0123456789abcdef0123456789abcdef".into(),
            ledger,
            vault_key,
            epoch: 0,
            seq: 0,
            time: START,
            held: HashMap::new(),
        };
        let genesis = book.entry(
            "genesis",
            &names.join("+"),
            json!({
                "vault": book.vault,
                "epoch": 0,
                "threshold": 2,
                "officers": book.officer_list(),
                "ledger_cert": book.ledger.public().armored().unwrap(),
                "ledger_fingerprint": book.ledger.fingerprint(),
                "vault_key_cert": book.vault_key.public().armored().unwrap(),
                "vault_key_fingerprint": book.vault_key.fingerprint(),
                "kdf": {"memory_kib": 8192, "iterations": 1, "parallelism": 1},
            }),
        );
        book.ok(genesis);
        book
    }

    fn officer_list(&self) -> Value {
        self.officers
            .iter()
            .map(|(n, k)| {
                json!({"name": n, "fingerprint": k.fingerprint(), "cert": k.public().armored().unwrap()})
            })
            .collect()
    }

    fn now(&self) -> String {
        rfc3339(self.time)
    }

    fn sign(&self, officer: &str, statement: &Value) -> String {
        let (_, key) = self
            .officers
            .iter()
            .find(|(n, _)| n == officer)
            .expect("an officer of the book");
        key.sign_detached(&statement_bytes(statement), self.time)
            .unwrap()
    }

    /// The next entry: the common fields, then `fields`.
    fn entry(&self, kind: &str, actor: &str, fields: Value) -> Map<String, Value> {
        let mut m = obj(json!({
            "v": ENTRY_VERSION,
            "seq": self.seq,
            "time": self.now(),
            "kind": kind,
            "actor": actor,
            "hook": null,
        }));
        m.extend(obj(fields));
        m
    }

    /// Feeds the next entry to the pass; a minute passes.
    fn push(&mut self, m: Map<String, Value>) -> Result<(), Failure> {
        let r = self.pass.entry(self.seq, &m, None);
        self.seq += 1;
        self.time += 60;
        r
    }

    /// Feeds an entry that must pass; its `seq`.
    fn ok(&mut self, m: Map<String, Value>) -> u64 {
        let seq = self.seq;
        if let Err(f) = self.push(m) {
            panic!("entry {seq} should pass: {f}");
        }
        seq
    }

    fn later(&mut self, secs: i64) {
        self.time += secs;
    }

    fn deposit(
        &mut self,
        secret: &str,
        kind: &str,
        items: &[&[u8]],
        policy: Value,
    ) -> Map<String, Value> {
        let first = self.held.get(secret).copied().unwrap_or(0);
        let count = items.len() as u64;
        self.held.insert(secret.into(), first + count);
        let statement = json!({
            "type": "breakglass-deposit/v3",
            "vault": self.vault,
            "epoch": self.epoch,
            "secret": secret,
            "kind": kind,
            "first_index": first,
            "count": count,
            "items": items.iter().map(|c| digest(c)).collect::<Vec<_>>(),
            "min_approvals": null,
            "vault_key_fingerprint": self.vault_key.fingerprint(),
            "officer": "alice",
            "time": self.now(),
            "policy": policy,
        });
        self.entry(
            "deposit",
            "alice",
            json!({
                "secret": secret,
                "item_kind": kind,
                "count": count,
                "total": first + count,
                "min_approvals": null,
                "policy": policy,
                "signature": self.sign("alice", &statement),
                "statement": statement,
                "ciphertexts": items.iter().map(|c| STANDARD.encode(c)).collect::<Vec<_>>(),
            }),
        )
    }

    fn release(
        &self,
        secret: &str,
        index: u64,
        ciphertext: &[u8],
        approvers: &[&str],
        re_release_of: Option<u64>,
    ) -> Map<String, Value> {
        let nonce = format!("{:032x}", self.seq);
        let approvals: Vec<Value> = approvers
            .iter()
            .map(|o| {
                let st = json!({
                    "type": "breakglass-approval/v1",
                    "vault": self.vault,
                    "epoch": self.epoch,
                    "secret": secret,
                    "reason": "INC-1",
                    "nonce": nonce,
                    "expires": rfc3339(self.time + HOUR),
                    "officer": o,
                });
                json!({"officer": o, "signature": self.sign(o, &st), "statement": st})
            })
            .collect();
        let receipt = receipt_statement(&ReceiptFacts {
            vault: &self.vault,
            epoch: self.epoch,
            secret,
            index,
            digest: &digest(ciphertext),
            nonce: &nonce,
            approvers,
            re_release_of,
            time: &self.now(),
        });
        let receipts: Vec<Value> = approvers
            .iter()
            .map(|o| json!({"officer": o, "signature": self.sign(o, &receipt)}))
            .collect();
        let mut m = self.entry(
            "release",
            &approvers.join("+"),
            json!({
                "secret": secret,
                "index": index,
                "digest": digest(ciphertext),
                "reason": "INC-1",
                "nonce": nonce,
                "epoch": self.epoch,
                "approvals": approvals,
                "receipts": receipts,
            }),
        );
        if let Some(r) = re_release_of {
            m.insert("re_release_of".into(), r.into());
        }
        m
    }

    fn displayed(&self, release: u64, secret: &str, index: u64, actor: &str) -> Map<String, Value> {
        let signer = actor.split('+').next().unwrap();
        let st = display_statement(&DisplayFacts {
            vault: &self.vault,
            epoch: self.epoch,
            release,
            secret,
            index,
            outcome: "confirmed",
            officer: signer,
            time: &self.now(),
        });
        self.entry(
            "displayed",
            actor,
            json!({
                "secret": secret,
                "index": index,
                "release": release,
                "outcome": "confirmed",
                "signer": signer,
                "signature": self.sign(signer, &st),
            }),
        )
    }

    fn rotation(
        &self,
        secret: &str,
        release: u64,
        index: u64,
        ciphertext: &[u8],
        by: &str,
    ) -> Map<String, Value> {
        let st = json!({
            "type": "breakglass-rotation/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "secret": secret,
            "release": release,
            "index": index,
            "item": digest(ciphertext),
            "vault_key_fingerprint": self.vault_key.fingerprint(),
            "officer": by,
            "time": self.now(),
        });
        self.entry(
            "rotated",
            by,
            json!({
                "secret": secret,
                "release": release,
                "index": index,
                "signature": self.sign(by, &st),
                "statement": st,
                "ciphertexts": [STANDARD.encode(ciphertext)],
            }),
        )
    }

    fn retirement(&self, secret: &str, voided: u64, approvers: &[&str]) -> Map<String, Value> {
        let nonce = format!("{:032x}", self.seq);
        let approvals: Vec<Value> = approvers
            .iter()
            .map(|o| {
                let st = json!({
                    "type": "breakglass-retire/v1",
                    "vault": self.vault,
                    "epoch": self.epoch,
                    "secret": secret,
                    "voided": voided,
                    "nonce": nonce,
                    "officer": o,
                    "time": self.now(),
                });
                json!({"officer": o, "signature": self.sign(o, &st), "statement": st})
            })
            .collect();
        self.entry(
            "retired",
            &approvers.join("+"),
            json!({"secret": secret, "nonce": nonce, "voided": voided, "approvals": approvals}),
        )
    }

    fn review(&self, release: u64, secret: &str, index: u64, by: &str) -> Map<String, Value> {
        let fields = json!({
            "release": release,
            "secret": secret,
            "index": index,
            "class": "emergency",
            "note": "the IdP was down; the admin logged in and fixed it",
            "incident": "INC-1",
        });
        self.review_of(fields, by)
    }

    /// A review with exactly these entry fields, the statement signing them.
    fn review_of(&self, fields: Value, by: &str) -> Map<String, Value> {
        let mut st = obj(json!({
            "type": "breakglass-review/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "officer": by,
            "time": self.now(),
        }));
        st.extend(obj(fields.clone()));
        let st = Value::Object(st);
        let mut m = self.entry(
            "reviewed",
            by,
            json!({"signature": self.sign(by, &st), "statement": st}),
        );
        m.extend(obj(fields));
        m
    }

    /// A ceremony that keeps the officers and threshold and carries
    /// `secrets` as given.
    fn ceremony(&self, secrets: Value) -> Map<String, Value> {
        let approvers = ["alice", "bob"];
        let nonce = format!("{:032x}", self.seq);
        let officers: Map<String, Value> = self
            .officers
            .iter()
            .map(|(n, k)| (n.clone(), k.fingerprint().into()))
            .collect();
        let kdf = json!({"memory_kib": 8192, "iterations": 1, "parallelism": 1});
        let approvals: Vec<Value> = approvers
            .iter()
            .map(|o| {
                let st = json!({
                    "type": "breakglass-ceremony/v1",
                    "vault": self.vault,
                    "epoch": self.epoch,
                    "new_epoch": self.epoch + 1,
                    "ceremony": "rekey",
                    "threshold": 2,
                    "officers": officers,
                    "vault_key_fingerprint": self.vault_key.fingerprint(),
                    "kdf": kdf,
                    "nonce": nonce,
                    "expires": rfc3339(self.time + HOUR),
                    "officer": o,
                });
                json!({"officer": o, "signature": self.sign(o, &st), "statement": st})
            })
            .collect();
        let pending: Map<String, Value> = self
            .officers
            .iter()
            .filter(|(n, _)| !approvers.contains(&n.as_str()))
            .map(|(n, _)| (n.clone(), digest(n.as_bytes()).into()))
            .collect();
        let mut m = self.entry(
            "rekey",
            &approvers.join("+"),
            json!({
                "vault": self.vault,
                "epoch": self.epoch + 1,
                "threshold": 2,
                "officers": self.officer_list(),
                "ledger_cert": self.ledger.public().armored().unwrap(),
                "ledger_fingerprint": self.ledger.fingerprint(),
                "vault_key_cert": self.vault_key.public().armored().unwrap(),
                "vault_key_fingerprint": self.vault_key.fingerprint(),
                "kdf": kdf,
                "ceremony": "rekey",
                "nonce": nonce,
                "approvals": approvals,
                "added": [],
                "removed": [],
                "pending": pending,
                "secrets": secrets,
            }),
        );
        let inherits = ceremony_inherits(&m).unwrap();
        let receipt = ceremony_receipt_statement(&CeremonyReceiptFacts {
            vault: &self.vault,
            epoch: self.epoch,
            new_epoch: self.epoch + 1,
            ceremony: "rekey",
            nonce: &nonce,
            approvers: &approvers,
            inherits: &inherits,
            time: &self.now(),
        });
        let receipts: Vec<Value> = approvers
            .iter()
            .map(|o| json!({"officer": o, "signature": self.sign(o, &receipt)}))
            .collect();
        m.insert("receipts".into(), receipts.into());
        m
    }

    /// `m` with its `statement` signed again by its actor.
    fn resigned(&self, m: Map<String, Value>) -> Map<String, Value> {
        let sig = self.sign(m["actor"].as_str().unwrap(), &m["statement"]);
        with(m, "signature", sig.into())
    }

    fn finish(self) -> Lifecycle {
        self.pass.finish().unwrap().lifecycle
    }
}

/// The items of the scene's secrets.
const ROOT: &[u8] = b"root-password-ciphertext";
const NEW_ROOT: &[u8] = b"rotated-root-password-ciphertext";
const CODES: [&[u8]; 3] = [b"code-1", b"code-2", b"code-3"];

/// The ledger every case starts from: officers alice, bob, carol and
/// dave, threshold 2; the credential `db/root` (rotate within a day)
/// deposited (entry 1) and released by alice and bob (entry 2); the codes
/// `idp/codes` deposited (entry 3), #1 released (entry 4) and seen
/// (entry 5).
fn scene() -> Book {
    let mut b = Book::new(&["alice", "bob", "carol", "dave"]);
    let d = b.deposit(
        "db/root",
        "credential",
        &[ROOT],
        policy(json!({"rotate_within": DAY})),
    );
    b.ok(d);
    let r = b.release("db/root", 0, ROOT, &["alice", "bob"], None);
    b.ok(r);
    let d = b.deposit("idp/codes", "codes", &CODES, policy(json!({})));
    b.ok(d);
    let r = b.release("idp/codes", 0, CODES[0], &["alice", "bob"], None);
    b.ok(r);
    let d = b.displayed(4, "idp/codes", 0, "alice+bob");
    b.ok(d);
    b
}

/// The entries of the scene, rotated and reviewed: entry 6 rotates
/// `db/root`, entry 7 is carol's review of entry 2.
fn rotated_scene() -> Book {
    let mut b = scene();
    let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
    b.ok(r);
    let r = b.review(2, "db/root", 0, "carol");
    b.ok(r);
    b
}

/// Deposits the canary codes and has carol and dave release the first,
/// as an end-to-end drill does; the release's `seq`.
fn canary(b: &mut Book) -> u64 {
    let d = b.deposit(drill::CANARY, "codes", &CODES, policy(json!({})));
    b.ok(d);
    let r = b.release(drill::CANARY, 0, CODES[0], &["carol", "dave"], None);
    b.ok(r)
}

fn with(mut m: Map<String, Value>, k: &str, v: Value) -> Map<String, Value> {
    m.insert(k.into(), v);
    m
}

fn with_statement(mut m: Map<String, Value>, k: &str, v: Value) -> Map<String, Value> {
    m["statement"][k] = v;
    m
}

type Case = fn(&mut Book) -> Result<(), Failure>;

/// Each case ends with the entry that must fail, the failure it must be,
/// and its detail: worded as docs/verify-ledger.py words it, since both
/// verifiers print the same line for the same tamper.
const REFUSED: &[(&str, Case, FailureKind, &str)] = &[
    // Rule 17: the policy.
    (
        "a deposit whose policy differs from the secret's first",
        |b| {
            let d = b.deposit(
                "idp/codes",
                "codes",
                &[b"code-4"],
                policy(json!({"review_within": DAY})),
            );
            b.push(d)
        },
        FailureKind::BadDepositSignature,
        "the signed deposit statement does not match the entry or the secret's history",
    ),
    (
        "a deposit whose policy is out of bounds",
        |b| {
            let d = b.deposit(
                "svc",
                "codes",
                &[b"c"],
                policy(json!({"review_within": 60})),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "policy is not a policy within bounds",
    ),
    (
        "codes with a rotation deadline",
        |b| {
            let d = b.deposit(
                "svc",
                "codes",
                &[b"c"],
                policy(json!({"rotate_within": DAY})),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "policy is not a policy within bounds",
    ),
    (
        "a credential with a reorder level",
        |b| {
            let d = b.deposit(
                "svc",
                "credential",
                &[b"c"],
                policy(json!({"reorder_below": 2})),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "policy is not a policy within bounds",
    ),
    (
        "a policy whose hours begin when they end",
        |b| {
            let d = b.deposit(
                "svc",
                "codes",
                &[b"c"],
                policy(json!({"hours": {"from": "08:00", "to": "08:00"}})),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "policy is not a policy within bounds",
    ),
    (
        "a policy with a sixth field",
        |b| {
            let d = b.deposit("svc", "codes", &[b"c"], policy(json!({"note": null})));
            b.push(d)
        },
        FailureKind::Malformed,
        "policy is not a policy within bounds",
    ),
    (
        "a deposit whose entry states another policy than its statement",
        |b| {
            let d = b.deposit("svc", "codes", &[b"c"], policy(json!({})));
            b.push(with(d, "policy", policy(json!({"review_within": DAY}))))
        },
        FailureKind::BadDepositSignature,
        "the signed deposit statement does not match the entry or the secret's history",
    ),
    (
        "a deposit statement of version 2",
        |b| {
            let d = b.deposit("svc", "codes", &[b"c"], policy(json!({})));
            let d = b.resigned(with_statement(d, "type", "breakglass-deposit/v2".into()));
            b.push(d)
        },
        FailureKind::BadDepositSignature,
        "the signed deposit statement does not match the entry or the secret's history",
    ),
    // Rule 18: void items and the minimum interval.
    (
        "a release of a credential's rotated-away item",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.ok(r);
            let r = b.release("db/root", 0, ROOT, &["alice", "bob"], Some(2));
            b.push(r)
        },
        FailureKind::WrongItem,
        "it takes db/root #1, but the next item the ledger allows is #2",
    ),
    (
        "a release of a retired code",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            b.ok(r);
            let r = b.release("idp/codes", 1, CODES[1], &["alice", "bob"], None);
            b.push(r)
        },
        FailureKind::WrongItem,
        "it takes idp/codes #2, but the next item the ledger allows is none",
    ),
    (
        "a release within the minimum interval with the usual quorum",
        |b| {
            let d = b.deposit(
                "svc",
                "codes",
                &CODES,
                policy(json!({"min_interval": HOUR})),
            );
            b.ok(d);
            let r = b.release("svc", 0, CODES[0], &["alice", "bob"], None);
            let seq = b.ok(r);
            let d = b.displayed(seq, "svc", 0, "alice+bob");
            b.ok(d);
            let r = b.release("svc", 1, CODES[1], &["alice", "bob"], None);
            b.push(r)
        },
        FailureKind::NoQuorum,
        "2 distinct officers approved, 3 needed (a release within the secret's minimum interval needs one more)",
    ),
    // Rule 19: what a ceremony carries.
    (
        "a ceremony carrying a rotated-away item as available",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.ok(r);
            let c = b.ceremony(json!([
            {"name": "db/root", "kind": "credential", "min_approvals": null,
             "policy": policy(json!({"rotate_within": DAY})),
             "items": [{"digest": digest(ROOT), "state": "available"},
                       {"digest": digest(NEW_ROOT), "state": "available"}]},
            {"name": "idp/codes", "kind": "codes", "min_approvals": null, "policy": policy(json!({})),
             "items": [{"digest": digest(CODES[0]), "state": "seen", "release": 4},
                       {"digest": digest(CODES[1]), "state": "available"},
                       {"digest": digest(CODES[2]), "state": "available"}]},
        ]));
            b.push(c)
        },
        FailureKind::Malformed,
        "the ceremony carries db/root #1 in another state than the ledger's",
    ),
    (
        "a ceremony changing a secret's policy",
        |b| {
            let c = b.ceremony(json!([
            {"name": "db/root", "kind": "credential", "min_approvals": null,
             "policy": policy(json!({})),
             "items": [{"digest": digest(ROOT), "state": "released", "release": 2}]},
            {"name": "idp/codes", "kind": "codes", "min_approvals": null, "policy": policy(json!({})),
             "items": [{"digest": digest(CODES[0]), "state": "seen", "release": 4},
                       {"digest": digest(CODES[1]), "state": "available"},
                       {"digest": digest(CODES[2]), "state": "available"}]},
        ]));
            b.push(c)
        },
        FailureKind::Malformed,
        "the ceremony changes db/root's kind, minimum or items",
    ),
    // Rule 22: drills.
    (
        "a drill naming a release of another secret",
        |b| {
            let d = b.entry(
                "drill",
                "alice+bob",
                json!({"release": 2, "result": "passed", "delivery": "delivered"}),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "entry 2 is not a release of drill/canary by alice+bob",
    ),
    (
        "a drill by an officer never enrolled",
        |b| {
            let d = b.entry("drill", "mallory", json!({"result": "ok"}));
            b.push(d)
        },
        FailureKind::UnknownOfficer,
        "\"mallory\" is not an enrolled officer",
    ),
    (
        "an end-to-end drill with a passphrase drill's result",
        |b| {
            let release = canary(b);
            let d = b.entry(
                "drill",
                "carol+dave",
                json!({"release": release, "result": "ok", "delivery": "delivered"}),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "a drill's result is \"passed\" or \"failed\"",
    ),
    (
        "an end-to-end drill without its delivery",
        |b| {
            let release = canary(b);
            let d = b.entry(
                "drill",
                "carol+dave",
                json!({"release": release, "result": "passed"}),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "an end-to-end drill's delivery is \"delivered\", \"failed\" or \"no_hook\"",
    ),
    (
        "an end-to-end drill by another quorum than its release's",
        |b| {
            let release = canary(b);
            let d = b.entry(
                "drill",
                "alice+bob",
                json!({"release": release, "result": "passed", "delivery": "no_hook"}),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "entry 7 is not a release of drill/canary by alice+bob",
    ),
    (
        "a drill whose release is not an entry number",
        |b| {
            let d = b.entry(
                "drill",
                "alice+bob",
                json!({"release": "2", "result": "passed", "delivery": "no_hook"}),
            );
            b.push(d)
        },
        FailureKind::Malformed,
        "release is not an entry number",
    ),
    // Rule 25a: rotations.
    (
        "a rotation by an officer never enrolled",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "actor", "mallory".into()))
        },
        FailureKind::UnknownOfficer,
        "\"mallory\" is not an enrolled officer",
    ),
    (
        "a rotation whose ciphertext is not the one signed",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "ciphertexts", json!([STANDARD.encode(b"another")])))
        },
        FailureKind::BadDepositSignature,
        "the signed rotation statement does not match the entry",
    ),
    (
        "a rotation signed by another officer than its actor",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "actor", "dave".into()))
        },
        FailureKind::BadDepositSignature,
        "the rotation statement does not verify with dave's certificate",
    ),
    (
        "a rotation with two ciphertexts",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(
                r,
                "ciphertexts",
                json!([STANDARD.encode(NEW_ROOT), STANDARD.encode(ROOT)]),
            ))
        },
        FailureKind::Malformed,
        "ciphertexts is not a list of one base64 ciphertext",
    ),
    (
        "a rotation naming a release that is not the item's",
        |b| {
            let r = b.rotation("db/root", 4, 1, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "it answers entry 4, but the latest release of db/root #1 is entry 2",
    ),
    (
        "a rotation of codes",
        |b| {
            let r = b.rotation("idp/codes", 4, 3, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "idp/codes holds codes: only a credential is rotated",
    ),
    (
        "a rotation of a credential never released",
        |b| {
            let d = b.deposit("svc", "credential", &[ROOT], policy(json!({})));
            b.ok(d);
            let r = b.rotation("svc", 1, 1, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "svc #1 was never released: there is no release to answer",
    ),
    (
        "a second rotation answering the same release",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.ok(r);
            let r = b.rotation("db/root", 2, 2, b"third", "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "db/root #2 was never released: there is no release to answer",
    ),
    (
        "a rotation naming another index than the next",
        |b| {
            let r = b.rotation("db/root", 2, 2, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "the new item is #3, but db/root holds 1 items: its next is #2",
    ),
    (
        "a rotation of a secret never deposited",
        |b| {
            let r = b.rotation("db/other", 2, 1, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "secret \"db/other\" was never deposited",
    ),
    (
        "a rotation of an invalid secret name",
        |b| {
            let r = b.rotation("db root", 2, 1, NEW_ROOT, "carol");
            b.push(r)
        },
        FailureKind::Malformed,
        "\"db root\" is not a valid secret name",
    ),
    (
        "a rotation whose ciphertext is not canonical base64",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "ciphertexts", json!(["YR=="])))
        },
        FailureKind::Malformed,
        "ciphertexts is not a list of one base64 ciphertext",
    ),
    (
        "a rotation without a signature",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "signature", Value::Null))
        },
        FailureKind::BadDepositSignature,
        "the rotation has no signature",
    ),
    (
        "a rotation whose statement is not an object",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            b.push(with(r, "statement", "signed".into()))
        },
        FailureKind::Malformed,
        "no rotation statement",
    ),
    (
        "a rotation signed for another time",
        |b| {
            let r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            let r = b.resigned(with_statement(r, "time", rfc3339(START).into()));
            b.push(r)
        },
        FailureKind::BadDepositSignature,
        "the signed rotation statement does not match the entry",
    ),
    // Rule 25b: retirements.
    (
        "a retirement with too few approvals",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice"]);
            b.push(r)
        },
        FailureKind::NoQuorum,
        "1 officers approved the retirement, 2 needed",
    ),
    (
        "a retirement voiding another count than what is left",
        |b| {
            let r = b.retirement("idp/codes", 3, &["alice", "bob"]);
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "it voids 3 items, but idp/codes has 2 neither void nor seen",
    ),
    (
        "a retirement of a credential",
        |b| {
            let r = b.retirement("db/root", 1, &["alice", "bob"]);
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "db/root is a credential: only codes are retired",
    ),
    (
        "a second retirement, with nothing left",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            b.ok(r);
            let r = b.retirement("idp/codes", 0, &["alice", "bob"]);
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "every item of idp/codes is void or seen: the retirement voids nothing",
    ),
    (
        "a retirement replaying a release's nonce",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            b.push(with(r, "nonce", format!("{:032x}", 4).into()))
        },
        FailureKind::ApprovalReplayed,
        "the nonce was already used by entry 4",
    ),
    (
        "a retirement whose approvals signed another count",
        |b| {
            let mut r = b.retirement("idp/codes", 3, &["alice", "bob"]);
            // The entry says 2 (what is left); the officers signed 3.
            r.insert("voided".into(), 2.into());
            b.push(r)
        },
        FailureKind::ApprovalMismatch,
        "alice's approval is for another retirement",
    ),
    (
        "a retirement of a secret never deposited",
        |b| {
            let r = b.retirement("idp/other", 2, &["alice", "bob"]);
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "secret \"idp/other\" was never deposited",
    ),
    (
        "a retirement whose voided is not a number",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            b.push(with(r, "voided", "2".into()))
        },
        FailureKind::Malformed,
        "no integer field \"voided\"",
    ),
    (
        "a retirement approved twice by one officer",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "alice"]);
            b.push(r)
        },
        FailureKind::DuplicateApproval,
        "alice approves twice",
    ),
    (
        "a retirement approved by an officer never enrolled",
        |b| {
            let mut r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            r["approvals"][1]["officer"] = "mallory".into();
            b.push(r)
        },
        FailureKind::BadApprovalSignature,
        "\"mallory\" is not an enrolled officer",
    ),
    (
        "a retirement approval without its statement",
        |b| {
            let mut r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            r["approvals"][0]
                .as_object_mut()
                .unwrap()
                .remove("statement");
            b.push(r)
        },
        FailureKind::BadApprovalSignature,
        "the approval by alice does not verify with alice's certificate",
    ),
    (
        "a retirement whose actor is not its approvers",
        |b| {
            let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
            b.push(with(r, "actor", "bob+alice".into()))
        },
        FailureKind::Malformed,
        "the actor is not the approvers joined by \"+\"",
    ),
    (
        "a retirement with fewer approvals than the secret's own minimum",
        |b| {
            let d = b.deposit("svc", "codes", &CODES, policy(json!({})));
            let d = with(d, "min_approvals", 3.into());
            let d = b.resigned(with_statement(d, "min_approvals", 3.into()));
            b.ok(d);
            let r = b.retirement("svc", 3, &["alice", "bob"]);
            b.push(r)
        },
        FailureKind::NoQuorum,
        "2 officers approved the retirement, 3 needed",
    ),
    // Rule 25c: reviews.
    (
        "a review by one of the release's approvers",
        |b| {
            let r = b.review(2, "db/root", 0, "bob");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "bob approved entry 2, and so cannot review it",
    ),
    (
        "a second review of the same release",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.ok(r);
            let r = b.review(2, "db/root", 0, "dave");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "entry 2 was already reviewed by entry 6",
    ),
    (
        "a review naming an entry that is no release",
        |b| {
            let r = b.review(3, "db/root", 0, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "entry 3 is not a release",
    ),
    (
        "a review naming another item than the release's",
        |b| {
            let r = b.review(4, "idp/codes", 1, "carol");
            b.push(r)
        },
        FailureKind::BadLifecycle,
        "entry 4 released idp/codes #1, not idp/codes #2",
    ),
    (
        "a review whose statement names another release",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "release", 4.into()))
        },
        FailureKind::ApprovalMismatch,
        "the signed review statement does not match the entry",
    ),
    (
        "a review whose signature is another officer's",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "actor", "dave".into()))
        },
        FailureKind::BadApprovalSignature,
        "the review statement does not verify with dave's certificate",
    ),
    (
        "a review of an emergency without an incident",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "emergency", "note": "fine", "incident": null}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "only a drill is reviewed without an incident",
    ),
    (
        "a review with a line break in its note",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "emergency", "note": "fine\nreally", "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "the note is not 1 to 500 characters without a control character",
    ),
    (
        "a review of an unknown class",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "oops", "note": "fine", "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "class \"oops\" is not \"emergency\", \"drill\" or \"misuse\"",
    ),
    (
        "a review statement with a field too many",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            let r = b.resigned(with_statement(r, "extra", 1.into()));
            b.push(r)
        },
        FailureKind::Malformed,
        "the review statement has the unknown field \"extra\"",
    ),
    (
        "a rotation statement without its item",
        |b| {
            let mut r = b.rotation("db/root", 2, 1, NEW_ROOT, "carol");
            r["statement"].as_object_mut().unwrap().remove("item");
            let r = b.resigned(r);
            b.push(r)
        },
        FailureKind::Malformed,
        "the rotation statement has no \"item\"",
    ),
    (
        "a review by an officer never enrolled",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "actor", "mallory".into()))
        },
        FailureKind::UnknownOfficer,
        "\"mallory\" is not an enrolled officer",
    ),
    (
        "a review without a signature",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "signature", Value::Null))
        },
        FailureKind::BadApprovalSignature,
        "the review has no signature",
    ),
    (
        "a review whose statement is not an object",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "statement", json!([])))
        },
        FailureKind::Malformed,
        "no review statement",
    ),
    (
        "a review whose incident is a number",
        |b| {
            let r = b.review(2, "db/root", 0, "carol");
            b.push(with(r, "incident", 7.into()))
        },
        FailureKind::Malformed,
        "incident is neither a string nor null",
    ),
    (
        "a review with a C1 control character in its note",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "emergency", "note": "fine\u{85}", "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "the note is not 1 to 500 characters without a control character",
    ),
    (
        "a review whose note is 501 characters",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "emergency", "note": "é".repeat(501), "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "the note is not 1 to 500 characters without a control character",
    ),
    (
        "a review with an empty note",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "emergency", "note": "", "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "the note is not 1 to 500 characters without a control character",
    ),
    (
        "a review whose incident is 65 characters",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "misuse", "note": "fine", "incident": "I".repeat(65)}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "the incident is not 1 to 64 characters without a control character",
    ),
    (
        "a review of a class with a line separator, quoted as JSON quotes it",
        |b| {
            let r = b.review_of(
                json!({"release": 2, "secret": "db/root", "index": 0,
            "class": "drill\u{2028}", "note": "fine", "incident": "INC-1"}),
                "carol",
            );
            b.push(r)
        },
        FailureKind::Malformed,
        "class \"drill\u{2028}\" is not \"emergency\", \"drill\" or \"misuse\"",
    ),
    // Rule 25d: reminders.
    (
        "an overdue entry whose due item has an unknown field",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "review", "secret": "db/root",
            "release": 2, "officer": null, "since": "2026-01-08T00:01:00Z", "note": "x"}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "a due item has the unknown field \"note\"",
    ),
    (
        "an overdue entry due for something unknown",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "lunch", "secret": null,
            "release": null, "officer": null, "since": "2026-01-08T00:01:00Z"}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "a due item's what, secret, release or officer is not of its type",
    ),
    (
        "an overdue entry whose since is not a time",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "drill", "secret": null,
            "release": null, "officer": "alice", "since": "yesterday"}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "since \"yesterday\" is not a ledger time (YYYY-MM-DDTHH:MM:SSZ)",
    ),
    (
        "an overdue entry whose due is not a list",
        |b| {
            let o = b.entry("overdue", "", json!({"due": {}}));
            b.push(o)
        },
        FailureKind::Malformed,
        "due is not a list",
    ),
    (
        "an overdue entry listing what is not an object",
        |b| {
            let o = b.entry("overdue", "", json!({"due": ["review"]}));
            b.push(o)
        },
        FailureKind::Malformed,
        "a due item is not an object",
    ),
    (
        "an overdue entry whose due item has no since",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "review", "secret": "db/root",
            "release": 2, "officer": null}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "a due item has no \"since\"",
    ),
    (
        "an overdue entry whose due item's release is not an entry number",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "review", "secret": "db/root",
            "release": "2", "officer": null, "since": "2026-01-08T00:01:00Z"}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "a due item's what, secret, release or officer is not of its type",
    ),
    (
        "an overdue entry whose since holds a control character, quoted as JSON quotes it",
        |b| {
            let o = b.entry(
                "overdue",
                "",
                json!({"due": [{"what": "drill", "secret": null,
            "release": null, "officer": "alice", "since": "\u{1}\u{7f}"}]}),
            );
            b.push(o)
        },
        FailureKind::Malformed,
        "since \"\\u0001\u{7f}\" is not a ledger time (YYYY-MM-DDTHH:MM:SSZ)",
    ),
];

#[test]
fn every_lifecycle_tamper_is_refused_with_its_line() {
    for (what, case, want, detail) in REFUSED {
        let mut b = scene();
        let f = match case(&mut b) {
            Ok(()) => panic!("{what}: passed"),
            Err(f) => f,
        };
        assert_eq!(f.kind, *want, "{what}: {f}");
        let line = format!("entry {}: {}: {detail}", b.seq - 1, want.describe());
        assert_eq!(f.to_string(), line, "{what}");
    }
}

#[test]
fn a_rotated_reviewed_and_retired_ledger_passes_and_sums_up() {
    let mut b = rotated_scene();
    // The new root password is released in turn, and the codes retired.
    let r = b.release("db/root", 1, NEW_ROOT, &["carol", "dave"], None);
    let second = b.ok(r);
    let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
    b.ok(r);
    let o = b.entry(
        "overdue",
        "",
        json!({"due": [{"what": "rotation", "secret": "db/root",
        "release": second, "officer": null, "since": b.now()}]}),
    );
    b.ok(o);
    let released_at = START + 60 * second as i64;
    let life = b.finish();
    assert_eq!(
        life.unreviewed,
        vec![
            Unreviewed {
                release: 4,
                secret: "idp/codes".into(),
                index: 0
            },
            Unreviewed {
                release: second,
                secret: "db/root".into(),
                index: 1
            },
        ]
    );
    let [root, codes] = &life.secrets[..] else {
        panic!("two secrets: {life:?}")
    };
    assert_eq!(
        (
            root.secret.as_str(),
            root.releases,
            root.reviewed,
            root.rotated
        ),
        ("db/root", 2, 1, 1)
    );
    assert_eq!(
        (
            codes.secret.as_str(),
            codes.releases,
            codes.reviewed,
            codes.rotated
        ),
        ("idp/codes", 1, 0, 0)
    );
    // db/root owes the second release's rotation (a day) and review (a
    // week); the codes their release's review.
    assert_eq!(root.overdue(released_at + DAY), 0);
    assert_eq!(root.overdue(released_at + DAY + 1), 1);
    assert_eq!(root.overdue(released_at + 7 * DAY + 1), 2);
    assert_eq!(codes.overdue(START + 8 * DAY), 1);
}

#[test]
fn drills_are_counted_but_owe_no_review() {
    let mut b = scene();
    let d = b.entry("drill", "alice", json!({"result": "ok"}));
    b.ok(d);
    let release = canary(&mut b);
    let d = b.entry(
        "drill",
        "carol+dave",
        json!({"release": release, "result": "passed", "delivery": "no_hook"}),
    );
    b.ok(d);
    let life = b.finish();
    // In the order of first deposits, not of names.
    let names: Vec<&str> = life.secrets.iter().map(|s| s.secret.as_str()).collect();
    assert_eq!(names, ["db/root", "idp/codes", drill::CANARY]);
    let canary = &life.secrets[2];
    assert_eq!((canary.releases, canary.overdue(i64::MAX)), (1, 0));
    assert!(life.unreviewed.iter().all(|u| u.secret != drill::CANARY));
}

#[test]
fn a_review_holds_any_text_but_control_characters_and_a_drill_needs_no_incident() {
    let mut b = scene();
    // 500 characters of two bytes each, and a line separator, which is
    // not a control character (Unicode category Cc).
    let r = b.review_of(
        json!({"release": 2, "secret": "db/root", "index": 0, "class": "emergency",
        "note": "é".repeat(500), "incident": "INC\u{2028}1"}),
        "carol",
    );
    b.ok(r);
    let release = canary(&mut b);
    let r = b.review_of(
        json!({"release": release, "secret": drill::CANARY, "index": 0, "class": "drill",
        "note": "quarterly drill", "incident": null}),
        "alice",
    );
    b.ok(r);
    let life = b.finish();
    let reviewed: Vec<u64> = life.secrets.iter().map(|s| s.reviewed).collect();
    assert_eq!(reviewed, [1, 0, 1]);
    assert_eq!(
        life.unreviewed,
        vec![Unreviewed {
            release: 4,
            secret: "idp/codes".into(),
            index: 0
        }]
    );
}

#[test]
fn the_minimum_interval_asks_one_more_approver_but_not_of_a_re_release() {
    let mut b = Book::new(&["alice", "bob", "carol"]);
    let d = b.deposit(
        "svc",
        "codes",
        &CODES,
        policy(json!({"min_interval": HOUR})),
    );
    b.ok(d);
    let r = b.release("svc", 0, CODES[0], &["alice", "bob"], None);
    let first = b.ok(r);
    // Within the hour, the unconfirmed item again: no extra approver.
    let r = b.release("svc", 0, CODES[0], &["alice", "bob"], Some(first));
    let again = b.ok(r);
    let d = b.displayed(again, "svc", 0, "alice+bob");
    b.ok(d);
    // The next item within the hour takes three of three.
    let r = b.release("svc", 1, CODES[1], &["alice", "bob", "carol"], None);
    let third = b.ok(r);
    let d = b.displayed(third, "svc", 1, "alice+bob+carol");
    b.ok(d);
    // An hour later, two are enough again.
    b.later(HOUR);
    let r = b.release("svc", 2, CODES[2], &["alice", "bob"], None);
    b.ok(r);
}

#[test]
fn the_minimum_interval_never_asks_more_than_the_officers() {
    let mut b = Book::new(&["alice", "bob"]);
    let d = b.deposit(
        "svc",
        "codes",
        &CODES,
        policy(json!({"min_interval": HOUR})),
    );
    b.ok(d);
    for i in 0..2u64 {
        let r = b.release("svc", i, CODES[i as usize], &["alice", "bob"], None);
        let seq = b.ok(r);
        let d = b.displayed(seq, "svc", i, "alice+bob");
        b.ok(d);
    }
}

#[test]
fn a_ceremony_carries_void_items_as_void() {
    let mut b = rotated_scene();
    let r = b.retirement("idp/codes", 2, &["alice", "bob"]);
    b.ok(r);
    let c = b.ceremony(json!([
        {"name": "db/root", "kind": "credential", "min_approvals": null,
         "policy": policy(json!({"rotate_within": DAY})),
         "items": [{"digest": digest(ROOT), "state": "void", "release": 2},
                   {"digest": digest(NEW_ROOT), "state": "available"}]},
        {"name": "idp/codes", "kind": "codes", "min_approvals": null, "policy": policy(json!({})),
         "items": [{"digest": digest(CODES[0]), "state": "seen", "release": 4},
                   {"digest": digest(CODES[1]), "state": "void"},
                   {"digest": digest(CODES[2]), "state": "void"}]},
    ]));
    b.ok(c);
}
