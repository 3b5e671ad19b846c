#!/usr/bin/env python3
"""breakglass reference alert receiver (docs/ALERTS.md, "Receiving events").

Usage, as the hook (one event on stdin, Python 3 standard library only):

    breakglass alerts set --officer O -- /usr/bin/python3 \\
        /usr/local/lib/breakglass/alert-receiver.py [--pin FINGERPRINT] LOG

    alert-receiver.py --witness-request < EVENT   # the C2SP add-checkpoint body

It keeps every event, exactly as delivered, one line each, in LOG (put it
where the vault's operators cannot rewrite it: another machine's mount, a
write-once store). Before keeping an event it checks, with SHA-256 alone,
that the event's checkpoint extends the last kept one (the RFC 6962
consistency proof the event carries). It exits:

    0  the event is kept (or is a byte-identical copy of a kept one)
    1  ALARM: the vault's ledger was rolled back, restored from an older
       copy or forked; or an event is missing, so nothing proves it was not
    2  the input is not a breakglass event of format 3, or LOG is another
       vault's or unreadable: nothing is kept

On an alarm it writes LOG.alarm (the reason, then each refused event) and
from then on refuses every event, exit 1, so the vault keeps them queued and
`breakglass alerts status` shows the alarm, until an operator intervenes:
investigate with `breakglass ledger verify --checkpoint` given the kept and
the refused events, then move LOG and LOG.alarm aside (keep both: they are
the evidence). The next event starts a new LOG.

It does not check signatures (that needs more than the standard library):
`breakglass ledger verify --checkpoint` and docs/verify-ledger.py do.
"""

import base64
import binascii
import fcntl
import hashlib
import json
import os
import re
import sys

EVENT_VERSION = 4
NAME = "breakglass alert receiver"


class Refused(Exception):
    """Not an event this receiver can keep (exit 2)."""


class Alarm(Exception):
    """Evidence of a rollback or fork (exit 1)."""


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(old_size, new_size, old_root, new_root, proof):
    """RFC 9162 section 2.1.4.2: the tree of new_size leaves with new_root
    extends the tree of old_size leaves with old_root."""
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    path = ([old_root] if old_size & (old_size - 1) == 0 else []) + list(proof)
    if not path:
        return False
    fnode, snode = old_size - 1, new_size - 1
    while fnode & 1:
        fnode >>= 1
        snode >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if snode == 0:
            return False
        if fnode & 1 or fnode == snode:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fnode & 1 == 0 and fnode != 0:
                fnode >>= 1
                snode >>= 1
        else:
            sr = node_hash(sr, c)
        fnode >>= 1
        snode >>= 1
    return snode == 0 and fr == old_root and sr == new_root


def b64_hash(s, what):
    try:
        b = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError, TypeError):
        b = b""
    if len(b) != 32 or base64.b64encode(b).decode() != s:
        raise Refused("%s is not 32 bytes of base64" % what)
    return b


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


class Event:
    def __init__(self, line):
        self.line = line
        try:
            e = json.loads(line)
        except ValueError:
            raise Refused("not one line of JSON")
        if not isinstance(e, dict):
            raise Refused("not a JSON object")
        if e.get("v") != EVENT_VERSION:
            raise Refused("not an event of format version %d (v is %r)" % (EVENT_VERSION, e.get("v")))
        self.vault = e.get("vault")
        self.fingerprint = e.get("fingerprint")
        self.seq = e.get("seq")
        self.old_size = e.get("old_size")
        proof = e.get("proof")
        if not (isinstance(self.vault, str) and re.fullmatch(r"[0-9a-f]{32}", self.vault)):
            raise Refused("vault is not 32 hex digits")
        if not (isinstance(self.fingerprint, str) and re.fullmatch(r"[0-9a-f]{64}", self.fingerprint)):
            raise Refused("fingerprint is not 64 hex digits")
        if not is_int(self.seq) or not is_int(self.old_size) or not isinstance(proof, list):
            raise Refused("seq, old_size or proof is missing")
        self.proof = [b64_hash(p, "a proof hash") for p in proof]
        cp = e.get("checkpoint")
        parts = cp.split("\n") if isinstance(cp, str) else []
        # The origin: breakglass/<vault>, or after a restore with a gap
        # breakglass/<vault>/restore-<seq> (docs/LEDGER.md section 5.1).
        base = "breakglass/" + self.vault
        if (
            len(parts) != 4
            or parts[3] != ""
            or not (parts[0] == base or re.fullmatch(re.escape(base) + r"/restore-(0|[1-9][0-9]*)", parts[0]))
        ):
            raise Refused("the checkpoint is not an origin of this vault, size and root")
        self.origin = parts[0]
        if parts[1] != str(self.seq + 1):
            raise Refused("the checkpoint's size is not seq + 1")
        self.size = self.seq + 1
        self.root = b64_hash(parts[2], "the checkpoint's root")
        self.note = e.get("note")
        try:
            entry = json.loads(e.get("entry"))
        except (TypeError, ValueError):
            entry = None
        if not isinstance(entry, dict) or entry.get("seq") != self.seq:
            raise Refused("the entry is not entry %d" % self.seq)
        if self.old_size < 1 or self.old_size > self.seq:
            raise Refused("old_size is not between 1 and seq")


