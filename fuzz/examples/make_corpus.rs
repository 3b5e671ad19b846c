//! Builds the seed corpora (`corpus/<target>/`) and the fixture ledger
//! (`fixtures/bundle.packed`) from a real vault: the demo vault (three
//! officers, three code sets and a credential), with releases, a drill, a
//! refused approval, an officer-add ceremony and an export bundle on top.
//!
//! ```sh
//! cd fuzz && cargo run --example make_corpus    # or fuzz/make-corpus
//! ```
//!
//! Every run makes a new vault (new keys, new codes), so the files change;
//! the targets only need them to be real. The vault is throw-away: its
//! keys protect nothing.

use std::path::{Path, PathBuf};

use breakglass::audit;
use breakglass::ledger;
use breakglass::ledger::note;
use breakglass::records::{LedgerKeyRecord, LockRecord, Record, SecretKind};
use breakglass::secret::VaultKey;
use breakglass::store::Table;
use breakglass::vault::{CeremonyKind, CeremonyPlan, ReviewClass, Vault};
use breakglass::{Passphrase, SecretValue, item, shamir};
use breakglass_fuzz::Packed;

/// The largest seed kept: libFuzzer's default -max_len is 4096 for an
/// empty corpus but follows the seeds; keep them small.
const MAX_SEED: usize = 64 * 1024;

struct Out {
    root: PathBuf,
    written: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
        if bytes.len() > MAX_SEED {
            eprintln!("skipping {target}/{name}: {} bytes", bytes.len());
            return;
        }
        let dir = self.root.join("corpus").join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        std::fs::write(dir.join(name), bytes).expect("write seed");
        self.written += 1;
    }
}

fn pass(demo: &[(String, Passphrase)], name: &str) -> Passphrase {
    let p = demo
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.expose_secret().to_string())
        .expect("demo officer");
    Passphrase::new(p)
}

