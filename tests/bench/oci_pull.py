"""Prints how fast `elemental-agent pull` writes a real OS image compared with
`skopeo copy docker://... oci:DIR` followed by `umoci unpack`, in the same run,
and the machine's gzip-decompression limit for the same layers (`zcat` of the
blobs to /dev/null). A script that prints figures, not a test: nothing here
passes or fails on a number.

The image is a Debian root filesystem made with debootstrap from the apt
mirror this machine uses, in five gzip layers built with `umoci repack`:
  1. everything but /usr and /var     3. the rest of /usr
  2. /usr/lib                         4. /var (with apt's downloaded .debs)
  5. a whiteout of /var/cache/apt/archives (an "apt-get clean" layer)
It is pushed to Debian's docker-registry on 127.0.0.1. The tree, the OCI
layout and the registry storage are cached in $ELEMENTAL_BENCH_CACHE
(default /var/cache/elemental-agent/bench), so only the first run pays for
debootstrap (~2 min with a nearby mirror) and the image build.

The trees are written to a fresh ext4 file system on a loop device (as an
install writes to a freshly formatted slot), or under --target-dir. Each
round, with the blobs in the page cache (zcat reads them first) and a `sync`
(not timed) before each tool so writeback of one does not slow the next;
every tree is kept until the end (on ext4, creating files soon after many
were deleted is slow, which would let one round or tool pay for another;
about 1.1 GB per round):
  zcat          every layer blob to /dev/null, one after the other
  ours          elemental-agent pull oci://REG/bench/debian:bookworm --to DIR
  skopeo+umoci  skopeo copy docker://REG/... oci:LAYOUT:bookworm, then
                umoci unpack --image LAYOUT:bookworm BUNDLE
Wall time, MB/s (1 MB = 10^6 bytes) of compressed and of uncompressed (tar)
bytes, peak RSS (ru_maxrss of each process, through GNU time) and CPU time are
printed; for skopeo+umoci the times add up and the RSS is the larger of the
two. After the first round the tree written by the agent is compared with
umoci's rootfs (every entry: type, mode, owner, mtime, size, content hash,
links, xattrs; the root directory itself is left out).

Usage (root; debootstrap, docker-registry, skopeo, umoci installed):
  /usr/bin/python3 tests/bench/oci_pull.py build/agent/elemental-agent [--rounds N] [--mirror URL]
      [--target-dir DIR]
"""

import argparse
import glob
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "lib"))

from oci_registry import diff_trees, missing_prerequisites, start_registry, tree  # noqa: E402

CACHE = Path(os.environ.get("ELEMENTAL_BENCH_CACHE", "/var/cache/elemental-agent/bench"))
SUITE = "bookworm"
# debootstrap --variant=minbase plus what a small server OS has.
INCLUDE = "systemd,systemd-sysv,iproute2,openssh-server,curl,ca-certificates,less,vim-tiny,python3,perl"
# Bump when the layer plan below changes: the cached layout and registry are rebuilt.
IMAGE_VERSION = "2"
REPO, TAG = "bench/debian", SUITE
MB = 1e6

# All traffic is local: the machine's proxy settings must not apply.
for _k in [k for k in os.environ if k.lower().endswith("_proxy")]:
    del os.environ[_k]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def apt_mirror():
    """The first Debian archive URI of this machine's apt sources for SUITE."""
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*"))
    for f in files:
        try:
            text = Path(f).read_text()
        except OSError:
            continue
        for line in text.splitlines():  # one-line style: deb [opts] URI suite comps
            m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
            if m and m.group(2) == SUITE and "main" in m.group(3).split():
                return m.group(1)
        for stanza in re.split(r"\n\s*\n", text):  # deb822 style
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
            if ("deb" in fields.get("Types", "").split() and
                    SUITE in fields.get("Suites", "").split() and
                    "main" in fields.get("Components", "").split()):
                return fields["URIs"].split()[0]
    return "http://deb.debian.org/debian"


