//! The only module that knows sled.
//!
//! A vault directory is one sled database with one tree per [`Table`]. sled
//! holds an exclusive file lock while the database is open, so a second
//! process gets [`Error::InUse`] at once instead of waiting. Writes that
//! belong together go through [`Store::transact`]. The one removal is
//! [`Tx::remove`], and it works on the alert queue only: the ledger's tables
//! are append-only (invariant I11).

use std::path::{Path, PathBuf};

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::error::{Error, Result};

/// The trees of a vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// Format marker, configuration, ledger key, counters.
    Meta,
    /// Officer records by name.
    Officers,
    /// Secret records by name.
    Secrets,
    /// Item records by `secret \0 index`.
    Items,
    /// Ledger entries by big-endian sequence number.
    Ledger,
    /// Merkle complete-subtree hashes by `level ‖ index`.
    Merkle,
    /// Signed checkpoints by big-endian tree size.
    Checkpoints,
    /// Alert events waiting for delivery, by big-endian sequence number
    /// and a copy byte (`alerts.rs`); removed once delivered.
    Alerts,
}

impl Table {
    const ALL: [Table; 8] = [
        Table::Meta,
        Table::Officers,
        Table::Secrets,
        Table::Items,
        Table::Ledger,
        Table::Merkle,
        Table::Checkpoints,
        Table::Alerts,
    ];

    fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::Officers => "officers",
            Table::Secrets => "secrets",
            Table::Items => "items",
            Table::Ledger => "ledger",
            Table::Merkle => "merkle",
            Table::Checkpoints => "checkpoints",
            Table::Alerts => "alerts",
        }
    }

    fn idx(self) -> usize {
        self as usize
    }
}

/// How many times (50 ms apart) opening retries a held lock.
const LOCK_RETRIES: u32 = 10;

/// Checks that a new vault may be created at `path`: it must not exist, or
/// be an empty directory.
pub fn check_new_vault_path(path: &Path) -> Result<()> {
    if path.is_file() {
        return Err(Error::NotADirectory(path.to_owned()));
    }
    if path.exists() && std::fs::read_dir(path)?.next().is_some() {
        return Err(Error::VaultExists(path.to_owned()));
    }
    Ok(())
}

/// An open vault database. Clones share the same open database (and its
/// lock), e.g. for verifying the ledger on another thread.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    path: PathBuf,
    /// sled's data file, for the fsync its own flush does not do.
    data_file: std::sync::Arc<std::fs::File>,
}

fn storage(e: sled::Error) -> Error {
    match e {
        sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
            Error::InUse(None)
        }
        sled::Error::Corruption { .. } => Error::Corrupt(
            "the vault's database is damaged: sled found corrupted data. Nothing was written; \
             restore the vault from a backup (`breakglass restore`) and have the auditors verify \
             it against their saved state"
                .into(),
        ),
        other => Error::Storage(other.to_string()),
    }
}

/// The file naming the process that holds the vault open, for the
/// message another process gets. Informative only: it is written after the
/// lock is taken and never trusted for anything else.
const HOLDER: &str = "holder";

/// Records this process as the vault's holder: its pid, and its terminal
/// where it has one. A failure to write it is not an error.
fn write_holder(path: &Path) {
    let pid = std::process::id();
    let tty = std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with("/dev/pts/") || p.starts_with("/dev/tty"));
    let text = match tty {
        Some(t) => format!("pid {pid} on {t}"),
        None => format!("pid {pid}"),
    };
    let tmp = path.join(format!(".{HOLDER}.{pid}"));
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, path.join(HOLDER));
    }
}

/// Who holds the vault, as [`write_holder`] recorded it, if the holder is
/// still alive.
fn read_holder(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path.join(HOLDER)).ok()?;
    let text: String = text.chars().take(200).filter(|c| !c.is_control()).collect();
    let pid: u32 = text.strip_prefix("pid ")?.split(' ').next()?.parse().ok()?;
    std::path::Path::new(&format!("/proc/{pid}"))
        .exists()
        .then_some(text)
}

/// Removes the snapshot files sled was still writing when its process
/// died (`snap.*.generating`). sled 0.34.7 writes a snapshot under that
/// name, syncs it and renames it, but when listing snapshots it only skips
/// an older suffix, so after a kill it takes the unfinished file for the
/// newest snapshot and refuses to open (spacejam/sled#1527, #1533). The
/// finished snapshot before it and the log are complete without it.
fn remove_unfinished_snapshots(path: &Path) -> Result<bool> {
    let mut removed = false;
    for e in std::fs::read_dir(path)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(e.path())?;
            removed = true;
        }
    }
    Ok(removed)
}

