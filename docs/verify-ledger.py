#!/usr/bin/env python3
"""Verify a breakglass ledger export bundle without breakglass.

    python3 verify-ledger.py BUNDLE_DIR [--pin HEX] [--state FILE]

An independent implementation of the rules in docs/LEDGER.md (section 6),
written from that document: the same checks, in the same order, with the
same failure names as `breakglass ledger verify --bundle`. It needs the
Python 3 standard library, and the `cryptography` package for the Ed25519
arithmetic of OpenPGP signatures. Without `cryptography` it still checks
everything else (bytes, tree, checkpoint, every rule of meaning, and the
form of every signature), says on stderr that no signature was verified,
and says so again in its summary.

Exit status: 0 the ledger verified (one summary line on stdout, then the
lifecycle report: a `lifecycle:` line per secret and an `unreviewed:` line
per release nobody reviewed, which are reports, never failures); 3 it did
not (one line on stderr naming the failure, e.g.
`verify-ledger: entry 4: replayed approval: ...`); 2 usage error; 1 any
other error (one line on stderr). It uses no `assert`, so `python3 -O`
changes nothing.
"""

import base64
import binascii
import calendar
import collections
import datetime
import hashlib
import json
import os
import re
import stat
import sys
import time

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    HAVE_CRYPTOGRAPHY = True
except Exception:  # not installed, or a broken install: say so, go on
    HAVE_CRYPTOGRAPHY = False

PROG = "verify-ledger"

# docs/LEDGER.md section 1 and 2.
ENTRY_VERSION = 5
MAX_ENTRY_BYTES = 1 << 20
MAX_SMALL_FILE = 64 * 1024
MAX_DEPTH = 127
U64_MAX = (1 << 64) - 1
I64_MIN = -(1 << 63)
MAX_TIME = 253402300799  # 9999-12-31T23:59:59Z
ENTRIES = "entries.jsonl"
CHECKPOINT = "checkpoint"
CHECKPOINT_SIG = "checkpoint.asc"
LEDGER_CERT = "ledger-cert.asc"
OFFICERS = "officers"

# The failure kinds and how they read (docs/LEDGER.md section 6).
DESCRIBE = {
    "NotCanonical": "not canonical JSON",
    "Malformed": "malformed entry",
    "EntryMissing": "entry missing",
    "EntryInserted": "entry inserted",
    "EntriesReordered": "entries reordered",
    "TimeWentBack": "time goes backwards",
    "RootMismatch": "entries do not match the signed root",
    "BadCheckpointSignature": "bad checkpoint signature",
    "Truncated": "ledger truncated",
    "UnsignedTail": "unsigned entries",
    "OriginMismatch": "origin mismatch",
    "BadDepositSignature": "bad deposit signature",
    "BadApprovalSignature": "bad approval signature",
    "UnknownOfficer": "unknown officer",
    "ApprovalMismatch": "approval for something else",
    "ApprovalReplayed": "replayed approval",
    "ApprovalExpired": "expired approval",
    "NoQuorum": "release without a quorum",
    "DoubleRelease": "item released twice",
    "Rollback": "rolled back or truncated",
    "Fork": "fork",
    "BadState": "unreadable state file",
    "BadBundle": "bad bundle",
    "PinMismatch": "vault fingerprint mismatch",
    "UnknownItem": "release of an item never deposited",
    "DuplicateApproval": "duplicate approval",
    "BadOfficerFile": "officer certificate file does not match the ledger",
    "BadLedgerCertFile": "ledger certificate file does not match the ledger",
    "HookMismatch": "wrong alert hook in force",
    "BadRestore": "restore record disagrees with the ledger",
    "UnacknowledgedGap": "release or ceremony inside an unacknowledged restore gap",
    "BadReceipt": "bad receipt signature",
    "WrongItem": "release of another item than the next",
    "BadLifecycle": "bad lifecycle entry",
}

# The fields of a `rekey` entry its receipt does not commit to (section 3.10).
NOT_INHERITED = ("v", "seq", "time", "kind", "actor", "hook", "approvals", "receipts")

# Each kind's own fields besides the common ones: required, optional.
COMMON = ("v", "seq", "time", "kind", "actor", "hook")
SCHEMA = {
    "genesis": (
        (
            "vault",
            "epoch",
            "threshold",
            "officers",
            "ledger_cert",
            "ledger_fingerprint",
            "vault_key_cert",
            "vault_key_fingerprint",
            "kdf",
        ),
        (),
    ),
    "deposit": (
        (
            "secret",
            "item_kind",
            "count",
            "total",
            "min_approvals",
            "policy",
            "statement",
            "signature",
            "ciphertexts",
        ),
        (),
    ),
    "release": (
        ("secret", "index", "digest", "reason", "nonce", "epoch", "approvals", "receipts"),
        ("re_release_of",),
    ),
    "displayed": (("secret", "index", "release", "outcome", "signer", "signature"), ()),
    "refused": (("action", "cause"), ("secret", "reason")),
    "auth_failed": (("action",), ("secret",)),
    "expired": (("nonce", "approvals"), ("secret", "ceremony")),
    "cancelled": (("nonce", "approvals"), ("secret", "ceremony")),
    "rekey": (
        (
            "vault",
            "epoch",
            "threshold",
            "officers",
            "ledger_cert",
            "ledger_fingerprint",
            "vault_key_cert",
            "vault_key_fingerprint",
            "kdf",
            "ceremony",
            "nonce",
            "approvals",
            "added",
            "removed",
            "pending",
            "secrets",
            "receipts",
        ),
        (),
    ),
    "backup": ((), ()),
    "restored": (("backup_entries", "replayed", "gap", "origin", "evidence", "beyond"), ()),
    "gap_acknowledged": (("restored", "nonce", "approvals"), ()),
    "drill": (("result",), ("release", "delivery")),
    "passphrase": ((), ()),
    "locked": (("cause",), ()),
    "clock": (("direction", "clock", "previous"), ()),
    "alerts": (("action", "program", "args", "statement", "signature"), ()),
    "rotated": (("secret", "release", "index", "statement", "signature", "ciphertexts"), ()),
    "retired": (("secret", "nonce", "voided", "approvals"), ()),
    "reviewed": (("release", "secret", "index", "class", "note", "incident", "statement", "signature"), ()),
    "overdue": (("due",), ()),
}
ALERTS_FIELDS = ("type", "vault", "epoch", "action", "program", "args", "officer", "time", "size", "previous")
APPROVAL_FIELDS = ("type", "vault", "epoch", "secret", "reason", "nonce", "expires", "officer")
# What sets one kind's approvals apart in the loop they share
# (Meaning.approvals): `noun`, one approval as in "O's NOUN has no
# signature"; `unverified`, the failure when officer O's signature does not
# verify, formatted with O; `needs`, what an approval must carry before its
# signature is checked, else "approval without statement": None, nothing (a
# missing statement is checked as null), "statement", a statement field,
# "object", a statement that is an object.
Approvals = collections.namedtuple("Approvals", ("noun", "unverified", "needs"))
UNVERIFIED_APPROVAL = "the approval by {0} does not verify with {0}'s certificate"
RELEASE_APPROVALS = Approvals("approval", UNVERIFIED_APPROVAL, "statement")  # rule 18
CEREMONY_APPROVALS = Approvals("approval", UNVERIFIED_APPROVAL, "object")  # rule 19
GAP_APPROVALS = Approvals("acknowledgement", "{0}'s acknowledgement does not verify", None)  # rule 21
RETIRE_APPROVALS = Approvals("approval", UNVERIFIED_APPROVAL, None)  # rule 25b
CEREMONY_FIELDS = (
    "type",
    "vault",
    "epoch",
    "ceremony",
    "new_epoch",
    "threshold",
    "officers",
    "vault_key_fingerprint",
    "kdf",
    "nonce",
    "expires",
    "officer",
)
DEPOSIT_FIELDS = (
    "type",
    "vault",
    "epoch",
    "secret",
    "kind",
    "first_index",
    "count",
    "items",
    "min_approvals",
    "vault_key_fingerprint",
    "officer",
    "time",
    "policy",
)
# Sections 3.11 to 3.13: the statements of the lifecycle kinds.
ROTATION_FIELDS = (
    "type",
    "vault",
    "epoch",
    "secret",
    "release",
    "index",
    "item",
    "vault_key_fingerprint",
    "officer",
    "time",
)
REVIEW_FIELDS = (
    "type",
    "vault",
    "epoch",
    "release",
    "secret",
    "index",
    "class",
    "note",
    "incident",
    "officer",
    "time",
)
REVIEW_CLASSES = ("emergency", "drill", "misuse")
# Section 2.5: what an `overdue` reminder lists.
OVERDUE_FIELDS = ("what", "secret", "release", "officer", "since")
OVERDUE_WHAT = ("rotation", "review", "drill", "reorder")
# Section 2.5: an end-to-end drill releases an item of this secret.
DRILL_SECRET = "drill/canary"
DRILL_RESULTS = ("passed", "failed")
DRILL_DELIVERIES = ("delivered", "failed", "no_hook")

OFFICER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
SECRET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
LOWER_HEX = re.compile(r"[0-9a-f]*")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
TIME_OF_DAY = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")

# A policy's bounds (section 2.7), in seconds or a count, inclusive.
ROTATE_WITHIN = (3600, 31622400)
REORDER_BELOW = (1, 1000)
REVIEW_WITHIN = (3600, 7776000)
MIN_INTERVAL = (60, 31622400)
POLICY_FIELDS = ("rotate_within", "reorder_below", "review_within", "min_interval", "hours")


class Failure(Exception):
    """A verification failure: the entry to blame (or None), its kind, details."""

    def __init__(self, entry, kind, detail):
        Exception.__init__(self, detail)
        self.entry = entry
        self.kind = kind
        self.detail = detail

    def line(self):
        what = "%s: %s" % (DESCRIBE[self.kind], self.detail)
        if self.entry is None:
            return what
        return "entry %d: %s" % (self.entry, what)


class Usage(Exception):
    """A usage error (exit 2)."""


class Bad(Exception):
    """Something is not what it must be; the caller says what failed."""


def q(s):
    """A string quoted for a message."""
    return json.dumps(s, ensure_ascii=False)


# ---------------------------------------------------------------------------
# Canonical JSON (docs/LEDGER.md section 2.1)

def _no_float(s):
    raise Bad("canonical JSON holds no floats (%s)" % s[:40])


def _no_constant(s):
    raise Bad("%s is not JSON" % s)


def _int(s):
    # Integers from -2^63 to 2^64-1, and never "-0": anything else is a
    # float to the reference verifier (serde_json), and refused as one.
    if len(s) > 21 or s == "-0":
        raise Bad("canonical JSON holds no floats (%s)" % s[:40])
    v = int(s)
    if v < I64_MIN or v > U64_MAX:
        raise Bad("canonical JSON holds no floats (%s)" % s[:40])
    return v


def _object(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Bad("duplicate key %s" % q(k))
        d[k] = v
    return d


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")


def _check_depth(b):
    """Refuses nesting deeper than MAX_DEPTH before parsing (no recursion)."""
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", b))
    if len(brackets) <= MAX_DEPTH:
        return
    depth = 0
    for c in brackets:
        if c in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise Bad("nested deeper than %d levels" % MAX_DEPTH)
        else:
            depth -= 1


def parse_json(b):
    """Parses JSON bytes strictly: UTF-8, no duplicate keys, integers only,
    at most MAX_DEPTH levels. Raises Bad."""
    try:
        text = b.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Bad("not JSON: invalid UTF-8 at byte %d" % e.start)
    _check_depth(b)
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_float=_no_float,
            parse_int=_int,
            parse_constant=_no_constant,
        )
    except Bad as e:
        raise Bad("not JSON: %s" % e)
    except RecursionError:
        raise Bad("not JSON: nested too deeply")
    except ValueError as e:
        raise Bad("not JSON: %s" % e)


_ESCAPES = {c: "\\u%04x" % c for c in range(0x20)}
_ESCAPES.update(
    {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}
)