def ensure_rootfs(mirror):
    rootfs = CACHE / f"rootfs-{SUITE}"
    if rootfs.is_dir():
        return rootfs
    tmp = CACHE / f"rootfs-{SUITE}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"debootstrap {SUITE} from {mirror} into {tmp} (once; cached) ...")
    sh("debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, tmp, mirror,
       stdout=subprocess.DEVNULL)
    tmp.rename(rootfs)
    return rootfs


def ensure_layout(rootfs):
    """The OCI layout with the five layers; returns its path."""
    layout = CACHE / f"layout-v{IMAGE_VERSION}"
    if (layout / "index.json").exists():
        return layout
    tmp = CACHE / f"layout-v{IMAGE_VERSION}.tmp"
    bundle = CACHE / "bundle.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(bundle, ignore_errors=True)
    img = f"{tmp}:{TAG}"
    log(f"building the image in {tmp} (once; cached) ...")
    sh("umoci", "init", "--layout", tmp)
    sh("umoci", "new", "--image", img)
    sh("umoci", "unpack", "--image", img, bundle, stdout=subprocess.DEVNULL)
    r = bundle / "rootfs"

    def copy(src_names, src_dir, dst_dir):
        # cp -a keeps modes, owners, times, xattrs, hard links and devices.
        sh("cp", "-a", *[src_dir / n for n in src_names], dst_dir)

    def layer():
        sh("umoci", "repack", "--refresh-bundle", "--image", img, bundle,
           stdout=subprocess.DEVNULL)

    copy([e for e in sorted(os.listdir(rootfs)) if e not in ("usr", "var")], rootfs, r)
    layer()
    (r / "usr").mkdir()
    copy(["lib"], rootfs / "usr", r / "usr")
    shutil.copystat(rootfs / "usr", r / "usr")
    layer()
    copy([e for e in sorted(os.listdir(rootfs / "usr")) if e != "lib"], rootfs / "usr", r / "usr")
    shutil.copystat(rootfs / "usr", r / "usr")
    layer()
    copy(["var"], rootfs, r)
    layer()
    shutil.rmtree(r / "var/cache/apt/archives")  # "apt-get clean": whiteouts
    layer()
    shutil.rmtree(bundle)
    sh("umoci", "gc", "--layout", tmp)
    # Every layer must read to its end (a cut tar would fail both tools).
    for b in (tmp / "blobs/sha256").iterdir():
        if b.stat().st_size > 10000:
            sh("tar", "-tzf", b, stdout=subprocess.DEVNULL)
    tmp.rename(layout)
    return layout


def manifest(registry):
    req = urllib.request.Request(f"http://{registry}/v2/{REPO}/manifests/{TAG}", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def measure(cmd):
    """Runs cmd; returns (wall seconds, peak RSS bytes, (user, system) cpu seconds).

    The command is started by GNU time, not by this script: Linux counts the
    RSS a process had before exec in its ru_maxrss, and a Python parent that
    has hashed a tree would dominate the figure. time's own RSS is ~2 MB."""
    with tempfile.NamedTemporaryFile(prefix="bench-time-") as res:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", res.name] +
                           [str(c) for c in cmd], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        wall = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): "
                               f"{p.stderr.decode(errors='replace')[-2000:]}")
        rss_kb, user, sys_ = Path(res.name).read_text().split()[-3:]
    return wall, int(rss_kb) * 1024, (float(user), float(sys_))


