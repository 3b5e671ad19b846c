//! Process hardening done once at start: no core dumps (invariant I5), so a
//! crash cannot write the vault key or a released item to disk.
//!
//! Also here: the check that stdout can take a released item before a
//! release starts; [`memory`], which wipes freed memory and locks secret
//! pages in RAM; and [`tty`], hidden bounded input from the terminal.
//!
//! This is the only module allowed `unsafe`: `setrlimit`, `prctl`,
//! `fcntl`, `mlock`, `explicit_bzero` and `tcsetattr` are plain libc calls
//! with no Rust wrapper in our dependencies, and a global allocator is an
//! `unsafe` trait.
#![allow(unsafe_code)]

#[cfg(all(feature = "testing", target_os = "linux"))]
pub mod leftovers;
pub mod memory;
pub mod tty;

/// Disables core dumps for this process. Returns whether it succeeded; the
/// caller decides whether a failure is fatal.
pub fn disable_core_dumps() -> bool {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit reads a valid, initialised rlimit struct.
        let rlimit_ok = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) } == 0;
        #[cfg(target_os = "linux")]
        // SAFETY: PR_SET_DUMPABLE takes plain integer arguments. Besides
        // core dumps it also stops same-user ptrace attaches.
        let dumpable_ok = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } == 0;
        #[cfg(not(target_os = "linux"))]
        let dumpable_ok = true;
        rlimit_ok && dumpable_ok
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Whether core dumps are off (RLIMIT_CORE is 0).
pub fn core_dumps_disabled() -> bool {
    #[cfg(unix)]
    {
        let mut cur = libc::rlimit {
            rlim_cur: 1,
            rlim_max: 1,
        };
        // SAFETY: getrlimit writes into a valid rlimit struct we own.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut cur) } == 0;
        ok && cur.rlim_cur == 0
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// Why stdout cannot take a released item, if it cannot: it is not open for
/// writing, or it is something other than a terminal, a regular file, a
/// pipe or a socket. Rust's standard library hides a closed stdout: at
/// start it reopens a closed descriptor 0, 1 or 2 on `/dev/null`, and its
/// `stdout` reports success when a write fails with EBADF. A device takes
/// what it is given and keeps it from everyone (`/dev/null`, `/dev/zero`,
/// `/dev/full` when the write error is lost, a printer, a disk). Either way
/// an item written there would be logged as delivered and reach nobody,
/// so `release --batch` asks this before anything is released.
pub fn stdout_unusable() -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        // SAFETY: fcntl(F_GETFL) only reads the flags of descriptor 1; it
        // takes no pointer and fails with EBADF if the descriptor is closed.
        let flags = unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL) };
        if flags < 0 {
            return Some("stdout is closed".into());
        }
        if !matches!(flags & libc::O_ACCMODE, libc::O_WRONLY | libc::O_RDWR) {
            return Some("stdout is not open for writing".into());
        }
        let out = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map(std::fs::File::from)
            .and_then(|f| f.metadata());
        let out = match out {
            Ok(m) => m,
            Err(e) => return Some(format!("stdout cannot be examined ({e})")),
        };
        let t = out.file_type();
        if t.is_file() || t.is_fifo() || t.is_socket() {
            return None;
        }
        // SAFETY: isatty only reads the state of descriptor 1.
        if t.is_char_device() && unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1 {
            return None;
        }
        let null = std::fs::metadata("/dev/null");
        if t.is_char_device() && null.is_ok_and(|n| n.rdev() == out.rdev()) {
            return Some("stdout is /dev/null (or was closed)".into());
        }
        // Named by the path it was opened at, control characters dropped so
        // the message stays one line; by its device number failing that.
        let name = std::fs::read_link("/proc/self/fd/1")
            .map(|p| {
                p.to_string_lossy()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .unwrap_or_else(|_| {
                let rdev = out.rdev();
                format!("device {}:{}", libc::major(rdev), libc::minor(rdev))
            });
        let kind = if t.is_char_device() {
            "a character device"
        } else if t.is_block_device() {
            "a block device"
        } else {
            "neither a file, a pipe nor a socket"
        };
        Some(format!(
            "stdout is {kind} ({name}), not a terminal, file, pipe or socket"
        ))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
