//! Memory that outlives a secret (I5): freed blocks, and pages the system
//! may write to swap.
//!
//! - [`ZeroizeOnFree`], the `breakglass` binary's global allocator, zeroes
//!   every heap block before it is freed or moved by a reallocation. The
//!   secret types zeroize themselves on drop; this also wipes the copies
//!   made where no secret type reaches: the buffers of sequoia's OpenPGP
//!   layers, a `Vec` that grew, a `String` that was formatted.
//! - [`lock`] and [`unlock`] keep the pages holding a secret in RAM
//!   (`mlock`), counting secrets per page, since two secrets can share one
//!   and `munlock` does not nest. Where the system refuses, the first
//!   refusal is kept for one warning ([`lock_failure`], [`probe_lock`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::OnceLock;

/// Overwrites `len` bytes at `p` with zeros, in a way the compiler may not
/// remove as a store to memory about to be freed.
///
/// # Safety
///
/// `p..p + len` must be valid for writes.
unsafe fn wipe(p: *mut u8, len: usize) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    // SAFETY: the caller guarantees the range is writable; explicit_bzero
    // writes exactly `len` bytes from `p`.
    unsafe {
        libc::explicit_bzero(p.cast(), len)
    };
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        for i in 0..len {
            // SAFETY: `i < len`, inside the range the caller guarantees.
            unsafe { std::ptr::write_volatile(p.add(i), 0) };
        }
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
    }
}

/// The system allocator, except that a block is zeroed before it is
/// freed. Reallocation is the trait's own: allocate, copy, free the old
/// block (zeroed), so a growing buffer leaves no copy behind either.
///
/// The cost is one `memset` per freed byte, a fraction of the Argon2 work
/// a command does anyway (see docs/SECURITY.md, "Secrets in memory").
pub struct ZeroizeOnFree;

// SAFETY: every method forwards to `System` with the layout it was given;
// `dealloc` writes only inside the block it is about to free.
unsafe impl GlobalAlloc for ZeroizeOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes from this
        // allocator (the caller's contract), so it is writable until freed.
        unsafe {
            wipe(ptr, layout.size());
            System.dealloc(ptr, layout)
        }
    }
}

/// Pages in use by locked secrets, with how many secrets use each.
#[derive(Default)]
struct PageCounts(BTreeMap<usize, usize>);

impl PageCounts {
    /// Counts one more secret on `pages`; returns the runs of pages that
    /// had none and so must be locked now.
    fn add(&mut self, pages: Range<usize>) -> Vec<Range<usize>> {
        let mut fresh = Vec::new();
        for p in pages {
            let n = self.0.entry(p).or_insert(0);
            *n += 1;
            if *n == 1 {
                push_page(&mut fresh, p);
            }
        }
        fresh
    }

    /// Counts one secret fewer on `pages`; returns the runs of pages no
    /// secret uses any more, to unlock.
    fn remove(&mut self, pages: Range<usize>) -> Vec<Range<usize>> {
        let mut idle = Vec::new();
        for p in pages {
            if let Some(n) = self.0.get_mut(&p) {
                *n -= 1;
                if *n == 0 {
                    self.0.remove(&p);
                    push_page(&mut idle, p);
                }
            }
        }
        idle
    }
}

/// Appends page number `p` to `runs`, extending the last run if adjacent.
fn push_page(runs: &mut Vec<Range<usize>>, p: usize) {
    match runs.last_mut() {
        Some(r) if r.end == p => r.end = p + 1,
        _ => runs.push(p..p + 1),
    }
}

/// The page numbers `bytes` touches.
fn pages_of(bytes: &[u8], page: usize) -> Range<usize> {
    let start = bytes.as_ptr() as usize;
    start / page..(start + bytes.len()).div_ceil(page)
}

static PAGES: Mutex<PageCounts> = Mutex::new(PageCounts(BTreeMap::new()));
static LOCK_FAILURE: OnceLock<String> = OnceLock::new();

