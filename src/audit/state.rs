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
#[serde(deny_unknown_fields)]
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
            Ok(b) => {
                let bad = |why: String| {
                    fail(
                        None,
                        FailureKind::BadState,
                        format!("{}: {why}", path.display()),
                    )
                };
                // An object with exactly origin, size and root, a tree
                // with at least the genesis entry.
                let state = match serde_json::from_slice::<serde_json::Value>(&b) {
                    Ok(v @ serde_json::Value::Object(_)) => {
                        serde_json::from_value::<State>(v).map_err(|e| e.to_string())
                    }
                    Ok(_) => Err("not a JSON object".to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match state {
                    Ok(s) if s.size == 0 => {
                        bad("size 0: a ledger holds at least its genesis".into())
                    }
                    Ok(s) => Ok(Some(s)),
                    Err(e) => bad(e),
                }
            }
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
