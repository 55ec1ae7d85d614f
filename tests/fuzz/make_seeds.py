#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/seeds/<target>/.

The seeds are committed; run this again after changing it. Each corpus is
small on purpose: a handful of inputs that reach every branch the target
knows about, for libFuzzer to mutate from.
  reference: references in every accepted shape, and some refused ones
  manifest:  OCI/Docker manifests and indexes as registries serve them
  apply:     tiny tar, tar.gz and tar.zst layers: files, dirs, modes,
             symlinks, hard links, fifos and devices, xattrs, long names,
             whiteouts, opaque dirs, a root entry, and escape attempts
             (`..`, absolute paths, writing through symlinks, hard links out)

Usage: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "seeds")

# One 512-byte record at the end instead of tarfile's 10 KiB: small seeds.
tarfile.RECORDSIZE = 512

REFERENCES = [
    "alpine",
    "oci://alpine:3.19",
    "library/alpine@sha256:" + "a" * 64,
    "docker.io/rancher/elemental:v1.2",
    "index.docker.io/user/repo",
    "oci://registry.example:5000/team/os/image:v1.0-rc1",
    "localhost:5000/os",
    "localhost/os:latest",
    "127.0.0.1:5000/a/b/c:tag@sha256:" + "0123456789abcdef" * 4,
    "[::1]:5000/os:v1",
    "ghcr.io/some-org/some_repo__x.y:1.2.3",
    "quay.io/a-b--c/d",
    "oci://",
    "Registry.Example/UPPER:tag",
    "host/repo:bad:tag",
    "repo@sha512:" + "a" * 128,
    "repo:" + "t" * 129,
]

DIGESTS = ["sha256:" + c * 64 for c in "0123456789abcdef"]
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def desc(media_type, i, size, platform=None):
    d = {"mediaType": media_type, "digest": DIGESTS[i % 16], "size": size}
    if platform:
        d["platform"] = platform
    return d


MANIFESTS = {
    "oci-manifest.json": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": desc("application/vnd.oci.image.config.v1+json", 0, 1469),
        "layers": [desc(OCI_LAYER + "+gzip", 1, 3374598),
                   desc(OCI_LAYER + "+zstd", 2, 1024),
                   desc(OCI_LAYER, 3, 10240)],
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    },
    "docker-manifest.json": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": desc("application/vnd.docker.container.image.v1+json", 4, 7023),
        "layers": [desc("application/vnd.docker.image.rootfs.diff.tar.gzip", 5, 32654),
                   desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", 6, 16724)],
    },
    "oci-index.json": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            desc("application/vnd.oci.image.manifest.v1+json", 7, 1234,
                 {"os": "linux", "architecture": "amd64"}),
            desc("application/vnd.oci.image.manifest.v1+json", 8, 1234,
                 {"os": "linux", "architecture": "arm64", "variant": "v8"}),
            desc("application/vnd.oci.image.manifest.v1+json", 9, 1234,
                 {"os": "linux", "architecture": "arm", "variant": "v7"}),
            desc("application/vnd.oci.image.manifest.v1+json", 10, 1234),
        ],
    },
    "docker-list.json": {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            desc("application/vnd.docker.distribution.manifest.v2+json", 11, 528,
                 {"os": "linux", "architecture": "amd64", "os.version": "x"}),
            desc("application/vnd.docker.distribution.manifest.v2+json", 12, 528,
                 {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"}),
        ],
    },
    # No mediaType: the shape decides.
    "bare-index.json": {"schemaVersion": 2, "manifests": [desc("x", 13, 1)]},
    "bare-manifest.json": {"schemaVersion": 2, "config": desc("x", 14, 2), "layers": []},
    "bad-layer-type.json": {"config": desc("x", 15, 2),
                            "layers": [desc("application/octet-stream", 0, -1)]},
}


def entry(name, type_=tarfile.REGTYPE, mode=0o644, data=b"", link="", uid=0, gid=0,
          major=0, minor=0, pax=None, mtime=1700000000):
    return dict(name=name, type=type_, mode=mode, data=data, link=link, uid=uid, gid=gid,
                major=major, minor=minor, pax=pax or {}, mtime=mtime)


def make_tar(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.type = e["type"]
            ti.mode = e["mode"]
            ti.uid, ti.gid = e["uid"], e["gid"]
            ti.mtime = e["mtime"]
            ti.linkname = e["link"]
            ti.devmajor, ti.devminor = e["major"], e["minor"]
            ti.pax_headers = e["pax"]
            ti.size = len(e["data"]) if e["type"] == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(e["data"]) if ti.size else None)
    return buf.getvalue()


def gz(b):
    return gzip.compress(b, mtime=0)


def zst(b):
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=b, stdout=subprocess.PIPE,
                          check=True).stdout


def header_only(name, typeflag, size):
    """One GNU tar header block and nothing after it (the data is missing)."""
    h = bytearray(512)
    def put(off, v):
        h[off:off + len(v)] = v
    put(0, name.encode())
    put(100, b"0000644\0")
    put(108, b"0000000\0")
    put(116, b"0000000\0")
    put(124, b"%011o\0" % size)
    put(136, b"00000000000\0")
    h[156] = ord(typeflag)
    put(257, b"ustar  \0")
    put(148, b" " * 8)
    put(148, b"%06o\0" % sum(h))
    return bytes(h)


