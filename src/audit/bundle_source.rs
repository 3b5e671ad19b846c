//! Export bundles: writing one, and reading one as a ledger source.

use super::*;

/// File names in an export bundle.
pub mod bundle {
    /// Line i is exactly the bytes of entry i, then `\n`.
    pub const ENTRIES: &str = "entries.jsonl";
    /// The latest checkpoint body.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Its armored detached signature.
    pub const CHECKPOINT_SIG: &str = "checkpoint.asc";
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

impl Source for BundleSource {
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        let f = std::fs::File::open(self.dir.join(bundle::ENTRIES))?;
        let reader = std::io::BufReader::new(f);
        Ok(Box::new(reader.split(b'\n').map(|r| r.map_err(Error::Io))))
    }

    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>> {
        Ok(Box::new(self.latest()?.into_iter().map(Ok)))
    }

    fn latest(&self) -> Result<Option<CheckpointRecord>> {
        let body = std::fs::read_to_string(self.dir.join(bundle::CHECKPOINT))?;
        let signature = std::fs::read_to_string(self.dir.join(bundle::CHECKPOINT_SIG))?;
        Ok(Some(CheckpointRecord { body, signature }))
    }

    fn keeps_every_checkpoint(&self) -> bool {
        false
    }
}

/// Writes an export bundle into `dir` (created; must not exist or be
/// empty): `entries.jsonl`, `checkpoint`, `checkpoint.asc`,
/// `ledger-cert.asc` and `officers/<name>.asc`. Every stored entry is
/// written, even ones the latest checkpoint does not cover, so that the
/// auditor's verification reports them rather than the export hiding them.
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
    std::fs::create_dir_all(dir.join(bundle::OFFICERS))?;
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join(bundle::ENTRIES))?);
    let mut n = 0u64;
    for e in ledger::entries_from(store, 0) {
        let (seq, bytes) = e?;
        w.write_all(&bytes)?;
        w.write_all(b"\n")?;
        if seq == 0 {
            write_officer_certs(&bytes, &dir.join(bundle::OFFICERS))?;
        }
        n += 1;
    }
    w.into_inner()
        .map_err(|e| Error::Io(e.into_error()))?
        .sync_all()?;
    std::fs::write(dir.join(bundle::CHECKPOINT), &latest.body)?;
    std::fs::write(dir.join(bundle::CHECKPOINT_SIG), &latest.signature)?;
    std::fs::write(dir.join(bundle::LEDGER_CERT), ledger_cert.armored()?)?;
    Ok(n)
}

fn write_officer_certs(genesis: &[u8], dir: &Path) -> Result<()> {
    let m = ledger::parse_entry(genesis)?;
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
            std::fs::write(dir.join(format!("{name}.asc")), cert)?;
        }
    }
    Ok(())
}
