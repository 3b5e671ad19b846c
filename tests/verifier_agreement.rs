//! The two verifiers, `breakglass ledger verify --bundle` and
//! `docs/verify-ledger.py`, agree exactly (issue 17, "Verifiers agree
//! exactly"): on every case where an earlier reading of docs/LEDGER.md
//! let them split, and on each ambiguity LEDGER.md now resolves. Each
//! case builds its tampered bundle from a real exported one (re-signed
//! with the ledger key taken from the vault directory where an entry
//! changes) and asserts that both fail, exit 3, with the same line.
//!
//! Skips, saying so, when `python3` or its `cryptography` package is
//! absent.

mod common;

use common::verifiers::*;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use breakglass::ledger;
use breakglass::ledger::merkle;
use serde_json::Value;

// ---------------------------------------------------------------------------
// Tools

// ---------------------------------------------------------------------------
// Fixtures (as in tests/audit_tamper.rs)

// ---------------------------------------------------------------------------
// OpenPGP by hand: armor and packets, to build what no conforming
// implementation writes.

const SIG: &str = "SIGNATURE";
const CERT: &str = "PUBLIC KEY BLOCK";

/// The binary inside armor that breakglass wrote.
fn dearmor(text: &str) -> Vec<u8> {
    let body: String = text
        .lines()
        .skip_while(|l| !l.is_empty())
        .skip(1)
        .take_while(|l| !l.starts_with('=') && !l.starts_with("-----END"))
        .collect();
    STANDARD.decode(body).unwrap()
}

/// Armor as breakglass writes it, without the optional checksum.
fn armor(label: &str, bytes: &[u8]) -> String {
    let b64 = STANDARD.encode(bytes);
    let mut out = format!("-----BEGIN PGP {label}-----\n\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END PGP {label}-----\n"));
    out
}

/// The packets of `bytes` (new-format headers, as breakglass writes
/// them): (tag, the whole packet, its body).
fn packets(bytes: &[u8]) -> Vec<(u8, Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let tag = bytes[i] & 0x3f;
        assert!(bytes[i] & 0x40 != 0, "new-format packet");
        let l1 = bytes[i + 1] as usize;
        let (len, head) = match l1 {
            0..192 => (l1, 2),
            192..224 => (((l1 - 192) << 8) + bytes[i + 2] as usize + 192, 3),
            255 => (
                u32::from_be_bytes(bytes[i + 2..i + 6].try_into().unwrap()) as usize,
                6,
            ),
            _ => panic!("partial length"),
        };
        let body = bytes[i + head..i + head + len].to_vec();
        i += head + len;
        out.push((tag, bytes[start..i].to_vec(), body));
    }
    out
}

