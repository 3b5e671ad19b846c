//! Where secrets come from (I6): the terminal, hidden, or stdin with
//! `--batch`. Never argv or the environment.

use std::io::{BufRead, Read};

use anyhow::{Context, Result, anyhow, bail};
use breakglass::{Passphrase, SecretValue};

/// A source of passphrases and items.
pub enum Input {
    /// `--batch`: stdin, one secret per line.
    Batch(std::io::BufReader<std::io::Stdin>),
    /// The controlling terminal, hidden input.
    Terminal,
}

impl Input {
    pub fn new(batch: bool) -> Self {
        if batch {
            Input::Batch(std::io::BufReader::new(std::io::stdin()))
        } else {
            Input::Terminal
        }
    }

    pub fn is_batch(&self) -> bool {
        matches!(self, Input::Batch(_))
    }

    /// One line of stdin without its line ending; `what` names it in errors.
    fn batch_line(reader: &mut impl BufRead, what: &str) -> Result<Option<String>> {
        let mut buf = Vec::new();
        let n = reader
            .read_until(b'\n', &mut buf)
            .context("cannot read stdin")?;
        if n == 0 {
            return Ok(None);
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let s = String::from_utf8(buf).map_err(|e| {
            let mut bytes = e.into_bytes();
            zeroize::Zeroize::zeroize(&mut bytes);
            anyhow!("{what} on stdin is not valid UTF-8")
        })?;
        Ok(Some(s))
    }

    /// A passphrase for `officer`.
    pub fn passphrase(&mut self, officer: &str) -> Result<Passphrase> {
        match self {
            Input::Batch(r) => match Self::batch_line(r, &format!("the passphrase for {officer}"))?
            {
                Some(s) => Ok(Passphrase::new(s)),
                None => bail!("stdin ended before the passphrase for {officer}"),
            },
            Input::Terminal => {
                let s = prompt(&format!("Passphrase for {officer}: "))?;
                Ok(Passphrase::new(s))
            }
        }
    }

    /// A new passphrase for `officer`: asked twice on a terminal.
    pub fn new_passphrase(&mut self, officer: &str) -> Result<Passphrase> {
        match self {
            Input::Batch(_) => self.passphrase(officer),
            Input::Terminal => {
                for _ in 0..3 {
                    let a = zeroize::Zeroizing::new(prompt(&format!(
                        "New passphrase for {officer}: "
                    ))?);
                    let b = zeroize::Zeroizing::new(prompt(&format!(
                        "Repeat the passphrase for {officer}: "
                    ))?);
                    if *a == *b {
                        return Ok(Passphrase::new(a.to_string()));
                    }
                    eprintln!("The two passphrases differ; try again.");
                }
                bail!("the passphrases for {officer} did not match three times")
            }
        }
    }

    /// Backup codes: one per line to EOF (batch) or to an empty line
    /// (terminal). Blank lines and surrounding spaces are dropped.
    pub fn codes(&mut self) -> Result<Vec<SecretValue>> {
        let mut out = Vec::new();
        match self {
            Input::Batch(r) => {
                while let Some(line) = Self::batch_line(r, &format!("code {}", out.len() + 1))? {
                    let line = zeroize::Zeroizing::new(line);
                    let t = line.trim();
                    if !t.is_empty() {
                        out.push(SecretValue::new(t.to_string()));
                    }
                }
            }
            Input::Terminal => {
                eprintln!("Enter the codes one per line (hidden); an empty line ends.");
                loop {
                    let line =
                        zeroize::Zeroizing::new(prompt(&format!("Code {}: ", out.len() + 1))?);
                    let t = line.trim();
                    if t.is_empty() {
                        break;
                    }
                    out.push(SecretValue::new(t.to_string()));
                }
            }
        }
        Ok(out)
    }

    /// A credential: the rest of stdin (batch; one final line ending is
    /// dropped) or one hidden line (terminal).
    pub fn credential(&mut self) -> Result<SecretValue> {
        match self {
            Input::Batch(r) => {
                let mut buf = zeroize::Zeroizing::new(Vec::new());
                // Read one byte past the limit so oversize input is refused,
                // not silently cut.
                r.take(breakglass::names::MAX_CREDENTIAL_BYTES as u64 + 3)
                    .read_to_end(&mut buf)
                    .context("cannot read stdin")?;
                if buf.ends_with(b"\r\n") {
                    let n = buf.len() - 2;
                    buf.truncate(n);
                } else if buf.ends_with(b"\n") {
                    let n = buf.len() - 1;
                    buf.truncate(n);
                }
                let s = std::str::from_utf8(&buf)
                    .map_err(|_| anyhow!("the credential on stdin is not valid UTF-8"))?;
                Ok(SecretValue::new(s.to_string()))
            }
            Input::Terminal => {
                let s = prompt("Credential (hidden): ")?;
                Ok(SecretValue::new(s))
            }
        }
    }
}

fn prompt(text: &str) -> Result<String> {
    rpassword::prompt_password(text).map_err(|e| {
        anyhow!("cannot ask on the terminal ({e}); use --batch and give secrets on stdin")
    })
}
