//! Rule 25a: a rotation, one officer replacing a released credential with
//! its next item, which voids the one released.

use sha2::Digest;

use super::*;

/// The fields of a signed rotation statement (§3.11).
const ROTATION_FIELDS: [&str; 10] = [
    "type",
    "vault",
    "epoch",
    "secret",
    "release",
    "index",
    "item",
    "vault_key_fingerprint",
    "officer",
    "time",
];

impl Semantics {
    pub(super) fn rotated(&mut self, seq: u64, m: &Map<String, Value>) -> Result<(), Failure> {
        let secret = str_field(m, seq, "secret")?;
        if names::secret(secret).is_err() {
            return malformed(
                seq,
                format!("{} is not a valid secret name", quoted(secret)),
            );
        }
        let release = u64_field(m, seq, "release")?;
        let index = u64_field(m, seq, "index")?;
        let st = statement_object(m, seq, "rotation")?;
        let ciphertext = match m.get("ciphertexts").and_then(Value::as_array) {
            Some(list) if list.len() == 1 => list[0].as_str().and_then(|c| STANDARD.decode(c).ok()),
            _ => None,
        };
        let Some(ciphertext) = ciphertext else {
            return malformed(seq, "ciphertexts is not a list of one base64 ciphertext");
        };
        self.signed_by_actor(seq, m, st, FailureKind::BadDepositSignature, "rotation")?;
        exactly(st, seq, "the rotation statement", &ROTATION_FIELDS)?;
        let item = hex::encode(sha2::Sha256::digest(&ciphertext));
        let signed = serde_json::json!({
            "type": "breakglass-rotation/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "secret": secret,
            "release": release,
            "index": index,
            "item": item,
            "vault_key_fingerprint": self.vault_key,
            "officer": str_field(m, seq, "actor")?,
            "time": str_field(m, seq, "time")?,
        });
        if signed.as_object() != Some(st) {
            return fail(
                Some(seq),
                FailureKind::BadDepositSignature,
                "the signed rotation statement does not match the entry",
            );
        }
        // The history: it answers the latest release of the credential's
        // last item, which is still live.
        let bad = |why: String| fail(Some(seq), FailureKind::BadLifecycle, why);
        let Some(info) = self.secrets.get(secret) else {
            return bad(format!("secret {} was never deposited", quoted(secret)));
        };
        if info.kind != "credential" {
            return bad(format!(
                "{secret} holds codes: only a credential is rotated"
            ));
        }
        let held = info.digests.len() as u64;
        if index != held {
            return bad(format!(
                "the new item is #{}, but {secret} holds {held} items: its next is #{}",
                index.saturating_add(1),
                held + 1
            ));
        }
        // A deposit gave the secret at least one item.
        let last = held - 1;
        let Some(item_state) = self.items.get(&(secret.to_string(), last)) else {
            return bad(format!(
                "{secret} #{held} was never released: there is no release to answer"
            ));
        };
        if item_state.release_seq != release {
            return bad(format!(
                "it answers entry {release}, but the latest release of {secret} #{held} is entry {}",
                item_state.release_seq
            ));
        }
        if info.void.contains(&last) {
            return bad(format!("{secret} #{held} is void already"));
        }
        // The item released is replaced: it is void, and the new one is the
        // secret's next item, never released.
        let info = self
            .secrets
            .get_mut(secret)
            .expect("the secret was found above");
        info.void.insert(last);
        info.digests.push(item);
        info.rotated += 1;
        Ok(())
    }
}
