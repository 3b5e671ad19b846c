//! Export bundles: writing one, and reading one as a ledger source.

use std::io::Read;

use super::*;

/// File names in an export bundle.
pub mod bundle {
    /// Line i is exactly the bytes of entry i, then `\n`.
    pub const ENTRIES: &str = "entries.jsonl";
    /// The latest checkpoint body.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Its armored detached signature.
    pub const CHECKPOINT_SIG: &str = "checkpoint.asc";
    /// The same checkpoint as a C2SP signed note (docs/ALERTS.md).
    pub const CHECKPOINT_NOTE: &str = "checkpoint.note";
    /// The ledger key's certificate, armored.
    pub const LEDGER_CERT: &str = "ledger-cert.asc";
    /// Officers' certificates, `officers/<name>.asc`.
    pub const OFFICERS: &str = "officers";
}

/// An export bundle on disk.
pub struct BundleSource {
    dir: PathBuf,
}

impl BundleSource {
    /// A bundle directory; checks that its files are there.
    pub fn new(dir: &Path) -> Result<Self, Failure> {
        for f in [bundle::ENTRIES, bundle::CHECKPOINT, bundle::CHECKPOINT_SIG] {
            if !dir.join(f).is_file() {
                return fail(
                    None,
                    FailureKind::BadBundle,
                    format!("{} has no {f}", dir.display()),
                );
            }
        }
        Ok(BundleSource {
            dir: dir.to_owned(),
        })
    }

    /// The ledger certificate shipped in the bundle, if any.
    pub fn ledger_cert(&self) -> Option<PathBuf> {
        let p = self.dir.join(bundle::LEDGER_CERT);
        p.is_file().then_some(p)
    }
}

/// The largest entry a bundle may hold, in bytes: far above any real
/// entry (a genesis with 255 officers is about 300 KiB), so a hostile
/// bundle cannot make the verifier hold gigabytes for one line.
pub const MAX_ENTRY_BYTES: usize = 1 << 20;
/// The largest checkpoint body or signature file, in bytes.
const MAX_SMALL_FILE: u64 = 64 * 1024;

/// The lines of `entries.jsonl`: each must end with `\n`, none may be
/// empty or longer than [`MAX_ENTRY_BYTES`], and the file may not be
/// empty (docs/LEDGER.md §1).
struct Lines<R> {
    reader: R,
    line: u64,
    done: bool,
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        self.line += 1;
        let mut buf = Vec::new();
        let limit = MAX_ENTRY_BYTES as u64 + 1;
        let bad = |why: String| {
            Some(Err(Error::Ledger(format!(
                "{} line {}: {why}",
                bundle::ENTRIES,
                self.line
            ))))
        };
        match (&mut self.reader).take(limit).read_until(b'\n', &mut buf) {
            Err(e) => {
                self.done = true;
                Some(Err(Error::Io(e)))
            }
            Ok(0) if self.line == 1 => {
                self.done = true;
                bad("the file is empty; a ledger starts with its genesis entry".into())
            }
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) if buf.last() != Some(&b'\n') => {
                self.done = true;
                if buf.len() as u64 >= limit {
                    bad(format!("longer than {MAX_ENTRY_BYTES} bytes"))
                } else {
                    bad("the last entry has no final newline".into())
                }
            }
            Ok(_) => {
                buf.pop();
                if buf.is_empty() {
                    self.done = true;
                    return bad("an empty line".into());
                }
                Some(Ok(buf))
            }
        }
    }
}

fn read_small(path: &Path) -> Result<String> {
    let mut s = String::new();
    std::fs::File::open(path)?
        .take(MAX_SMALL_FILE + 1)
        .read_to_string(&mut s)
        .map_err(|e| Error::Ledger(format!("{}: {e}", path.display())))?;
    if s.len() as u64 > MAX_SMALL_FILE {
        return Err(Error::Ledger(format!(
            "{} is larger than {MAX_SMALL_FILE} bytes",
            path.display()
        )));
    }
    Ok(s)
}

impl Source for BundleSource {
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        let f = std::fs::File::open(self.dir.join(bundle::ENTRIES))?;
        Ok(Box::new(Lines {
            reader: std::io::BufReader::new(f),
            line: 0,
            done: false,
        }))
    }

    fn ledger_cert_file(&self) -> Result<Option<Vec<u8>>, Failure> {
        match self.ledger_cert() {
            None => Ok(None),
            Some(p) => read_small(&p)
                .map(|s| Some(s.into_bytes()))
                .map_err(|e| Failure {
                    entry: None,
                    kind: FailureKind::BadLedgerCertFile,
                    detail: e.to_string(),
                }),
        }
    }

    /// `officers/`: a directory, not a symbolic link, whose entries are
    /// taken in the byte order of their names; each must be `NAME.asc`
    /// for a valid officer name and a regular file, not a symbolic link
    /// (docs/LEDGER.md §1.2).
    fn officer_files(&self) -> Result<Option<OfficerFiles>, Failure> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.dir.join(bundle::OFFICERS);
        fn bad<T>(why: String) -> Result<T, Failure> {
            fail(None, FailureKind::BadOfficerFile, why)
        }
        if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return bad("officers is not a directory".into());
        }
        let read = std::fs::read_dir(&dir).or_else(|e| bad(format!("{}: {e}", dir.display())))?;
        let mut entries = Vec::new();
        for e in read {
            entries.push(e.or_else(|e| bad(e.to_string()))?);
        }
        entries.sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()));
        let mut out = Vec::new();
        for e in entries {
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".asc").unwrap_or_default();
            if crate::names::officer(name).is_err() {
                return bad(format!(
                    "officers/{file} is not NAME.asc for a valid officer name"
                ));
            }
            // `DirEntry::file_type` does not follow a symbolic link.
            if !e.file_type().is_ok_and(|t| t.is_file()) {
                return bad(format!("officers/{file} is not a regular file"));
            }
            let mut bytes = Vec::new();
            let mut opts = std::fs::OpenOptions::new();
            opts.read(true);
            crate::store::open_nofollow(&mut opts)
                .open(e.path())
                .and_then(|f| f.take(MAX_SMALL_FILE + 1).read_to_end(&mut bytes))
                .or_else(|err| bad(format!("officers/{file}: {err}")))?;
            if bytes.len() as u64 > MAX_SMALL_FILE {
                return bad(format!(
                    "officers/{file} is larger than {MAX_SMALL_FILE} bytes"
                ));
            }
            out.push((name.to_string(), bytes));
        }
        Ok(Some(out))
    }

    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>> {
        Ok(Box::new(self.latest()?.into_iter().map(Ok)))
    }

    fn latest(&self) -> Result<Option<CheckpointRecord>> {
        let body = read_small(&self.dir.join(bundle::CHECKPOINT))?;
        let signature = read_small(&self.dir.join(bundle::CHECKPOINT_SIG))?;
        Ok(Some(CheckpointRecord { body, signature }))
    }

    fn keeps_every_checkpoint(&self) -> bool {
        false
    }
}