impl Store {
    /// Creates a new, empty database at `path`, which must not exist or be
    /// an empty directory.
    pub fn create(path: &Path) -> Result<Store> {
        check_new_vault_path(path)?;
        // Only the owner may read the vault: it holds the ledger key.
        std::fs::create_dir_all(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        Self::open_db(path)
    }

    /// Opens an existing database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if path.is_file() {
            return Err(Error::NotADirectory(path.to_owned()));
        }
        if !path.join("conf").is_file() || !path.join("db").is_file() {
            return if path.is_dir() && std::fs::read_dir(path)?.next().is_some() {
                Err(Error::NotAVault(path.to_owned()))
            } else {
                Err(Error::NoVault(path.to_owned()))
            };
        }
        Self::open_db(path)
    }

    fn open_db(path: &Path) -> Result<Store> {
        let config = sled::Config::new()
            .path(path)
            .mode(sled::Mode::LowSpace)
            // No background flusher: every write path flushes itself before
            // anything is shown.
            .flush_every_ms(None);
        // sled finishes closing a dropped database on its own threads, so a
        // store reopened in the same process can find the lock still held
        // for a moment. Another process holding it gets "in use" after this
        // short grace, never a hang.
        let mut attempts = 0;
        let mut cleaned = false;
        let db = loop {
            match config.open().map_err(storage) {
                Err(Error::InUse(_)) if attempts < LOCK_RETRIES => {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                // sled reported corruption after taking the lock, so no
                // live process is writing a snapshot: an unfinished one
                // left by a killed process may be the cause.
                Err(Error::Corrupt(_)) if !cleaned && remove_unfinished_snapshots(path)? => {
                    cleaned = true;
                }
                Err(Error::InUse(_)) => return Err(Error::InUse(read_holder(path))),
                other => break other?,
            }
        };
        write_holder(path);
        let trees = Table::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(storage)?;
        let data_file = std::sync::Arc::new(std::fs::File::open(path.join("db"))?);
        Ok(Store {
            db,
            trees,
            path: path.to_owned(),
            data_file,
        })
    }

    /// The vault directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn tree(&self, t: Table) -> &sled::Tree {
        &self.trees[t.idx()]
    }

    /// One value.
    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(t).get(key).map_err(storage)?.map(|v| v.to_vec()))
    }

    /// All pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, t: Table, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.tree(t)
            .scan_prefix(prefix)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage))
            .collect()
    }

    /// Values with keys in `[from, ..)`, in key order, lazily.
    pub fn range_from<'a>(
        &'a self,
        t: Table,
        from: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<'a> {
        self.tree(t)
            .range(from.to_vec()..)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage))
    }

    /// The number of keys in a table (a scan: for small tables and counts
    /// shown to people).
    pub fn count(&self, t: Table) -> Result<u64> {
        let mut n = 0;
        for kv in self.tree(t).iter().keys() {
            kv.map_err(storage)?;
            n += 1;
        }
        Ok(n)
    }

    /// The pair with the smallest key.
    pub fn first(&self, t: Table) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .tree(t)
            .first()
            .map_err(storage)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    /// The pair with the greatest key.
    pub fn last(&self, t: Table) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .tree(t)
            .last()
            .map_err(storage)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    /// Runs `f` as one atomic transaction over every table: all its writes
    /// land, or none do. `f` may run more than once on a conflict, so it
    /// must not have side effects outside the transaction.
    pub fn transact<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
        let res = self
            .trees
            .as_slice()
            .transaction(|views: &Vec<TransactionalTree>| {
                let tx = Tx { views };
                f(&tx).map_err(ConflictableTransactionError::Abort)
            });
        match res {
            Ok(v) => Ok(v),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(storage(e)),
        }
    }

    /// Copies every table into `dest`, a new, empty store, and makes the
    /// copy durable. The copy is consistent: the caller holds this vault's
    /// lock, so nothing writes meanwhile.
    pub fn copy_into(&self, dest: &Store) -> Result<()> {
        for t in Table::ALL {
            let mut batch = sled::Batch::default();
            for kv in self.tree(t).iter() {
                let (k, v) = kv.map_err(storage)?;
                batch.insert(k, v);
            }
            dest.tree(t).apply_batch(batch).map_err(storage)?;
        }
        dest.flush()
    }

    /// Writes everything to disk; returns when it is durable (I2).
    ///
    /// sled 0.34's `flush` writes its buffers but on Linux ends in
    /// `sync_file_range`, which neither empties the disk's write cache nor
    /// writes metadata (spacejam/sled#1452), so the data file is synced
    /// here as well.
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map_err(storage)?;
        self.data_file.sync_data()?;
        Ok(())
    }
}

