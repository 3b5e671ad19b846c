//! The only module that knows sled.
//!
//! A vault directory is one sled database with one tree per [`Table`]. sled
//! lets one process at a time have the database open, so readers and
//! writers share it by time: a store opens sled on first use and can let
//! go of it between operations ([`Store::suspend`]; the console does when
//! idle), and opening waits a few seconds for another process to let go.
//! Writers also hold a writer lock (`flock` on the vault directory itself)
//! for their whole life, so there is one writer per vault, however many
//! readers ([`Access`]).
//!
//! The directory is hostile (I21): whoever can write it may plant symlinks
//! or delete files. No file here is opened through a symlink or under a
//! predictable temporary name ([`open_nofollow`], [`write_note`]); sled's
//! own files are checked not to be symlinks before sled opens them
//! ([`refuse_planted_links`]); and the writer lock is on the directory, which
//! cannot be deleted from under a writer, and is checked to still be the
//! directory at the vault's path before the database is opened and before
//! every transaction ([`WriterLock::check`]). Writes that belong together go through
//! [`Store::transact`]. The one removal is [`Tx::remove`], and it works on
//! the alert queue only: the ledger's tables are append-only (invariant
//! I11).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

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

/// How long opening waits for another process to let go of the database
/// unless [`set_lock_wait`] says otherwise. Readers hold it only while they
/// read, and the console only during an operation, so this is rarely
/// reached; when it is, the message names the holder.
pub const DEFAULT_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The wait in milliseconds (see [`set_lock_wait`]).
static LOCK_WAIT_MS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(DEFAULT_LOCK_WAIT.as_millis() as u64);

/// What this process is, for the note another process reads when the
/// vault is in use: "a console: press q there", "a command: …".
static ROLE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Says what this process is, before it opens a vault (the CLI does).
pub fn set_process_role(role: &str) {
    let _ = ROLE.set(role.to_string());
}

/// Sets how long opening a vault waits for another process to let go of
/// its database (the CLI's `--wait`). The writer lock is never waited for.
pub fn set_lock_wait(wait: std::time::Duration) {
    let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    LOCK_WAIT_MS.store(ms, std::sync::atomic::Ordering::Relaxed);
}

fn lock_wait() -> std::time::Duration {
    std::time::Duration::from_millis(LOCK_WAIT_MS.load(std::sync::atomic::Ordering::Relaxed))
}
/// How often opening retries a held database while it waits.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(20);

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

/// What a process may do with a vault it opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only: `list`, `status`, `ledger show/verify/export`. Needs no
    /// writer lock, so it works while the console or another writer has the
    /// vault; it waits for sled's lock only as long as that writer is in
    /// the middle of an operation.
    Read,
    /// Read and write. Holds the vault's writer lock for the store's whole
    /// life: a second writer gets [`Error::InUse`] naming this one.
    Write,
}

/// sled's database while this process has it open.
struct Db {
    db: sled::Db,
    trees: Vec<sled::Tree>,
    /// sled's data file, for the fsync its own flush does not do.
    data_file: std::fs::File,
}

/// The open database, if any: a strong reference while this process keeps
/// it, a weak one while someone (a background thread, an iterator) may
/// still be using it after [`Store::suspend`].
#[derive(Default)]
struct Slot {
    kept: Option<Arc<Db>>,
    last: Weak<Db>,
    /// Set by [`Store::suspend`]: a use opens the database only for as
    /// long as it lasts, until [`Store::resume`].
    suspended: bool,
}

struct Shared {
    path: PathBuf,
    access: Access,
    slot: Mutex<Slot>,
    /// The locked vault directory, held while the store lives (writers
    /// only).
    writer: Option<WriterLock>,
}

/// A vault database. sled allows one process at a time, so the database is
/// opened on first use and can be let go between operations
/// ([`Store::suspend`]); the writer lock stays. Clones share the same
/// database, e.g. for verifying the ledger on another thread.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// What a full disk or a read-only file system means for the vault, in
/// place of the bare system error.
fn io_problem(e: &std::io::Error) -> Option<Error> {
    match e.kind() {
        std::io::ErrorKind::ReadOnlyFilesystem => Some(Error::Storage(
            "the vault's file system is read-only: nothing was changed or released. sled needs \
             write access even to read, so copy the vault directory somewhere writable to look \
             at it, or verify an export bundle (`ledger verify --bundle`)"
                .into(),
        )),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            Some(Error::Storage(
                "the disk holding the vault is full: nothing was written and nothing released; \
                 free some space and run the command again"
                    .into(),
            ))
        }
        _ => None,
    }
}

