//! Creating a vault (genesis) and opening one, with the cheap tail check.

use super::*;

/// The cheap check on open: the latest checkpoint covers exactly the stored
/// entries, its root is the stored tree's, the last entry hashes to the
/// stored leaf, and the ledger key signed it. No full rescan.
fn check_tail(
    store: &Store,
    config: &VaultConfig,
    ledger_cert: &PublicCert,
) -> std::result::Result<(), String> {
    let inner = || -> Result<std::result::Result<(), String>> {
        let size = ledger::size(store)?;
        let Some(cp) = ledger::latest_checkpoint(store)? else {
            return Ok(Err("the ledger has no signed checkpoint".into()));
        };
        let parsed = ledger::parse_checkpoint(&cp.body)?;
        if !origin_is_this_vaults(store, &config.vault_id, &parsed.origin)? {
            return Ok(Err("the latest checkpoint is for another vault".into()));
        }
        if parsed.size != size {
            return Ok(Err(format!(
                "the ledger has {size} entries but its latest checkpoint covers {}",
                parsed.size
            )));
        }
        let last_key = store.last(Table::Ledger)?.map(|(k, _)| k);
        if last_key.as_deref() != Some(&(size.wrapping_sub(1)).to_be_bytes()[..]) {
            return Ok(Err(
                "the stored entries do not end where the checkpoint does".into(),
            ));
        }
        let last = ledger::entry(store, size - 1)?.unwrap_or_default();
        if ledger::leaf(store, size - 1)? != Some(crate::ledger::merkle::leaf_hash(&last)) {
            return Ok(Err(format!(
                "entry {} does not match its Merkle leaf",
                size - 1
            )));
        }
        if ledger::root(store, size)? != parsed.root {
            return Ok(Err(
                "the stored tree does not match the latest checkpoint".into()
            ));
        }
        if ledger_cert
            .verifier()?
            .verify(cp.body.as_bytes(), cp.signature.as_bytes())
            .is_err()
        {
            return Ok(Err(
                "the latest checkpoint's signature does not verify".into()
            ));
        }
        Ok(Ok(()))
    };
    inner().unwrap_or_else(|e| Err(e.to_string()))
}

/// Whether `origin` is one this vault's checkpoints may carry: its base
/// origin, or the one a `restored` entry with a gap started (O(1): that
/// entry is read, not the whole ledger; `ledger verify` checks the rest).
fn origin_is_this_vaults(store: &Store, vault_id: &str, origin: &str) -> Result<bool> {
    if origin == ledger::origin(vault_id) {
        return Ok(true);
    }
    let prefix = format!("{}/restore-", ledger::origin(vault_id));
    let Some(seq) = origin
        .strip_prefix(&prefix)
        .filter(|s| !s.starts_with('0') || s.len() == 1)
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return Ok(false);
    };
    let Some(bytes) = ledger::entry(store, seq)? else {
        return Ok(false);
    };
    let m = ledger::parse_entry(&bytes)?;
    Ok(ledger::origin_after(vault_id, None, &m) == origin)
}

pub(super) fn officer_json(name: &str, cert: &PublicCert) -> Result<Value> {
    Ok(json!({
        "name": name,
        "fingerprint": cert.fingerprint(),
        "cert": cert.armored()?,
    }))
}

impl Vault {
    /// Creates a vault at `path` (which must not exist, or be an empty
    /// directory) and writes its genesis entry.
    pub fn init(path: &Path, opts: InitOptions) -> Result<Vault> {
        Self::init_with_clock(path, opts, Arc::new(SystemClock::default()))
    }

