//! Process hardening done once at start: no core dumps (invariant I5), so a
//! crash cannot write the vault key or a released item to disk.
//!
//! This is the only module allowed `unsafe`: `setrlimit` and `prctl` are
//! plain libc calls with no Rust wrapper in our dependencies.
#![allow(unsafe_code)]

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
