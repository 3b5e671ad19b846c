//! Hidden input from the controlling terminal, bounded and wiped.
//!
//! A passphrase typed at the terminal is read from `/dev/tty` with echo
//! off, into a zeroizing buffer allocated once at its limit, through a
//! small zeroizing chunk: no buffer of std's or a prompt crate's keeps a
//! copy, and a line longer than the limit is refused after reading it to
//! its end in chunks, never held whole. Echo is restored on every path,
//! including errors and the signals a terminal sends (Ctrl-C, Ctrl-\,
//! Ctrl-Z) or a hang-up or `kill` brings: as `readpassphrase(3)` does,
//! they are caught while the prompt is up, the terminal is put back, and
//! the signal is then raised again with the caller's own disposition
//! (after Ctrl-Z, and `fg`, the prompt asks again).

use std::fs::File;
use std::io::{Read, Write};

use zeroize::Zeroizing;

/// A line read by [`read_hidden_line`].
pub enum Hidden {
    /// The line, without its line ending.
    Line(Zeroizing<Vec<u8>>),
    /// The line was longer than the limit; it was read and discarded.
    TooLong,
}

/// Writes `prompt` to the terminal, reads one line with echo off, and
/// returns it if it holds at most `limit` bytes. Fails if there is no
/// controlling terminal or the input ends before a line does (Ctrl-D).
#[cfg(unix)]
pub fn read_hidden_line(prompt: &str, limit: usize) -> std::io::Result<Hidden> {
    let mut tty = File::options().read(true).write(true).open("/dev/tty")?;
    loop {
        let caught = signals::Catch::install();
        let echo = EchoOff::new(&tty)?;
        let line = tty
            .write_all(prompt.as_bytes())
            .and_then(|()| tty.flush())
            .and_then(|()| read_line(&mut signals::Interruptible(&mut tty), limit));
        drop(echo);
        let Some(sig) = caught.finish() else {
            // The line's end, said here rather than echoed by the terminal
            // (no ECHONL): a paste's newlines would all be echoed at once,
            // ahead of the prompts they answer.
            if line.is_ok() {
                let _ = tty.write_all(b"\n");
            }
            return line;
        };
        drop(line);
        // The terminal is as it was and the caller's handlers are back:
        // the signal now does what it would have done without the prompt
        // (Ctrl-C ends the process, Ctrl-Z stops it).
        signals::raise(sig);
        if !signals::is_stop(sig) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted at the prompt",
            ));
        }
        // Resumed after a stop: ask again on a fresh line.
        tty.write_all(b"\n")?;
    }
}

#[cfg(not(unix))]
pub fn read_hidden_line(_prompt: &str, _limit: usize) -> std::io::Result<Hidden> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "hidden terminal input is not available on this system",
    ))
}

/// Whether more typed or pasted input waits on the terminal within
/// `wait`: a blank line followed at once by more lines is inside a paste,
/// not an officer ending the input.
#[cfg(unix)]
pub fn input_pending(wait: std::time::Duration) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(tty) = File::open("/dev/tty") else {
        return false;
    };
    let mut fds = libc::pollfd {
        fd: tty.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, for the duration of the call.
    let n = unsafe { libc::poll(&mut fds, 1, ms) };
    n > 0 && fds.revents & libc::POLLIN != 0
}

#[cfg(not(unix))]
pub fn input_pending(_wait: std::time::Duration) -> bool {
    false
}

/// Drops whatever was typed or pasted at the terminal and not read, so
/// that none of it reaches the shell after breakglass exits (the rest of
/// a pasted list of codes would land in its history).
#[cfg(unix)]
pub fn discard_pending_input() {
    use std::os::fd::AsRawFd;
    if let Ok(tty) = File::open("/dev/tty") {
        // SAFETY: a valid descriptor; TCIFLUSH only drops queued input.
        unsafe {
            libc::tcflush(tty.as_raw_fd(), libc::TCIFLUSH);
        }
    }
}