def _encode(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, str):
        out.append('"' + v.translate(_ESCAPES) + '"')
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _encode(x, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        # Code point order is UTF-8 byte order.
        for i, k in enumerate(sorted(v)):
            if i:
                out.append(",")
            out.append('"' + k.translate(_ESCAPES) + '"')
            out.append(":")
            _encode(v[k], out)
        out.append("}")
    else:
        raise Bad("canonical JSON holds no %s" % type(v).__name__)


def canonical(v):
    """The canonical bytes of a parsed value (docs/LEDGER.md section 2.1)."""
    out = []
    _encode(v, out)
    try:
        return "".join(out).encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("a string holds a lone surrogate")


def parse_entry(b):
    """An entry's object, if its bytes are canonical JSON. Raises Bad."""
    v = parse_json(b)
    if canonical(v) != b:
        raise Bad("not canonical JSON")
    if not isinstance(v, dict):
        raise Bad("entry is not a JSON object")
    return v


def sha256_of_base64(text):
    """Hex SHA-256 of the bytes canonical standard base64 `text` encodes, or None."""
    if not isinstance(text, str):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode() != text:
        return None
    return hashlib.sha256(raw).hexdigest()


def json_eq(a, b):
    """JSON value equality (true is not 1)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_eq(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_eq(a[k], b[k]) for k in a)
    return a == b


def parse_time(s):
    """Unix seconds of a ledger time `YYYY-MM-DDTHH:MM:SSZ`, or None."""
    if not isinstance(s, str) or not TIME.fullmatch(s):
        return None
    try:
        t = datetime.datetime(
            int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19])
        )
    except ValueError:
        return None
    unix = calendar.timegm(t.timetuple())
    return unix if 0 <= unix <= MAX_TIME else None


def plus_one(n):
    """n + 1, saturating at 2^64 - 1 (an item index of 2^64 - 1 is named
    #18446744073709551615, as breakglass names it)."""
    return min(n + 1, U64_MAX)


def is_u64(v):
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= U64_MAX


def is_digest(v):
    return isinstance(v, str) and len(v) == 64 and LOWER_HEX.fullmatch(v) is not None


# ---------------------------------------------------------------------------
# OpenPGP (docs/LEDGER.md section 3): armor, packets, v4 Ed25519 keys and
# signatures. Only what breakglass's signatures use.

ED25519_OID = bytes.fromhex("2b06010401da470f01")  # 1.3.6.1.4.1.11591.15.1
HASHES = {8: "sha256", 9: "sha384", 10: "sha512"}
KEY_TIME = 1  # breakglass keys are created at 1970-01-01T00:00:01Z
B64_LINE = re.compile(r"[A-Za-z0-9+/=]{1,76}")
B64_SUM = re.compile(r"=[A-Za-z0-9+/]{4}")

# The certificate's messages (section 3.6), the same words as breakglass's.
CERT_SHAPE = (
    "the certificate is not a primary key, its direct-key signature, one User ID, "
    "its certification, and optionally one subkey with its binding signature"
)
CERT_SELF_SIG = "the certificate's self-signatures do not verify"
CERT_NOT_SIGNING = "the certificate's primary key is not flagged for signing"


def dearmor(data, label):
    """The binary content of ASCII armor `-----BEGIN PGP <label>-----`,
    read strictly (section 3.6): the BEGIN line, one empty line (no armor
    headers), lines of 1 to 76 base64 characters, an optional `=XXXX`
    checksum line (not checked), the END line, then nothing but line
    feeds. Line feeds only, no other whitespace; canonical base64."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise Bad("armor is not ASCII")
    begin = "-----BEGIN PGP %s-----\n\n" % label
    end = "\n-----END PGP %s-----" % label
    if not text.startswith(begin):
        raise Bad("not an armored PGP %s" % label)
    rest = text[len(begin) :].rstrip("\n")
    if not rest.endswith(end):
        raise Bad("the armor does not end with its END line")
    lines = rest[: -len(end)].split("\n")
    if len(lines) > 1 and B64_SUM.fullmatch(lines[-1]):
        lines.pop()  # the optional CRC-24: ignored, as RFC 9580 says
    if not all(B64_LINE.fullmatch(line) for line in lines):
        raise Bad("the armor is not base64")
    joined = "".join(lines)
    try:
        raw = base64.b64decode(joined, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("the armor is not base64")
    if base64.b64encode(raw).decode() != joined:
        raise Bad("the armor is not canonical base64")
    return raw


def packets(data):
    """The (tag, body) of each OpenPGP packet in `data`."""
    out = []
    i, n = 0, len(data)
    while i < n:
        h = data[i]
        i += 1
        if not h & 0x80:
            raise Bad("not an OpenPGP packet")
        if h & 0x40:  # new format
            tag = h & 0x3F
            if i >= n:
                raise Bad("truncated packet header")
            l1 = data[i]
            i += 1
            if l1 < 192:
                length = l1
            elif l1 < 224:
                if i >= n:
                    raise Bad("truncated packet header")
                length = ((l1 - 192) << 8) + data[i] + 192
                i += 1
            elif l1 == 255:
                if i + 4 > n:
                    raise Bad("truncated packet header")
                length = int.from_bytes(data[i : i + 4], "big")
                i += 4
            else:
                raise Bad("partial body length")
        else:  # old format
            tag = (h >> 2) & 0x0F
            kind = h & 3
            if kind == 3:
                raise Bad("indeterminate packet length")
            size = (1, 2, 4)[kind]
            if i + size > n:
                raise Bad("truncated packet header")
            length = int.from_bytes(data[i : i + size], "big")
            i += size
        if i + length > n:
            raise Bad("truncated packet")
        out.append((tag, data[i : i + length]))
        i += length
    return out


def mpi(data, at):
    """One multiprecision integer at `at`: (its bytes, where the next
    starts). Canonical (section 3.6): its bit count is exactly its value's
    bit length, so no zero byte leads it."""
    if at + 2 > len(data):
        raise Bad("truncated MPI")
    bits = int.from_bytes(data[at : at + 2], "big")
    end = at + 2 + (bits + 7) // 8
    if end > len(data):
        raise Bad("truncated MPI")
    value = data[at + 2 : end]
    if int.from_bytes(value, "big").bit_length() != bits:
        raise Bad("non-canonical MPI")
    return value, end


class Sig:
    """A version 4 EdDSA signature packet's body, parsed (section 3.6)."""

    def __init__(self, body):
        if len(body) < 6 or body[0] != 4:
            raise Bad("not a version 4 signature")
        self.type, pk_algo, self.hash_algo = body[1], body[2], body[3]
        if pk_algo != 22:
            raise Bad("not an EdDSA signature (algorithm %d)" % pk_algo)
        if self.hash_algo not in HASHES:
            raise Bad("signature uses a weak hash")
        hashed_len = int.from_bytes(body[4:6], "big")
        at = 6 + hashed_len
        if at + 2 > len(body):
            raise Bad("truncated signature")
        self.hashed_part = body[:at]
        self.created = None
        self.flags = None
        for tag, value in subpackets(body[6:at]):
            if tag == 2:
                if len(value) != 4:
                    raise Bad("malformed signature creation time")
                self.created = int.from_bytes(value, "big")
            elif tag == 27:
                self.flags = value
        unhashed_len = int.from_bytes(body[at : at + 2], "big")
        at += 2
        if at + unhashed_len + 2 > len(body):
            raise Bad("truncated signature")
        subpackets(body[at : at + unhashed_len])
        at += unhashed_len  # then the hash's first two bytes (not checked)
        r, at = mpi(body, at + 2)
        s, at = mpi(body, at)
        if at != len(body):
            raise Bad("trailing data in the signature")
        if len(r) > 32 or len(s) > 32:
            raise Bad("malformed EdDSA signature")
        if self.created is None:
            raise Bad("the signature has no creation time")
        self.rs = r.rjust(32, b"\0") + s.rjust(32, b"\0")

    def check(self, ed25519, prefix):
        """Whether the signature verifies over `prefix` (the signed data)
        with the Ed25519 key; None without `cryptography`."""
        h = hashlib.new(HASHES[self.hash_algo])
        h.update(prefix)
        h.update(self.hashed_part)
        h.update(b"\x04\xff" + len(self.hashed_part).to_bytes(4, "big"))
        if not HAVE_CRYPTOGRAPHY:
            return None
        try:
            Ed25519PublicKey.from_public_bytes(ed25519).verify(self.rs, h.digest())
        except (InvalidSignature, ValueError):
            return False
        return True


def key_hash_prefix(body):
    return b"\x99" + len(body).to_bytes(2, "big") + body


class Cert:
    """An OpenPGP v4 certificate as breakglass makes it (section 3.6),
    from its strict armor: a v4 Ed25519 primary key, a direct-key
    self-signature, one User ID and its positive certification, and
    optionally one v4 ECDH subkey with its binding signature; every
    self-signature verifies (when `cryptography` is there), dated from
    the key's creation to 1970-01-01T00:00:01Z."""

    def __init__(self, raw):
        raw = dearmor(raw, "PUBLIC KEY BLOCK")
        try:
            self.packets = packets(raw)
        except Bad:
            raise Bad("unreadable certificate")
        tags = [tag for tag, _ in self.packets]
        if tags not in ([6, 2, 13, 2], [6, 2, 13, 2, 14, 2]):
            raise Bad(CERT_SHAPE)
        key = self.packets[0][1]
        if len(key) < 6 or key[0] != 4:
            raise Bad("the primary key is not a version 4 key")
        self.fingerprint = hashlib.sha1(key_hash_prefix(key)).hexdigest().upper()
        self.created = int.from_bytes(key[1:5], "big")
        self.algo = key[5]
        self.ed25519 = None
        try:
            if self.algo == 22 and len(key) > 6:
                oid = key[7 : 7 + key[6]]
                point, end = mpi(key, 7 + key[6])
                if oid == ED25519_OID and end == len(key) and len(point) == 33 and point[0] == 0x40:
                    self.ed25519 = point[1:]
        except Bad:
            pass
        if self.ed25519 is None:
            raise Bad("certificate %s has no Ed25519 (EdDSA legacy) primary key" % self.fingerprint)
        pk = key_hash_prefix(key)
        uid = self.packets[2][1]
        signed = [
            (self.packets[1][1], 0x1F, pk),
            (self.packets[3][1], 0x13, pk + b"\xb4" + len(uid).to_bytes(4, "big") + uid),
        ]
        if len(tags) == 6:
            sub = self.packets[4][1]
            if len(sub) < 6 or sub[0] != 4 or sub[5] != 18:
                raise Bad(CERT_SHAPE)
            signed.append((self.packets[5][1], 0x18, pk + key_hash_prefix(sub)))
        self.signs = True
        self.verified = True
        for body, typ, prefix in signed:
            try:
                sig = Sig(body)
            except Bad:
                raise Bad(CERT_SELF_SIG)
            if sig.type != typ or not self.created <= sig.created <= KEY_TIME or self.created > KEY_TIME:
                raise Bad(CERT_SELF_SIG)
            ok = sig.check(self.ed25519, prefix)
            if ok is False:
                raise Bad(CERT_SELF_SIG)
            if ok is None:
                self.verified = False
            if typ != 0x18 and not (sig.flags and sig.flags[0] & 0x02):
                self.signs = False

    def signer(self):
        """The Ed25519 key that signs for this certificate: its primary
        key, which both its self-signatures flag for signing."""
        if not self.signs:
            raise Bad(CERT_NOT_SIGNING)
        return self


def parse_cert(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return Cert(text)


def verify_signature(signer, data, signature):
    """Checks one detached OpenPGP signature (strictly armored, or
    binary) over `data` by `signer` (a Cert). Raises Bad. Returns True if
    the Ed25519 arithmetic was checked, False if `cryptography` is
    missing."""
    if isinstance(signature, str):
        signature = signature.encode("utf-8")
    if signature.startswith(b"-----BEGIN"):
        try:
            raw = dearmor(signature, "SIGNATURE")
        except Bad:
            raise Bad("unreadable signature armor")
    else:
        raw = signature
    try:
        pkts = packets(raw)
    except Bad:
        raise Bad("unreadable signature")
    if len(pkts) != 1 or pkts[0][0] != 2:
        raise Bad("not exactly one signature packet")
    sig = Sig(pkts[0][1])
    if sig.type != 0x00:
        raise Bad("not a binary-document signature (type 0x%02x)" % sig.type)
    if sig.created < signer.created:
        raise Bad("the signature predates the key")
    ok = sig.check(signer.ed25519, data)
    if ok is False:
        raise Bad("bad signature")
    return ok is True


def subpackets(area):
    out = []
    i, n = 0, len(area)
    while i < n:
        l1 = area[i]
        i += 1
        if l1 < 192:
            length = l1
        elif l1 < 255:
            if i >= n:
                raise Bad("truncated subpacket")
            length = ((l1 - 192) << 8) + area[i] + 192
            i += 1
        else:
            if i + 4 > n:
                raise Bad("truncated subpacket")
            length = int.from_bytes(area[i : i + 4], "big")
            i += 4
        if length == 0 or i + length > n:
            raise Bad("malformed subpacket")
        out.append((area[i] & 0x7F, area[i + 1 : i + length]))
        i += length
    return out


# ---------------------------------------------------------------------------
# The Merkle tree (docs/LEDGER.md section 4)

def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """A growing RFC 6962 tree kept as its complete subtrees."""

    def __init__(self):
        self.subtrees = []  # (size, hash), sizes decreasing

    def push(self, leaf):
        size, h = 1, leaf
        while self.subtrees and self.subtrees[-1][0] == size:
            left = self.subtrees.pop()[1]
            h = node_hash(left, h)
            size *= 2
        self.subtrees.append((size, h))

    def root(self):
        if not self.subtrees:
            return hashlib.sha256(b"").digest()
        h = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            h = node_hash(left, h)
        return h


def verify_consistency(old_size, new_size, old_root, new_root, proof):
    """Whether the tree of `new_size` leaves with root `new_root` extends
    the tree of `old_size` leaves with root `old_root`, by the RFC 6962
    consistency proof `proof` (verified as RFC 9162 section 2.1.4.2)."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    path = ([old_root] if old_size & (old_size - 1) == 0 else []) + list(proof)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def root_of(leaves):
    f = Frontier()
    for leaf in leaves:
        f.push(leaf)
    return f.root()


# ---------------------------------------------------------------------------
# Checkpoints (docs/LEDGER.md section 5)

def parse_checkpoint(body):
    """(origin, size, root) of a checkpoint body. Raises Bad."""
    if not body.endswith("\n"):
        raise Bad("malformed checkpoint: no final newline")
    lines = body[:-1].split("\n")
    if len(lines) != 3:
        raise Bad("malformed checkpoint: expected three lines")
    origin, size, root = lines
    if not re.fullmatch(r"\+?[0-9]+", size) or int(size) > U64_MAX:
        raise Bad("malformed checkpoint: size is not a number")
    if str(int(size)) != size:
        raise Bad("malformed checkpoint: size is not canonical")
    raw = decode_root(root)
    if raw is None:
        raise Bad("malformed checkpoint: root is not 32 bytes of base64")
    return origin, int(size), raw


def decode_root(text):
    """32 bytes from canonical standard base64 (padded), or None."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9+/]{43}=", text):
        return None
    raw = base64.b64decode(text)
    return raw if base64.b64encode(raw).decode() == text else None


def b64(raw):
    return base64.b64encode(raw).decode()


# ---------------------------------------------------------------------------
# Reading the bundle (docs/LEDGER.md section 1)

class Lines:
    """The lines of entries.jsonl, read one at a time. A framing error is
    reported when reading reaches it, as a `bad bundle` failure."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.line = 0
        self.done = False
        self.ahead = []

    def _read(self):
        if self.done:
            return None
        self.line += 1
        buf = self.f.readline(MAX_ENTRY_BYTES + 1)

        def bad(why):
            self.done = True
            return Failure(None, "BadBundle", "%s line %d: %s" % (ENTRIES, self.line, why))

        if not buf:
            self.done = True
            if self.line == 1:
                return bad("the file is empty; a ledger starts with its genesis entry")
            return None
        if not buf.endswith(b"\n"):
            if len(buf) > MAX_ENTRY_BYTES:
                return bad("longer than %d bytes" % MAX_ENTRY_BYTES)
            return bad("the last entry has no final newline")
        if len(buf) == 1:
            return bad("an empty line")
        return buf[:-1]

    def next(self):
        """The next entry's bytes, or None at the end. Raises Failure."""
        item = self.ahead.pop() if self.ahead else self._read()
        if isinstance(item, Failure):
            raise item
        return item

    def peek(self):
        """The next entry's bytes, or None (at the end, or a framing error)."""
        if not self.ahead:
            self.ahead.append(self._read())
        item = self.ahead[0]
        return None if isinstance(item, Failure) else item

    def close(self):
        self.f.close()


def read_small(path, kind="BadBundle"):
    """A checkpoint, signature or ledger certificate file, as UTF-8 text of
    at most 64 KiB; a longer file is refused, not cut."""
    try:
        f = open(path, "rb")
    except OSError as e:  # breakglass does not name the file here
        raise Failure(None, kind, os_error(e))
    try:
        with f:
            data = f.read(MAX_SMALL_FILE + 1)
    except OSError as e:
        raise Failure(None, kind, "%s: %s" % (path, os_error(e)))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(None, kind, "%s: stream did not contain valid UTF-8" % path)
    if len(data) > MAX_SMALL_FILE:
        raise Failure(None, kind, "%s is larger than %d bytes" % (path, MAX_SMALL_FILE))
    return text


# ---------------------------------------------------------------------------
# Field access, as the rules name failures

def fail(entry, kind, detail):
    raise Failure(entry, kind, detail)


def str_field(m, seq, k):
    v = m.get(k)
    if not isinstance(v, str):
        fail(seq, "Malformed", "no string field %s" % q(k))
    return v


def u64_field(m, seq, k):
    v = m.get(k)
    if not is_u64(v):
        fail(seq, "Malformed", "no integer field %s" % q(k))
    return v


def time_field(m, seq, k):
    s = str_field(m, seq, k)
    t = parse_time(s)
    if t is None:
        fail(seq, "Malformed", "%s %s is not a ledger time (YYYY-MM-DDTHH:MM:SSZ)" % (k, q(s)))
    return t


def kdf_field(m, seq):
    """The vault's Argon2 settings (rule 16): exactly memory_kib,
    iterations, parallelism, within the bounds an officer record is read
    with."""
    k = m.get("kdf")
    ok = (
        isinstance(k, dict)
        and sorted(k) == ["iterations", "memory_kib", "parallelism"]
        and all(is_u64(v) for v in k.values())
        and 8 * 1024 <= k["memory_kib"] <= 4096 * 1024
        and k["memory_kib"] % 1024 == 0
        and 1 <= k["iterations"] <= 64
        and 1 <= k["parallelism"] <= 16
    )
    if not ok:
        fail(seq, "Malformed", "kdf is not Argon2 settings within bounds")
    return k


def is_policy(p, kind):
    """Whether `p` is a policy for a secret of `kind` (section 2.7): exactly
    the five fields, each null or within its bounds (`review_within` never
    null), `hours` null or two different UTC times of day, no deadline to
    rotate codes and no reorder level for a credential."""

    def within(v, bounds, nullable=True):
        if v is None:
            return nullable
        return is_u64(v) and bounds[0] <= v <= bounds[1]

    if not (isinstance(p, dict) and sorted(p) == sorted(POLICY_FIELDS)):
        return False
    hours = p["hours"]
    hours_ok = hours is None or (
        isinstance(hours, dict)
        and sorted(hours) == ["from", "to"]
        and all(isinstance(t, str) and TIME_OF_DAY.fullmatch(t) for t in hours.values())
        and hours["from"] != hours["to"]
    )
    return (
        within(p["rotate_within"], ROTATE_WITHIN)
        and within(p["reorder_below"], REORDER_BELOW)
        and within(p["review_within"], REVIEW_WITHIN, nullable=False)
        and within(p["min_interval"], MIN_INTERVAL)
        and hours_ok
        and (kind != "codes" or p["rotate_within"] is None)
        and (kind != "credential" or p["reorder_below"] is None)
    )


def is_text(v, longest):
    """A string of 1 to `longest` characters, none a control character
    (Unicode category Cc), as a review's note and incident are (section 2.7)."""
    return (
        isinstance(v, str)
        and 1 <= len(v) <= longest
        and not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in v)
    )


def signature_field(m, seq, kind, what):
    v = m.get("signature")
    if not isinstance(v, str):
        fail(seq, kind, "%s has no signature" % what)
    return v


def exact_fields(m, seq, what, known):
    for k in sorted(m):
        if k not in known:
            fail(seq, "Malformed", "%s has the unknown field %s" % (what, q(k)))


def exactly(m, seq, what, fields):
    """`m` has exactly `fields` (`malformed entry`): the first unknown one in
    key order is named, then the first missing one in the order of
    `fields`."""
    exact_fields(m, seq, what, fields)
    for f in fields:
        if f not in m:
            fail(seq, "Malformed", "%s has no %s" % (what, q(f)))


def check_fields(m, seq, kind):
    if kind not in SCHEMA:
        fail(seq, "Malformed", "unknown entry kind %s" % q(kind))
    required, optional = SCHEMA[kind]
    for f in COMMON + required:
        if f not in m:
            fail(seq, "Malformed", "a %s entry needs the field %s" % (kind, q(f)))
    exact_fields(m, seq, "a %s entry" % kind, set(COMMON + required + optional))


# ---------------------------------------------------------------------------
# Pass 1: bytes, sequence, time, tree, checkpoint, state (section 6, rules 1-14)

class Verifier:
    def __init__(self, bundle, pin, state_path):
        self.bundle = bundle
        self.pin = pin
        self.state_path = state_path
        self.signatures = 0
        self.unchecked = 0
        self.prior_roots = {}  # restored entry seq -> root of the entries before it

    def path(self, *names):
        return os.path.join(self.bundle, *names)

    def check_signature(self, signer, data, signature, count=True):
        """Verifies (raises Bad); counts what was verified and what could
        not be (no `cryptography`)."""
        if not verify_signature(signer, data, signature):
            self.unchecked += 1
        elif count:
            self.signatures += 1

    def check_checkpoint(self, body, signature, ledger, origin, which):
        try:
            cp = parse_checkpoint(body)
        except Bad as e:
            fail(None, "BadCheckpointSignature", "%s: %s" % (which, e))
        try:
            # The checkpoint is counted once, however often it is checked.
            self.check_signature(ledger, body.encode("utf-8"), signature, count=False)
        except Bad:
            fail(
                None,
                "BadCheckpointSignature",
                "%s (size %d) does not verify with ledger key %s" % (which, cp[1], ledger.fingerprint),
            )
        if cp[0] != origin:
            fail(
                None,
                "OriginMismatch",
                "%s is for %s, this ledger's is %s" % (which, q(cp[0]), q(origin)),
            )
        return cp

    def integrity(self, saved):
        body = read_small(self.path(CHECKPOINT))
        signature = read_small(self.path(CHECKPOINT_SIG))
        lines = Lines(self.path(ENTRIES))
        try:
            return self._integrity(lines, body, signature, saved)
        finally:
            lines.close()

    def _integrity(self, lines, cp_body, cp_sig, saved):
        frontier = Frontier()
        leaves = []
        prev_time = None
        ledger = None
        origin = ""
        vault = ""
        eras = []  # (first size, origin): a new one per restore with a gap
        pending = True  # the bundle's one checkpoint, not yet checked
        checked = 0
        pos = 0
        which = "the bundle's checkpoint"
        while True:
            b = lines.next()
            if b is None:
                break
            try:
                m = parse_entry(b)
            except Bad as e:
                fail(pos, "NotCanonical", str(e))
            v = m.get("v")
            if not (is_u64(v) and v == ENTRY_VERSION):
                fail(
                    pos,
                    "Malformed",
                    "entry version %s is not supported (this verifier reads version %d)"
                    % (canonical(v).decode() if "v" in m else "", ENTRY_VERSION),
                )
            seq = u64_field(m, pos, "seq")
            if seq != pos:
                if seq < pos:
                    fail(pos, "EntryInserted", "position %d holds an entry with seq %d" % (pos, seq))
                nxt = lines.peek()
                next_seq = None
                if nxt is not None:
                    try:
                        next_seq = parse_entry(nxt).get("seq")
                    except Bad:
                        next_seq = None
                if is_u64(next_seq) and next_seq == pos:
                    fail(pos, "EntriesReordered", "entries %d and %d stand in each other's place" % (pos, seq))
                fail(pos, "EntryMissing", "position %d holds entry %d: entry %d was removed" % (pos, seq, pos))
            time = time_field(m, pos, "time")
            recorded_jump = (
                m.get("kind") == "clock"
                and m.get("direction") == "behind"
                and prev_time is not None
                and parse_time(m.get("previous")) == prev_time
            )
            if prev_time is not None and time < prev_time and not recorded_jump:
                fail(pos, "TimeWentBack", "its time is earlier than the entry before it")
            prev_time = time
            str_field(m, pos, "actor")
            kind = str_field(m, pos, "kind")
            if (pos == 0) != (kind == "genesis"):
                fail(pos, "Malformed", "the first entry, and only it, is the genesis entry")
            leaf = leaf_hash(b)
            if pos == 0:
                if self.pin is not None and self.pin != leaf:
                    fail(
                        0,
                        "PinMismatch",
                        "the genesis entry's fingerprint is %s, not the pinned %s: this is another vault, or its genesis was rewritten"
                        % (leaf.hex(), self.pin.hex()),
                    )
                self.genesis_leaf = leaf
                # The ledger key as genesis names it (ledger-cert.asc must
                # be that key, section 6 rule 26).
                self.genesis_ledger_key = str_field(m, 0, "ledger_fingerprint")
                ledger = self.ledger_key(m)
                vault = str_field(m, 0, "vault")
                origin = "breakglass/" + vault
                eras.append((1, origin))
            if kind == "restored":
                # Its evidence is proved against the entries before it.
                self.prior_roots[pos] = frontier.root()
            frontier.push(leaf)
            leaves.append(leaf)
            size = pos + 1
            # A restore with a gap starts a new origin with its own
            # checkpoint (section 5.1).
            if pos > 0 and kind == "restored" and m.get("gap") is True:
                origin = "breakglass/%s/restore-%d" % (vault, pos)
                eras.append((size, origin))
            if pending:
                try:
                    cp_size = parse_checkpoint(cp_body)[1]
                except Bad:
                    cp_size = None
                if cp_size is None or cp_size <= size:
                    pending = False
                    cp = self.check_checkpoint(cp_body, cp_sig, ledger, origin, which)
                    checked += 1
                    if cp[1] == size and cp[2] != frontier.root():
                        fail(
                            None,
                            "RootMismatch",
                            "the %d entries do not hash to the signed root %s: an entry was changed"
                            % (size, b64(cp[2])),
                        )
            pos += 1
        n = pos
        cp = self.check_checkpoint(cp_body, cp_sig, ledger, origin, "the latest checkpoint")
        if cp[1] > n:
            fail(None, "Truncated", "the signed checkpoint covers %d entries but only %d are present" % (cp[1], n))
        if cp[1] < n:
            fail(
                cp[1],
                "UnsignedTail",
                "entries %d..%d are not covered by the signed checkpoint of size %d" % (cp[1], n - 1, cp[1]),
            )
        if cp[2] != frontier.root():
            fail(None, "RootMismatch", "the %d entries do not hash to the signed root %s: an entry was changed" % (n, b64(cp[2])))
        if saved is not None:
            check_against_state(saved, cp, leaves, eras)
        self.checkpoint = cp
        self.checkpoints_checked = checked
        self.ledger = ledger

    def ledger_key(self, genesis):
        armored = str_field(genesis, 0, "ledger_cert")
        try:
            cert = parse_cert(armored)
        except Bad as e:
            fail(0, "Malformed", "genesis ledger certificate: %s" % e)
        if str_field(genesis, 0, "ledger_fingerprint") != cert.fingerprint:
            fail(0, "Malformed", "genesis ledger_fingerprint does not match ledger_cert")
        try:
            return cert.signer()
        except Bad as e:
            fail(0, "Malformed", str(e))


def check_against_state(saved, cp, leaves, eras):
    origin, size, root = saved
    # The state names the origin of the checkpoint it saved: this ledger's
    # at that size (a restore with a gap since changes it).
    expected = cp[0]
    if size <= cp[1]:
        for first, o in eras:
            if first <= size:
                expected = o
    if origin != expected:
        fail(None, "OriginMismatch", "the saved state is for %s, this ledger is %s" % (q(origin), q(expected)))
    if root is None:
        fail(None, "BadState", "root is not 32 bytes of base64")
    if cp[1] < size:
        fail(
            None,
            "Rollback",
            "the ledger has %d entries, but %d were seen before: it was truncated or restored from an older copy"
            % (cp[1], size),
        )
    # The saved tree must be a prefix of this one. (The reference verifier
    # checks an RFC 6962 consistency proof, which says the same.)
    if root_of(leaves[:size]) != root:
        fail(None, "Fork", "the first %d entries differ from the ones seen before: history was rewritten" % size)


# ---------------------------------------------------------------------------
# Pass 2: what the entries mean (section 6, rules 15-25)

class Lifecycle:
    """What the summary reports of one secret: its releases, in order, as
    (seq, index, unix time), and how many rotations answered them."""

    def __init__(self):
        self.releases = []
        self.rotated = 0


class Meaning:
    def __init__(self, verifier):
        self.v = verifier
        self.officers = {}  # name -> Cert
        self.certs = []  # (name, armored cert), in genesis order
        self.secrets = {}  # name -> {"kind", "min", "policy", "digests"}
        self.items = {}  # (secret, index) -> [release seq, confirmed]
        self.void = set()  # (secret, index): rotated away or retired (section 2.7)
        self.releases = {}  # seq -> (secret, index, actor)
        self.last_release = {}  # secret -> the time of its latest release
        self.reviews = {}  # release seq -> the reviewed entry reviewing it
        self.lifecycle = {}  # secret -> Lifecycle, for the summary
        self.nonces = {}  # nonce -> release seq
        self.displays = {}  # release seq -> the displayed entry recording it
        self.gaps = set()  # `restored` entries without replay, not yet acknowledged
        self.hook = None  # the latest `alerts` entry so far
        self.release_count = 0

    def run(self):
        lines = Lines(self.v.path(ENTRIES))
        try:
            seq = 0
            while True:
                b = lines.next()
                if b is None:
                    break
                try:
                    m = parse_entry(b)
                except Bad as e:
                    fail(seq, "NotCanonical", str(e))
                kind = str_field(m, seq, "kind")
                check_fields(m, seq, kind)
                self.check_hook(seq, m)
                if seq == 0:
                    self.genesis(m)
                else:
                    # Rule 10 made sure `actor` is a string.
                    if kind == "deposit":
                        self.deposit(seq, m)
                    elif kind == "release":
                        self.release(seq, m)
                    elif kind == "rekey":
                        self.rekey(seq, m)
                    elif kind == "displayed":
                        self.displayed(seq, m)
                    elif kind == "gap_acknowledged":
                        self.gap_acknowledged(seq, m)
                    elif kind == "drill":
                        self.drill(seq, m)
                    elif kind in ("passphrase", "auth_failed"):
                        self.by_officer(seq, m)
                    elif kind == "alerts":
                        self.alerts(seq, m)
                    elif kind == "clock":
                        self.clock(seq, m)
                    elif kind == "restored":
                        self.restored(seq, m)
                    elif kind == "rotated":
                        self.rotated(seq, m)
                    elif kind == "retired":
                        self.retired(seq, m)
                    elif kind == "reviewed":
                        self.reviewed(seq, m)
                    elif kind == "overdue":
                        self.overdue(seq, m)
                seq += 1
        finally:
            lines.close()

    def summary(self, now):
        """The lifecycle report after a successful verification, as lines:
        one per secret, in the order of first deposits, `lifecycle: S: R
        releases, V reviewed, T rotated, O overdue`; then one `unreviewed:
        entry N (S #I)` per release nobody reviewed, in ledger order. O
        counts what is past its deadline at the Unix time `now`: the review
        of each unreviewed release (review_within after it), and the
        rotation of each release of a credential whose item no rotation
        replaced yet (rotate_within after it). Releases of the canary
        secret are drills: counted, never owed a review."""
        out, unreviewed = [], []
        for secret, info in self.secrets.items():
            life = self.lifecycle[secret]
            policy = info["policy"]
            due, reviewed = [], 0
            for seq, index, t in life.releases:
                if seq in self.reviews:
                    reviewed += 1
                elif secret != DRILL_SECRET:
                    due.append(t + policy["review_within"])
                    unreviewed.append((seq, "unreviewed: entry %d (%s #%d)" % (seq, secret, plus_one(index))))
                # A rotation voids the item it replaces, answering every
                # release of it.
                if policy["rotate_within"] is not None and (secret, index) not in self.void:
                    due.append(t + policy["rotate_within"])
            out.append(
                "lifecycle: %s: %d releases, %d reviewed, %d rotated, %d overdue"
                % (secret, len(life.releases), reviewed, life.rotated, sum(1 for d in due if d < now))
            )
        return out + [line for _, line in sorted(unreviewed)]

    def check_hook(self, seq, m):
        # Rule 2a: `hook` names the latest `alerts` entry before this one.
        named = m["hook"]
        if named is not None and not is_u64(named):
            fail(seq, "Malformed", "hook is not an integer or null")
        if named != self.hook:
            def say(h):
                return "none" if h is None else "entry %d" % h
            fail(
                seq,
                "HookMismatch",
                "it names %s as the alerts entry in force, but the latest alerts entry before it is %s"
                % (say(named), say(self.hook)),
            )

    def officer(self, seq, name, kind):
        if name not in self.officers:
            fail(seq, kind, "%s is not an enrolled officer" % q(name))
        return self.officers[name]

    def approvals(self, seq, m, rules, check):
        """Rules 18, 19 and 21: the approvals of a release, a ceremony or a
        gap acknowledgement, in order; returns the approving officers, in
        order. `approvals` is a list; each approval an object with no field
        beyond `officer`, `statement`, `signature` and a string `officer`
        (`malformed entry`); a string `signature` ("O's NOUN has no
        signature"); what `rules.needs` before the signature is checked
        ("approval without statement"); a signature by a current officer
        over the statement's canonical JSON (null if there is none), else
        `rules.unverified`; an officer not already approving (`duplicate
        approval`); then the kind's own `check(officer, statement)`."""
        approvals = m.get("approvals")
        if not isinstance(approvals, list):
            fail(seq, "Malformed", "no approvals")
        approvers = []
        for a in approvals:
            if not isinstance(a, dict):
                fail(seq, "Malformed", "approval is not an object")
            exact_fields(a, seq, "an approval", ("officer", "statement", "signature"))
            officer = str_field(a, seq, "officer")
            sig = signature_field(a, seq, "BadApprovalSignature", "%s's %s" % (officer, rules.noun))
            st = a.get("statement")
            needs = rules.needs
            if (needs == "statement" and "statement" not in a) or (needs == "object" and not isinstance(st, dict)):
                fail(seq, "Malformed", "approval without statement")
            signer = self.officer(seq, officer, "BadApprovalSignature")
            try:
                self.v.check_signature(signer, canonical(st), sig)
            except Bad:
                fail(seq, "BadApprovalSignature", rules.unverified.format(officer))
            if officer in approvers:
                fail(seq, "DuplicateApproval", "%s approves twice" % officer)
            check(officer, st)
            approvers.append(officer)
        return approvers

    def nonce_and_expiry(self, seq, officer, st, nonce, time):
        """Rules 18 and 19: officer's approval statement `st` carries the
        request's `nonce` (`replayed approval`) and an `expires` time
        (`malformed entry`) that the entry's `time` is not past (`expired
        approval`)."""
        if st.get("nonce") != nonce:
            fail(seq, "ApprovalReplayed", "%s's approval carries another request's nonce" % officer)
        if time > time_field(st, seq, "expires"):
            fail(seq, "ApprovalExpired", "%s's approval had expired when it was used" % officer)

    def officer_list(self, m, seq):
        """An epoch entry's officers: exactly {name, fingerprint, cert},
        valid distinct names, certificates matching their fingerprints;
        [(name, fingerprint, armored, Cert)] in list order."""
        officers = m.get("officers")
        if not isinstance(officers, list):
            fail(seq, "Malformed", "the entry lists no officers")
        out = []
        for o in officers:
            if not isinstance(o, dict):
                fail(seq, "Malformed", "an officer is not an object")
            exact_fields(o, seq, "an officer", ("name", "fingerprint", "cert"))
            name = str_field(o, seq, "name")
            if not OFFICER_NAME.fullmatch(name):
                fail(seq, "Malformed", "%s is not a valid officer name" % q(name))
            armored = str_field(o, seq, "cert")
            try:
                cert = parse_cert(armored)
            except Bad as e:
                fail(seq, "Malformed", "officer %s: %s" % (name, e))
            fpr = str_field(o, seq, "fingerprint")
            if cert.fingerprint != fpr:
                fail(seq, "Malformed", "officer %s's fingerprint does not match the certificate" % name)
            try:
                cert.signer()
            except Bad as e:
                fail(seq, "Malformed", str(e))
            if any(n == name for n, _, _, _ in out):
                fail(seq, "Malformed", "officer %s is listed twice" % name)
            out.append((name, fpr, armored, cert))
        return out

    def vault_key_of(self, m, seq):
        fpr = str_field(m, seq, "vault_key_fingerprint")
        armored = str_field(m, seq, "vault_key_cert")
        try:
            same = parse_cert(armored).fingerprint == fpr
        except Bad:
            same = False
        if not same:
            fail(seq, "Malformed", "vault_key_fingerprint does not match vault_key_cert")
        return fpr

    def genesis(self, m):
        def bad(why):
            fail(0, "Malformed", why)

        officers = self.officer_list(m, 0)
        if str_field(m, 0, "actor") != "+".join(o[0] for o in officers):
            bad('the genesis actor is not its officers joined by "+"')
        threshold = u64_field(m, 0, "threshold")
        if threshold < 2 or threshold > len(officers):
            bad("threshold out of range")
        vault = str_field(m, 0, "vault")
        if len(vault) != 32 or not LOWER_HEX.fullmatch(vault):
            bad("the vault id is not 32 lower-case hex digits")
        vault_key = self.vault_key_of(m, 0)
        if u64_field(m, 0, "epoch") != 0:
            bad("the genesis entry opens epoch 0")
        self.kdf = kdf_field(m, 0)
        self.vault = vault
        self.epoch = 0
        self.threshold = threshold
        self.vault_key = vault_key
        self.ledger_key = str_field(m, 0, "ledger_fingerprint")
        self.fingerprints = {}
        for name, fpr, armored, cert in officers:
            self.certs.append((name, armored))
            self.fingerprints[name] = fpr
            self.officers[name] = cert

    def deposit(self, seq, m):
        actor = str_field(m, seq, "actor")
        secret = str_field(m, seq, "secret")
        if not SECRET_NAME.fullmatch(secret):
            fail(seq, "Malformed", "%s is not a valid secret name" % q(secret))
        count = u64_field(m, seq, "count")
        total = u64_field(m, seq, "total")
        st = m.get("statement")
        if not isinstance(st, dict):
            fail(seq, "Malformed", "no deposit statement")
        sig = signature_field(m, seq, "BadDepositSignature", "the deposit")
        signer = self.officer(seq, actor, "UnknownOfficer")
        try:
            self.v.check_signature(signer, canonical(st), sig)
        except Bad:
            fail(seq, "BadDepositSignature", "the deposit statement does not verify with %s's certificate" % actor)
        exact_fields(st, seq, "the deposit statement", DEPOSIT_FIELDS)
        time_field(st, seq, "time")
        items = st.get("items")
        digests = items if isinstance(items, list) and all(is_digest(d) for d in items) else None
        prev = self.secrets.get(secret)
        prev_total = len(prev["digests"]) if prev else 0
        # Every statement field is there, and a minimum is an integer or
        # null, in the entry and in what the depositor signed.
        for f in DEPOSIT_FIELDS:
            if f not in st:
                fail(seq, "Malformed", "the deposit statement has no %s" % q(f))
        entry_min, signed_min = m.get("min_approvals"), st.get("min_approvals")
        if not all(v is None or is_u64(v) for v in (entry_min, signed_min)):
            fail(seq, "Malformed", "min_approvals is neither a number nor null")
        kind = st.get("kind")
        matches = (
            st.get("type") == "breakglass-deposit/v3"
            and st.get("vault") == self.vault
            and is_u64(st.get("epoch"))
            and st.get("epoch") == self.epoch
            and st.get("secret") == secret
            and st.get("officer") == actor
            and st.get("time") == m.get("time")
            and st.get("vault_key_fingerprint") == self.vault_key
            and is_u64(st.get("count"))
            and st.get("count") == count
            and is_u64(st.get("first_index"))
            and st.get("first_index") == prev_total
            and json_eq(kind, m.get("item_kind"))
            and kind in ("codes", "credential")
            and digests is not None
            and len(digests) == count
            and count > 0
            and (kind != "credential" or count == 1)
            and prev_total + count == total
            and json_eq(entry_min, signed_min)
            and (
                prev is None
                or (
                    prev["kind"] == kind
                    and prev["kind"] == "codes"
                    and (signed_min is None or signed_min == prev["min"])
                )
            )
        )
        if not matches:
            fail(
                seq,
                "BadDepositSignature",
                "the signed deposit statement does not match the entry or the secret's history",
            )
        # Each ciphertext carried in the entry is one the depositor signed.
        carried = m.get("ciphertexts")
        if not (
            isinstance(carried, list)
            and len(carried) == len(digests)
            and all(sha256_of_base64(c) == d for c, d in zip(carried, digests))
        ):
            fail(
                seq,
                "BadDepositSignature",
                "the ciphertexts in the entry are not the ones the depositor signed",
            )
        if signed_min is not None and (signed_min < self.threshold or signed_min > len(self.officers)):
            fail(seq, "Malformed", "min_approvals is outside threshold..officers")
        # The policy the depositor signed is the entry's, and the one the
        # secret's first deposit fixed (section 2.7).
        policy = m.get("policy")
        if not is_policy(policy, kind):
            fail(seq, "Malformed", "policy is not a policy within bounds")
        if not json_eq(st.get("policy"), policy) or (prev is not None and not json_eq(policy, prev["policy"])):
            fail(
                seq,
                "BadDepositSignature",
                "the signed deposit statement does not match the entry or the secret's history",
            )
        if prev is None:
            # The first deposit fixes the secret's kind, minimum and policy.
            prev = self.secrets[secret] = {"kind": kind, "min": signed_min or 0, "policy": policy, "digests": []}
            self.lifecycle[secret] = Lifecycle()
        prev["digests"].extend(digests)

    def release(self, seq, m):
        self.outside_gap(seq, "release")
        secret = str_field(m, seq, "secret")
        index = u64_field(m, seq, "index")
        digest = str_field(m, seq, "digest")
        reason = str_field(m, seq, "reason")
        nonce = str_field(m, seq, "nonce")
        time = time_field(m, seq, "time")
        if u64_field(m, seq, "epoch") != self.epoch:
            fail(seq, "Malformed", "the release names another epoch")
        info = self.secrets.get(secret)
        if info is None:
            fail(seq, "UnknownItem", "secret %s was never deposited" % q(secret))
        if index >= len(info["digests"]) or info["digests"][index] != digest:
            fail(
                seq,
                "UnknownItem",
                "%s #%d with digest %s is not an item any deposit signed" % (secret, plus_one(index), digest),
            )
        needed = max(self.threshold, info["min"])
        # Rule 18: a release less than min_interval after the secret's
        # previous one needs one approval more, never more than there are
        # officers; a re-release repeats a release and is exempt.
        interval = info["policy"]["min_interval"]
        last = self.last_release.get(secret)
        close = interval is not None and "re_release_of" not in m and last is not None and time - last < interval
        if close:
            needed = max(needed, min(needed + 1, len(self.officers)))
        if nonce in self.nonces:
            fail(seq, "ApprovalReplayed", "the nonce was already used by the release in entry %d" % self.nonces[nonce])

        def check(officer, st):
            if not isinstance(st, dict):
                fail(seq, "Malformed", "statement is not an object")
            exact_fields(st, seq, "an approval statement", APPROVAL_FIELDS)
            same = (
                st.get("type") == "breakglass-approval/v1"
                and st.get("vault") == self.vault
                and is_u64(st.get("epoch"))
                and st.get("epoch") == self.epoch
                and st.get("officer") == officer
                and st.get("secret") == secret
                and st.get("reason") == reason
            )
            if not same:
                fail(seq, "ApprovalMismatch", "%s's signed statement is for another release" % officer)
            self.nonce_and_expiry(seq, officer, st, nonce, time)

        approvers = self.approvals(seq, m, RELEASE_APPROVALS, check)
        if len(approvers) < needed:
            fail(
                seq,
                "NoQuorum",
                "%d distinct officers approved, %d needed%s"
                % (
                    len(approvers),
                    needed,
                    " (a release within the secret's minimum interval needs one more)" if close else "",
                ),
            )
        actor = "+".join(approvers)
        if str_field(m, seq, "actor") != actor:
            fail(seq, "Malformed", 'the actor is not the approvers joined by "+" (%s)' % actor)
        again = m.get("re_release_of")
        if "re_release_of" in m and not is_u64(again):
            fail(seq, "Malformed", "re_release_of is not an entry number")
        prev = self.items.get((secret, index))
        if prev is None and again is not None:
            fail(seq, "DoubleRelease", "re-release of entry %d, which did not release this item" % again)
        if prev is not None and not (again is not None and prev[0] == again and not prev[1]):
            fail(
                seq,
                "DoubleRelease",
                "%s #%d was already released by entry %d%s"
                % (secret, plus_one(index), prev[0], " and confirmed seen" if prev[1] else ""),
            )
        # I10: the item the ledger's history gives next: one released but
        # never confirmed seen, else the first never released; never a
        # void one.
        nxt = self.next_item(secret)
        if nxt != index:
            fail(
                seq,
                "WrongItem",
                "it takes %s #%d, but the next item the ledger allows is %s"
                % (secret, plus_one(index), "none" if nxt is None else "#%d" % plus_one(nxt)),
            )
        self.receipts(
            seq,
            m,
            {
                "type": "breakglass-receipt/v1",
                "vault": self.vault,
                "epoch": self.epoch,
                "secret": secret,
                "index": index,
                "digest": digest,
                "nonce": nonce,
                "approvers": approvers,
                "re_release_of": again,
                "time": str_field(m, seq, "time"),
            },
        )
        self.items[(secret, index)] = [seq, False]
        self.nonces[nonce] = seq
        self.releases[seq] = (secret, index, actor)
        self.last_release[secret] = time
        self.lifecycle[secret].releases.append((seq, index, time))
        self.release_count += 1

    def next_item(self, secret):
        n = len(self.secrets[secret]["digests"]) if secret in self.secrets else 0
        live = [i for i in range(n) if (secret, i) not in self.void]
        for i in live:
            item = self.items.get((secret, i))
            if item is not None and not item[1]:
                return i
        for i in live:
            if (secret, i) not in self.items:
                return i
        return None

    def receipts(self, seq, m, statement):
        """Rules 18a and 19a: every approver, in approval order, signed the
        entry's receipt `statement`, built from the entry itself."""
        receipts = m.get("receipts")
        if not isinstance(receipts, list):
            fail(seq, "Malformed", "no receipts")
        approvers = statement["approvers"]
        if len(receipts) != len(approvers):
            fail(
                seq,
                "BadReceipt",
                "%d receipts for %d approvers: every approver signs the receipt" % (len(receipts), len(approvers)),
            )
        data = canonical(statement)
        for r, approver in zip(receipts, approvers):
            if not isinstance(r, dict):
                fail(seq, "Malformed", "a receipt is not an object")
            exact_fields(r, seq, "a receipt", ("officer", "signature"))
            officer = str_field(r, seq, "officer")
            if officer != approver:
                fail(seq, "BadReceipt", "a receipt is %s's where %s's belongs (approval order)" % (officer, approver))
            sig = r.get("signature")
            if not isinstance(sig, str):
                fail(seq, "BadReceipt", "%s's receipt has no signature" % officer)
            signer = self.officer(seq, officer, "BadReceipt")
            try:
                self.v.check_signature(signer, data, sig)
            except Bad:
                fail(
                    seq,
                    "BadReceipt",
                    "%s's receipt does not verify: the entry is not the one its approvers signed" % officer,
                )

    def rekey(self, seq, m):
        """A ceremony opens the next epoch: approved by a quorum of the
        current officers, each signing this very change; it carries every
        secret's state into the new epoch."""
        self.outside_gap(seq, "ceremony")

        def bad(why):
            fail(seq, "Malformed", why)

        epoch = u64_field(m, seq, "epoch")
        if (
            epoch != self.epoch + 1
            or str_field(m, seq, "vault") != self.vault
            or str_field(m, seq, "ledger_fingerprint") != self.ledger_key
        ):
            bad("a ceremony opens the next epoch of this vault, under its ledger key")
        try:
            same_key = parse_cert(str_field(m, seq, "ledger_cert")).fingerprint == self.ledger_key
        except Bad:
            same_key = False
        if not same_key:
            bad("ledger_cert is not the ledger key")
        ceremony = str_field(m, seq, "ceremony")
        officers = self.officer_list(m, seq)
        new_fprs = {name: fpr for name, fpr, _, _ in officers}

        def names_of(k):
            v = m.get(k)
            if not isinstance(v, list) or not all(isinstance(n, str) for n in v):
                bad("%s is not a list of names" % k)
            return sorted(v)

        added = names_of("added")
        removed = names_of("removed")
        if added != sorted(n for n in new_fprs if n not in self.fingerprints) or removed != sorted(
            n for n in self.fingerprints if n not in new_fprs
        ):
            bad("added and removed do not match the change of officers")
        if any(n in self.fingerprints and self.fingerprints[n] != f for n, f in new_fprs.items()):
            bad("an officer who stays has another certificate")
        if any(n in added for n, _ in self.certs):
            bad("a name is enrolled a second time")
        fits_kind = {
            "officer_add": len(added) == 1 and not removed,
            "officer_remove": len(removed) == 1 and not added,
            "rekey": True,
        }.get(ceremony, False)
        if not fits_kind:
            bad("a %s ceremony cannot make this change" % q(ceremony))
        threshold = u64_field(m, seq, "threshold")
        if threshold < 2 or threshold > len(officers):
            bad("threshold out of range")
        vault_key = self.vault_key_of(m, seq)
        if not json_eq(kdf_field(m, seq), self.kdf):
            bad("a ceremony changes the vault's Argon2 settings")
        nonce = str_field(m, seq, "nonce")
        time = time_field(m, seq, "time")
        if nonce in self.nonces:
            fail(seq, "ApprovalReplayed", "the nonce was already used by entry %d" % self.nonces[nonce])

        def check(officer, st):
            exact_fields(st, seq, "a ceremony statement", CEREMONY_FIELDS)
            signed = st.get("officers")
            same = (
                st.get("type") == "breakglass-ceremony/v1"
                and st.get("vault") == self.vault
                and is_u64(st.get("epoch"))
                and st.get("epoch") == self.epoch
                and is_u64(st.get("new_epoch"))
                and st.get("new_epoch") == epoch
                and st.get("ceremony") == ceremony
                and is_u64(st.get("threshold"))
                and st.get("threshold") == threshold
                and st.get("vault_key_fingerprint") == vault_key
                and json_eq(st.get("kdf"), self.kdf)
                and st.get("officer") == officer
                and isinstance(signed, dict)
                and json_eq(signed, new_fprs)
            )
            if not same:
                fail(seq, "ApprovalMismatch", "%s's signed statement is for another ceremony" % officer)
            self.nonce_and_expiry(seq, officer, st, nonce, time)

        approvers = self.approvals(seq, m, CEREMONY_APPROVALS, check)
        if len(approvers) < self.threshold:
            fail(
                seq,
                "NoQuorum",
                "%d distinct officers approved the ceremony, %d needed" % (len(approvers), self.threshold),
            )
        if str_field(m, seq, "actor") != "+".join(approvers):
            bad('the actor is not the approvers joined by "+"')
        # Every officer who neither approved nor joined gets a delivered
        # share, and only they do.
        pending = m.get("pending")
        want = [n for n in new_fprs if n not in approvers and n not in added]
        if not (
            isinstance(pending, dict)
            and len(pending) == len(want)
            and all(is_digest(pending.get(n)) for n in want)
        ):
            bad("pending does not deliver a share to exactly the absent officers")
        self.carry_secrets(seq, m)
        # Rule 19a: the receipt commits to everything the new epoch
        # inherits (section 3.10).
        body = {k: v for k, v in m.items() if k not in NOT_INHERITED}
        self.receipts(
            seq,
            m,
            {
                "type": "breakglass-ceremony-receipt/v1",
                "vault": self.vault,
                "epoch": self.epoch,
                "new_epoch": epoch,
                "ceremony": ceremony,
                "nonce": nonce,
                "approvers": approvers,
                "inherits": hashlib.sha256(canonical(body)).hexdigest(),
                "time": str_field(m, seq, "time"),
            },
        )
        self.nonces[nonce] = seq
        self.epoch = epoch
        self.threshold = threshold
        self.vault_key = vault_key
        self.officers = {}
        self.fingerprints = {}
        for name, fpr, armored, cert in officers:
            if name in added:
                self.certs.append((name, armored))
            self.fingerprints[name] = fpr
            self.officers[name] = cert

    def carry_secrets(self, seq, m):
        """`secrets` carries every secret, once, as it stands: kind, minimum
        approvals, policy, every item and its state; an item already seen
        or void keeps its digest, the others were re-encrypted (new
        digests)."""

        def bad(why):
            fail(seq, "Malformed", why)

        secrets = m.get("secrets")
        if not isinstance(secrets, list):
            bad("secrets is not a list")
        if len(secrets) != len(self.secrets):
            bad("the ceremony does not carry every secret")
        carried = {}
        for s in secrets:
            if not isinstance(s, dict):
                bad("a carried secret is not an object")
            exact_fields(s, seq, "a carried secret", ("name", "kind", "min_approvals", "policy", "items"))
            name = s.get("name") if isinstance(s.get("name"), str) else ""
            if name in carried:
                bad("the ceremony carries %s twice" % q(name))
            info = self.secrets.get(name)
            if info is None:
                bad("the ceremony carries %s, which was never deposited" % q(name))
            smin = s.get("min_approvals")
            if "min_approvals" not in s or not (smin is None or is_u64(smin)):
                bad("%s's min_approvals is not a number" % name)
            items = s.get("items")
            same = (
                s.get("kind") == info["kind"]
                and (smin or 0) == info["min"]
                and json_eq(s.get("policy"), info["policy"])
                and isinstance(items, list)
                and len(items) == len(info["digests"])
            )
            if not same:
                bad("the ceremony changes %s's kind, minimum or items" % name)
            digests = []
            for i, it in enumerate(items):
                if not isinstance(it, dict):
                    bad("a carried item is not an object")
                exact_fields(it, seq, "a carried item", ("digest", "state", "release"))
                if "release" in it and not is_u64(it["release"]):
                    bad("a carried item's release is not an entry number")
                d = it.get("digest") if is_digest(it.get("digest")) else None
                state = it.get("state")
                release = it.get("release")
                now = self.items.get((name, i))
                if (name, i) in self.void:
                    # A void item is never released again, so it keeps its
                    # digest, with its latest release if it had one.
                    fits = (
                        state == "void"
                        and release == (now[0] if now is not None else None)
                        and d == info["digests"][i]
                    )
                elif now is None:
                    fits = state == "available" and release is None
                elif state == "released":
                    fits = not now[1] and release == now[0]
                elif state == "seen":
                    fits = now[1] and release == now[0] and d == info["digests"][i]
                else:
                    fits = False
                if not (fits and d is not None):
                    bad("the ceremony carries %s #%d in another state than the ledger's" % (name, i + 1))
                digests.append(d)
            carried[name] = digests
        for name, digests in carried.items():
            self.secrets[name]["digests"] = digests

    def displayed(self, seq, m):
        r = u64_field(m, seq, "release")
        secret = str_field(m, seq, "secret")
        index = u64_field(m, seq, "index")
        outcome = str_field(m, seq, "outcome")
        if r not in self.releases:
            fail(seq, "Malformed", "entry %d is not a release" % r)
        s, i, actor = self.releases[r]
        if (s, i) != (secret, index) or str_field(m, seq, "actor") != actor:
            fail(seq, "Malformed", "entry %d is not the release of %s #%d by its actor" % (r, secret, plus_one(index)))
        if outcome not in ("confirmed", "stdout", "timeout", "dismissed"):
            fail(seq, "Malformed", "unknown display outcome %s" % q(outcome))
        signer = str_field(m, seq, "signer")
        if r in self.displays:
            fail(seq, "Malformed", "the display of entry %d was already recorded by entry %d" % (r, self.displays[r]))
        # The outcome is an approver's word (rule 20).
        if signer not in actor.split("+"):
            fail(seq, "BadReceipt", "the display is signed by %s, who did not approve entry %d" % (signer, r))
        statement = {
            "type": "breakglass-display/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "release": r,
            "secret": secret,
            "index": index,
            "outcome": outcome,
            "officer": signer,
            "time": str_field(m, seq, "time"),
        }
        sig = m.get("signature")
        if not isinstance(sig, str):
            fail(seq, "BadReceipt", "the display has no signature")
        cert = self.officer(seq, signer, "BadReceipt")
        try:
            self.v.check_signature(cert, canonical(statement), sig)
        except Bad:
            fail(
                seq,
                "BadReceipt",
                "%s's display statement does not verify: the outcome is not the one signed" % signer,
            )
        self.displays[r] = seq
        if outcome in ("confirmed", "stdout"):
            item = self.items.get((secret, index))
            if item is not None and item[0] == r:
                item[1] = True

    def gap_acknowledged(self, seq, m):
        """A quorum of current officers acknowledges the gap a restore
        without replay left (a `restored` entry with `gap` true, not yet
        acknowledged), each signing a statement for this vault, epoch and
        `restored` entry, with the entry's nonce, used once."""
        restored = u64_field(m, seq, "restored")
        nonce = str_field(m, seq, "nonce")
        if restored not in self.gaps:
            fail(
                seq,
                "Malformed",
                "entry %d is not a restore without replay waiting for acknowledgement" % restored,
            )
        self.gaps.discard(restored)
        if nonce in self.nonces:
            fail(seq, "ApprovalReplayed", "the nonce was already used by entry %d" % self.nonces[nonce])

        def check(officer, st):
            expected = {
                "type": "breakglass-gap/v1",
                "vault": self.vault,
                "epoch": self.epoch,
                "restored": restored,
                "nonce": nonce,
                "officer": officer,
                "time": str_field(m, seq, "time"),
            }
            if not json_eq(st, expected):
                fail(seq, "ApprovalMismatch", "%s's acknowledgement is for something else" % officer)

        approvers = self.approvals(seq, m, GAP_APPROVALS, check)
        if len(approvers) < self.threshold:
            fail(
                seq,
                "NoQuorum",
                "%d officers acknowledged the gap, %d needed" % (len(approvers), self.threshold),
            )
        if str_field(m, seq, "actor") != "+".join(approvers):
            fail(seq, "Malformed", 'the actor is not the approvers joined by "+"')
        self.nonces[nonce] = seq

    def by_officer(self, seq, m):
        """A drill, a passphrase change, a failed authentication: its actor
        is a current officer (rule 22)."""
        self.officer(seq, str_field(m, seq, "actor"), "UnknownOfficer")

    def drill(self, seq, m):
        """Rule 22: a drill without `release` is an officer's passphrase
        drill, by a current officer. With it, an end-to-end drill: `release`
        names an earlier release of the canary secret by this entry's actor
        (the drill's quorum), with a result and a delivery (`malformed
        entry`)."""
        if "release" not in m:
            self.by_officer(seq, m)
            return
        r = m["release"]
        if not is_u64(r):
            fail(seq, "Malformed", "release is not an entry number")
        actor = str_field(m, seq, "actor")
        released = self.releases.get(r)
        if released is None or released[0] != DRILL_SECRET or released[2] != actor:
            fail(seq, "Malformed", "entry %d is not a release of %s by %s" % (r, DRILL_SECRET, actor))
        if m.get("result") not in DRILL_RESULTS:
            fail(seq, "Malformed", 'a drill\'s result is "passed" or "failed"')
        if m.get("delivery", 0) not in DRILL_DELIVERIES:
            fail(seq, "Malformed", 'an end-to-end drill\'s delivery is "delivered", "failed" or "no_hook"')

    def alerts(self, seq, m):
        """An officer sets or clears the alert hook (docs/ALERTS.md): a
        `breakglass-alerts/v2` statement they sign names the action, the
        program and its arguments exactly as the entry does, and the
        entry's place: size, previous alerts entry, time."""
        actor = str_field(m, seq, "actor")
        action = str_field(m, seq, "action")
        st = m.get("statement")
        if not isinstance(st, dict):
            fail(seq, "Malformed", "no alerts statement")
        sig = signature_field(m, seq, "BadApprovalSignature", "the alerts change")
        signer = self.officer(seq, actor, "UnknownOfficer")
        try:
            self.v.check_signature(signer, canonical(st), sig)
        except Bad:
            fail(seq, "BadApprovalSignature", "the alerts statement does not verify with %s's certificate" % actor)
        exact_fields(st, seq, "the alerts statement", ALERTS_FIELDS)
        time_field(st, seq, "time")
        args = m.get("args")
        args_ok = isinstance(args, list) and all(isinstance(a, str) for a in args)
        if action == "set":
            shape_ok = isinstance(m.get("program"), str) and args_ok
        elif action == "clear":
            shape_ok = m.get("program") is None and "program" in m and args == []
        else:
            shape_ok = False
        same = (
            st.get("type") == "breakglass-alerts/v2"
            and st.get("vault") == self.vault
            and json_eq(st.get("epoch"), self.epoch)
            and st.get("action") == action
            and json_eq(st.get("program"), m.get("program"))
            and "program" in st
            and json_eq(st.get("args"), m.get("args"))
            and "args" in st
            and st.get("officer") == actor
        )
        if not shape_ok or not same:
            fail(seq, "ApprovalMismatch", "the signed alerts statement does not match the entry")
        # Bound to its place (LEDGER.md section 3.5): the size it was signed
        # at (this entry's seq), the alerts entry it follows (this entry's
        # `hook`) and this entry's time.
        size_ok = is_u64(st.get("size")) and st.get("size") == seq
        prev, hook = st.get("previous"), m.get("hook")
        previous_ok = "previous" in st and (
            (prev is None and hook is None) or (is_u64(prev) and is_u64(hook) and prev == hook)
        )
        time_ok = isinstance(st.get("time"), str) and st.get("time") == m.get("time")
        if not (size_ok and previous_ok and time_ok):
            fail(
                seq,
                "ApprovalReplayed",
                "the signed alerts statement was made for another place in the ledger: its size, previous or time is not this entry's",
            )
        self.hook = seq

    def clock(self, seq, m):
        """Rule 23: the clock was seen to jump, behind or ahead."""
        d = str_field(m, seq, "direction")
        time_field(m, seq, "previous")
        if d not in ("behind", "ahead") or str_field(m, seq, "clock") != str_field(m, seq, "time"):
            fail(
                seq,
                "Malformed",
                'a clock entry\'s direction is "behind" or "ahead", and its clock is its time',
            )

    def restored(self, seq, m):
        """Rule 24: a `restored` entry's numbers agree with the ledger, its
        evidence is a checkpoint the entries before it extend, and it leaves a
        gap exactly when nothing proves the restored ledger complete; a gap
        then waits for its acknowledgement."""
        prior = self.v.prior_roots[seq]
        backup = u64_field(m, seq, "backup_entries")
        replayed = u64_field(m, seq, "replayed")
        if backup == 0 or backup + replayed != seq:
            fail(
                seq,
                "BadRestore",
                "it restores %d entries from the backup and replays %d, but %d entries come before it"
                % (backup, replayed, seq),
            )
        gap = m.get("gap")
        if not isinstance(gap, bool):
            fail(seq, "Malformed", "gap is not true or false")
        e = m.get("evidence")
        reached = None
        if isinstance(e, dict):
            exact_fields(e, seq, "the evidence", ("size", "root", "proof"))
            size = u64_field(e, seq, "size")
            root = decode_root(e.get("root"))
            if root is None:
                fail(seq, "Malformed", "the evidence's root is not a base64 SHA-256 hash")
            proof = e.get("proof")
            if not isinstance(proof, list):
                fail(seq, "Malformed", "the evidence's proof is not a list")
            hashes = [decode_root(h) for h in proof]
            if any(h is None for h in hashes):
                fail(seq, "Malformed", "a proof hash is not a base64 SHA-256 hash")
            if size == 0 or not verify_consistency(size, seq, root, prior, hashes):
                fail(
                    seq,
                    "BadRestore",
                    "its evidence does not prove that the %d entries before it extend the checkpoint of size %d"
                    % (seq, size),
                )
            reached = size
        elif e is not None:
            fail(seq, "Malformed", "evidence is not an object or null")
        beyond = m.get("beyond")
        if beyond is not None and not (is_u64(beyond) and beyond > seq):
            fail(seq, "BadRestore", "beyond names a checkpoint the %d entries before it would reach" % seq)
        if gap != (reached is None or beyond is not None):
            fail(
                seq,
                "BadRestore",
                "it claims a gap, yet its evidence proves the restored ledger complete"
                if gap
                else "it claims no gap, but no evidence proves the restored ledger complete",
            )
        # A gap starts a new origin (section 5.1), which the entry names.
        origin = "breakglass/%s/restore-%d" % (self.vault, seq) if gap else None
        if m.get("origin", 0) != origin:
            fail(seq, "BadRestore", "its origin is not %s" % json.dumps(origin))
        if gap:
            self.gaps.add(seq)

    def outside_gap(self, seq, what):
        # Rule 24b: no release or ceremony while a restore's gap waits
        # for its acknowledgement.
        if self.gaps:
            fail(
                seq,
                "UnacknowledgedGap",
                "a %s follows the restore in entry %d, whose gap no quorum acknowledged" % (what, min(self.gaps)),
            )

    def actor_statement(self, seq, m, noun, kind, fields):
        """Rules 25a and 25c: the statement (an object) of an entry its actor
        signs alone. `actor` is a current officer (`unknown officer`); a
        string `signature` (`the NOUN has no signature`) verifies over the
        statement's canonical JSON with the actor's certificate (else
        `kind`); the statement has exactly `fields` (`malformed entry`: an
        unknown field, the first in key order, then a missing one, in the
        order of `fields`)."""
        actor = str_field(m, seq, "actor")
        signer = self.officer(seq, actor, "UnknownOfficer")
        sig = signature_field(m, seq, kind, "the %s" % noun)
        st = m["statement"]
        try:
            self.v.check_signature(signer, canonical(st), sig)
        except Bad:
            fail(seq, kind, "the %s statement does not verify with %s's certificate" % (noun, actor))
        exactly(st, seq, "the %s statement" % noun, fields)
        return st

    def lifecycle_secret(self, seq, secret, kind):
        """The secret a rotation or retirement names, which was deposited
        and holds `kind` (`bad lifecycle entry`)."""
        info = self.secrets.get(secret)
        if info is None:
            fail(seq, "BadLifecycle", "secret %s was never deposited" % q(secret))
        if info["kind"] != kind:
            fail(
                seq,
                "BadLifecycle",
                "%s holds codes: only a credential is rotated" % secret
                if kind == "credential"
                else "%s is a credential: only codes are retired" % secret,
            )
        return info

    def rotated(self, seq, m):
        """Rule 25a: an officer replaced a released credential. The rotation
        statement they signed names the release it answers and the new
        item's digest; the release is the latest of the credential's last
        item, not yet void. That item is then void, and the new one is the
        secret's next item, never released."""
        secret = str_field(m, seq, "secret")
        if not SECRET_NAME.fullmatch(secret):
            fail(seq, "Malformed", "%s is not a valid secret name" % q(secret))
        release = u64_field(m, seq, "release")
        index = u64_field(m, seq, "index")
        if not isinstance(m.get("statement"), dict):
            fail(seq, "Malformed", "no rotation statement")
        carried = m.get("ciphertexts")
        item = sha256_of_base64(carried[0]) if isinstance(carried, list) and len(carried) == 1 else None
        if item is None:
            fail(seq, "Malformed", "ciphertexts is not a list of one base64 ciphertext")
        st = self.actor_statement(seq, m, "rotation", "BadDepositSignature", ROTATION_FIELDS)
        expected = {
            "type": "breakglass-rotation/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "secret": secret,
            "release": release,
            "index": index,
            "item": item,
            "vault_key_fingerprint": self.vault_key,
            "officer": m["actor"],
            "time": m["time"],
        }
        if not json_eq(st, expected):
            fail(seq, "BadDepositSignature", "the signed rotation statement does not match the entry")
        info = self.lifecycle_secret(seq, secret, "credential")
        held = len(info["digests"])
        if index != held:
            fail(
                seq,
                "BadLifecycle",
                "the new item is #%d, but %s holds %d items: its next is #%d"
                % (plus_one(index), secret, held, held + 1),
            )
        # A deposit gave the secret at least one item.
        last = held - 1
        latest = self.items.get((secret, last))
        if latest is None:
            fail(seq, "BadLifecycle", "%s #%d was never released: there is no release to answer" % (secret, held))
        if latest[0] != release:
            fail(
                seq,
                "BadLifecycle",
                "it answers entry %d, but the latest release of %s #%d is entry %d" % (release, secret, held, latest[0]),
            )
        if (secret, last) in self.void:
            fail(seq, "BadLifecycle", "%s #%d is void already" % (secret, held))
        self.void.add((secret, last))
        info["digests"].append(item)
        self.lifecycle[secret].rotated += 1

    def retired(self, seq, m):
        """Rule 25b: a quorum voided what is left of a code set: every item
        neither void nor confirmed seen, as many as `voided` says. The
        approvals are as a gap acknowledgement's (rule 21), with retire
        statements; the quorum is a release's."""
        secret = str_field(m, seq, "secret")
        if not SECRET_NAME.fullmatch(secret):
            fail(seq, "Malformed", "%s is not a valid secret name" % q(secret))
        nonce = str_field(m, seq, "nonce")
        voided = u64_field(m, seq, "voided")
        info = self.lifecycle_secret(seq, secret, "codes")
        left = [
            i
            for i in range(len(info["digests"]))
            if (secret, i) not in self.void and not (self.items.get((secret, i)) or [0, False])[1]
        ]
        if not left:
            fail(seq, "BadLifecycle", "every item of %s is void or seen: the retirement voids nothing" % secret)
        if voided != len(left):
            fail(
                seq,
                "BadLifecycle",
                "it voids %d items, but %s has %d neither void nor seen" % (voided, secret, len(left)),
            )
        if nonce in self.nonces:
            fail(seq, "ApprovalReplayed", "the nonce was already used by entry %d" % self.nonces[nonce])

        def check(officer, st):
            expected = {
                "type": "breakglass-retire/v1",
                "vault": self.vault,
                "epoch": self.epoch,
                "secret": secret,
                "voided": voided,
                "nonce": nonce,
                "officer": officer,
                "time": m["time"],
            }
            if not json_eq(st, expected):
                fail(seq, "ApprovalMismatch", "%s's approval is for another retirement" % officer)

        approvers = self.approvals(seq, m, RETIRE_APPROVALS, check)
        needed = max(self.threshold, info["min"])
        if len(approvers) < needed:
            fail(
                seq,
                "NoQuorum",
                "%d officers approved the retirement, %d needed" % (len(approvers), needed),
            )
        if str_field(m, seq, "actor") != "+".join(approvers):
            fail(seq, "Malformed", 'the actor is not the approvers joined by "+"')
        self.nonces[nonce] = seq
        self.void.update((secret, i) for i in left)

    def reviewed(self, seq, m):
        """Rule 25c: an officer who did not approve a release classified it,
        once, signing the review."""
        release = u64_field(m, seq, "release")
        index = u64_field(m, seq, "index")
        secret = str_field(m, seq, "secret")
        cls = str_field(m, seq, "class")
        str_field(m, seq, "note")
        incident = m.get("incident")
        if incident is not None and not isinstance(incident, str):
            fail(seq, "Malformed", "incident is neither a string nor null")
        if not isinstance(m.get("statement"), dict):
            fail(seq, "Malformed", "no review statement")
        if cls not in REVIEW_CLASSES:
            fail(seq, "Malformed", 'class %s is not "emergency", "drill" or "misuse"' % q(cls))
        if not is_text(m["note"], 500):
            fail(seq, "Malformed", "the note is not 1 to 500 characters without a control character")
        if incident is not None and not is_text(incident, 64):
            fail(seq, "Malformed", "the incident is not 1 to 64 characters without a control character")
        if incident is None and cls != "drill":
            fail(seq, "Malformed", "only a drill is reviewed without an incident")
        st = self.actor_statement(seq, m, "review", "BadApprovalSignature", REVIEW_FIELDS)
        expected = {
            "type": "breakglass-review/v1",
            "vault": self.vault,
            "epoch": self.epoch,
            "release": release,
            "secret": secret,
            "index": index,
            "class": cls,
            "note": m["note"],
            "incident": incident,
            "officer": m["actor"],
            "time": m["time"],
        }
        if not json_eq(st, expected):
            fail(seq, "ApprovalMismatch", "the signed review statement does not match the entry")
        released = self.releases.get(release)
        if released is None:
            fail(seq, "BadLifecycle", "entry %d is not a release" % release)
        if released[:2] != (secret, index):
            fail(
                seq,
                "BadLifecycle",
                "entry %d released %s #%d, not %s #%d"
                % (release, released[0], plus_one(released[1]), secret, plus_one(index)),
            )
        if release in self.reviews:
            fail(seq, "BadLifecycle", "entry %d was already reviewed by entry %d" % (release, self.reviews[release]))
        # A review is a second pair of eyes: not one of the approvers.
        if m["actor"] in released[2].split("+"):
            fail(seq, "BadLifecycle", "%s approved entry %d, and so cannot review it" % (m["actor"], release))
        self.reviews[release] = seq

    def overdue(self, seq, m):
        """Rule 25d: a reminder lists what was due, each item exactly
        {what, secret, release, officer, since}. Only its form is checked:
        the ledger key alone vouches for it."""
        due = m.get("due")
        if not isinstance(due, list):
            fail(seq, "Malformed", "due is not a list")
        for d in due:
            if not isinstance(d, dict):
                fail(seq, "Malformed", "a due item is not an object")
            exactly(d, seq, "a due item", OVERDUE_FIELDS)
            typed = (
                d["what"] in OVERDUE_WHAT
                and (d["secret"] is None or isinstance(d["secret"], str))
                and (d["release"] is None or is_u64(d["release"]))
                and (d["officer"] is None or isinstance(d["officer"], str))
            )
            if not typed:
                fail(seq, "Malformed", "a due item's what, secret, release or officer is not of its type")
            time_field(d, seq, "since")


def os_error(e):
    """An OSError as breakglass (Rust) words it: `No such file or directory
    (os error 2)`."""
    if e.errno is not None and e.strerror:
        return "%s (os error %d)" % (e.strerror, e.errno)
    return str(e)


def check_officer_files(bundle, certs):
    """officers/ (a directory, not a symbolic link) holds exactly NAME.asc
    for each enrolled officer, each a regular file (not a symbolic link)
    whose armor (section 3.6, strict) holds the very bytes of the
    certificate the ledger enrolled under that name. The files are taken
    in the byte order of their names; every file's name, type and size is
    checked before any is compared with the ledger."""
    d = os.path.join(bundle, OFFICERS)

    def bad(why):
        fail(None, "BadOfficerFile", why)

    if os.path.islink(d):
        bad("officers is not a directory")
    try:
        names = sorted(os.listdir(os.fsencode(d)))
    except OSError as e:
        bad("%s: %s" % (d, os_error(e)))
    files = []
    for raw in names:
        file = raw.decode("utf-8", "replace")
        name = file[:-4] if file.endswith(".asc") else ""
        if not OFFICER_NAME.fullmatch(name):
            bad("officers/%s is not NAME.asc for a valid officer name" % file)
        path = os.path.join(d, file)
        if not stat.S_ISREG(os.lstat(path).st_mode):
            bad("officers/%s is not a regular file" % file)
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_SMALL_FILE + 1)
        except OSError as e:
            bad("officers/%s: %s" % (file, os_error(e)))
        if len(data) > MAX_SMALL_FILE:
            bad("officers/%s is larger than %d bytes" % (file, MAX_SMALL_FILE))
        files.append((name, data))
    enrolled = dict(certs)
    for name, data in files:
        if name not in enrolled:
            bad("officers/%s.asc is not an officer the ledger enrolled" % name)
        try:
            same = dearmor(data, "PUBLIC KEY BLOCK") == dearmor(enrolled[name].encode("utf-8"), "PUBLIC KEY BLOCK")
        except Bad:
            same = False
        if not same:
            bad("officers/%s.asc is not the certificate the ledger enrolled for %s" % (name, name))
    for name, _ in certs:
        if (name + ".asc").encode() not in names:
            bad("officers/%s.asc is missing" % name)