fn storage(e: sled::Error) -> Error {
    if let sled::Error::Io(io) = &e {
        if let Some(problem) = io_problem(io) {
            return problem;
        }
    }
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

/// The files naming the process that holds the vault's writer lock
/// (`holder`) and the one that has sled open (`opener`), for the message
/// another process gets. Informative only: each is written after its lock
/// is taken and never trusted for anything else.
const HOLDER: &str = "holder";
const OPENER: &str = "opener";

/// The most of a note [`read_holder`] reads.
const NOTE_MAX: u64 = 256;

/// `opts` set not to follow a symlink at the last component of the path it
/// opens (`O_NOFOLLOW`: the open fails with ELOOP instead), nor to block on
/// a FIFO planted in its place (`O_NONBLOCK`, which regular files ignore).
pub(crate) fn open_nofollow(opts: &mut std::fs::OpenOptions) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
    }
    #[cfg(not(unix))]
    {
        opts
    }
}

/// Creates `path` for writing, owner-only: it must not exist, not even as
/// a symlink (`create_new` is `O_CREAT|O_EXCL`, which never follows one).
pub(crate) fn create_new_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    open_nofollow(&mut opts).open(path)
}

/// A fresh name beside `final_name` in `dir` for a file that is written and
/// then renamed over it: `.NAME.<16 random hex digits>.tmp`, which nobody
/// can plant in advance.
pub(crate) fn temporary_name(dir: &Path, final_name: &str) -> PathBuf {
    dir.join(format!(
        ".{final_name}.{}.tmp",
        hex::encode(crate::crypto::random_array::<8>())
    ))
}

/// Records this process in `name` ([`HOLDER`] or [`OPENER`]): its pid, and
/// its terminal where it has one. Written to a fresh random name (never
/// through a symlink), then renamed over the note, which replaces a planted
/// symlink rather than writing through it. A failure to write it is not an
/// error.
fn write_note(path: &Path, name: &str) {
    use std::io::Write;
    let pid = std::process::id();
    let tty = std::fs::read_link("/proc/self/fd/0")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
        .filter(|p| p.starts_with("/dev/pts/") || p.starts_with("/dev/tty"));
    let mut text = match tty {
        Some(t) => format!("pid {pid} on {t}"),
        None => format!("pid {pid}"),
    };
    if let Some(role) = ROLE.get() {
        text.push_str(", ");
        text.push_str(role);
    }
    let tmp = temporary_name(path, name);
    let written = create_new_file(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path.join(name)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Who holds the lock `name` records, as [`write_note`] recorded it, if
/// that process is still alive. Reads at most [`NOTE_MAX`] bytes of a
/// regular file, never through a symlink.
fn read_holder(path: &Path, name: &str) -> Option<String> {
    use std::io::Read;
    let f = open_nofollow(std::fs::OpenOptions::new().read(true))
        .open(path.join(name))
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    f.take(NOTE_MAX).read_to_end(&mut bytes).ok()?;
    let text: String = String::from_utf8_lossy(&bytes)
        .chars()
        .take(200)
        .filter(|c| !c.is_control())
        .collect();
    let pid: u32 = text
        .strip_prefix("pid ")?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    std::path::Path::new(&format!("/proc/{pid}"))
        .exists()
        .then_some(text)
}

/// The writer lock: an `flock` on the vault directory itself, and which
/// directory that was. A lock file inside the directory can be deleted by
/// whoever can write the directory, and the next writer then locks a new
/// file and is admitted; the directory cannot be deleted while it holds
/// the vault, and replacing it needs write access to its parent. When it
/// is replaced all the same (moved away, its files moved into a new
/// directory at the same path), [`WriterLock::check`] notices.
struct WriterLock {
    _dir: std::fs::File,
    /// Device and inode of the locked directory.
    id: (u64, u64),
}

/// Device and inode.
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

impl WriterLock {
    /// Fails unless `path` is still the directory this lock holds: a
    /// writer whose directory was replaced would write, or reopen sled, in
    /// a directory another writer may hold.
    fn check(&self, path: &Path) -> Result<()> {
        match std::fs::metadata(path) {
            Ok(m) if file_id(&m) == self.id => Ok(()),
            _ => Err(Error::Storage(format!(
                "{} is no longer the directory this command locked (it was moved, removed or \
                 replaced meanwhile): nothing more was written; check the vault directory and \
                 run the command again",
                path.display()
            ))),
        }
    }
}

/// Takes the vault's writer lock, or names who has it.
fn lock_writer(path: &Path) -> Result<WriterLock> {
    let cannot = |e: std::io::Error| {
        io_problem(&e).unwrap_or_else(|| {
            Error::Storage(format!(
                "cannot open the vault for writing ({e}): nothing was changed"
            ))
        })
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_DIRECTORY);
    }
    let dir = opts.open(path).map_err(cannot)?;
    let id = file_id(&dir.metadata().map_err(cannot)?);
    // A short grace, not a wait: a lock just released can still be held for
    // a moment by a child process forked meanwhile by another thread (it
    // keeps a copy of the descriptor until it runs its program).
    let started = std::time::Instant::now();
    loop {
        match dir.try_lock() {
            Ok(()) => {
                let lock = WriterLock { _dir: dir, id };
                // Opened by the path, so the path may have changed since:
                // the lock is on the directory found there now, or on none.
                lock.check(path)?;
                write_note(path, HOLDER);
                return Ok(lock);
            }
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < WRITER_GRACE => {
                std::thread::sleep(LOCK_POLL);
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::InUse(read_holder(path, HOLDER)));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot(e)),
        }
    }
}

