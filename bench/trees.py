#!/usr/bin/env python3
"""Helper of bench/trees.sh: makes a seeded tree of files, writes its manifest, checks a copy against it.

  trees.py gen DIR --seed N --small N --dirs N --min BYTES --max BYTES --large N --large-size BYTES
      small files dNNN/fNNNNNN.dat (sizes uniform in [min, max], spread round-robin over the directories) and
      large files big-N.dat at the top; the same arguments always give the same names, sizes and bytes.
      Prints "FILES BYTES".
  trees.py manifest DIR          one line per directory ("dir PATH") and file ("SHA256 SIZE PATH"), sorted
  trees.py check MANIFEST DIR    "ok", or "WRONG: ..." (missing, extra, differing entries) and exit status 1
"""
import hashlib
import os
import random
import sys

CHUNK = 1 << 20


def gen(root, seed, small, dirs, lo, hi, large, large_size):
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=False)
    total = 0
    for d in range(dirs):
        os.mkdir(os.path.join(root, "d%03d" % d))
    for i in range(small):
        size = rng.randint(lo, hi)
        with open(os.path.join(root, "d%03d" % (i % dirs), "f%06d.dat" % i), "wb") as f:
            f.write(rng.randbytes(size))
        total += size
    for i in range(large):
        with open(os.path.join(root, "big-%d.dat" % i), "wb") as f:
            left = large_size
            while left > 0:
                n = min(left, CHUNK)
                f.write(rng.randbytes(n))
                left -= n
        total += large_size
    print(small + large, total)


def manifest(root):
    lines = []
    for here, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(here, root)
        if rel != ".":
            lines.append("dir - %s" % rel)
        for name in filenames:
            path = os.path.join(here, name)
            h = hashlib.sha256()
            size = 0
            with open(path, "rb") as f:
                while True:
                    b = f.read(CHUNK)
                    if not b:
                        break
                    h.update(b)
                    size += len(b)
            lines.append("%s %d %s" % (h.hexdigest(), size, os.path.normpath(os.path.join(rel, name))))
    lines.sort(key=lambda l: l.split(" ", 2)[2])
    return lines


def check(manifest_file, root):
    if not os.path.isdir(root):
        print("WRONG: destination %s is not a directory" % root)
        return 1
    want = {l.split(" ", 2)[2]: l for l in open(manifest_file).read().splitlines()}
    got = {l.split(" ", 2)[2]: l for l in manifest(root)}
    missing = [p for p in want if p not in got]
    extra = [p for p in got if p not in want]
    differ = [p for p in want if p in got and got[p] != want[p]]
    if not missing and not extra and not differ:
        print("ok")
        return 0
    parts = []
    for what, paths in (("missing", missing), ("extra", extra), ("differ", differ)):
        if paths:
            parts.append("%d %s (e.g. %s)" % (len(paths), what, sorted(paths)[0]))
    print("WRONG: " + ", ".join(parts))
    return 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "gen":
        opts = dict(zip(argv[2::2], argv[3::2]))
        gen(argv[1], int(opts["--seed"]), int(opts["--small"]), int(opts["--dirs"]), int(opts["--min"]),
            int(opts["--max"]), int(opts["--large"]), int(opts["--large-size"]))
        return 0
    if len(argv) == 2 and argv[0] == "manifest":
        print("\n".join(manifest(argv[1])))
        return 0
    if len(argv) == 3 and argv[0] == "check":
        return check(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
