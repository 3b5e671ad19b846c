//! What the fuzz targets share: the packed form of an export bundle, an
//! in-memory ledger source, the real ledger they mutate, and scratch
//! directories for the parsers that read files.
//!
//! A packed bundle is the bundle's files joined by NUL bytes (none of them
//! holds one: entries are JSON, the rest armored text):
//!
//! ```text
//! entries.jsonl \0 checkpoint \0 checkpoint.asc \0 ledger-cert.asc
//!   [\0 NAME \n officers/NAME.asc]...
//! ```
//!
//! An empty `ledger-cert.asc` part means the file is absent.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use breakglass::Result;
use breakglass::audit::{self, OfficerFiles, Source, bundle};
use breakglass::records::CheckpointRecord;

/// The parts of a bundle, as bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed {
    /// `entries.jsonl`.
    pub entries: Vec<u8>,
    /// `checkpoint`.
    pub checkpoint: Vec<u8>,
    /// `checkpoint.asc`.
    pub signature: Vec<u8>,
    /// `ledger-cert.asc`; empty when absent.
    pub ledger_cert: Vec<u8>,
    /// `officers/NAME.asc`, by name.
    pub officers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Packed {
    /// Splits a packed bundle. Missing parts are empty.
    pub fn parse(data: &[u8]) -> Packed {
        let mut parts = data.split(|&b| b == 0);
        let mut next = || parts.next().unwrap_or_default().to_vec();
        let (entries, checkpoint, signature, ledger_cert) = (next(), next(), next(), next());
        let officers = parts
            .map(|p| match p.iter().position(|&b| b == b'\n') {
                Some(i) => (p[..i].to_vec(), p[i + 1..].to_vec()),
                None => (p.to_vec(), Vec::new()),
            })
            .collect();
        Packed {
            entries,
            checkpoint,
            signature,
            ledger_cert,
            officers,
        }
    }

    /// Joins the parts into the packed form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for p in [
            &self.entries,
            &self.checkpoint,
            &self.signature,
            &self.ledger_cert,
        ] {
            out.extend_from_slice(p);
            out.push(0);
        }
        for (name, cert) in &self.officers {
            out.extend_from_slice(name);
            out.push(b'\n');
            out.extend_from_slice(cert);
            out.push(0);
        }
        out.pop();
        out
    }

    /// Reads a bundle directory (for the corpus maker).
    pub fn read_dir(dir: &Path) -> std::io::Result<Packed> {
        let read = |f: &str| std::fs::read(dir.join(f));
        let mut officers = Vec::new();
        for e in std::fs::read_dir(dir.join(bundle::OFFICERS))? {
            let e = e?;
            let file = e.file_name().to_string_lossy().into_owned();
            let name = file.strip_suffix(".asc").unwrap_or(&file).to_string();
            officers.push((name.into_bytes(), std::fs::read(e.path())?));
        }
        officers.sort();
        Ok(Packed {
            entries: read(bundle::ENTRIES)?,
            checkpoint: read(bundle::CHECKPOINT)?,
            signature: read(bundle::CHECKPOINT_SIG)?,
            ledger_cert: read(bundle::LEDGER_CERT).unwrap_or_default(),
            officers,
        })
    }

    /// Writes the parts as a bundle directory into `dir` (emptied first).
    /// Officer names that are not plain file names are written under a
    /// placeholder, so nothing lands outside `dir`.
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir.join(bundle::OFFICERS))?;
        std::fs::write(dir.join(bundle::ENTRIES), &self.entries)?;
        std::fs::write(dir.join(bundle::CHECKPOINT), &self.checkpoint)?;
        std::fs::write(dir.join(bundle::CHECKPOINT_SIG), &self.signature)?;
        if !self.ledger_cert.is_empty() {
            std::fs::write(dir.join(bundle::LEDGER_CERT), &self.ledger_cert)?;
        }
        for (i, (name, cert)) in self.officers.iter().enumerate() {
            let name = String::from_utf8_lossy(name);
            let plain = !name.is_empty()
                && name != "."
                && name != ".."
                && !name.contains(['/', '\0'])
                && name.len() < 200;
            let file = if plain {
                format!("{name}.asc")
            } else {
                format!("not-a-name-{i}")
            };
            std::fs::write(dir.join(bundle::OFFICERS).join(file), cert)?;
        }
        Ok(())
    }

    /// The bundle as an in-memory ledger source, its entries split as
    /// `entries.jsonl` lines.
    pub fn source(&self) -> MemSource {
        let mut entries: Vec<Vec<u8>> = self
            .entries
            .split(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        if entries.last().is_some_and(Vec::is_empty) {
            entries.pop();
        }
        MemSource {
            entries,
            checkpoint: CheckpointRecord {
                body: String::from_utf8_lossy(&self.checkpoint).into_owned(),
                signature: String::from_utf8_lossy(&self.signature).into_owned(),
            },
            officers: Some(
                self.officers
                    .iter()
                    .map(|(n, c)| (String::from_utf8_lossy(n).into_owned(), c.clone()))
                    .collect(),
            ),
            ledger_cert: (!self.ledger_cert.is_empty()).then(|| self.ledger_cert.clone()),
        }
    }
}

