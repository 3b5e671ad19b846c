//! Where secrets come from (I6): the terminal, hidden, or stdin with
//! `--batch`. Never argv or the environment. Also where a released item
//! goes with `--batch`: [`write_item`].
//!
//! Every read is bounded (DESIGN §5), on a terminal as on stdin, and input
//! beyond a limit is refused with one line rather than cut or buffered
//! without end:
//!
//! | input | limit |
//! |---|---|
//! | a passphrase line | [`MAX_PASSPHRASE_BYTES`] (1 KiB) |
//! | a code line | [`names::MAX_CODE_BYTES`] (4 KiB) |
//! | a credential | [`names::MAX_CREDENTIAL_BYTES`] (64 KiB) |
//!
//! With `--batch`, stdin is read from its file descriptor directly, through
//! one small buffer of our own that is zeroized on drop: std's `Stdin` keeps
//! an 8 KiB buffer of its own that is never wiped. Each line is gathered in
//! a zeroizing buffer allocated once at its limit (so it never reallocates
//! and leaves a copy behind) and holds at most limit + 1 bytes. On a
//! terminal, `harden::tty` reads `/dev/tty` with echo off the same way.

use std::io::Read;

use anyhow::{Result, anyhow, bail};
use breakglass::{Passphrase, SecretValue, names};
use zeroize::Zeroizing;

use super::commands::Usage;

/// Longest passphrase accepted on one line, in bytes.
pub const MAX_PASSPHRASE_BYTES: usize = 1024;

/// Bytes read from stdin at a time.
const CHUNK: usize = 512;

/// How a line of stdin ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Eol {
    /// LF; one CR before it is dropped (passphrases: a CR inside stays).
    Lf,
    /// CR, LF or CRLF (codes, as terminals and other systems paste them).
    Any,
}

/// Stdin, read straight from its file descriptor through a zeroizing buffer.
pub struct StdinReader {
    source: Box<dyn Read>,
    buf: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
    /// The last line ended in CR: an LF right after it belongs to it.
    skip_lf: bool,
}

impl StdinReader {
    fn new() -> Self {
        StdinReader {
            source: raw_stdin(),
            buf: Zeroizing::new(vec![0; CHUNK]),
            start: 0,
            end: 0,
            skip_lf: false,
        }
    }

    /// The next byte, or `None` at the end of input.
    fn next_byte(&mut self) -> Result<Option<u8>> {
        if self.start == self.end {
            let n = loop {
                match self.source.read(&mut self.buf[..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(anyhow!(e).context("cannot read stdin")),
                }
            };
            if n == 0 {
                return Ok(None);
            }
            self.start = 0;
            self.end = n;
        }
        let b = self.buf[self.start];
        self.start += 1;
        Ok(Some(b))
    }

    /// One line without its line ending, or `None` at the end of input. A
    /// line over `limit` bytes is refused once limit + 1 bytes are held.
    fn line(&mut self, limit: usize, eol: Eol, what: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let mut line = Zeroizing::new(Vec::with_capacity(limit + 1));
        let mut any = false;
        loop {
            let Some(b) = self.next_byte()? else {
                // A last line without a line ending is held to the limit too.
                if line.len() > limit {
                    return Err(too_long(what, limit));
                }
                return Ok(any.then_some(line));
            };
            if std::mem::take(&mut self.skip_lf) && b == b'\n' {
                continue;
            }
            any = true;
            match b {
                b'\n' => break,
                b'\r' if eol == Eol::Any => {
                    self.skip_lf = true;
                    break;
                }
                _ if line.len() > limit => return Err(too_long(what, limit)),
                _ => line.push(b),
            }
        }
        if eol == Eol::Lf && line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > limit {
            return Err(too_long(what, limit));
        }
        Ok(Some(line))
    }

    /// The rest of stdin, up to `limit` bytes after one final line ending
    /// is dropped.
    fn rest(&mut self, limit: usize, what: &str) -> Result<Zeroizing<Vec<u8>>> {
        // Room for the value, a CRLF, and one byte to tell "too long".
        let cap = limit + 3;
        let mut all = Zeroizing::new(Vec::with_capacity(cap));
        while let Some(b) = self.next_byte()? {
            if all.len() == cap {
                return Err(too_long(what, limit));
            }
            all.push(b);
        }
        if all.ends_with(b"\r\n") {
            let n = all.len() - 2;
            all.truncate(n);
        } else if all.ends_with(b"\n") {
            let n = all.len() - 1;
            all.truncate(n);
        }
        if all.len() > limit {
            return Err(Usage(format!(
                "{what} on stdin is {} bytes; at most {limit}",
                all.len()
            ))
            .into());
        }
        Ok(all)
    }
}

/// Stdin's file descriptor, duplicated so reads bypass std's buffer.
#[cfg(unix)]
fn raw_stdin() -> Box<dyn Read> {
    use std::os::fd::AsFd;
    match std::io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(std::io::stdin()),
    }
}