/// Refuses to let sled open `path` when one of the names sled opens there
/// (`conf`, `db`, `blobs`, `snap.*`) is a symlink: sled opens them by name
/// and follows symlinks, so a planted one would make it read, or write, a
/// file of the planter's choosing. Checked right before every open; what
/// this cannot close is a link planted in the moment between the check and
/// sled's own open (docs/SECURITY.md).
fn refuse_planted_links(path: &Path) -> Result<()> {
    for e in std::fs::read_dir(path)? {
        let e = e?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        let sleds = matches!(&*name, "conf" | "db" | "blobs") || name.starts_with("snap.");
        if sleds && e.file_type()?.is_symlink() {
            return Err(Error::Corrupt(format!(
                "{} is a symbolic link, which no file of a vault is: someone who can write the \
                 vault directory planted it. Nothing was opened; restore the vault from a backup \
                 (`breakglass restore`) and have the auditors verify it",
                path.join(&*name).display()
            )));
        }
    }
    Ok(())
}

/// Makes the entries of directory `path` (files created, renamed or
/// removed in it) durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    std::fs::File::open(path)?
        .sync_all()
        .map_err(|e| io_problem(&e).unwrap_or(Error::Io(e)))
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// How long a writer retries a held writer lock before it is refused.
const WRITER_GRACE: std::time::Duration = std::time::Duration::from_millis(500);
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
    /// an empty directory, and opens it for writing.
    pub fn create(path: &Path) -> Result<Store> {
        check_new_vault_path(path)?;
        // Only the owner may read the vault: it holds the ledger key.
        std::fs::create_dir_all(path).map_err(|e| {
            io_problem(&e)
                .unwrap_or_else(|| Error::Storage(format!("cannot create {}: {e}", path.display())))
        })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        }
        let store = Self::start(path, Access::Write)?;
        // sled neither syncs the configuration it wrote nor any directory:
        // without this a power cut can leave a vault whose `conf` is empty,
        // or no vault at all, after a flush returned.
        std::fs::File::open(path.join("conf"))?.sync_all()?;
        sync_dir(&path.join("blobs"))?;
        sync_dir(path)?;
        sync_dir(parent_dir(path))?;
        Ok(store)
    }

    /// Opens an existing database at `path` for writing.
    pub fn open(path: &Path) -> Result<Store> {
        Self::open_with(path, Access::Write)
    }

    /// Opens an existing database at `path` with `access`.
    pub fn open_with(path: &Path, access: Access) -> Result<Store> {
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
        Self::start(path, access)
    }

    /// Takes the writer lock if `access` asks for it, then opens sled.
    fn start(path: &Path, access: Access) -> Result<Store> {
        let writer = match access {
            Access::Write => Some(lock_writer(path)?),
            Access::Read => None,
        };
        let store = Store {
            shared: Arc::new(Shared {
                path: path.to_owned(),
                access,
                slot: Mutex::new(Slot::default()),
                writer,
            }),
        };
        store.db()?;
        Ok(store)
    }

    /// The open database, opening it again if it was let go.
    fn db(&self) -> Result<Arc<Db>> {
        let mut slot = self
            .shared
            .slot
            .lock()
            .map_err(|_| Error::Storage("the database handle was poisoned".into()))?;
        if let Some(db) = &slot.kept {
            return Ok(db.clone());
        }
        let db = match slot.last.upgrade() {
            Some(db) => db,
            None => {
                self.check_writer_lock()?;
                Arc::new(open_db(&self.shared.path, self.shared.access)?)
            }
        };
        slot.last = Arc::downgrade(&db);
        if !slot.suspended {
            slot.kept = Some(db.clone());
        }
        Ok(db)
    }

    /// Fails if this store is a writer whose directory is no longer the
    /// one at its path ([`WriterLock::check`]).
    fn check_writer_lock(&self) -> Result<()> {
        match &self.shared.writer {
            Some(lock) => lock.check(&self.shared.path),
            None => Ok(()),
        }
    }

    /// Whether this store is a writer whose vault directory was moved,
    /// removed or replaced since it took the lock: every further use fails,
    /// so a caller skips work it would only report failing again.
    pub fn displaced(&self) -> bool {
        self.check_writer_lock().is_err()
    }

    /// Lets go of the database, so that readers in other processes can open
    /// it: it closes once no thread of this process is using it, and until
    /// [`Store::resume`] each use opens it only for as long as it lasts.
    /// The writer lock stays.
    pub fn suspend(&self) {
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.kept = None;
            slot.suspended = true;
        }
    }

    /// Closes the database now (once no thread of this process is using
    /// it); the next use opens it again and keeps it. For a command that is
    /// about to wait for a person, so readers can work meanwhile.
    pub fn let_go(&self) {
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.kept = None;
        }
    }

    /// Keeps the database open again from its next use (after
    /// [`Store::suspend`]).
    pub fn resume(&self) {
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.suspended = false;
        }
    }

    /// Whether this store keeps the database open (it was used since the
    /// last [`Store::suspend`]).
    pub fn is_open(&self) -> bool {
        self.shared.slot.lock().is_ok_and(|s| s.kept.is_some())
    }

    /// The vault directory.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// One value.
    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.db()?;
        Ok(db.tree(t).get(key).map_err(storage)?.map(|v| v.to_vec()))
    }

    /// All pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, t: Table, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.db()?
            .tree(t)
            .scan_prefix(prefix)
            .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage))
            .collect()
    }

    /// Values with keys in `[from, ..)`, in key order, lazily. The iterator
    /// keeps the database open until it is dropped.
    pub fn range_from(
        &self,
        t: Table,
        from: &[u8],
    ) -> impl Iterator<Item = Result<(Vec<u8>, Vec<u8>)>> + use<> {
        let (db, failed) = match self.db() {
            Ok(db) => (Some(db), None),
            Err(e) => (None, Some(Err(e))),
        };
        let range = db.as_ref().map(|db| db.tree(t).range(from.to_vec()..));
        failed
            .into_iter()
            .chain(range.into_iter().flatten().map(move |kv| {
                // Holds the database open for as long as the range is read.
                let _open = &db;
                kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(storage)
            }))
    }

    /// The number of keys in a table (a scan: for small tables and counts
    /// shown to people).
    pub fn count(&self, t: Table) -> Result<u64> {
        let db = self.db()?;
        let mut n = 0;
        for kv in db.tree(t).iter().keys() {
            kv.map_err(storage)?;
            n += 1;
        }
        Ok(n)
    }

    /// The pair with the smallest key.
    pub fn first(&self, t: Table) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .db()?
            .tree(t)
            .first()
            .map_err(storage)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    /// The pair with the greatest key.
    pub fn last(&self, t: Table) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        Ok(self
            .db()?
            .tree(t)
            .last()
            .map_err(storage)?
            .map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    /// Runs `f` as one atomic transaction over every table: all its writes
    /// land, or none do. `f` may run more than once on a conflict, so it
    /// must not have side effects outside the transaction. A store opened
    /// for reading refuses.
    pub fn transact<T>(&self, f: impl Fn(&Tx<'_>) -> Result<T>) -> Result<T> {
        if self.shared.access == Access::Read {
            return Err(Error::Storage(
                "this command opened the vault for reading only".into(),
            ));
        }
        self.check_writer_lock()?;
        let db = self.db()?;
        let res = db
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
    /// writer lock, and the database stays open for the whole copy, so
    /// nothing writes meanwhile.
    pub fn copy_into(&self, dest: &Store) -> Result<()> {
        let src = self.db()?;
        let dst = dest.db()?;
        for t in Table::ALL {
            let mut batch = sled::Batch::default();
            for kv in src.tree(t).iter() {
                let (k, v) = kv.map_err(storage)?;
                batch.insert(k, v);
            }
            dst.tree(t).apply_batch(batch).map_err(storage)?;
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
        let db = self.db()?;
        db.db.flush().map_err(storage)?;
        db.data_file
            .sync_data()
            .map_err(|e| io_problem(&e).unwrap_or(Error::Io(e)))?;
        Ok(())
    }
}

impl Db {
    fn tree(&self, t: Table) -> &sled::Tree {
        &self.trees[t.idx()]
    }
}

/// sled's page cache for a writer: ample for the tables every operation
/// reads (meta, officers, secrets, the Merkle path), small enough that
/// reading a whole large ledger does not hold it in memory.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// sled's page cache for a reader. Readers mostly scan (`ledger verify`,
/// `ledger export`), which a cache does not speed up: at 10^6 entries a
/// verification is as fast with 8 MiB and peaks at 194 MB instead of 297
/// (docs/PERFORMANCE-verify.md).
const READER_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Opens sled at `path`, waiting up to [`set_lock_wait`]'s time for another process
/// (a reader, or a writer in the middle of an operation) to let go.
fn open_db(path: &Path, access: Access) -> Result<Db> {
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::LowSpace)
        // sled's default page cache is 1 GiB, which a verification of a
        // large ledger fills: memory then grows with the ledger.
        .cache_capacity(match access {
            Access::Write => CACHE_BYTES,
            Access::Read => READER_CACHE_BYTES,
        })
        // No background flusher: every write path flushes itself before
        // anything is shown.
        .flush_every_ms(None);
    // sled also finishes closing a dropped database on its own threads, so
    // a store reopened in the same process can find the lock still held
    // for a moment.
    let started = std::time::Instant::now();
    let wait = lock_wait();
    let mut cleaned = false;
    let db = loop {
        refuse_planted_links(path)?;
        match config.open().map_err(storage) {
            Err(Error::InUse(_)) if started.elapsed() < wait => {
                std::thread::sleep(LOCK_POLL);
            }
            // sled reported corruption after taking the lock, so no live
            // process is writing a snapshot: an unfinished one left by a
            // killed process may be the cause.
            Err(Error::Corrupt(_)) if !cleaned && remove_unfinished_snapshots(path)? => {
                cleaned = true;
            }
            Err(Error::InUse(_)) => return Err(Error::InUse(read_holder(path, OPENER))),
            other => break other?,
        }
    };
    write_note(path, OPENER);
    let trees = Table::ALL
        .iter()
        .map(|t| db.open_tree(t.name()))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(storage)?;
    let data_file = open_nofollow(std::fs::OpenOptions::new().read(true)).open(path.join("db"))?;
    Ok(Db {
        db,
        trees,
        data_file,
    })
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
    fn a_reader_opens_while_the_writer_is_suspended_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let w = Store::create(&p).unwrap();
        w.transact(|tx| tx.put(Table::Meta, b"x", b"1")).unwrap();
        w.flush().unwrap();
        w.suspend();
        assert!(!w.is_open());
        {
            let r = Store::open_with(&p, Access::Read).unwrap();
            assert_eq!(r.get(Table::Meta, b"x").unwrap(), Some(b"1".to_vec()));
            let e = r
                .transact(|tx| tx.put(Table::Meta, b"x", b"2"))
                .unwrap_err();
            assert!(e.to_string().contains("reading only"), "{e}");
        }
        // The writer's next use opens the database again; while suspended
        // it does not keep it, after `resume` it does.
        w.transact(|tx| tx.put(Table::Meta, b"x", b"3")).unwrap();
        w.flush().unwrap();
        assert!(!w.is_open());
        w.resume();
        assert_eq!(w.get(Table::Meta, b"x").unwrap(), Some(b"3".to_vec()));
        assert!(w.is_open());
    }

    #[test]
    fn a_second_writer_is_refused_even_while_the_first_is_suspended() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v");
        let w = Store::create(&p).unwrap();
        w.flush().unwrap();
        w.suspend();
        let e = Store::open(&p).err().expect("one writer at a time");
        assert!(matches!(e, Error::InUse(Some(_))), "{e}");
        drop(w);
        Store::open(&p).expect("the writer lock goes with the writer");
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