def check_ledger_cert_file(bundle, ledger_fingerprint):
    """ledger-cert.asc, when the bundle has one, is a certificate of the
    ledger key the genesis entry names (by fingerprint)."""
    path = os.path.join(bundle, LEDGER_CERT)
    if not os.path.isfile(path):
        return
    text = read_small(path, "BadLedgerCertFile")
    try:
        named = Cert(text.encode("utf-8")).fingerprint
    except Bad:
        named = None
    if named != ledger_fingerprint:
        fail(None, "BadLedgerCertFile", "%s is not the ledger key the genesis entry names" % LEDGER_CERT)


# ---------------------------------------------------------------------------
# The state file (docs/LEDGER.md section 7)

STATE_FIELDS = ("origin", "size", "root")


def _unexpected(v):
    """A JSON value as serde names what it found instead."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean `%s`" % ("true" if v else "false")
    if isinstance(v, int):
        return "integer `%d`" % v
    if isinstance(v, str):
        return "string %s" % q(v)
    return "sequence" if isinstance(v, list) else "map"


def load_state(path):
    """(origin, size, root or None) from the state file, or None if absent.
    An object with exactly origin (string), size (integer, at least 1) and
    root (string): members are checked in key order, as breakglass reads
    them; a member given twice counts once, with its last value."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        fail(None, "BadState", "%s: %s" % (path, os_error(e)))

    def bad(why):
        fail(None, "BadState", "%s: %s" % (path, why))

    def no_float(t):
        raise Bad("%s is not an integer" % t[:40])

    def integer(t):
        if len(t) > 21 or t == "-0" or not I64_MIN <= int(t) <= U64_MAX:
            no_float(t)
        return int(t)

    try:
        text = data.decode("utf-8")
        _check_depth(data)
        s = json.loads(text, parse_float=no_float, parse_int=integer, parse_constant=_no_constant)
        canonical(s)  # no lone surrogate
    except Bad as e:
        bad(e)
    except (ValueError, RecursionError) as e:
        bad("not JSON: %s" % e)
    if not isinstance(s, dict):
        bad("not a JSON object")
    for k in sorted(s):
        v = s[k]
        if k not in STATE_FIELDS:
            bad("unknown field `%s`, expected one of `origin`, `size`, `root`" % k)
        if k == "size":
            if isinstance(v, int) and not isinstance(v, bool) and v < 0:
                bad("invalid value: %s, expected u64" % _unexpected(v))
            if not is_u64(v):
                bad("invalid type: %s, expected u64" % _unexpected(v))
        elif not isinstance(v, str):
            bad("invalid type: %s, expected a string" % _unexpected(v))
    for k in STATE_FIELDS:
        if k not in s:
            bad("missing field `%s`" % k)
    if s["size"] == 0:
        bad("size 0: a ledger holds at least its genesis")
    return s["origin"], s["size"], decode_root(s["root"])


