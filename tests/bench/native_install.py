"""Prints how fast the native A/B plugin installs and upgrades, side by side
with doing the same job with the usual tools. Figures, not a test.

The OS image is a few hundred MB of real files (the host's /usr/lib and
/usr/share, split into four gzip layers; v2 adds one small layer), pushed to a
local docker-registry. Both sides write onto a sparse image file through a
loop device:

  install   ours:     `elemental-agent register --install` (native plugin:
                      GPT, five filesystems, pull+apply straight into slot A,
                      COS_OEM, slot record), against the test API server
            baseline: sgdisk, mkfs.vfat + mkfs.ext4 x4 (static tools),
                      `skopeo copy docker://... oci:DIR`, `umoci unpack` into
                      the mounted slot, then the rootfs moved into place
  upgrade   ours:     `elemental-agent run` from osVersion patched to v2 until
                      it asks for the reboot (format slot B, pull v2, record)
            baseline: mkfs.ext4 of slot B, skopeo copy, umoci unpack

Printed: wall time, MB/s (uncompressed image size / wall time) and the peak
RSS of the largest process of each side.

Usage: /usr/bin/python3 tests/bench/native_install.py AGENT_BINARY [SIZE_MB]
(default 300). Needs root, ELEMENTAL_TOOLS_DIR (the static mke2fs/mkfs.fat,
see initrd/fstools.sh) and the packages of tests/install-packages.sh. The
image is cached in /var/cache/elemental-agent/bench.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))
sys.path.insert(0, str(TESTS / "integration"))

import oci_registry  # noqa: E402
from harness import running_server  # noqa: E402
from native_root import Disk, NativeRoot, tools_dir  # noqa: E402

CACHE = Path("/var/cache/elemental-agent/bench")
LABEL = "elementalhost.infrastructure.cluster.x-k8s.io/"
SECOND = 1_000_000_000
SOURCES = ["/usr/lib", "/usr/share", "/usr/bin", "/usr/libexec"]


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                          **kw)


def measure(steps):
    """Runs a list of commands in a fresh Python child and returns (wall, peak MiB)."""
    code = ("import json,os,resource,subprocess,sys,time\n"
            "steps=json.loads(sys.argv[1])\n"
            "t0=time.monotonic()\n"
            "for s in steps:\n"
            "    r=subprocess.run(s,capture_output=True,text=True)\n"
            "    if r.returncode: sys.exit(' '.join(s)+': '+r.stdout[-2000:]+r.stderr[-2000:])\n"
            "print(time.monotonic()-t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    res = subprocess.run(["/usr/bin/python3", "-c", code, json.dumps([[str(c) for c in s]
                                                                       for s in steps])],
                         capture_output=True, text=True)
    if res.returncode:
        raise RuntimeError(res.stderr)
    wall, rss = res.stdout.split()
    return float(wall), int(rss) / 1024


def build_image(size_mb: int) -> Path:
    """An OCI layout with tags v1 (four layers of real files) and v2 (v1 + one layer)."""
    layout = CACHE / f"native-{size_mb}" / "layout"
    if (layout.parent / ".complete").exists():
        return layout
    shutil.rmtree(layout.parent, ignore_errors=True)
    layout.parent.mkdir(parents=True)
    print(f"building a {size_mb} MB image from {', '.join(SOURCES)} (cached) ...", flush=True)
    sh("umoci", "init", "--layout", layout)
    sh("umoci", "new", "--image", f"{layout}:v1")
    bundle = layout.parent / "bundle"
    sh("umoci", "unpack", "--image", f"{layout}:v1", bundle)
    rootfs = bundle / "rootfs"
    budget = size_mb << 20
    per_layer = budget // 4
    used = layer_used = 0
    files = []
    for src in SOURCES:
        for dirpath, _, names in os.walk(src):
            for n in sorted(names):
                p = os.path.join(dirpath, n)
                if os.path.islink(p) or not os.path.isfile(p):
                    continue
                files.append(p)
    for p in files:
        size = os.path.getsize(p)
        if used + size > budget:
            continue
        dest = rootfs / p.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest)
        used += size
        layer_used += size
        if layer_used >= per_layer:
            sh("umoci", "repack", "--refresh-bundle", "--image", f"{layout}:v1", bundle)
            layer_used = 0
        if used >= budget - (1 << 20):
            break
    (rootfs / "etc").mkdir(exist_ok=True)
    (rootfs / "etc/os-release").write_text('NAME="Bench OS"\nVERSION="v1"\n')
    sh("umoci", "repack", "--refresh-bundle", "--image", f"{layout}:v1", bundle)
    sh("umoci", "tag", "--image", f"{layout}:v1", "v2")
    (rootfs / "etc/os-release").write_text('NAME="Bench OS"\nVERSION="v2"\n')
    sh("umoci", "repack", "--image", f"{layout}:v2", bundle)
    shutil.rmtree(bundle)
    (layout.parent / "size").write_text(str(used))
    (layout.parent / ".complete").write_text("")
    return layout


def spec(addr, disk):
    return {
        "config": {
            "elemental": {
                "agent": {"osPlugin": "/usr/lib/elemental/plugins/elemental.so",
                          "reconciliation": SECOND, "workDir": "/var/lib/elemental/agent",
                          "hostname": {"prefix": "b-"}, "postInstall": {"reboot": True}},
                "install": {"device": disk, "systemUri": f"oci://{addr}/os:v1",
                            "partitions": {"system": {"size": 2048}}},
            },
        },
    }


def ours(agent_bin, addr, tmp: Path):
    """Install and A->B upgrade with the agent; returns ((wall, rss), (wall, rss))."""
    root = NativeRoot(tmp / "root", agent_bin)
    root.file("/etc/elemental/agent/registries.yaml").write_text(
        f'mirrors:\n  "{addr}":\n    endpoint: ["http://{addr}"]\n')
    image = root.path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(8 << 30)
    with running_server(str(tmp / "server")) as server:
        reg = server.create_registration("bench", spec=spec(addr, "/disk.img"))
        root.write_config(reg.config_text)
        install = measure([root.command("register", "--install")])
        name = server.hosts()[0]["metadata"]["name"]
        with Disk(image) as disk:
            oem = disk.mount("COS_OEM", root.path / "oem")
            shutil.copytree(oem / "elemental/files", root.path, dirs_exist_ok=True)
            root.set_live(False)
            root.set_booted("A")
            server.admin("host", "patch-os-version", name, "--json",
                         json.dumps({"osVersion": {"imageUri": f"oci://{addr}/os:v2"}}))
            server.admin("host", "label", name, LABEL + "in-place-update=pending")
            # run exits after it asked for the reboot into B.
            upgrade = measure([root.command("run")])
            disk.umount_all()
    return install, upgrade


def baseline(addr, tmp: Path):
    """The same install and upgrade with sgdisk, mkfs, skopeo and umoci."""
    tools = tools_dir()
    image = tmp / "baseline.img"
    with open(image, "wb") as f:
        f.truncate(8 << 30)
    mnt = tmp / "mnt"
    mnt.mkdir()
    oci_a, oci_b = tmp / "oci-a", tmp / "oci-b"
    move = ["sh", "-c", 'cd "$1" && mv bundle/rootfs/* . && rm -rf bundle', "sh", mnt]
    loop = sh("losetup", "--find", "--show", image).stdout.strip()
    try:
        sgdisk = ["sgdisk", "-n1:0:+64M", "-t1:ef00", "-c1:COS_GRUB", "-n2:0:+64M", "-c2:COS_OEM",
                  "-n3:0:+2048M", "-c3:COS_SYSTEM_A", "-n4:0:+2048M", "-c4:COS_SYSTEM_B",
                  "-n5:0:0", "-c5:COS_PERSISTENT", loop]
        p = [f"{loop}p{i}" for i in range(1, 6)]
        install = measure([
            sgdisk, ["partx", "--add", loop],
            [tools / "mkfs.fat", "-F", "32", "-n", "COS_GRUB", p[0]],
            [tools / "mke2fs", "-q", "-F", "-t", "ext4", "-L", "COS_OEM", p[1]],
            [tools / "mke2fs", "-q", "-F", "-t", "ext4", "-L", "COS_SYSTEM_A", p[2]],
            [tools / "mke2fs", "-q", "-F", "-t", "ext4", "-L", "COS_SYSTEM_B", p[3]],
            [tools / "mke2fs", "-q", "-F", "-t", "ext4", "-L", "COS_PERSISTENT", p[4]],
            ["skopeo", "copy", "--src-tls-verify=false", f"docker://{addr}/os:v1", f"oci:{oci_a}:v1"],
            ["mount", p[2], mnt],
            ["umoci", "unpack", "--image", f"{oci_a}:v1", mnt / "bundle"], move,
            ["umount", mnt],
        ])
        upgrade = measure([
            [tools / "mke2fs", "-q", "-F", "-t", "ext4", "-L", "COS_SYSTEM_B", p[3]],
            ["skopeo", "copy", "--src-tls-verify=false", f"docker://{addr}/os:v2", f"oci:{oci_b}:v2"],
            ["mount", p[3], mnt],
            ["umoci", "unpack", "--image", f"{oci_b}:v2", mnt / "bundle"], move,
            ["umount", mnt],
        ])
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        subprocess.run(["partx", "--delete", loop], capture_output=True)
        subprocess.run(["losetup", "--detach", loop], capture_output=True)
    return install, upgrade


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    agent_bin = os.path.abspath(sys.argv[1])
    os.environ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin"  # the fake reboot in the agent's root
    size_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    missing = oci_registry.missing_prerequisites()
    if missing:
        sys.exit("needs " + missing)
    layout = build_image(size_mb)
    mb = int((layout.parent / "size").read_text()) / 1e6
    with tempfile.TemporaryDirectory(prefix="elemental-bench-", dir="/var/tmp") as tmp:
        tmp = Path(tmp)
        (tmp / "registry").mkdir()
        proc, addr = oci_registry.start_registry(tmp / "registry")
        try:
            for tag in ("v1", "v2"):
                oci_registry.push(layout, tag, addr, "os")
            (tmp / "ours").mkdir()
            (tmp / "base").mkdir()
            o_install, o_upgrade = ours(agent_bin, addr, tmp / "ours")
            b_install, b_upgrade = baseline(addr, tmp / "base")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"\nimage: {mb:.0f} MB uncompressed in 4 gzip layers (v2: +1 small layer); "
          f"disk: 8 GiB sparse image file on a loop device; {os.cpu_count()} CPUs")
    print(f"{'':34}{'wall s':>8}{'MB/s':>8}{'peak RSS MiB':>14}")
    rows = [("install, elemental-agent", o_install), ("install, sgdisk+mkfs+skopeo+umoci", b_install),
            ("A->B upgrade, elemental-agent", o_upgrade), ("A->B upgrade, mkfs+skopeo+umoci", b_upgrade)]
    for label, (wall, rss) in rows:
        print(f"{label:34}{wall:8.1f}{mb / wall:8.1f}{rss:14.1f}")
    print(f"ratio install (baseline/ours): {b_install[0] / o_install[0]:.2f}x, "
          f"upgrade: {b_upgrade[0] / o_upgrade[0]:.2f}x")


if __name__ == "__main__":
    main()