def receive(log, line, pin):
    alarm_path = log + ".alarm"
    if os.path.exists(alarm_path):
        with open(alarm_path, encoding="utf-8") as f:
            text = f.read()
        if line + "\n" not in text:
            with open(alarm_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        reason = text.split("\n", 1)[0]
        raise Alarm("raised earlier, kept until an operator settles it (docs/ALERTS.md): %s" % reason)
    event = Event(line)
    kept = {}
    last = None
    try:
        with open(log, encoding="utf-8") as f:
            for n, l in enumerate(f, 1):
                l = l.rstrip("\n")
                try:
                    k = Event(l)
                except Refused as e:
                    raise Refused("%s line %d is not a kept event: %s" % (log, n, e))
                kept[k.seq] = (n, k)
                last = k if last is None or k.seq > last.seq else last
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as e:
        raise Refused("cannot read %s: %s" % (log, e))

    def alarm(why):
        with open(alarm_path, "a", encoding="utf-8") as f:
            f.write("entry %d: %s\n%s\n" % (event.seq, why, line))
            f.flush()
            os.fsync(f.fileno())
        raise Alarm("entry %d: %s" % (event.seq, why))

    if last is None:
        if pin is not None and event.fingerprint != pin:
            alarm("the vault fingerprint is %s, not the pinned %s" % (event.fingerprint, pin))
    else:
        if event.vault != last.vault:
            raise Refused("%s keeps vault %s's events, not vault %s's: give each vault its own log" % (log, last.vault, event.vault))
        if event.fingerprint != last.fingerprint:
            alarm("the vault fingerprint changed from %s to %s: another ledger under the same vault id" % (last.fingerprint, event.fingerprint))
        if event.origin != last.origin:
            alarm(
                "the ledger now signs as %s, not %s: the vault was restored from a backup that may have lost entries; compare this log with the auditors' export before anyone acknowledges the gap"
                % (event.origin, last.origin)
            )
        if event.seq in kept:
            n, k = kept[event.seq]
            if k.line == line:
                return "duplicate"
            alarm(
                "arrived again with different content (kept on line %d): the ledger was rolled back, restored from an older copy or forked"
                % n
            )
        if event.seq < last.seq:
            alarm("arrived after entry %d and was never kept: the ledger was rolled back, or events were withheld" % last.seq)
        if event.old_size != last.size:
            alarm(
                "nothing proves it extends the last kept entry %d (tree size %d): its proof starts at size %d, so events were withheld or lost; check with `breakglass ledger verify --checkpoint`"
                % (last.seq, last.size, event.old_size)
            )
        if not verify_consistency(last.size, event.size, last.root, event.root, event.proof):
            alarm(
                "its checkpoint (size %d) does not extend the last kept checkpoint (entry %d, size %d): the ledger was forked or rolled back"
                % (event.size, last.seq, last.size)
            )
    with open(log, "a", encoding="utf-8") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return "kept"


def witness_request(line):
    """The C2SP tlog-witness add-checkpoint request body for an event."""
    event = Event(line)
    if not isinstance(event.note, str):
        raise Refused("the event has no note")
    proof = "".join(base64.b64encode(h).decode() + "\n" for h in event.proof)
    return "old %d\n%s\n%s" % (event.old_size, proof, event.note)


def main(argv):
    args = argv[1:]
    pin = None
    if args[:1] == ["--witness-request"] and len(args) == 1:
        sys.stdout.write(witness_request(read_event()))
        return 0
    if args[:1] == ["--pin"] and len(args) >= 2:
        pin = args[1].lower()
        if not re.fullmatch(r"[0-9a-f]{64}", pin):
            raise Refused("--pin takes the vault fingerprint, 64 hex digits")
        args = args[2:]
    if len(args) != 1 or args[0].startswith("-"):
        raise Refused("usage: alert-receiver.py [--pin FINGERPRINT] LOG, or --witness-request")
    log = os.path.abspath(args[0])
    line = read_event()
    # One delivery at a time per log: the vault's commands and the console
    # may each deliver.
    with open(log + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        receive(log, line, pin)
    return 0


def read_event():
    data = sys.stdin.buffer.read(1 << 20)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the event is not UTF-8")
    if not text.endswith("\n") or "\n" in text[:-1]:
        raise Refused("the event is not one line")
    return text[:-1]


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Alarm as e:
        print("%s: ALARM: %s" % (NAME, e), file=sys.stderr)
        sys.exit(1)
    except Refused as e:
        print("%s: refused: %s" % (NAME, e), file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        print("%s: %s" % (NAME, e), file=sys.stderr)
        sys.exit(2)