def save_state(path, cp):
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, "." + os.path.basename(path) + ".tmp")
    text = json.dumps({"origin": cp[0], "size": cp[1], "root": b64(cp[2])}, indent=2, ensure_ascii=False) + "\n"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        fail(None, "BadState", "cannot write %s: %s" % (path, e))


# ---------------------------------------------------------------------------

def parse_args(argv):
    bundle, pin, state = None, None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            sys.exit(0)
        if a in ("--pin", "--state"):
            if i + 1 == len(argv):
                raise Usage("%s needs a value" % a)
            if a == "--pin":
                pin = argv[i + 1]
            else:
                state = argv[i + 1]
            i += 2
            continue
        if a.startswith("--pin="):
            pin = a[len("--pin=") :]
        elif a.startswith("--state="):
            state = a[len("--state=") :]
        elif a.startswith("-"):
            raise Usage("unknown option %s" % a)
        elif bundle is None:
            bundle = a
        else:
            raise Usage("one bundle directory only")
        i += 1
    if bundle is None:
        raise Usage("usage: verify-ledger.py BUNDLE_DIR [--pin HEX] [--state FILE]")
    if pin is not None:
        p = pin.strip()
        if not re.fullmatch(r"[0-9A-Fa-f]{64}", p):
            raise Usage("--pin: a vault fingerprint is 64 hex digits (as `breakglass init` and `status` print it)")
        pin = bytes.fromhex(p)
    if not os.path.isdir(bundle):
        raise Usage("%s: no such directory" % bundle)
    return bundle, pin, state