#[cfg(not(unix))]
pub fn discard_pending_input() {}

/// One line from `r`: at most `limit` bytes kept, the line ending (LF, or
/// CRLF) dropped. Separate from the terminal so it can be tested.
fn read_line(r: &mut impl Read, limit: usize) -> std::io::Result<Hidden> {
    let mut line = Zeroizing::new(Vec::with_capacity(limit + 1));
    let mut chunk = Zeroizing::new([0u8; 256]);
    let mut too_long = false;
    loop {
        let n = match r.read(&mut chunk[..]) {
            Ok(0) if line.is_empty() && !too_long => {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let got = &chunk[..n];
        let (body, done) = match got.iter().position(|&b| b == b'\n') {
            Some(i) => (&got[..i], true),
            None => (got, false),
        };
        // One byte over the limit is kept, for a CR that ends the line.
        if !too_long && line.len() + body.len() <= limit + 1 {
            line.extend_from_slice(body);
        } else {
            too_long = true;
        }
        if done {
            break;
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if too_long || line.len() > limit {
        return Ok(Hidden::TooLong);
    }
    Ok(Hidden::Line(line))
}

/// The signals that would end or stop the process while a prompt has
/// echo off, caught for as long as the prompt is up (those the process
/// ignores are left alone).
#[cfg(unix)]
mod signals {
    use std::io::Read;
    use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

    const CAUGHT_SIGNALS: [libc::c_int; 9] = [
        libc::SIGALRM,
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGPIPE,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ];

    /// The last signal caught, 0 for none.
    static CAUGHT: AtomicI32 = AtomicI32::new(0);
    /// The thread reading the prompt (a `pthread_t`).
    static READER: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn note(sig: libc::c_int) {
        CAUGHT.store(sig, Ordering::SeqCst);
        // The kernel may hand a process-wide signal to any thread; only
        // the reader's `read` is interrupted by it, so pass it on.
        // SAFETY: pthread_self and pthread_kill are async-signal-safe;
        // READER holds the live reading thread while the handler is set.
        unsafe {
            let reader = READER.load(Ordering::SeqCst) as libc::pthread_t;
            if libc::pthread_self() != reader {
                libc::pthread_kill(reader, sig);
            }
        }
    }

    /// The handlers, set until [`Catch::finish`] puts the old ones back.
    pub(super) struct Catch {
        old: Vec<(libc::c_int, libc::sigaction)>,
    }

    impl Catch {
        pub(super) fn install() -> Self {
            CAUGHT.store(0, Ordering::SeqCst);
            // SAFETY: pthread_self has no preconditions.
            READER.store(unsafe { libc::pthread_self() } as usize, Ordering::SeqCst);
            let mut old = Vec::with_capacity(CAUGHT_SIGNALS.len());
            for sig in CAUGHT_SIGNALS {
                // SAFETY: all-zero sigaction values are valid to fill in;
                // the handler is an `extern "C" fn(c_int)` as sa_handler
                // requires (no SA_SIGINFO); no SA_RESTART, so a blocked
                // `read` returns EINTR.
                unsafe {
                    // A signal the caller ignores (Rust's SIGPIPE, nohup's
                    // SIGHUP) stays ignored.
                    let mut prev: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, std::ptr::null(), &mut prev) != 0
                        || prev.sa_sigaction == libc::SIG_IGN
                    {
                        continue;
                    }
                    let mut act: libc::sigaction = std::mem::zeroed();
                    act.sa_sigaction = note as extern "C" fn(libc::c_int) as usize;
                    libc::sigemptyset(&mut act.sa_mask);
                    act.sa_flags = 0;
                    if libc::sigaction(sig, &act, &mut prev) == 0 {
                        old.push((sig, prev));
                    }
                }
            }
            Catch { old }
        }

        /// Puts the old handlers back and returns the signal caught, if any.
        pub(super) fn finish(self) -> Option<libc::c_int> {
            drop(self);
            match CAUGHT.swap(0, Ordering::SeqCst) {
                0 => None,
                sig => Some(sig),
            }
        }
    }

    impl Drop for Catch {
        fn drop(&mut self) {
            for (sig, prev) in &self.old {
                // SAFETY: `prev` is what sigaction returned for `sig`.
                unsafe { libc::sigaction(*sig, prev, std::ptr::null_mut()) };
            }
        }
    }

    /// Raises `sig` again, now with the caller's disposition.
    pub(super) fn raise(sig: libc::c_int) {
        // SAFETY: raise has no memory preconditions.
        unsafe { libc::raise(sig) };
    }

    pub(super) fn is_stop(sig: libc::c_int) -> bool {
        matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
    }

    /// The terminal, whose reads end once a signal was caught (a plain
    /// EINTR without one is retried by `read_line`).
    pub(super) struct Interruptible<'a>(pub(super) &'a mut std::fs::File);

    impl Read for Interruptible<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let caught = || CAUGHT.load(Ordering::SeqCst) != 0;
            let interrupted = || std::io::Error::other("a signal arrived at the prompt");
            if caught() {
                return Err(interrupted());
            }
            match self.0.read(buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted && caught() => {
                    Err(interrupted())
                }
                r => r,
            }
        }
    }
}