#[cfg(not(unix))]
fn raw_stdin() -> Box<dyn Read> {
    Box::new(std::io::stdin())
}

/// Writes a released item and a line ending to stdout. Not through std's
/// `Stdout`: its line buffer lives as long as the process and would keep
/// the item after the write. Whatever std had buffered goes first.
pub fn write_item(value: &SecretValue) -> std::io::Result<()> {
    write_secret(value.expose_secret().as_bytes())
}

/// `release --batch --json`: the release as one JSON object, the item in
/// its `value` field, written as [`write_item`] writes the item. The
/// buffer is sized for the worst escaping up front, so it never moves
/// (leaving a copy behind), and is zeroized.
pub fn write_item_json(released: &breakglass::vault::Released) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        secret: &'a str,
        kind: breakglass::records::SecretKind,
        item: u32,
        value: &'a str,
        release_entry: u64,
        re_release_of: Option<u64>,
        approved_by: &'a [String],
    }
    let value = released.value.expose_secret();
    let out = Out {
        secret: &released.secret,
        kind: released.kind,
        item: released.index.saturating_add(1),
        value,
        release_entry: released.seq,
        re_release_of: released.re_release_of,
        approved_by: &released.officers,
    };
    let others: usize =
        released.officers.iter().map(String::len).sum::<usize>() + released.secret.len();
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity((value.len() + others) * 6 + 512));
    serde_json::to_writer(&mut *buf, &out).map_err(std::io::Error::other)?;
    write_secret(&buf)
}

fn write_secret(bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.flush()?;
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let mut raw = std::fs::File::from(out.as_fd().try_clone_to_owned()?);
        raw.write_all(bytes)?;
        raw.write_all(b"\n")
    }
    #[cfg(not(unix))]
    {
        out.write_all(bytes)?;
        out.write_all(b"\n")?;
        out.flush()
    }
}

fn too_long(what: &str, limit: usize) -> anyhow::Error {
    Usage(format!(
        "{what} on stdin is longer than {limit} bytes, the limit (read {} bytes without reaching its end)",
        limit + 1
    ))
    .into()
}

/// `bytes` as a `String` whose capacity is exactly its length: the secret
/// types box it (`into_boxed_str`), which reallocates, leaving an unzeroized
/// copy behind, whenever capacity exceeds length.
fn exact_string(bytes: &[u8], what: &str) -> Result<String> {
    let s = std::str::from_utf8(bytes).map_err(|_| anyhow!("{what} is not valid UTF-8"))?;
    let mut out = String::with_capacity(s.len());
    out.push_str(s);
    Ok(out)
}

/// A secret typed at the terminal, hidden, refused beyond `limit` bytes.
/// The line is read by `harden::tty` into a zeroizing buffer of `limit`
/// bytes and a small chunk: a longer line is read to its end and dropped,
/// never held whole.
/// How long a blank line waits for more input before it ends the codes:
/// a paste's lines follow one another within it, a person's do not.
const PASTE_GAP: std::time::Duration = std::time::Duration::from_millis(150);

