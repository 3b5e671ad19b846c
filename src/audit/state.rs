//! The auditor's saved tree, kept off the vault's machine.

use super::*;

/// The largest state file read: a real one is about 150 bytes.
const STATE_MAX: u64 = 64 * 1024;

/// The bytes of the state file at `path`, opened without following a
/// symlink and read up to [`STATE_MAX`].
fn read_state_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let f = crate::store::open_nofollow(std::fs::OpenOptions::new().read(true))
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("it is a symbolic link; give the state file itself")
            } else {
                e
            }
        })?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut b = Vec::new();
    f.take(STATE_MAX + 1).read_to_end(&mut b)?;
    if b.len() as u64 > STATE_MAX {
        return Err(std::io::Error::other(format!(
            "larger than {STATE_MAX} bytes, which no state file is"
        )));
    }
    Ok(b)
}

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
    /// Reads a state file; `Ok(None)` when it does not exist. A symlink is
    /// refused, not followed (it would have the update written elsewhere),
    /// and so is a file over [`STATE_MAX`] bytes.
    pub fn load(path: &Path) -> Result<Option<State>, Failure> {
        match read_state_file(path) {
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
    /// directory under a fresh random name, created (never through a
    /// symlink, never an existing file), synced, then renamed over the old
    /// one.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .ok_or_else(|| Error::invalid("--state", "not a file name"))?;
        let tmp = crate::store::temporary_name(dir, &name.to_string_lossy());
        let written = (|| -> Result<()> {
            let mut f = crate::store::create_new_file(&tmp)?;
            serde_json::to_writer_pretty(&mut f, self).map_err(|e| Error::Io(e.into()))?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
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