/// A new-format packet of `tag` around `body`.
fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xc0 | tag];
    match body.len() {
        n @ 0..192 => out.push(n as u8),
        n @ 192..8384 => {
            let n = n - 192;
            out.push((n >> 8) as u8 + 192);
            out.push(n as u8);
        }
        n => {
            out.push(255);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

/// Where a v4 signature body's two MPIs start: after the hashed and
/// unhashed areas and the two "left 16" bytes.
fn mpis_at(sig: &[u8]) -> usize {
    let hashed = u16::from_be_bytes([sig[4], sig[5]]) as usize;
    let at = 6 + hashed;
    let unhashed = u16::from_be_bytes([sig[at], sig[at + 1]]) as usize;
    at + 2 + unhashed + 2
}

/// The signature packet `sig` (armored) with its body changed by `edit`.
fn edit_signature(sig: &str, edit: impl Fn(&mut Vec<u8>)) -> String {
    let pk = packets(&dearmor(sig));
    assert_eq!(pk.len(), 1);
    let mut body = pk[0].2.clone();
    edit(&mut body);
    armor(SIG, &packet(2, &body))
}

/// The first approval of release entry `i`, its signature changed by
/// `change`, written and re-signed.
fn with_approval_signature(f: &Fixture, i: usize, change: impl Fn(&str) -> String) -> String {
    let mut l = lines(&f.bundle);
    let mut m = entry(&l, i);
    let mut a = m["approvals"].as_array().unwrap().clone();
    let officer = a[0]["officer"].as_str().unwrap().to_string();
    let sig = a[0]["signature"].as_str().unwrap().to_string();
    a[0]["signature"] = Value::from(change(&sig));
    m.insert("approvals".into(), Value::Array(a));
    set_entry(&mut l, i, m);
    f.resign(&l);
    format!(
        "entry {i}: bad approval signature: the approval by {officer} does not verify with {officer}'s certificate"
    )
}

fn restore_bundle(f: &Fixture, base: &[Vec<u8>]) {
    f.resign(base);
}

// ---------------------------------------------------------------------------
// The six splits of issue 17

/// Indented base64 in a signature's armor: one rule, strict armor (§3.6).
#[test]
fn indented_base64_in_a_signature_armor_is_refused_by_both() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let rel = index_of(&base, "release", 0);
    let want = with_approval_signature(&f, rel, |sig| {
        sig.lines()
            .map(|l| {
                if l.starts_with("-----") || l.is_empty() {
                    format!("{l}\n")
                } else {
                    format!("  {l}\n")
                }
            })
            .collect()
    });
    assert_both_fail(&f.bundle, &[], &want);
    // The checkpoint's signature, indented: the bundle's checkpoint.
    restore_bundle(&f, &base);
    assert_both_pass(&f.bundle, &[]);
    let path = f.bundle.join("checkpoint.asc");
    let good = std::fs::read_to_string(&path).unwrap();
    let indented: String = good
        .lines()
        .map(|l| {
            if l.starts_with("-----") || l.is_empty() {
                format!("{l}\n")
            } else {
                format!("\t{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, indented).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "bad checkpoint signature: the bundle's checkpoint (size {}) does not verify with ledger key {}",
            base.len(),
            f.ledger_key.fingerprint()
        ),
    );
}

/// Zero-padded MPIs, and MPIs whose bit count is not their value's: one
/// rule, canonical MPIs (§3.6).
#[test]
fn non_canonical_mpis_in_a_signature_are_refused_by_both() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let rel = index_of(&base, "release", 0);
    // R with a zero byte in front, counted in its bits.
    let want = with_approval_signature(&f, rel, |sig| {
        edit_signature(sig, |b| {
            let at = mpis_at(b);
            let bits = u16::from_be_bytes([b[at], b[at + 1]]);
            let bytes = (bits as usize).div_ceil(8);
            let new_bits = (bytes as u16 + 1) * 8;
            b.splice(at..at + 2, new_bits.to_be_bytes());
            b.insert(at + 2, 0);
        })
    });
    assert_both_fail(&f.bundle, &[], &want);
    // R's bit count one more than its value's, with no zero byte (when
    // that stays within its bytes), or one less (a bit beyond the count).
    for delta in [1i32, -1] {
        restore_bundle(&f, &base);
        let want = with_approval_signature(&f, rel, |sig| {
            edit_signature(sig, |b| {
                let at = mpis_at(b);
                let bits = u16::from_be_bytes([b[at], b[at + 1]]) as i32;
                let new_bits = if delta > 0 && bits % 8 == 0 {
                    // A whole byte more: a zero byte in front.
                    b.insert(at + 2, 0);
                    bits + 1
                } else if delta < 0 && bits % 8 == 1 {
                    // One byte fewer bits than the value's.
                    bits - 1
                } else {
                    bits + delta
                };
                b.splice(at..at + 2, (new_bits as u16).to_be_bytes());
            })
        });
        assert_both_fail(&f.bundle, &[], &want);
    }
}

/// Cuts the certificate of `officer` in rekey entry `i` to its primary
/// key packet, writes and re-signs.
fn cut_certificate(f: &Fixture, base: &[Vec<u8>], i: usize, officer: &str) {
    let mut l = base.to_vec();
    let mut m = entry(&l, i);
    let mut list = m["officers"].as_array().unwrap().clone();
    let o = list
        .iter_mut()
        .find(|o| o["name"] == officer)
        .expect("the officer is in the entry");
    let cert = dearmor(o["cert"].as_str().unwrap());
    let primary = packets(&cert)[0].1.clone();
    o["cert"] = Value::from(armor(CERT, &primary));
    m.insert("officers".into(), Value::Array(list));
    set_entry(&mut l, i, m);
    f.resign(&l);
}

const CUT: &str = "the certificate is not a primary key, its direct-key signature, one User ID, its certification, and optionally one subkey with its binding signature";

/// A staying officer's certificate cut down to its primary key packet
/// (the fingerprint is unchanged): one rule, a certificate has exactly
/// the shape breakglass writes (§3.6).
#[test]
fn a_staying_officers_certificate_cut_to_its_primary_key_is_refused_by_both() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let add = index_of(&base, "rekey", 0);
    cut_certificate(&f, &base, add, "alice");
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {add}: malformed entry: officer alice: {CUT}"),
    );
}