/// The tables as seen inside a transaction.
pub struct Tx<'a> {
    views: &'a Vec<TransactionalTree>,
}

impl Tx<'_> {
    /// One value, including this transaction's own writes.
    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.views[t.idx()]
            .get(key)
            .map(|o| o.map(|v| v.to_vec()))
            .map_err(|e| Error::Storage(format!("transaction read failed: {e:?}")))
    }

    /// Writes one value.
    pub fn put(&self, t: Table, key: &[u8], value: &[u8]) -> Result<()> {
        self.views[t.idx()]
            .insert(key, value)
            .map(|_| ())
            .map_err(|e| Error::Storage(format!("transaction write failed: {e:?}")))
    }

    /// Removes one delivered alert event. Only the alert queue has a
    /// removal: every other table, the ledger's above all, is append-only
    /// or overwritten in place (I11).
    pub fn remove(&self, t: Table, key: &[u8]) -> Result<()> {
        if t != Table::Alerts {
            return Err(Error::Storage(format!(
                "refusing to remove a key from the {} table",
                t.name()
            )));
        }
        self.views[t.idx()]
            .remove(key)
            .map(|_| ())
            .map_err(|e| Error::Storage(format!("transaction write failed: {e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_that_fails_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::create(&dir.path().join("v")).unwrap();
        let r: Result<()> = s.transact(|tx| {
            tx.put(Table::Items, b"a", b"1")?;
            tx.put(Table::Ledger, b"b", b"2")?;
            Err(Error::Storage("boom".into()))
        });
        assert!(r.is_err());
        assert_eq!(s.get(Table::Items, b"a").unwrap(), None);
        assert_eq!(s.get(Table::Ledger, b"b").unwrap(), None);
        s.transact(|tx| tx.put(Table::Items, b"a", b"1")).unwrap();
        assert_eq!(s.get(Table::Items, b"a").unwrap(), Some(b"1".to_vec()));
    }

    #[cfg(unix)]
    #[test]
    fn a_new_vault_directory_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        Store::create(&p).unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_second_open_is_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let s = Store::create(&p).unwrap();
        s.transact(|tx| tx.put(Table::Meta, b"x", b"y")).unwrap();
        s.flush().unwrap();
        let e = Store::open(&p).err().expect("in use");
        let own = format!("pid {}", std::process::id());
        assert!(
            matches!(&e, Error::InUse(Some(h)) if h.starts_with(&own)),
            "{e}"
        );
        assert!(e.to_string().contains(&own), "{e}");
    }

    #[test]
    fn an_unfinished_snapshot_left_by_a_killed_process_does_not_block_opening() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        {
            let s = Store::create(&p).unwrap();
            s.transact(|tx| tx.put(Table::Meta, b"x", b"y")).unwrap();
            s.flush().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        // What a process killed while writing a snapshot leaves: a newer,
        // truncated file that sled 0.34.7 would take for the snapshot.
        let generating = p.join("snap.FFFFFFFFFFFFFFF0.generating");
        std::fs::write(&generating, b"half a snapshot").unwrap();
        let s = Store::open(&p).unwrap();
        assert_eq!(s.get(Table::Meta, b"x").unwrap(), Some(b"y".to_vec()));
        assert!(!generating.exists());
    }

    #[test]
    fn a_damaged_database_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        {
            let s = Store::create(&p).unwrap();
            s.transact(|tx| tx.put(Table::Meta, b"x", b"y")).unwrap();
            s.flush().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        // A finished snapshot with a wrong checksum is real damage.
        std::fs::write(p.join("snap.FFFFFFFFFFFFFFF0"), b"0123456789abcdef").unwrap();
        let e = Store::open(&p)
            .err()
            .expect("a damaged snapshot is refused");
        let msg = e.to_string();
        assert!(matches!(e, Error::Corrupt(_)), "{msg}");
        assert!(
            msg.contains("damaged") && msg.contains("breakglass restore"),
            "{msg}"
        );
        assert!(!msg.contains("backtrace"), "{msg}");
    }

    #[test]
    fn open_refuses_missing_file_and_foreign_dirs() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::open(&dir.path().join("nope")),
            Err(Error::NoVault(_))
        ));
        let f = dir.path().join("file");
        std::fs::write(&f, b"x").unwrap();
        assert!(matches!(Store::open(&f), Err(Error::NotADirectory(_))));
        assert!(matches!(Store::create(&f), Err(Error::NotADirectory(_))));
        let d = dir.path().join("other");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("README"), b"x").unwrap();
        assert!(matches!(Store::open(&d), Err(Error::NotAVault(_))));
        assert!(matches!(Store::create(&d), Err(Error::VaultExists(_))));
    }
}
