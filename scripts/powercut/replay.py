"""The disk after a power cut, rebuilt from the record of scripts/powercut/shim.c.

`Disk(before)` takes the directory tree a command started on (every byte of
it durable: the state left by the previous cut). `apply(log, dat)` replays
the shim's record of the command in order, keeping for each file and each
directory what is durable and what is only in the page cache. `build(dest,
model, rng)` writes the tree a power cut at the end of the record leaves.

Models (docs/RELIABILITY.md):

  strict: only what was made durable survives. A file's data is durable once
          an fsync or fdatasync of that file (through any descriptor) has
          returned; sync_file_range makes nothing durable. A directory
          entry (a created file, a mkdir, a rename, an unlink) is durable
          once an fsync of that directory has returned: a rename only when
          the directory it moves into, or out of, is synced (each side on
          its own). A file whose entry never became durable is lost with
          its data, however often the file was synced.
  torn:   strict, and then each write and each directory change that was
          not yet durable is kept or dropped at random, in order (a kept
          write may also be cut to a 512-byte-aligned prefix), as a disk
          that reorders and tears its writes might leave them.
"""

import os


class File:
    def __init__(self, data=b""):
        self.durable = bytes(data)
        self.current = bytearray(data)
        self.pending = []  # ("w", off, bytes) or ("t", len) since the last sync

    def write(self, off, data):
        if off > len(self.current):
            self.current.extend(b"\0" * (off - len(self.current)))
        self.current[off:off + len(data)] = data
        self.pending.append(("w", off, data))

    def truncate(self, n):
        if n < len(self.current):
            del self.current[n:]
        else:
            self.current.extend(b"\0" * (n - len(self.current)))
        self.pending.append(("t", n))

    def sync(self):
        self.durable = bytes(self.current)
        self.pending = []

    def after_cut(self, model, rng):
        if model == "strict" or not self.pending:
            return self.durable
        out = bytearray(self.durable)
        for op in self.pending:
            if rng.random() < 0.5:
                continue
            if op[0] == "t":
                n = op[1]
                if n < len(out):
                    del out[n:]
                else:
                    out.extend(b"\0" * (n - len(out)))
                continue
            _, off, data = op
            if rng.random() < 0.25:
                data = data[:rng.randrange(0, len(data) + 1) // 512 * 512]
            if off > len(out):
                out.extend(b"\0" * (off - len(out)))
            out[off:off + len(data)] = data
        return bytes(out)


class Dir:
    def __init__(self, entries=None):
        self.durable = dict(entries or {})
        self.current = dict(entries or {})
        self.pending = []  # ("set", name, obj) or ("del", name)

    def set(self, name, obj):
        self.current[name] = obj
        self.pending.append(("set", name, obj))

    def remove(self, name):
        obj = self.current.pop(name, None)
        self.pending.append(("del", name))
        return obj

    def sync(self):
        self.durable = dict(self.current)
        self.pending = []

    def after_cut(self, model, rng):
        if model == "strict" or not self.pending:
            return self.durable
        out = dict(self.durable)
        for op in self.pending:
            if rng.random() < 0.5:
                continue
            if op[0] == "set":
                out[op[1]] = op[2]
            else:
                out.pop(op[1], None)
        return out


class Disk:
    def __init__(self, before):
        """`before`: the directory the command ran on (read now, before
        the command changes it)."""
        self.objs = {}
        self.root = self._load(before)
        self.ops = 0

    def _load(self, path):
        st = os.lstat(path)
        if os.path.isdir(path):
            entries = {name: self._load(os.path.join(path, name)) for name in sorted(os.listdir(path))}
            obj = Dir(entries)
        else:
            with open(path, "rb") as f:
                obj = File(f.read())
        self.objs[st.st_ino] = obj
        return obj

    def apply(self, log_path, dat_path):
        """Replays the record. Operations on inodes outside the tree (stdout,
        files elsewhere) are counted and otherwise ignored."""
        with open(dat_path, "rb") as f:
            dat = f.read()
        with open(log_path, "r") as f:
            lines = f.read().split("\n")
        for line in lines:
            if not line:
                continue
            self.ops += 1
            op, *a = line.split(" ")
            if op == "W":
                obj = self.objs.get(int(a[0]))
                if isinstance(obj, File):
                    off, n, at = int(a[1]), int(a[2]), int(a[3])
                    obj.write(off, dat[at:at + n])
            elif op == "T":
                obj = self.objs.get(int(a[0]))
                if isinstance(obj, File):
                    obj.truncate(int(a[1]))
            elif op == "F":
                obj = self.objs.get(int(a[0]))
                if obj is not None:
                    obj.sync()
            elif op in ("C", "M"):
                new = File() if op == "C" else Dir()
                self.objs[int(a[2])] = new  # an inode number may be reused
                parent = self.objs.get(int(a[0]))
                if isinstance(parent, Dir):
                    parent.set(a[1], new)
            elif op == "R":
                src, dst = self.objs.get(int(a[0])), self.objs.get(int(a[2]))
                moved = src.remove(a[1]) if isinstance(src, Dir) else None
                if isinstance(dst, Dir) and moved is not None:
                    dst.set(a[3], moved)
            elif op == "U":
                parent = self.objs.get(int(a[0]))
                if isinstance(parent, Dir):
                    parent.remove(a[1])
            elif op in ("S", "O"):
                pass
            else:
                raise ValueError(f"powercut: unknown record {line!r}")

    def build(self, dest, model="strict", rng=None):
        """Writes the tree a power cut now leaves at `dest` (must not exist)."""
        self._build(self.root, dest, model, rng, set())

    def _build(self, d, dest, model, rng, seen):
        os.mkdir(dest, 0o700)
        for name, obj in sorted(d.after_cut(model, rng).items()):
            if id(obj) in seen:
                continue  # a torn rename left it under two names: keep one
            seen.add(id(obj))
            path = os.path.join(dest, name)
            if isinstance(obj, Dir):
                self._build(obj, path, model, rng, seen)
            else:
                with open(path, "wb") as f:
                    f.write(obj.after_cut(model, rng))
                os.chmod(path, 0o600)