def fresh_ext4(work, rounds):
    """A new ext4 file system on a loop device, mounted in work/mnt: what an
    install writes to (a freshly formatted slot), with no deleted inodes for
    ext4 to step around. Inode tables are initialised now, not by a
    background thread during the measurements."""
    img = work / "fs.img"
    with open(img, "wb") as f:
        f.truncate((rounds * 3 // 2 + 1) * 2**30)  # sparse; ~1.1 GB per round is used
    sh("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", img)
    mnt = work / "mnt"
    mnt.mkdir()
    sh("mount", "-o", "loop", img, mnt)
    return mnt


def gzip_isize(path):
    """Uncompressed size from the gzip trailer (single member, < 4 GiB)."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_add(a, b):
    return (a[0] + b[0], a[1] + b[1])


def row(name, wall, gz, tar, rss, cpu):
    rss_s = f"{rss / 2**20:9.1f}" if rss is not None else f"{'-':>9}"
    cpu_s = f"{cpu[0] + cpu[1]:5.1f} ({cpu[0]:.1f} + {cpu[1]:.1f})"
    print(f"  {name:<26} {wall:8.2f} {gz / MB / wall:9.1f} {tar / MB / wall:9.1f} "
          f"{rss_s} {cpu_s}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("agent", help="the elemental-agent binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mirror", help="Debian mirror for debootstrap (default: from apt sources)")
    ap.add_argument("--target-dir", help="write the trees under this directory instead of a fresh "
                    "ext4 file system on a loop device")
    args = ap.parse_args()
    agent = Path(args.agent).resolve()
    missing = missing_prerequisites()
    if not shutil.which("debootstrap"):
        missing = ", ".join(filter(None, [missing, "debootstrap"]))
    if missing:
        sys.exit(f"oci_pull.py needs {missing} (apt-get install debootstrap docker-registry "
                 "skopeo umoci; run as root)")

    CACHE.mkdir(parents=True, exist_ok=True)
    rootfs = ensure_rootfs(args.mirror or apt_mirror())
    layout = ensure_layout(rootfs)
    regdir = CACHE / f"registry-v{IMAGE_VERSION}"
    regdir.mkdir(exist_ok=True)
    proc, registry = start_registry(regdir)
    try:
        m = manifest(registry)
        if m is None:
            log(f"pushing the image to the cached registry storage {regdir} (once) ...")
            sh("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:{TAG}",
               f"docker://{registry}/{REPO}:{TAG}", stdout=subprocess.DEVNULL)
            m = manifest(registry)
        blobs = [regdir / "data/docker/registry/v2/blobs/sha256" / l["digest"][7:9] /
                 l["digest"][7:] / "data" for l in m["layers"]]
        gz = sum(os.path.getsize(b) for b in blobs)
        tar = sum(gzip_isize(b) for b in blobs)
        ref = f"oci://{registry}/{REPO}:{TAG}"
        print(f"OCI pull benchmark: Debian {SUITE} (debootstrap minbase + {INCLUDE})")
        print(f"  image:   {ref}, {len(blobs)} gzip layers "
              f"({', '.join(f'{os.path.getsize(b) / MB:.1f}' for b in blobs)} MB)")
        print(f"           {gz / MB:.1f} MB compressed, {tar / MB:.1f} MB uncompressed tar")
        print(f"  machine: {os.cpu_count()} cores, {cpu_model()}, "
              f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
              f"kernel {platform.release()}")
        print(f"  agent:   {agent}")
        print(f"  skopeo:  {subprocess.run(['skopeo', '--version'], capture_output=True, text=True).stdout.strip()}; "
              f"umoci: {subprocess.run(['umoci', '--version'], capture_output=True, text=True).stdout.strip()}")

        work = Path(tempfile.mkdtemp(prefix="elemental-bench-", dir="/var/tmp"))
        mounted = None
        best = {}
        walls = {"zcat": [], "ours": [], "skopeo+umoci": []}
        compared = None
        try:
            if args.target_dir:
                out = Path(tempfile.mkdtemp(prefix="elemental-bench-", dir=args.target_dir))
                print(f"  written to: {out} (--target-dir)")
            else:
                out = mounted = fresh_ext4(work, args.rounds)
                print(f"  written to: a fresh ext4 file system on a loop device (sparse image in {work})")
            for rnd in range(1, args.rounds + 1):
                print(f"\n  round {rnd}/{args.rounds}           wall s  MB/s gz  MB/s tar  "
                      f"peak RSS MiB  cpu s (user + sys)")
                z_wall, z_cpu = 0.0, (0.0, 0.0)
                for b in blobs:
                    w, _, c = measure(["zcat", b])
                    z_wall += w
                    z_cpu = cpu_add(z_cpu, c)
                row("zcat of the layers", z_wall, gz, tar, None, z_cpu)

                # Nothing is deleted until the end: ext4 is slow to create
                # inodes right after many were deleted (recently_deleted),
                # which would make later rounds and tools pay for earlier ones.
                rdir = out / f"round-{rnd}"
                rdir.mkdir()
                target = rdir / "agent-root"
                target.mkdir()
                sh("sync")
                o_wall, o_rss, o_cpu = measure([agent, "pull", ref, "--to", target,
                                                "--insecure-registry", registry])
                row("elemental-agent pull", o_wall, gz, tar, o_rss, o_cpu)

                oci_dir = rdir / "skopeo-layout"
                bundle = rdir / "umoci-bundle"
                sh("sync")
                s_wall, s_rss, s_cpu = measure(["skopeo", "copy", "--src-tls-verify=false",
                                                f"docker://{registry}/{REPO}:{TAG}",
                                                f"oci:{oci_dir}:{TAG}"])
                sh("sync")
                u_wall, u_rss, u_cpu = measure(["umoci", "unpack", "--image",
                                                f"{oci_dir}:{TAG}", bundle])
                row("  skopeo copy", s_wall, gz, tar, s_rss, s_cpu)
                row("  umoci unpack", u_wall, gz, tar, u_rss, u_cpu)
                su_wall, su_rss, su_cpu = s_wall + u_wall, max(s_rss, u_rss), cpu_add(s_cpu, u_cpu)
                row("skopeo copy + umoci unpack", su_wall, gz, tar, su_rss, su_cpu)
                print(f"  ratio: skopeo+umoci / ours = {su_wall / o_wall:.2f}x wall time; "
                      f"ours / zcat = {o_wall / z_wall:.2f}x; "
                      f"our peak RSS = {o_rss / su_rss * 100:.0f}% of skopeo+umoci's")
                for k, v in {"zcat": (z_wall, None, z_cpu), "ours": (o_wall, o_rss, o_cpu),
                             "skopeo+umoci": (su_wall, su_rss, su_cpu)}.items():
                    walls[k].append(v[0])
                    if k not in best or v[0] < best[k][0]:
                        best[k] = v

                if compared is None:
                    want = tree(bundle / "rootfs")
                    got = tree(target)
                    want.pop(".", None)
                    got.pop(".", None)
                    diff = diff_trees(want, got)
                    compared = (len(want), diff)
        finally:
            if mounted:
                subprocess.run(["umount", mounted])
            elif args.target_dir:
                shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)

        print(f"\n  best of {args.rounds}               wall s  MB/s gz  MB/s tar  "
              f"peak RSS MiB  cpu s (user + sys)")
        row("zcat of the layers", best["zcat"][0], gz, tar, None, best["zcat"][2])
        row("elemental-agent pull", best["ours"][0], gz, tar, best["ours"][1], best["ours"][2])
        row("skopeo copy + umoci unpack", best["skopeo+umoci"][0], gz, tar,
            best["skopeo+umoci"][1], best["skopeo+umoci"][2])
        print(f"  ratio: skopeo+umoci / ours = {best['skopeo+umoci'][0] / best['ours'][0]:.2f}x "
              f"wall time; ours / zcat = {best['ours'][0] / best['zcat'][0]:.2f}x")
        med = {k: sorted(v)[len(v) // 2] for k, v in walls.items()}
        print(f"  median wall s: zcat {med['zcat']:.2f}, elemental-agent pull {med['ours']:.2f}, "
              f"skopeo+umoci {med['skopeo+umoci']:.2f} "
              f"(skopeo+umoci / ours = {med['skopeo+umoci'] / med['ours']:.2f}x)")
        n, diff = compared
        if diff:
            print(f"  trees: {len(diff)} of {n} entries DIFFER from umoci's rootfs, e.g.:")
            for line in diff[:5]:
                print("    " + line[:300])
        else:
            print(f"  trees: the agent's tree equals umoci's rootfs ({n} entries compared)")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