/// Writes an export bundle into `dir` (created; must not exist or be
/// empty): `entries.jsonl`, `checkpoint`, `checkpoint.asc`,
/// `checkpoint.note`, `ledger-cert.asc` and `officers/<name>.asc`. Every stored entry is
/// written, even ones the latest checkpoint does not cover, so that the
/// auditor's verification reports them rather than the export hiding them.
///
/// Each file is created new ([`new_file`]), so nothing planted in the
/// directory meanwhile (a symlink, a file) is written through or over: the
/// export fails instead.
pub fn export(store: &Store, ledger_cert: &PublicCert, dir: &Path) -> Result<u64> {
    if dir.is_file() {
        return Err(Error::NotADirectory(dir.to_owned()));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(Error::invalid(
            "export directory",
            format!("{} is not empty", dir.display()),
        ));
    }
    let latest =
        ledger::latest_checkpoint(store)?.ok_or_else(|| Error::Ledger("no checkpoint".into()))?;
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
    }
    // `create_dir` (mkdir) fails on anything already there, a symlink too.
    std::fs::create_dir(dir.join(bundle::OFFICERS))?;
    let mut w = std::io::BufWriter::new(new_file(&dir.join(bundle::ENTRIES))?);
    let mut n = 0u64;
    // Every officer ever enrolled: at genesis and by ceremonies; the latest
    // certificate of each, written once at the end.
    let mut officers = std::collections::BTreeMap::new();
    for e in ledger::entries_from(store, 0) {
        let (_, bytes) = e?;
        w.write_all(&bytes)?;
        w.write_all(b"\n")?;
        if ledger::opens_epoch(&bytes) {
            officer_certs(&bytes, &mut officers)?;
        }
        n += 1;
    }
    w.into_inner()
        .map_err(|e| Error::Io(e.into_error()))?
        .sync_all()?;
    for (name, cert) in &officers {
        write_new(
            &dir.join(bundle::OFFICERS).join(format!("{name}.asc")),
            cert,
        )?;
    }
    write_new(&dir.join(bundle::CHECKPOINT), &latest.body)?;
    write_new(&dir.join(bundle::CHECKPOINT_SIG), &latest.signature)?;
    // The note of the latest checkpoint, when the vault kept one for it.
    if let Some(note) = ledger::latest_note(store)?.filter(|n| {
        n.strip_prefix(latest.body.as_str())
            .is_some_and(|r| r.starts_with('\n'))
    }) {
        write_new(&dir.join(bundle::CHECKPOINT_NOTE), &note)?;
    }
    write_new(&dir.join(bundle::LEDGER_CERT), &ledger_cert.armored()?)?;
    Ok(n)
}

/// Creates `path`, which must not exist (not even as a symlink), for
/// writing. The bundle is public, so it is not owner-only.
fn new_file(path: &Path) -> Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    crate::store::open_nofollow(&mut opts)
        .open(path)
        .map_err(|e| {
            Error::Storage(format!(
                "cannot create {} ({e}): something else writes the export directory; nothing more was exported",
                path.display()
            ))
        })
}

/// [`new_file`] with `text` written and synced.
fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut f = new_file(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Collects the certificate of every officer an epoch entry lists into
/// `out`, by name (a later epoch's replaces an earlier one's).
fn officer_certs(entry: &[u8], out: &mut std::collections::BTreeMap<String, String>) -> Result<()> {
    let m = ledger::parse_entry(entry)?;
    if !matches!(
        m.get("kind").and_then(Value::as_str),
        Some("genesis") | Some("rekey")
    ) {
        return Ok(());
    }
    for o in m
        .get("officers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(cert)) = (
            o.get("name").and_then(Value::as_str),
            o.get("cert").and_then(Value::as_str),
        ) {
            // A name read back from disk is checked like one typed in: it
            // becomes a file name here, and must not leave the bundle.
            crate::names::officer(name).map_err(|_| {
                Error::Ledger(format!(
                    "the ledger names an officer {name:?}, which is not a valid name; nothing more was exported"
                ))
            })?;
            out.insert(name.to_string(), cert.to_string());
        }
    }
    Ok(())
}