fn release(vault: &mut Vault, demo: &[(String, Passphrase)], secret: &str, who: &[&str]) {
    let mut req = vault
        .begin_release(secret, "fuzz corpus: a drill release")
        .expect("begin release");
    for o in who {
        vault
            .approve(&mut req, o, &pass(demo, o))
            .expect("approve release");
    }
    vault.complete_release(req).expect("complete release");
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let work = std::env::temp_dir().join(format!("breakglass-make-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("create work dir");
    let result = std::panic::catch_unwind(|| build(&root, &work));
    let _ = std::fs::remove_dir_all(&work);
    match result {
        Ok(n) => println!("{n} seeds written under {}", root.join("corpus").display()),
        Err(_) => std::process::exit(1),
    }
}

fn build(root: &Path, work: &Path) -> usize {
    for target in std::fs::read_dir(root.join("corpus")).into_iter().flatten() {
        let _ = std::fs::remove_dir_all(target.expect("corpus entry").path());
    }
    let mut out = Out {
        root: root.to_owned(),
        written: 0,
    };

    // A real vault with every kind of entry a vault writes in ordinary use.
    let demo = breakglass::demo::create(&work.join("vault")).expect("demo vault");
    let officers = demo.officers;
    let mut vault = demo.vault;
    release(&mut vault, &officers, "github/admin", &["alice", "bob"]);
    release(&mut vault, &officers, "okta/recovery", &["bob", "carol"]);
    release(
        &mut vault,
        &officers,
        "postgres/root",
        &["alice", "bob", "carol"],
    );
    vault
        .drill("carol", &pass(&officers, "carol"))
        .expect("drill");
    // What follows a release: a rotation, a review, a retirement.
    let alice = vault
        .authenticate("alice", &pass(&officers, "alice"), "rotate", None)
        .expect("authenticate");
    vault
        .rotate(
            &alice,
            "postgres/root",
            &SecretValue::new("fuzz-rotated".into()),
        )
        .expect("rotate");
    let github = vault
        .lifecycle()
        .expect("lifecycle")
        .releases
        .values()
        .find(|r| r.secret == "github/admin")
        .expect("a github release")
        .seq;
    let carol = vault
        .authenticate("carol", &pass(&officers, "carol"), "review", None)
        .expect("authenticate");
    vault
        .review(
            &carol,
            github,
            ReviewClass::Emergency,
            "fuzz corpus",
            Some("INC-1"),
        )
        .expect("review");
    vault
        .retire(
            "okta/recovery",
            &[
                ("alice", &pass(&officers, "alice")),
                ("bob", &pass(&officers, "bob")),
            ],
        )
        .expect("retire");
    // A wrong passphrase: logged as a refusal.
    let mut req = vault
        .begin_release("aws/root-mfa", "fuzz corpus: a refused approval")
        .expect("begin release");
    let _ = vault.approve(&mut req, "alice", &Passphrase::new("not-alices".into()));
    vault.cancel_release(req).expect("cancel release");
    let plan = CeremonyPlan {
        kind: CeremonyKind::OfficerAdd,
        add: vec!["dave".into()],
        remove: vec![],
        threshold: None,
    };
    let mut req = vault.begin_ceremony(&plan).expect("begin ceremony");
    for o in ["alice", "bob"] {
        vault
            .approve_ceremony(&mut req, o, &pass(&officers, o))
            .expect("approve ceremony");
    }
    vault
        .complete_ceremony(req, &[("dave".into(), Passphrase::new("dave-fuzz".into()))])
        .expect("officer add");
    release(&mut vault, &officers, "github/admin", &["carol", "alice"]);

    // Stored records, every table but the Merkle nodes (bare hashes).
    let store = vault.store();
    for (table, tag) in [
        (Table::Meta, "meta"),
        (Table::Officers, "officer"),
        (Table::Secrets, "secret"),
        (Table::Items, "item"),
        (Table::Checkpoints, "checkpoint"),
        (Table::Alerts, "alert"),
    ] {
        let rows = store.scan_prefix(table, b"").expect("scan");
        // Items and checkpoints are many and alike: a few of each.
        let keep = if table == Table::Meta { rows.len() } else { 4 };
        for (i, (_, value)) in rows.iter().enumerate().take(keep) {
            out.put("records", &format!("{tag}-{i}"), value);
        }
    }

    // The one record type a healthy vault does not hold.
    let lock = LockRecord {
        cause: "the stored threshold differs from the one the officers signed".into(),
        time: "2026-11-28T11:00:00Z".into(),
    };
    out.put("records", "lock", &lock.encode().expect("lock record"));

    // Ledger entries, and the statements officers sign inside them.
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    for e in ledger::entries_from(store, 0) {
        let (seq, bytes) = e.expect("entry");
        let m = ledger::parse_entry(&bytes).expect("entry parses");
        let kind = m
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("?")
            .to_string();
        let n = kinds.entry(kind.clone()).or_default();
        *n += 1;
        if *n <= 2 {
            out.put("canonical_entry", &format!("{seq:03}-{kind}"), &bytes);
        }
    }

    // An export bundle: the fixture, and the bundle target's seeds.
    let bundle_dir = work.join("bundle");
    audit::export(store, &vault.ledger_cert(), &bundle_dir).expect("export");
    let packed = Packed::read_dir(&bundle_dir).expect("read bundle");
    std::fs::create_dir_all(root.join("fixtures")).expect("fixtures dir");
    std::fs::write(root.join("fixtures/bundle.packed"), packed.to_bytes()).expect("fixture");
    // The ledger's secret key, for the verifier target's re-signing mode
    // (an attacker who holds the online ledger key).
    let key = store
        .get(Table::Meta, b"ledger_key")
        .expect("read ledger key")
        .expect("a ledger key");
    let key = LedgerKeyRecord::decode(&key).expect("ledger key record");
    std::fs::write(root.join("fixtures/ledger-key.tsk"), &key.tsk).expect("fixture key");
    out.put("bundle", "export", &packed.to_bytes());
    let mut no_cert = packed.clone();
    no_cert.ledger_cert.clear();
    no_cert.officers.clear();
    out.put("bundle", "export-bare", &no_cert.to_bytes());

    // Checkpoints: body, signature and note as the checkpoint target reads
    // them, and as collected files (an alert event, a note, a body with
    // its signature).
    let body = String::from_utf8(packed.checkpoint.clone()).expect("body");
    let sig = String::from_utf8(packed.signature.clone()).expect("signature");
    let note_text = std::fs::read_to_string(bundle_dir.join(audit::bundle::CHECKPOINT_NOTE))
        .expect("checkpoint.note");
    note::parse(&note_text).expect("the note parses");
    let joined = |parts: &[&str]| parts.join("\0").into_bytes();
    out.put("checkpoint", "latest", &joined(&[&body, &sig, &note_text]));
    for (i, cp) in ledger::checkpoints(store).enumerate().take(3) {
        let cp = cp.expect("checkpoint");
        out.put(
            "checkpoint",
            &format!("stored-{i}"),
            &joined(&[&cp.body, &cp.signature]),
        );
    }
    let event = serde_json::json!({
        "v": breakglass::alerts::EVENT_VERSION,
        "checkpoint": body,
        "checkpoint_sig": sig,
        "note": note_text,
    });
    out.put(
        "collected_checkpoint",
        "event",
        event.to_string().as_bytes(),
    );
    out.put("collected_checkpoint", "note", note_text.as_bytes());
    out.put(
        "collected_checkpoint",
        "body-and-asc",
        &joined(&[&body, &sig]),
    );

    // The auditor's state, as `ledger verify --state` writes it.
    let state_path = work.join("state.json");
    let verified = audit::verify(
        &audit::BundleSource::new(&bundle_dir).expect("bundle source"),
        &audit::Options {
            state_path: Some(state_path.clone()),
            ..Default::default()
        },
    )
    .expect("the export verifies");
    out.put(
        "auditor_state",
        "latest",
        &std::fs::read(&state_path).expect("state"),
    );
    let older = audit::State {
        origin: verified.checkpoint.origin.clone(),
        size: 1,
        root: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".into(),
    };
    older.save(&state_path).expect("save state");
    out.put(
        "auditor_state",
        "size-1",
        &std::fs::read(&state_path).expect("state"),
    );

    // Shares: the format `split` makes, as `combine` takes them:
    // threshold byte, then length byte and share for each.
    let key = VaultKey::new(breakglass::crypto::random_array());
    for (m, n) in [(2u8, 3u8), (3, 5), (1, 1)] {
        let shares = shamir::split(&key, m, n);
        let mut seed = vec![m];
        for s in shares.iter().take(m as usize + 1) {
            seed.push(s.len() as u8);
            seed.extend_from_slice(s.expose_secret());
        }
        out.put("shares", &format!("{m}-of-{n}"), &seed);
    }

    // Item plaintexts as deposits write them: a selector byte (bit 0:
    // credential), then the plaintext.
    for (i, (secret, kind, value)) in [
        ("github/admin", SecretKind::Codes, "ABCD-EFGH"),
        (
            "postgres/root",
            SecretKind::Credential,
            "db-root:0123456789ab",
        ),
        ("okta/recovery", SecretKind::Codes, "k\u{e9}y-\u{1F511}"),
    ]
    .into_iter()
    .enumerate()
    {
        let plain = item::write(secret, i as u32, kind, &SecretValue::new(value.into()));
        let mut seed = vec![u8::from(kind == SecretKind::Credential)];
        seed.extend_from_slice(plain.expose_secret());
        out.put(
            "item_plaintext",
            &format!("{secret}").replace('/', "-"),
            &seed,
        );
    }

    // Batch stdin: an operation byte (see the target), then stdin as a
    // release, a deposit of codes and of a credential give it.
    for (name, ops, stdin) in [
        ("release", 0x00u8, "alice-pass\r\nbob pass\n"),
        (
            "deposit-codes",
            0x08,
            "alice-pass\nABCD-EFGH\r\n  IJKL-MNOP  \r\rQRST\n\n",
        ),
        ("deposit-credential", 0x0c, "alice-pass\nhunter2\r\n"),
        ("new-passphrase", 0x01, "new pass phrase\n"),
    ] {
        let mut seed = vec![ops];
        seed.extend_from_slice(stdin.as_bytes());
        out.put("batch_stdin", name, &seed);
    }

    // The verifier target mutates the fixture; its input is a mode byte
    // (bit 7: re-sign the checkpoint with the ledger key), then
    // operations. No operation (the ledger as it is) and a few short ones.
    for (name, seed) in [
        ("none", &b""[..]),
        ("swap", &[0u8, 0, 1, 2][..]),
        ("drop", &[0u8, 1, 3, 0][..]),
        ("dup", &[0u8, 2, 4, 5][..]),
        ("flip", &[0u8, 3, 2, 0, 0, 40, 1][..]),
        ("resign-drop", &[0x80u8, 1, 3, 0][..]),
        ("resign-dup", &[0x80u8, 2, 5, 6][..]),
        ("resign-truncate", &[0x80u8, 4, 6, 0][..]),
    ] {
        out.put("verify_mutations", name, seed);
    }
    out.written
}
