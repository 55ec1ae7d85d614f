#!/usr/bin/python3
"""Writes a directory tree as a reproducible "newc" cpio archive, the format the kernel unpacks
as an initramfs.

    mkcpio.py [--epoch N] [--node PATH:c|b:MAJOR:MINOR:MODE]... DIR OUT

Reproducible: entries sorted by path (byte order, each directory before its contents), every
mtime N (default $SOURCE_DATE_EPOCH, else 0), uid/gid 0, inode numbers counted from 1, nlink 1
(2 for directories), device numbers 0. Permission bits are taken from the tree as they are (the
caller sets them). Hard links are written as separate files. Regular files, directories and
symlinks only, plus device nodes given with --node (so no root or mknod is needed to stage them),
e.g. --node dev/console:c:5:1:0600.
"""
import argparse
import os
import stat
import sys


def header(ino, mode, nlink, mtime, size, rdev_major, rdev_minor, name):
    fields = [ino, mode, 0, 0, nlink, mtime, size, 0, 0, rdev_major, rdev_minor, len(name) + 1, 0]
    return b"070701" + b"".join(b"%08X" % v for v in fields)


def pad4(n):
    return (4 - n % 4) % 4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0") or 0))
    ap.add_argument("--node", action="append", default=[])
    ap.add_argument("dir")
    ap.add_argument("out")
    a = ap.parse_args()

    entries = {}  # archive path (bytes, no leading "/") -> (kind, data)
    root = os.fsencode(a.dir)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                entries[rel] = (stat.S_IFDIR | stat.S_IMODE(st.st_mode), b"")
            elif stat.S_ISLNK(st.st_mode):
                entries[rel] = (stat.S_IFLNK | 0o777, os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as f:
                    entries[rel] = (stat.S_IFREG | stat.S_IMODE(st.st_mode), f.read())
            else:
                sys.exit(f"mkcpio.py: {full.decode()}: unsupported file type (use --node for devices)")
    nodes = {}
    for spec in a.node:
        try:
            path, kind, major, minor, mode = spec.split(":")
            t = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
            nodes[os.fsencode(path.strip("/"))] = (t | int(mode, 8), int(major), int(minor))
        except (ValueError, KeyError):
            sys.exit(f"mkcpio.py: bad --node {spec!r} (want PATH:c|b:MAJOR:MINOR:MODE)")

    # Sorting by path components puts every directory right before its contents.
    names = sorted(set(entries) | set(nodes), key=lambda p: p.split(b"/"))
    out = bytearray()
    for ino, name in enumerate(names, start=1):
        if name in nodes:
            mode, major, minor = nodes[name]
            data = b""
        else:
            mode, data = entries[name]
            major = minor = 0
        nlink = 2 if stat.S_ISDIR(mode) else 1
        h = header(ino, mode, nlink, a.epoch, len(data), major, minor, name)
        out += h + name + b"\0"
        out += b"\0" * pad4(len(h) + len(name) + 1)
        out += data + b"\0" * pad4(len(data))
    t = b"TRAILER!!!"
    h = header(0, 0, 1, 0, 0, 0, 0, t)
    out += h + t + b"\0" + b"\0" * pad4(len(h) + len(t) + 1)
    with open(a.out, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