    /// [`Vault::init`] with an injected clock.
    pub fn init_with_clock(path: &Path, opts: InitOptions, clock: Arc<dyn Clock>) -> Result<Vault> {
        let n = opts.officers.len();
        if let Err(why) = opts.kdf.check_bounds() {
            return Err(Error::invalid("Argon2 settings", why));
        }
        names::threshold(opts.threshold, n)?;
        let mut seen = std::collections::HashSet::new();
        for o in &opts.officers {
            names::officer(&o.name)?;
            if !seen.insert(o.name.as_str()) {
                return Err(Error::invalid(
                    "officers",
                    format!("{} is named twice", o.name),
                ));
            }
            check_passphrase(&o.name, &o.passphrase)?;
        }
        store::check_new_vault_path(path)?;
        // The vault is built in a hidden sibling directory and renamed into
        // place only when its genesis entry is durable: a killed `init`
        // leaves no half-made vault at `path`, only a `.NAME.init-*`
        // directory beside it, which nothing opens and which may be removed.
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("vault directory", "the path has no final name"))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)?;
        let building = parent.join(format!(
            ".{}.init-{}",
            name.to_string_lossy(),
            hex::encode(crypto::random_array::<4>())
        ));
        let built = Store::create(&building)
            .and_then(|store| Self::write_genesis(store, &opts, clock.clone()));
        let result = built.and_then(|v| {
            // Close the database before it moves; reopen it in place.
            drop(v);
            std::fs::rename(&building, path)?;
            // The rename is durable only once the directory is synced.
            store::sync_dir(&parent)?;
            Vault::open_with_clock(path, clock).inspect_err(|e| {
                // Reopening failed (a full disk: sled writes when it
                // opens). Nobody has seen this vault's fingerprint yet:
                // remove it, so that a failed init leaves nothing behind.
                // Not when another process holds it: that one uses it.
                if !matches!(e, Error::InUse(_)) {
                    let _ = std::fs::remove_dir_all(path);
                }
            })
        });
        if result.is_err() {
            // Nothing of a failed init is left behind.
            let _ = std::fs::remove_dir_all(&building);
        }
        result
    }

    fn write_genesis(store: Store, opts: &InitOptions, clock: Arc<dyn Clock>) -> Result<Vault> {
        let vault_id = hex::encode(crypto::random_array::<16>());
        let epoch = 0u32;
        let threshold = opts.threshold as u8;
        let vk = VaultKey::random();
        let shares = shamir::split(&vk, threshold, opts.officers.len() as u8);

        let vault_key =
            SecretKey::generate_encryption(&format!("breakglass vault {vault_id} epoch {epoch}"))?;
        let ledger_key = SecretKey::generate_signing(&format!("breakglass ledger {vault_id}"))?;
        let config = VaultConfig {
            vault_id: vault_id.clone(),
            threshold,
            epoch,
            vault_key_fingerprint: vault_key.fingerprint(),
            ledger_fingerprint: ledger_key.fingerprint(),
            key_check: crypto::seal(
                vk.expose_secret(),
                KEY_CHECK,
                &key_check_aad(&vault_id, epoch),
            )?,
            vault_key_cert: vault_key.public().to_bytes()?,
            vault_key_sealed: crypto::seal(
                vk.expose_secret(),
                vault_key.to_bytes()?.expose_secret(),
                &vault_key_aad(&vault_id, epoch),
            )?,
        };
        drop(vk);

        let officer_keys = opts
            .officers
            .iter()
            .map(|o| {
                SecretKey::generate_officer(&format!(
                    "{} (breakglass officer, vault {vault_id})",
                    o.name
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        // What every officer's sealed record vouches for (I15).
        let commitment = keys::Commitment {
            vault: vault_id.clone(),
            epoch,
            threshold,
            vault_key: vault_key.fingerprint(),
            ledger_key: ledger_key.fingerprint(),
            officers: opts
                .officers
                .iter()
                .zip(&officer_keys)
                .map(|(o, k)| (o.name.clone(), k.fingerprint()))
                .collect(),
            kdf: opts.kdf,
        };
        let mut officer_records = Vec::new();
        let mut officer_entries = Vec::new();
        for ((o, share), key) in opts.officers.iter().zip(&shares).zip(&officer_keys) {
            officer_records.push(seal_officer(
                &o.name,
                &o.passphrase,
                opts.kdf,
                share,
                key,
                &commitment,
            )?);
            officer_entries.push(officer_json(&o.name, &key.public())?);
        }
        drop(shares);

        let actor = opts
            .officers
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let genesis = Draft::new("genesis", actor)
            .field("vault", vault_id.clone())
            .field("epoch", epoch)
            .field("threshold", threshold)
            .field("officers", Value::Array(officer_entries))
            .field("ledger_cert", ledger_key.public().armored()?)
            .field("ledger_fingerprint", ledger_key.fingerprint())
            .field("vault_key_cert", vault_key.public().armored()?)
            .field("vault_key_fingerprint", vault_key.fingerprint())
            .field("kdf", opts.kdf.to_json());
        let ledger_record = LedgerKeyRecord {
            tsk: ledger_key.to_bytes()?.expose_secret().to_vec(),
        };
        let now = clock.now();
        let ledger_problem = None;
        store.transact(|tx| {
            tx.put(Table::Meta, META_FORMAT, &write_format(FORMAT_VERSION))?;
            tx.put(Table::Meta, META_CONFIG, &config.encode()?)?;
            tx.put(Table::Meta, META_LEDGER_KEY, &ledger_record.encode()?)?;
            tx.put(Table::Meta, META_EPOCH_ENTRY, &0u64.to_be_bytes())?;
            tx.put(Table::Meta, &ceremony::epoch_key(0), &0u64.to_be_bytes())?;
            for r in &officer_records {
                tx.put(Table::Officers, r.name.as_bytes(), &r.encode()?)?;
            }
            ledger::append(tx, &genesis, now, &vault_id, &ledger_key, None)?;
            Ok(())
        })?;
        store.flush()?;
        Ok(Vault {
            store,
            config,
            ledger_key,
            clock,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            fault: None,
            ledger_problem,
            lock: Default::default(),
            tail: Default::default(),
            backoff_seen: Default::default(),
            life: Default::default(),
        })
    }

    /// Opens the vault at `path`.
    pub fn open(path: &Path) -> Result<Vault> {
        Self::open_with_clock(path, Arc::new(SystemClock::default()))
    }

    /// [`Vault::open`] with an injected clock.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Vault> {
        Self::open_as(path, clock, Access::Write)
    }

    /// Opens the vault at `path` for reading only: for `list`, `status` and
    /// the ledger commands, which then work while the console (or another
    /// writer) has the vault. Every write is refused.
    pub fn open_reader(path: &Path) -> Result<Vault> {
        Self::open_as(path, Arc::new(SystemClock::default()), Access::Read)
    }

    fn open_as(path: &Path, clock: Arc<dyn Clock>, access: Access) -> Result<Vault> {
        let store = Store::open_with(path, access)?;
        let format = store
            .get(Table::Meta, META_FORMAT)?
            .ok_or_else(|| Error::NotAVault(path.to_owned()))?;
        let version = read_format(&format).ok_or_else(|| Error::NotAVault(path.to_owned()))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let config = VaultConfig::decode(
            &store
                .get(Table::Meta, META_CONFIG)?
                .ok_or_else(|| Error::Corrupt("missing configuration".into()))?,
        )?;
        let ledger_key = {
            let rec = LedgerKeyRecord::decode(
                &store
                    .get(Table::Meta, META_LEDGER_KEY)?
                    .ok_or_else(|| Error::Corrupt("missing ledger key".into()))?,
            )?;
            SecretKey::from_bytes(&rec.tsk)?
        };
        let ledger_problem = check_tail(&store, &config, &ledger_key.public()).err();
        let lock = store.get(Table::Meta, META_LOCK)?.map(|b| {
            LockRecord::decode(&b)
                .map(|r| r.cause)
                .unwrap_or_else(|_| "its lock record is unreadable".into())
        });
        Ok(Vault {
            store,
            config,
            ledger_key,
            clock,
            approval_ttl: DEFAULT_APPROVAL_TTL,
            fault: None,
            ledger_problem,
            lock: std::cell::RefCell::new(lock),
            tail: Default::default(),
            backoff_seen: Default::default(),
            life: Default::default(),
        })
    }
}