/// An added officer's certificate cut likewise.
#[test]
fn an_added_officers_certificate_cut_to_its_primary_key_is_refused_by_both() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = ceremony_fixture();
    let base = lines(&f.bundle);
    let add = index_of(&base, "rekey", 0);
    cut_certificate(&f, &base, add, "dave");
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {add}: malformed entry: officer dave: {CUT}"),
    );
    // And in the genesis entry: with --pin that is a fingerprint
    // mismatch first, so without it.
    cut_certificate(&f, &base, 0, "bob");
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry 0: malformed entry: officer bob: {CUT}"),
    );
}

/// `officers/NAME.asc` with data after its armor: only line feeds may
/// follow the END line (§1.2).
#[test]
fn an_officer_file_with_trailing_data_is_refused_by_both() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let path = f.bundle.join("officers/bob.asc");
    let good = std::fs::read(&path).unwrap();
    let want = "officer certificate file does not match the ledger: officers/bob.asc is not the certificate the ledger enrolled for bob";
    for tail in [
        &b"trailing words\n"[..],
        b" ",
        b"\r\n",
        b"\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n",
        b"\0",
    ] {
        std::fs::write(&path, [&good[..], tail].concat()).unwrap();
        assert_both_fail(&f.bundle, &[], want);
    }
    // Binary trailing data after the binary certificate.
    let binary = dearmor(std::str::from_utf8(&good).unwrap());
    std::fs::write(&path, [&binary[..], b"\xc2\x00"].concat()).unwrap();
    assert_both_fail(&f.bundle, &[], want);
    // Line feeds are not data.
    std::fs::write(&path, [&good[..], b"\n\n\n"].concat()).unwrap();
    assert_both_pass(&f.bundle, &[]);
}

/// `officers/NAME.asc` as a symbolic link, even to the right certificate:
/// refused (§1.2), as is `officers` itself as one.
#[test]
fn an_officer_file_that_is_a_symlink_is_refused_by_both() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let officers = f.bundle.join("officers");
    let path = officers.join("bob.asc");
    let elsewhere = f.root.join("bob.asc");
    std::fs::rename(&path, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/bob.asc is not a regular file",
    );
    // A dangling one.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(f.root.join("nowhere"), &path).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/bob.asc is not a regular file",
    );
    std::fs::remove_file(&path).unwrap();
    std::fs::rename(&elsewhere, &path).unwrap();
    assert_both_pass(&f.bundle, &[]);
    // The directory itself.
    let moved = f.root.join("officers-elsewhere");
    std::fs::rename(&officers, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &officers).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers is not a directory",
    );
}

// ---------------------------------------------------------------------------
// Ambiguities LEDGER.md now resolves, where the verifiers could differ