fn page_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        #[cfg(unix)]
        {
            // SAFETY: sysconf takes an integer and returns one.
            let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if n > 0 { n as usize } else { 4096 }
        }
        #[cfg(not(unix))]
        {
            4096
        }
    })
}

/// `mlock` or `munlock` of whole pages; the error names the call.
fn lock_pages(run: &Range<usize>, page: usize, lock: bool) -> Result<(), String> {
    #[cfg(unix)]
    {
        let addr = (run.start * page) as *const libc::c_void;
        let len = (run.end - run.start) * page;
        // SAFETY: mlock and munlock only change the residency of the
        // pages; they read or write no memory, and fail cleanly (ENOMEM)
        // for a range that is not mapped.
        let rc = unsafe {
            if lock {
                libc::mlock(addr, len)
            } else {
                libc::munlock(addr, len)
            }
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(format!("mlock: {}", std::io::Error::last_os_error()))
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (run, page, lock);
        Err("mlock is not available on this system".into())
    }
}

/// Keeps the pages holding `bytes` in RAM while a secret lives there. The
/// buffer must not move until [`unlock`] is called with the same slice
/// (the secret types hold boxed buffers that never grow). A refusal is
/// remembered for [`lock_failure`]; the secret is used all the same.
pub fn lock(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let page = page_size();
    let mut pages = PAGES.lock().unwrap_or_else(|e| e.into_inner());
    for run in pages.add(pages_of(bytes, page)) {
        if let Err(e) = lock_pages(&run, page, true) {
            let _ = LOCK_FAILURE.set(e);
        }
    }
}

/// Releases what [`lock`] took for `bytes`; call it after the bytes are
/// zeroized and before they are freed.
pub fn unlock(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let page = page_size();
    let mut pages = PAGES.lock().unwrap_or_else(|e| e.into_inner());
    for run in pages.remove(pages_of(bytes, page)) {
        // Unlocking a page whose lock was refused is harmless.
        let _ = lock_pages(&run, page, false);
    }
}

/// The first refusal to lock a secret's pages in this process, if any.
pub fn lock_failure() -> Option<&'static str> {
    LOCK_FAILURE.get().map(String::as_str)
}

/// Whether this process may lock memory at all: locks and unlocks a
/// page-sized buffer of its own. On refusal, says why (no secret is
/// involved), and [`lock_failure`] says so from then on.
pub fn probe_lock() -> Result<(), String> {
    let buf = vec![0u8; page_size()];
    lock(&buf);
    unlock(&buf);
    lock_failure().map_or(Ok(()), |e| Err(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_locked_once_and_unlocked_with_their_last_secret() {
        let mut c = PageCounts::default();
        assert_eq!(c.add(10..12), vec![10..12]);
        // A second secret on page 11 and 12: only 12 is new.
        assert_eq!(c.add(11..13), vec![12..13]);
        // The first goes: page 10 is idle, 11 is still used.
        assert_eq!(c.remove(10..12), vec![10..11]);
        assert_eq!(c.remove(11..13), vec![11..13]);
        assert!(c.0.is_empty());
        // A page never counted is not unlocked.
        assert_eq!(c.remove(5..6), Vec::<Range<usize>>::new());
    }

    #[test]
    fn page_runs_are_split_at_gaps() {
        let mut c = PageCounts::default();
        c.add(3..4);
        assert_eq!(c.add(1..6), vec![1..3, 4..6]);
    }

    #[test]
    fn pages_of_a_slice_cover_its_first_and_last_byte() {
        let b = vec![0u8; 10_000];
        let page = 4096;
        let r = pages_of(&b[4000..4200], page);
        let first = (b.as_ptr() as usize + 4000) / page;
        let last = (b.as_ptr() as usize + 4199) / page;
        assert_eq!(r, first..last + 1);
    }
}
