//! Structure-aware: mutates the fixture's VALID ledger (reorders, drops,
//! duplicates and overwrites entries, flips, inserts and deletes bytes in
//! entries and in the checkpoint) and checks that `audit::verify` either
//! fails or the ledger it passed is semantically the original: the same
//! entries (as canonical values) under the same checkpoint.
//!
//! With bit 7 of the first byte set, the checkpoint is instead re-signed
//! with the fixture's ledger key over whatever the mutations left, as an
//! attacker holding the online ledger key could: verification then reaches
//! the meaning of the entries (`src/audit/semantics.rs`), and may pass
//! (dropping the last entries is such a ledger; auditors' saved state and
//! collected checkpoints catch it), so only "no panic" is checked.
//!
//! Input: a mode byte, then operations, each an opcode byte and operands.
#![no_main]

use breakglass::audit;
use breakglass::ledger;
use breakglass::ledger::canonical;
use breakglass::ledger::merkle;
use libfuzzer_sys::fuzz_target;

/// At most this many operations per input.
const MAX_OPS: usize = 8;

struct Ops<'a>(&'a [u8]);

impl Ops<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn pos(&mut self) -> usize {
        usize::from(self.byte()) << 8 | usize::from(self.byte())
    }
}

fn flip(bytes: &mut [u8], pos: usize, bit: u8) {
    if !bytes.is_empty() {
        let i = pos % bytes.len();
        bytes[i] ^= 1 << (bit % 8);
    }
}

fuzz_target!(|data: &[u8]| {
    let original = breakglass_fuzz::fixture().source();
    let mut source = original.clone();
    let mut ops = Ops(data);
    let resign = ops.byte() & 0x80 != 0;
    let mut body = source.checkpoint.body.clone().into_bytes();
    let mut applied = 0;
    while !ops.0.is_empty() && applied < MAX_OPS {
        applied += 1;
        let e = &mut source.entries;
        let op = ops.byte() % 9;
        let n = e.len().max(1);
        let (a, b) = (usize::from(ops.byte()) % n, usize::from(ops.byte()) % n);
        if e.is_empty() {
            break;
        }
        match op {
            0 => e.swap(a, b),
            1 => {
                e.remove(a);
            }
            2 => {
                let copy = e[a].clone();
                e.insert(b, copy);
            }
            3 => {
                let (pos, bit) = (ops.pos(), ops.byte());
                flip(&mut e[a], pos, bit);
            }
            4 => e.truncate(a + 1),
            5 => {
                let (pos, bit) = (ops.pos(), ops.byte());
                flip(&mut body, pos, bit);
            }
            6 => e[a] = e[b].clone(),
            7 => {
                let (pos, byte) = (ops.pos(), ops.byte());
                let at = pos % (e[a].len() + 1);
                e[a].insert(at, byte);
            }
            _ => {
                let pos = ops.pos();
                if !e[a].is_empty() {
                    let at = pos % e[a].len();
                    e[a].remove(at);
                }
            }
        }
    }
    source.checkpoint.body = String::from_utf8_lossy(&body).into_owned();
    if resign {
        let cp = ledger::parse_checkpoint(&original.checkpoint.body).expect("fixture checkpoint");
        let leaves: Vec<merkle::Hash> = source
            .entries
            .iter()
            .map(|e| merkle::leaf_hash(e))
            .collect();
        let id = cp
            .origin
            .strip_prefix("breakglass/")
            .expect("fixture origin");
        let body =
            ledger::checkpoint_body(id, leaves.len() as u64, &merkle::root_of_leaves(&leaves));
        source.checkpoint.signature = breakglass_fuzz::fixture_key()
            .sign_detached(body.as_bytes(), 1_800_000_000)
            .expect("sign the checkpoint");
        source.checkpoint.body = body;
        let result = audit::verify(&source, &audit::Options::default());
        if applied == 0 {
            assert!(
                result.is_ok(),
                "the re-signed fixture does not verify: {result:?}"
            );
        }
        return;
    }
    let result = audit::verify(&source, &audit::Options::default());
    if applied == 0 {
        assert!(
            result.is_ok(),
            "the fixture ledger does not verify: {result:?}"
        );
    }
    if result.is_ok() {
        let values = |s: &breakglass_fuzz::MemSource| {
            s.entries
                .iter()
                .map(|b| canonical::parse_canonical(b).expect("a verified entry is canonical"))
                .collect::<Vec<_>>()
        };
        assert!(
            values(&source) == values(&original),
            "verify passed a ledger whose entries differ from the original"
        );
        assert_eq!(
            ledger::parse_checkpoint(&source.checkpoint.body).ok(),
            ledger::parse_checkpoint(&original.checkpoint.body).ok(),
            "verify passed a ledger under another checkpoint"
        );
    }
});