/// Armor (§3.6): no headers, exactly one empty line, LF only, no
/// trailing whitespace, the checksum only as the last line before END,
/// lines of at most 76 characters, canonical base64; only line feeds
/// after END. Each variant is refused by both; the ones §3.6 allows pass.
#[test]
fn signature_armor_variants_get_one_verdict() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let rel = index_of(&base, "release", 0);
    type Variant = Box<dyn Fn(&str) -> String>;
    let refused: Vec<(&str, Variant)> = vec![
        (
            "a Comment header",
            Box::new(|s: &str| s.replacen("-----\n\n", "-----\nComment: x\n\n", 1)),
        ),
        (
            "a Version header",
            Box::new(|s: &str| s.replacen("-----\n\n", "-----\nVersion: 1\n\n", 1)),
        ),
        ("CRLF", Box::new(|s: &str| s.replace('\n', "\r\n"))),
        (
            "two empty lines",
            Box::new(|s: &str| s.replacen("-----\n\n", "-----\n\n\n", 1)),
        ),
        (
            "no empty line",
            Box::new(|s: &str| s.replacen("-----\n\n", "-----\n", 1)),
        ),
        (
            "trailing blanks",
            Box::new(|s: &str| {
                s.lines()
                    .map(|l| {
                        if l.is_empty() || l.starts_with("-----") {
                            format!("{l}\n")
                        } else {
                            format!("{l} \n")
                        }
                    })
                    .collect()
            }),
        ),
        ("text before BEGIN", Box::new(|s: &str| format!("\n{s}"))),
        ("text after END", Box::new(|s: &str| format!("{s}x\n"))),
        (
            "a line over 76 characters",
            Box::new(|s: &str| {
                let raw = dearmor(s);
                let b64 = STANDARD.encode(&raw);
                format!("-----BEGIN PGP SIGNATURE-----\n\n{b64}\n-----END PGP SIGNATURE-----\n")
            }),
        ),
        (
            "a checksum line in the middle",
            Box::new(|s: &str| {
                let mut l: Vec<&str> = s.lines().collect();
                let sum = l.iter().position(|x| x.starts_with('=')).unwrap();
                let line = l.remove(sum);
                l.insert(3, line);
                l.iter().map(|x| format!("{x}\n")).collect()
            }),
        ),
        (
            "non-canonical base64",
            Box::new(|s: &str| {
                // The last data character carries unused bits: set one.
                let raw = dearmor(s);
                let mut b64 = STANDARD.encode(&raw).into_bytes();
                let pad = b64.iter().filter(|&&c| c == b'=').count();
                assert!(pad > 0, "a signature's length leaves padding");
                let i = b64.len() - pad - 1;
                let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
                let v = alphabet.iter().position(|&c| c == b64[i]).unwrap();
                b64[i] = alphabet[v | 1];
                let b64 = String::from_utf8(b64).unwrap();
                let mut out = String::from("-----BEGIN PGP SIGNATURE-----\n\n");
                for c in b64.as_bytes().chunks(64) {
                    out.push_str(std::str::from_utf8(c).unwrap());
                    out.push('\n');
                }
                out + "-----END PGP SIGNATURE-----\n"
            }),
        ),
        (
            "another label",
            Box::new(|s: &str| s.replace("PGP SIGNATURE", "PGP MESSAGE")),
        ),
    ];
    for (what, change) in &refused {
        restore_bundle(&f, &base);
        let want = with_approval_signature(&f, rel, change);
        eprintln!("armor with {what}");
        assert_both_fail(&f.bundle, &[], &want);
    }
    let allowed: Vec<(&str, Variant)> = vec![
        (
            "no checksum",
            Box::new(|s: &str| {
                s.lines()
                    .filter(|l| !l.starts_with('='))
                    .map(|l| format!("{l}\n"))
                    .collect()
            }),
        ),
        (
            "no final line feed",
            Box::new(|s: &str| s.trim_end().to_string()),
        ),
        (
            "line feeds after END",
            Box::new(|s: &str| format!("{s}\n\n")),
        ),
        (
            "76-character lines",
            Box::new(|s: &str| {
                let b64 = STANDARD.encode(dearmor(s));
                let mut out = String::from("-----BEGIN PGP SIGNATURE-----\n\n");
                for c in b64.as_bytes().chunks(76) {
                    out.push_str(std::str::from_utf8(c).unwrap());
                    out.push('\n');
                }
                out + "-----END PGP SIGNATURE-----\n"
            }),
        ),
    ];
    for (what, change) in &allowed {
        restore_bundle(&f, &base);
        with_approval_signature(&f, rel, change);
        eprintln!("armor with {what}");
        assert_both_pass(&f.bundle, &[]);
    }
}

/// Packets (§3.6): exactly one signature packet with a definite length,
/// subpackets of length at least 1 within their area; the unhashed area
/// is otherwise not looked at, its critical bits included.
#[test]
fn signature_packet_variants_get_one_verdict() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let base = lines(&f.bundle);
    let rel = index_of(&base, "release", 0);
    let unhashed = |b: &mut Vec<u8>, add: &[u8]| {
        let hashed = u16::from_be_bytes([b[4], b[5]]) as usize;
        let at = 6 + hashed;
        let len = u16::from_be_bytes([b[at], b[at + 1]]) as usize + add.len();
        b.splice(at..at + 2, (len as u16).to_be_bytes());
        let end = at + 2 + len - add.len();
        b.splice(end..end, add.iter().copied());
    };
    type Variant = Box<dyn Fn(&str) -> String>;
    let refused: Vec<(&str, Variant)> = vec![
        (
            "a second packet",
            Box::new(|s: &str| {
                let raw = dearmor(s);
                armor(SIG, &[&raw[..], &raw[..]].concat())
            }),
        ),
        (
            "a trailing byte",
            Box::new(|s: &str| armor(SIG, &[&dearmor(s)[..], &[0u8][..]].concat())),
        ),
        (
            "an old-format packet of indeterminate length",
            Box::new(|s: &str| {
                let body = packets(&dearmor(s))[0].2.clone();
                armor(SIG, &[&[0x8b][..], &body[..]].concat())
            }),
        ),
        (
            "a zero-length unhashed subpacket",
            Box::new(move |s: &str| edit_signature(s, |b| unhashed(b, &[0]))),
        ),
        (
            "an unhashed subpacket longer than its area",
            Box::new(move |s: &str| edit_signature(s, |b| unhashed(b, &[9, 16]))),
        ),
        (
            "a canonical-text signature type",
            Box::new(|s: &str| edit_signature(s, |b| b[1] = 0x01)),
        ),
    ];
    for (what, change) in &refused {
        restore_bundle(&f, &base);
        let want = with_approval_signature(&f, rel, change);
        eprintln!("signature with {what}");
        assert_both_fail(&f.bundle, &[], &want);
    }
    let allowed: Vec<(&str, Variant)> = vec![
        (
            "an old-format header",
            Box::new(|s: &str| {
                let body = packets(&dearmor(s))[0].2.clone();
                let mut p = vec![0x89];
                p.extend_from_slice(&(body.len() as u16).to_be_bytes());
                armor(SIG, &[&p[..], &body[..]].concat())
            }),
        ),
        (
            "an unknown critical unhashed subpacket",
            Box::new(move |s: &str| edit_signature(s, |b| unhashed(b, &[3, 0x80 | 100, 1, 2]))),
        ),
        (
            "the left 16 bits flipped",
            Box::new(|s: &str| {
                edit_signature(s, |b| {
                    let at = mpis_at(b) - 2;
                    b[at] ^= 0xff;
                    b[at + 1] ^= 0xff;
                })
            }),
        ),
    ];
    for (what, change) in &allowed {
        restore_bundle(&f, &base);
        with_approval_signature(&f, rel, change);
        eprintln!("signature with {what}");
        assert_both_pass(&f.bundle, &[]);
    }
}

