//! Batch stdin (`src/cli/input.rs`, compiled in as it is): passphrases,
//! codes and credentials read from stdin with `--batch`. The module reads
//! file descriptor 0 itself, so each input is put behind fd 0 through a
//! memfd. Input: an operation byte (three 2-bit reads: passphrase, new
//! passphrase, codes, credential), then stdin.
#![no_main]

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::OnceLock;

use breakglass::names;
use libfuzzer_sys::fuzz_target;

/// The one item `input` takes from its siblings in the binary's `cli`.
mod commands {
    /// A usage error (exit code 2) in the binary.
    #[derive(Debug)]
    pub struct Usage(pub String);

    impl std::fmt::Display for Usage {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Usage {}
}

#[allow(dead_code, unused_imports)]
#[path = "../../src/cli/input.rs"]
mod input;

use input::{Input, MAX_PASSPHRASE_BYTES};

/// A memfd standing in for stdin: fd 0 refers to the same open file.
fn stdin_file() -> &'static ManuallyDrop<File> {
    static F: OnceLock<ManuallyDrop<File>> = OnceLock::new();
    F.get_or_init(|| {
        // SAFETY: a fresh memfd; fd 0 is replaced by a duplicate of it,
        // and the file is never closed (ManuallyDrop).
        unsafe {
            let fd = libc::memfd_create(c"fuzz-stdin".as_ptr(), 0);
            assert!(fd >= 0, "memfd_create failed");
            assert!(libc::dup2(fd, 0) == 0, "dup2 onto stdin failed");
            ManuallyDrop::new(File::from_raw_fd(fd))
        }
    })
}

fn set_stdin(data: &[u8]) {
    let mut f: &File = stdin_file();
    f.set_len(0).expect("truncate stdin");
    f.seek(SeekFrom::Start(0)).expect("rewind stdin");
    f.write_all(data).expect("fill stdin");
    f.seek(SeekFrom::Start(0)).expect("rewind stdin");
}

fuzz_target!(|data: &[u8]| {
    let Some((&ops, stdin)) = data.split_first() else {
        return;
    };
    set_stdin(stdin);
    let mut input = Input::new(true);
    for i in 0..3 {
        match (ops >> (2 * i)) & 3 {
            0 | 1 => {
                let r = if (ops >> (2 * i)) & 3 == 0 {
                    input.passphrase("alice")
                } else {
                    input.new_passphrase("alice")
                };
                let Ok(p) = r else { return };
                let p = p.expose_secret();
                assert!(p.len() <= MAX_PASSPHRASE_BYTES, "passphrase over the limit");
                assert!(!p.contains('\n'), "a passphrase holds a line ending");
            }
            2 => {
                let Ok(codes) = input.codes() else { return };
                for c in &codes {
                    let c = c.expose_secret();
                    assert!(!c.is_empty() && c.trim() == c, "code not trimmed");
                    assert!(c.len() <= names::MAX_CODE_BYTES, "code over the limit");
                    assert!(names::code(c).is_ok(), "a code the checks refuse");
                }
                return;
            }
            _ => {
                let Ok(c) = input.credential() else { return };
                assert!(
                    c.expose_secret().len() <= names::MAX_CREDENTIAL_BYTES,
                    "credential over the limit"
                );
                return;
            }
        }
    }
});