LAYERS = {
    "basic.tar": make_tar([
        entry("./", tarfile.DIRTYPE, 0o755),
        entry("etc/", tarfile.DIRTYPE, 0o755),
        entry("etc/hostname", data=b"node\n"),
        entry("etc/shadow", mode=0o640, gid=42, data=b"root:*:19000::::::\n"),
        entry("usr/bin/su", mode=0o4755, data=b"\x7fELF"),
        entry("tmp/", tarfile.DIRTYPE, 0o1777),
        entry("bin", tarfile.SYMTYPE, 0o777, link="usr/bin"),
        entry("usr/bin/sh", tarfile.SYMTYPE, 0o777, link="/usr/bin/dash"),
        entry("usr/bin/dash", data=b"#!dash"),
        entry("usr/bin/ash", tarfile.LNKTYPE, link="usr/bin/dash"),
        entry("dev/null", tarfile.CHRTYPE, 0o666, major=1, minor=3),
        entry("dev/sda", tarfile.BLKTYPE, 0o660, gid=6, major=8, minor=0),
        entry("run/initctl", tarfile.FIFOTYPE, 0o600),
        entry("usr/bin/ping", mode=0o755, data=b"ping",
              pax={"SCHILY.xattr.security.capability":
                   "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
                   "SCHILY.xattr.user.note": "x"}),
        entry("a/" + "long-name-" * 12 + "end", data=b"long"),
    ]),
    "whiteouts.tar.gz": gz(make_tar([
        entry("etc/", tarfile.DIRTYPE, 0o755),
        entry("etc/old", data=b"old"),
        entry("etc/.wh.old"),
        entry("var/", tarfile.DIRTYPE, 0o755),
        entry("var/cache/x", data=b"x"),
        entry("var/cache/.wh..wh..opq"),
        entry("var/cache/new", data=b"new"),
        entry("opt/dir/", tarfile.DIRTYPE, 0o700),
        entry("opt/.wh.dir"),
        entry("opt/file", data=b"f"),
        entry("opt/file/", tarfile.DIRTYPE, 0o755),
    ])),
    "links.tar.zst": zst(make_tar([
        entry("data/", tarfile.DIRTYPE, 0o755),
        entry("data/f", data=b"content"),
        entry("data/h1", tarfile.LNKTYPE, link="data/f"),
        entry("data/h2", tarfile.LNKTYPE, link="./data/h1"),
        entry("l", tarfile.SYMTYPE, 0o777, link="data"),
        entry("l/through-link", data=b"t"),
        entry("abs", tarfile.SYMTYPE, 0o777, link="/data"),
        entry("abs/through-abs", data=b"a"),
        entry("loop", tarfile.SYMTYPE, 0o777, link="loop"),
        entry("dot", tarfile.SYMTYPE, 0o777, link="."),
        entry("dot/dot/x", data=b"d"),
    ])),
    # Against what fuzz_apply's lower layer left: whiteouts, opaque dirs,
    # hard links to lower files, replacing and writing through symlinks.
    "lower.tar": make_tar([
        entry("etc/.wh.passwd"),
        entry("var/cache/.wh..wh..opq"),
        entry("usr/bin/dash", tarfile.LNKTYPE, link="usr/bin/ash"),
        entry("bin/through-rel", data=b"r"),
        entry("lib/through-abs", data=b"a"),
        entry("etc/abs-passwd", data=b"replaced symlink"),
        entry("var/up/evil", data=b"x"),
        entry("var/up", tarfile.DIRTYPE, 0o755),
    ]),
    "gnu-longname.tar": make_tar([
        entry("g/" + "n" * 150, data=b"gnu"),
        entry("g/" + "s" * 120, tarfile.SYMTYPE, 0o777, link="t" * 120),
    ], fmt=tarfile.GNU_FORMAT),
    "escape-dotdot.tar": make_tar([entry("../evil", data=b"x")]),
    "escape-nested.tar": make_tar([entry("a/../../evil", data=b"x")]),
    "escape-absolute.tar": make_tar([entry("/evil", data=b"x")]),
    "escape-symlink-dir.tar": make_tar([
        entry("up", tarfile.SYMTYPE, 0o777, link="../"),
        entry("up/evil", data=b"x"),
    ]),
    "escape-symlink-chain.tar.gz": gz(make_tar([
        entry("d/", tarfile.DIRTYPE, 0o755),
        entry("d/l", tarfile.SYMTYPE, 0o777, link="../../"),
        entry("d/l/outside", data=b"overwritten"),
    ])),
    "escape-hardlink.tar": make_tar([entry("hl", tarfile.LNKTYPE, link="../outside")]),
    "escape-hardlink-symlink.tar": make_tar([
        entry("up", tarfile.SYMTYPE, 0o777, link=".."),
        entry("hl", tarfile.LNKTYPE, link="up/outside"),
    ]),
    "escape-whiteout.tar.zst": zst(make_tar([
        entry("up", tarfile.SYMTYPE, 0o777, link="../.."),
        entry("up/.wh.outside"),
        entry("up/.wh..wh..opq"),
    ])),
    # libarchive fails on this without a message (a finding of fuzz_apply).
    "gnu-longname-cut.tar": header_only("././@LongLink", "L", 153),
    "truncated.tar.gz": gz(make_tar([entry("f", data=b"y" * 3000)]))[:300],
}


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    for i, r in enumerate(REFERENCES):
        write("reference", "ref-%02d" % i, r.encode())
    for name, doc in MANIFESTS.items():
        write("manifest", name, json.dumps(doc, indent=2).encode())
    for name, data in LAYERS.items():
        write("apply", name, data)
    for t in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, t))
        size = sum(os.path.getsize(os.path.join(OUT, t, f)) for f in files)
        print("%s: %d seeds, %d bytes" % (t, len(files), size))


if __name__ == "__main__":
    main()