/// The officer files are taken in the byte order of their names: with
/// two bad files, both name the first (§1.2).
#[test]
fn officer_files_are_checked_in_name_order() {
    if !python_ok() {
        return;
    }
    let f = fixture();
    let officers = f.bundle.join("officers");
    // Created in the reverse order, so directory order is not name order
    // on most file systems.
    std::fs::write(officers.join("zed.asc"), b"x").unwrap();
    std::fs::write(officers.join("Bad"), b"x").unwrap();
    std::fs::write(officers.join("aaron.asc"), b"x").unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/Bad is not NAME.asc for a valid officer name",
    );
    std::fs::remove_file(officers.join("Bad")).unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        "officer certificate file does not match the ledger: officers/aaron.asc is not an officer the ledger enrolled",
    );
}

/// A checkpoint of size 0 (§5.2): its signature and origin are checked
/// at once, then every entry is unsigned.
#[test]
fn a_checkpoint_of_size_zero_leaves_every_entry_unsigned() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let n = lines(&f.bundle).len();
    let body = ledger::checkpoint_body(&f.vault_id, 0, &merkle::root_of_leaves(&[]));
    std::fs::write(f.bundle.join("checkpoint"), &body).unwrap();
    std::fs::write(
        f.bundle.join("checkpoint.asc"),
        f.ledger_key
            .sign_detached(body.as_bytes(), 1_800_000_000)
            .unwrap(),
    )
    .unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "entry 0: unsigned entries: entries 0..{} are not covered by the signed checkpoint of size 0",
            n - 1
        ),
    );
    // Unsigned, it is a bad signature first.
    std::fs::write(f.bundle.join("checkpoint.asc"), b"").unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!(
            "bad checkpoint signature: the bundle's checkpoint (size 0) does not verify with ledger key {}",
            f.ledger_key.fingerprint()
        ),
    );
}

/// The pass order (§6): a failure of part A anywhere is reported before
/// a failure of part B in an earlier entry, and part C comes last.
#[test]
fn integrity_failures_come_before_meaning_failures() {
    if !python_ok() || !crypto_ok() {
        return;
    }
    let f = fixture();
    let mut l = lines(&f.bundle);
    let rel = index_of(&l, "release", 0);
    // A meaning failure in the first release (its reason changed), an
    // officer file that is wrong, and a non-canonical last entry.
    let mut m = entry(&l, rel);
    m.insert("reason".into(), "another".into());
    set_entry(&mut l, rel, m);
    f.resign(&l);
    std::fs::write(f.bundle.join("officers/bob.asc"), b"x").unwrap();
    assert_both_fail(
        &f.bundle,
        &[],
        &format!("entry {rel}: approval for something else"),
    );
    let last = l.len() - 1;
    l[last].splice(1..1, b" ".iter().copied());
    f.resign(&l);
    assert_both_fail(
        &f.bundle,
        &["--pin", &f.fingerprint],
        &format!("entry {last}: not canonical JSON"),
    );
}