/// Set once breakglass has read from the terminal: on exit, whatever is
/// still queued there is dropped rather than left for the shell.
static ASKED_AT_TERMINAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Drops unread terminal input if anything was asked there; every exit
/// path runs it, errors included.
pub fn discard_terminal_input() {
    if ASKED_AT_TERMINAL.load(std::sync::atomic::Ordering::Relaxed) {
        breakglass::harden::tty::discard_pending_input();
    }
}

fn prompt_limited(text: &str, limit: usize, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    use breakglass::harden::tty::{Hidden, read_hidden_line};
    ASKED_AT_TERMINAL.store(true, std::sync::atomic::Ordering::Relaxed);
    match read_hidden_line(text, limit) {
        Ok(Hidden::Line(line)) => Ok(line),
        Ok(Hidden::TooLong) => {
            Err(Usage(format!("{what} is longer than {limit} bytes, the limit")).into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            bail!("the terminal input ended before {what} was entered")
        }
        Err(e) => bail!("cannot ask on the terminal ({e}); use --batch and give secrets on stdin"),
    }
}

/// A code as stored: trimmed, and refused if it holds a control or format
/// character (DESIGN §5). `n` numbers it in the error, which never holds
/// the code itself.
fn checked_code(raw: &str, n: usize, on: &str) -> Result<Option<SecretValue>> {
    let t = raw.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Err(e) = names::code(t) {
        let why = match e {
            breakglass::Error::Invalid { why, .. } => why,
            other => other.to_string(),
        };
        return Err(Usage(format!("code {n}{on}: {why}; nothing was deposited")).into());
    }
    Ok(Some(SecretValue::new(exact_string(
        t.as_bytes(),
        &format!("code {n}"),
    )?)))
}

/// A source of passphrases and items.
pub enum Input {
    /// `--batch`: stdin, one secret per line.
    Batch(StdinReader),
    /// The controlling terminal, hidden input.
    Terminal,
}

impl Input {
    pub fn new(batch: bool) -> Self {
        if batch {
            Input::Batch(StdinReader::new())
        } else {
            Input::Terminal
        }
    }

    pub fn is_batch(&self) -> bool {
        matches!(self, Input::Batch(_))
    }

    /// A passphrase for `officer`.
    pub fn passphrase(&mut self, officer: &str) -> Result<Passphrase> {
        let what = format!("the passphrase for {officer}");
        match self {
            Input::Batch(r) => match r.line(MAX_PASSPHRASE_BYTES, Eol::Lf, &what)? {
                Some(line) => Ok(Passphrase::new(exact_string(
                    &line,
                    &format!("{what} on stdin"),
                )?)),
                None => bail!("stdin ended before the passphrase for {officer}"),
            },
            Input::Terminal => {
                let s = prompt_limited(
                    &format!("Passphrase for {officer}: "),
                    MAX_PASSPHRASE_BYTES,
                    &what,
                )?;
                Ok(Passphrase::new(exact_string(&s, &what)?))
            }
        }
    }

    /// A new passphrase for `officer`: asked twice on a terminal.
    pub fn new_passphrase(&mut self, officer: &str) -> Result<Passphrase> {
        match self {
            Input::Batch(_) => self.passphrase(officer),
            Input::Terminal => {
                let what = format!("the passphrase for {officer}");
                for _ in 0..3 {
                    let a = prompt_limited(
                        &format!("New passphrase for {officer}: "),
                        MAX_PASSPHRASE_BYTES,
                        &what,
                    )?;
                    let b = prompt_limited(
                        &format!("Repeat the passphrase for {officer}: "),
                        MAX_PASSPHRASE_BYTES,
                        &what,
                    )?;
                    if *a == *b {
                        return Ok(Passphrase::new(exact_string(&a, &what)?));
                    }
                    eprintln!("The two passphrases differ; try again.");
                }
                bail!("the passphrases for {officer} did not match three times")
            }
        }
    }

    /// Backup codes: one per line to EOF (batch) or to an empty line
    /// (terminal). Lines end at CR, LF or CRLF; blank lines and surrounding
    /// spaces are dropped; a code holding a control or format character is
    /// refused, and then nothing is deposited.
    pub fn codes(&mut self) -> Result<Vec<SecretValue>> {
        let mut out = Vec::new();
        match self {
            Input::Batch(r) => {
                let mut n = 0;
                loop {
                    n += 1;
                    let what = format!("code {n}");
                    let Some(line) = r.line(names::MAX_CODE_BYTES, Eol::Any, &what)? else {
                        break;
                    };
                    let text = std::str::from_utf8(&line)
                        .map_err(|_| anyhow!("{what} on stdin is not valid UTF-8"))?;
                    match checked_code(text, n, " on stdin")? {
                        Some(v) => out.push(v),
                        None => n -= 1,
                    }
                }
            }
            Input::Terminal => {
                eprintln!("Enter or paste the codes one per line (hidden); an empty line ends.");
                loop {
                    let n = out.len() + 1;
                    let line = prompt_limited(
                        &format!("Code {n}: "),
                        names::MAX_CODE_BYTES,
                        &format!("code {n}"),
                    )?;
                    let text = std::str::from_utf8(&line)
                        .map_err(|_| anyhow!("code {n} is not valid UTF-8"))?;
                    match checked_code(text, n, "")? {
                        Some(v) => out.push(v),
                        // A blank line with more lines right behind it is
                        // inside a paste: skipped, so the rest of the
                        // paste is read here rather than by the shell.
                        None if breakglass::harden::tty::input_pending(PASTE_GAP) => {}
                        None => break,
                    }
                }
                if !out.is_empty() {
                    let noun = if out.len() == 1 { "code" } else { "codes" };
                    let answer = prompt_limited(
                        &format!("Deposit {} {noun}? [y/N] ", out.len()),
                        16,
                        "the answer",
                    )?;
                    eprintln!();
                    if !matches!(&answer[..], b"y" | b"Y" | b"yes" | b"YES") {
                        return Err(breakglass::Error::Refused(
                            "deposit not confirmed: nothing was deposited".into(),
                        )
                        .into());
                    }
                }
            }
        }
        Ok(out)
    }

    /// A credential: the rest of stdin (batch; one final line ending is
    /// dropped) or one hidden line (terminal).
    pub fn credential(&mut self) -> Result<SecretValue> {
        let what = "the credential";
        match self {
            Input::Batch(r) => {
                let all = r.rest(names::MAX_CREDENTIAL_BYTES, what)?;
                Ok(SecretValue::new(exact_string(
                    &all,
                    "the credential on stdin",
                )?))
            }
            Input::Terminal => {
                let s = prompt_limited("Credential (hidden): ", names::MAX_CREDENTIAL_BYTES, what)?;
                Ok(SecretValue::new(exact_string(&s, what)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(stdin: &[u8]) -> StdinReader {
        StdinReader {
            source: Box::new(std::io::Cursor::new(stdin.to_vec())),
            buf: Zeroizing::new(vec![0; CHUNK]),
            start: 0,
            end: 0,
            skip_lf: false,
        }
    }

    /// Found by the `batch_stdin` fuzz target: a last line one byte over
    /// the limit, with no line ending, was accepted.
    #[test]
    fn a_last_line_without_a_line_ending_is_held_to_the_limit() {
        let over = vec![b'x'; MAX_PASSPHRASE_BYTES + 1];
        for eol in [Eol::Lf, Eol::Any] {
            let err = reader(&over)
                .line(MAX_PASSPHRASE_BYTES, eol, "the passphrase")
                .unwrap_err();
            assert!(err.to_string().contains("longer than 1024 bytes"), "{err}");
            let at = reader(&over[1..])
                .line(MAX_PASSPHRASE_BYTES, eol, "the passphrase")
                .unwrap()
                .unwrap();
            assert_eq!(at.len(), MAX_PASSPHRASE_BYTES);
        }
        let mut input = Input::Batch(reader(&over));
        assert!(input.passphrase("alice").is_err());
    }
}
