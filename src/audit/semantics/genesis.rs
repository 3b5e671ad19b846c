//! Rule 16: the genesis entry, and the officer lists and settings every
//! epoch entry states.

use super::*;

/// One officer of an epoch entry: name, fingerprint, armored certificate
/// and its signature verifier.
pub(super) type Officer = (String, String, String, Verifier);

/// An epoch entry's officers (genesis or rekey): exactly `{name,
/// fingerprint, cert}`, valid distinct names, certificates that match
/// their fingerprints. In list order.
pub(super) fn officer_list(m: &Map<String, Value>, seq: u64) -> Result<Vec<Officer>, Failure> {
    let bad = |why: String| fail(Some(seq), FailureKind::Malformed, why);
    let Some(list) = m.get("officers").and_then(Value::as_array) else {
        return bad("the entry lists no officers".into());
    };
    let mut out: Vec<Officer> = Vec::new();
    for o in list {
        let Some(o) = o.as_object() else {
            return bad("an officer is not an object".into());
        };
        exact_fields(o, seq, "an officer", |k| {
            matches!(k, "name" | "fingerprint" | "cert")
        })?;
        let name = str_field(o, seq, "name")?;
        if names::officer(name).is_err() {
            return bad(format!("{} is not a valid officer name", quoted(name)));
        }
        let armored = str_field(o, seq, "cert")?;
        let (cert, signs) = match PublicCert::from_ledger(armored.as_bytes()) {
            Ok(c) => c,
            Err(e) => return bad(format!("officer {name}: {e}")),
        };
        let fpr = str_field(o, seq, "fingerprint")?;
        if cert.fingerprint() != fpr {
            return bad(format!(
                "officer {name}'s fingerprint does not match the certificate"
            ));
        }
        if !signs {
            return bad(crate::pgp::CERT_NOT_SIGNING.into());
        }
        let v = match cert.verifier() {
            Ok(v) => v,
            Err(e) => return bad(e.to_string()),
        };
        if out.iter().any(|(n, ..)| n == name) {
            return bad(format!("officer {name} is listed twice"));
        }
        out.push((name.into(), fpr.into(), armored.into(), v));
    }
    Ok(out)
}

/// An epoch entry's vault encryption key: its fingerprint, checked
/// against its certificate.
pub(super) fn vault_key(m: &Map<String, Value>, seq: u64) -> Result<String, Failure> {
    let fpr = str_field(m, seq, "vault_key_fingerprint")?;
    let cert = PublicCert::from_ledger(str_field(m, seq, "vault_key_cert")?.as_bytes());
    if cert.map(|(c, _)| c.fingerprint()).ok().as_deref() != Some(fpr) {
        return fail(
            Some(seq),
            FailureKind::Malformed,
            "vault_key_fingerprint does not match vault_key_cert",
        );
    }
    Ok(fpr.to_string())
}

pub(super) fn genesis(m: &Map<String, Value>) -> Result<Semantics, Failure> {
    fn bad<T>(why: String) -> Result<T, Failure> {
        fail(Some(0), FailureKind::Malformed, why)
    }
    let list = officer_list(m, 0)?;
    let actor: Vec<&str> = list.iter().map(|(n, ..)| n.as_str()).collect();
    if str_field(m, 0, "actor")? != actor.join("+") {
        return bad("the genesis actor is not its officers joined by \"+\"".into());
    }
    let threshold = u64_field(m, 0, "threshold")?;
    if threshold < 2 || threshold as usize > list.len() {
        return bad("threshold out of range".into());
    }
    let vault = str_field(m, 0, "vault")?;
    if vault.len() != 32
        || !vault
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return bad("the vault id is not 32 lower-case hex digits".into());
    }
    let vault_key = vault_key(m, 0)?;
    let epoch = u64_field(m, 0, "epoch")?;
    if epoch != 0 {
        return bad("the genesis entry opens epoch 0".into());
    }
    let kdf = kdf_field(m, 0)?;
    let mut sem = Semantics {
        vault: vault.to_string(),
        epoch,
        threshold,
        vault_key,
        ledger_key: str_field(m, 0, "ledger_fingerprint")?.to_string(),
        kdf,
        officers: HashMap::new(),
        fingerprints: HashMap::new(),
        certs: Vec::new(),
        secrets: HashMap::new(),
        items: HashMap::new(),
        releases: HashMap::new(),
        displays: HashMap::new(),
        nonces: HashMap::new(),
        gaps: Default::default(),
        hook: None,
        release_count: 0,
        signatures: 0,
    };
    for (name, fpr, armored, v) in list {
        sem.certs.push((name.clone(), armored));
        sem.fingerprints.insert(name.clone(), fpr);
        sem.officers.insert(name, v);
    }
    Ok(sem)
}

/// The vault's Argon2 settings (LEDGER.md rule 16): exactly
/// `memory_kib`, `iterations`, `parallelism`, within the bounds an officer
/// record is read with (DESIGN I21).
pub(super) fn kdf_field(m: &Map<String, Value>, seq: u64) -> Result<KdfParams, Failure> {
    m.get("kdf")
        .and_then(KdfParams::from_json)
        .filter(|k| k.check_bounds().is_ok())
        .map_or_else(
            || malformed(seq, "kdf is not Argon2 settings within bounds"),
            Ok,
        )
}