/// A ledger held in memory, as a bundle would present it.
#[derive(Clone)]
pub struct MemSource {
    /// Every entry's bytes, in order.
    pub entries: Vec<Vec<u8>>,
    /// The one (latest) checkpoint.
    pub checkpoint: CheckpointRecord,
    /// `officers/`, by name.
    pub officers: Option<OfficerFiles>,
    /// `ledger-cert.asc`.
    pub ledger_cert: Option<Vec<u8>>,
}

impl Source for MemSource {
    fn entries(&self) -> Result<Box<dyn Iterator<Item = Result<Vec<u8>>> + '_>> {
        Ok(Box::new(self.entries.iter().cloned().map(Ok)))
    }

    fn checkpoints(&self) -> Result<Box<dyn Iterator<Item = Result<CheckpointRecord>> + '_>> {
        Ok(Box::new(std::iter::once(Ok(self.checkpoint.clone()))))
    }

    fn latest(&self) -> Result<Option<CheckpointRecord>> {
        Ok(Some(self.checkpoint.clone()))
    }

    fn keeps_every_checkpoint(&self) -> bool {
        false
    }

    fn officer_files(&self) -> std::result::Result<Option<OfficerFiles>, audit::Failure> {
        Ok(self.officers.clone())
    }

    fn ledger_cert_file(&self) -> std::result::Result<Option<Vec<u8>>, audit::Failure> {
        Ok(self.ledger_cert.clone())
    }
}

/// A file of `fixtures/`, read when a target first needs it (so remaking
/// the corpus needs no rebuild).
fn read_fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the fixture {}: {e}; run fuzz/make-corpus",
            path.display()
        )
    })
}

/// The real ledger the targets start from: an export bundle of the demo
/// vault the corpus maker built (`fixtures/bundle.packed`).
pub fn fixture() -> &'static Packed {
    static F: OnceLock<Packed> = OnceLock::new();
    F.get_or_init(|| Packed::parse(&read_fixture("bundle.packed")))
}

/// The fixture ledger's secret key (`fixtures/ledger-key.tsk`, a
/// throw-away demo vault's), for re-signing mutated ledgers.
pub fn fixture_key() -> &'static breakglass::pgp::SecretKey {
    static K: OnceLock<breakglass::pgp::SecretKey> = OnceLock::new();
    K.get_or_init(|| {
        breakglass::pgp::SecretKey::from_bytes(&read_fixture("ledger-key.tsk"))
            .expect("the fixture's ledger key")
    })
}

/// A directory of this process's own for the parsers that read files:
/// under /dev/shm when there is one (no disk writes at every run),
/// otherwise the temporary directory. Emptied on every call.
pub fn scratch(name: &str) -> PathBuf {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    let base = BASE.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let root = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        root.join(format!("breakglass-fuzz-{}", std::process::id()))
    });
    let dir = base.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("cannot create the fuzz scratch directory");
    dir
}