def verify(bundle, pin, state_path):
    for f in (ENTRIES, CHECKPOINT, CHECKPOINT_SIG):
        if not os.path.isfile(os.path.join(bundle, f)):
            fail(None, "BadBundle", "%s has no %s" % (bundle, f))
    saved = load_state(state_path) if state_path else None
    v = Verifier(bundle, pin, state_path)
    v.integrity(saved)
    meaning = Meaning(v)
    meaning.run()
    check_officer_files(bundle, meaning.certs)
    check_ledger_cert_file(bundle, v.genesis_ledger_key)
    cp = v.checkpoint
    lifecycle = meaning.summary(int(time.time()))
    state = ""
    if state_path:
        save_state(state_path, cp)
        if saved is None:
            state = "; state %s created" % state_path
        else:
            state = "; state %s extended from %d to %d entries" % (state_path, saved[1], cp[1])
    if v.unchecked:
        sigs = "OpenPGP signatures NOT verified (no `cryptography`)"
    else:
        sigs = "%d OpenPGP signatures verified (%d checkpoint)" % (
            v.signatures + v.checkpoints_checked,
            v.checkpoints_checked,
        )
    print(
        "ledger OK (bundle %s): %s, %s, %s; checkpoint size %d root %s; "
        "vault fingerprint %s (%s); ledger key %s; %s%s"
        % (
            bundle,
            count(cp[1], "entry", "entries"),
            count(meaning.release_count, "release", "releases"),
            count(len(meaning.officers), "officer", "officers"),
            cp[1],
            b64(cp[2]),
            v.genesis_leaf.hex(),
            "pinned with --pin" if pin is not None else "not pinned: compare it with the one `init` printed, or pass --pin",
            v.ledger.fingerprint,
            sigs,
            state,
        )
    )
    for line in lifecycle:
        print(line)


def count(n, one, many):
    return "%d %s" % (n, one if n == 1 else many)


def one_line(s):
    return " ".join(str(s).split("\n"))


def main(argv):
    try:
        bundle, pin, state = parse_args(argv)
    except Usage as e:
        sys.stderr.write("%s: %s\n" % (PROG, one_line(e)))
        return 2
    if not HAVE_CRYPTOGRAPHY:
        sys.stderr.write(
            "%s: warning: the Python package `cryptography` is not installed: "
            "OpenPGP signatures are parsed but NOT verified\n" % PROG
        )
    try:
        verify(bundle, pin, state)
    except Failure as f:
        sys.stderr.write("%s: %s\n" % (PROG, one_line(f.line())))
        return 3
    except Exception as e:  # a bug or an I/O error: still one line
        sys.stderr.write("%s: error: %s: %s\n" % (PROG, type(e).__name__, one_line(e)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
