//! The auditor's saved tree, kept off the vault's machine.

use super::*;

/// What verification did with the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateOutcome {
    /// No state file existed; one was written (trust on first use).
    Created,
    /// The ledger extends the saved state, which was updated.
    Extended {
        /// The saved size before.
        from: u64,
    },
}

/// The auditor's last seen tree, kept outside the machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    /// Checkpoint origin, `breakglass/<vault id>`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root, standard base64 (as in the checkpoint).
    pub root: String,
}

impl State {
    /// Reads a state file; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<State>, Failure> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).or_else(|e| {
                fail(
                    None,
                    FailureKind::BadState,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => fail(
                None,
                FailureKind::BadState,
                format!("{}: {e}", path.display()),
            ),
        }
    }

    /// Writes the state file atomically: a temporary file in the same
    /// directory, synced, then renamed over the old one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("--state", "not a file name"))?;
        let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            serde_json::to_writer_pretty(&mut f, self).map_err(|e| Error::Io(e.into()))?;
            f.write_all(b"\n")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub(super) fn root_hash(&self) -> Result<Hash, Failure> {
        STANDARD
            .decode(&self.root)
            .ok()
            .and_then(|v| v.try_into().ok())
            .map_or_else(
                || {
                    fail(
                        None,
                        FailureKind::BadState,
                        "root is not 32 bytes of base64",
                    )
                },
                Ok,
            )
    }
}
