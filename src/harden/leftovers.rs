//! Test-only: the process scans its own memory for secrets left behind.
//!
//! An attacker who reads a process's memory at exit (a debugger, a core
//! file, a swapped-out page) finds whatever was not wiped. This module
//! performs that attack on the running process, so the test suite can
//! count the leftovers of a real command (`tests/memory_leftovers.rs`).
//! Another process cannot do it: the binary turns off `PR_SET_DUMPABLE`
//! at start, which also bars `ptrace` and `/proc/PID/mem` to its owner.
//!
//! The test writes the secrets it sent ("needles") to a file, each XORed
//! with [`MASK`], and sets `BREAKGLASS_TEST_MEMSCAN` to the file's path.
//! At the end of `main`, after the command has returned and dropped what
//! it held, [`scan_if_asked`] reads `/proc/self/maps`, reads every
//! writable or anonymous region through `/proc/self/mem` and counts, for
//! each needle, how often it occurs. A needle is never unmasked: memory is
//! XORed with [`MASK`] on the fly while it is compared, so the scan itself
//! adds no copy of a secret. The counts go to the same path with
//! `.counts` appended, one `label<TAB>count<TAB>regions` line per needle.
//!
//! Exists only with the `testing` feature: a release build has no way to
//! read a needles file.

#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// The environment variable naming the needles file.
pub const ENV: &str = "BREAKGLASS_TEST_MEMSCAN";

/// What each needle byte is XORed with in the needles file.
pub const MASK: u8 = 0x5A;

/// Bytes read from `/proc/self/mem` at a time.
const CHUNK: usize = 1 << 20;

/// One secret to look for, masked.
struct Needle {
    label: String,
    masked: Vec<u8>,
    count: usize,
    regions: Vec<String>,
}

/// A mapping of the process, from `/proc/self/maps`.
struct Region {
    start: u64,
    end: u64,
    name: String,
}

/// If [`ENV`] names a needles file, scans this process's memory and writes
/// the counts next to it. Any failure is reported on stderr and in the
/// counts file, so the test fails rather than passing on a scan that did
/// not happen.
pub fn scan_if_asked() {
    let Some(path) = std::env::var_os(ENV) else {
        return;
    };
    let path = std::path::PathBuf::from(path);
    let mut out_path = path.clone().into_os_string();
    out_path.push(".counts");
    let report = match scan(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("breakglass: memory scan failed: {e}");
            format!("error\t{e}\n")
        }
    };
    if let Err(e) = std::fs::write(&out_path, report) {
        eprintln!("breakglass: cannot write the memory scan report: {e}");
    }
}

fn scan(path: &std::path::Path) -> std::io::Result<String> {
    let mut needles = read_needles(path)?;
    // A first-two-bytes filter over the masked needles: most positions of
    // memory are rejected with one table lookup.
    let mut first2 = vec![false; 1 << 16];
    let mut longest = 0;
    for n in &needles {
        first2[usize::from(n.masked[0]) << 8 | usize::from(n.masked[1])] = true;
        longest = longest.max(n.masked.len());
    }
    let regions = regions()?;
    let mem = File::open("/proc/self/mem")?;
    // The scan's own buffer is left out: it holds copies of what it read.
    let mut buf = vec![0u8; CHUNK + longest];
    let own = buf.as_ptr() as u64..buf.as_ptr() as u64 + buf.len() as u64;
    let mut scanned = 0u64;
    for r in &regions {
        for (start, end) in exclude(r.start..r.end, &own) {
            let mut at = start;
            while at < end {
                let want = ((end - at) as usize).min(CHUNK + longest);
                // An error is a guard page or a region unmapped since the
                // maps were read: the rest of the range is skipped.
                let n = read_full(&mem, &mut buf[..want], at).unwrap_or(0);
                if n == 0 {
                    break;
                }
                // The chunks overlap by the longest needle; a needle is
                // counted in the chunk where it starts.
                let more = n == want && at + (n as u64) < end;
                let starts = if more { CHUNK } else { n };
                scanned += starts as u64;
                count(&buf[..n], starts, &first2, &mut needles, &r.name);
                if !more {
                    break;
                }
                at += CHUNK as u64;
            }
        }
    }
    buf.fill(0);
    let mut out = String::new();
    let _ = writeln!(out, "scanned\t{scanned}\t{}", regions.len());
    for n in &needles {
        let _ = writeln!(out, "{}\t{}\t{}", n.label, n.count, n.regions.join(","));
    }
    Ok(out)
}

/// Counts the needles that start in `hay[..starts]`.
fn count(hay: &[u8], starts: usize, first2: &[bool], needles: &mut [Needle], region: &str) {
    for i in 0..starts.min(hay.len().saturating_sub(1)) {
        let key = usize::from(hay[i] ^ MASK) << 8 | usize::from(hay[i + 1] ^ MASK);
        if !first2[key] {
            continue;
        }
        for n in needles.iter_mut() {
            let m = &n.masked;
            if i + m.len() <= hay.len()
                && hay[i..i + m.len()]
                    .iter()
                    .zip(m)
                    .all(|(h, m)| h ^ MASK == *m)
            {
                n.count += 1;
                if !n.regions.iter().any(|r| r == region) {
                    n.regions.push(region.to_string());
                }
            }
        }
    }
}

/// Reads until `buf` is full or the range ends.
fn read_full(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], at + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(got)
}

/// `range` without `hole`, as up to two ranges.
fn exclude(range: std::ops::Range<u64>, hole: &std::ops::Range<u64>) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if hole.end <= range.start || hole.start >= range.end {
        out.push((range.start, range.end));
        return out;
    }
    if range.start < hole.start {
        out.push((range.start, hole.start));
    }
    if hole.end < range.end {
        out.push((hole.end, range.end));
    }
    out
}

/// The regions a secret can be left in: readable, and either writable or
/// not backed by a file (the heap, the stacks, anonymous mappings).
/// Read-only file mappings (code, constant data) cannot hold one.
fn regions() -> std::io::Result<Vec<Region>> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        let name = f.nth(3).unwrap_or("").to_string();
        let (Some((a, b)), true) = (range.split_once('-'), perms.starts_with('r')) else {
            continue;
        };
        if matches!(
            name.as_str(),
            "[vvar]" | "[vvar_vclock]" | "[vsyscall]" | "[vdso]"
        ) {
            continue;
        }
        let writable = perms.as_bytes().get(1) == Some(&b'w');
        if !(writable || name.is_empty() || name.starts_with('[')) {
            continue;
        }
        let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        let name = if name.is_empty() {
            "anon".to_string()
        } else if name.starts_with('[') {
            name
        } else {
            "file".to_string()
        };
        out.push(Region { start, end, name });
    }
    Ok(out)
}

/// Lines `label<TAB>hex of the masked bytes`.
fn read_needles(path: &std::path::Path) -> std::io::Result<Vec<Needle>> {
    let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (label, hex) = line
            .split_once('\t')
            .ok_or_else(|| bad("a needle line has no tab"))?;
        let masked = hex::decode(hex).map_err(|_| bad("a needle is not hex"))?;
        if masked.len() < 2 {
            return Err(bad("a needle is shorter than 2 bytes"));
        }
        out.push(Needle {
            label: label.to_string(),
            masked,
            count: 0,
            regions: Vec::new(),
        });
    }
    Ok(out)
}