/// Echo off on a terminal until dropped. The newline the user types is not
/// echoed either: [`read_hidden_line`] writes one once the line is read.
#[cfg(unix)]
struct EchoOff {
    fd: std::os::fd::RawFd,
    saved: libc::termios,
}

#[cfg(unix)]
impl EchoOff {
    fn new(tty: &File) -> std::io::Result<Self> {
        use std::os::fd::AsRawFd;
        let fd = tty.as_raw_fd();
        // SAFETY: an all-zero termios is a valid value for tcgetattr to
        // overwrite.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: `fd` is open for the life of `tty`; tcgetattr writes
        // into the termios we own.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut hidden = saved;
        hidden.c_lflag &= !(libc::ECHO | libc::ECHONL);
        // SAFETY: as above; tcsetattr reads the termios we own.
        if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &hidden) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EchoOff { fd, saved })
    }
}

#[cfg(unix)]
impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: the descriptor outlives this guard (it is dropped before
        // the file in `read_hidden_line`); tcsetattr reads `saved`.
        unsafe { libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(input: &[u8], limit: usize) -> Option<Vec<u8>> {
        match read_line(&mut &input[..], limit).unwrap() {
            Hidden::Line(l) => Some(l.to_vec()),
            Hidden::TooLong => None,
        }
    }

    #[test]
    fn a_line_ends_at_lf_or_crlf_and_keeps_inner_bytes() {
        assert_eq!(line(b"pass word\n", 16).unwrap(), b"pass word");
        assert_eq!(line(b"pass\r\n", 16).unwrap(), b"pass");
        assert_eq!(line(b"pa\rss\n", 16).unwrap(), b"pa\rss");
        assert_eq!(line(b"no newline", 16).unwrap(), b"no newline");
        assert_eq!(line(b"\n", 16).unwrap(), b"");
        // Only the first line is read.
        assert_eq!(line(b"one\ntwo\n", 16).unwrap(), b"one");
    }

    #[test]
    fn a_line_over_the_limit_is_refused_without_being_kept() {
        assert_eq!(line(&[b'x'; 16], 16).unwrap(), vec![b'x'; 16]);
        assert_eq!(
            line(&[b"x".repeat(16), b"\r\n".to_vec()].concat(), 16)
                .unwrap()
                .len(),
            16
        );
        assert!(line(&[b'x'; 17], 16).is_none());
        // Far beyond the limit and across many chunks.
        let long = [vec![b'y'; 100_000], b"\n".to_vec()].concat();
        assert!(line(&long, 1024).is_none());
    }

    #[test]
    fn end_of_input_before_a_line_is_an_error() {
        assert!(read_line(&mut &b""[..], 16).is_err());
    }
}
