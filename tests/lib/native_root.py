"""An AgentRoot for the native A/B plugin: the agent partitions, formats and
mounts real (loop) block devices, so besides the chroot and UTS namespace of
AgentRoot it runs in a private mount namespace with the host's /dev and /sys
bound in and /proc mounted. Its mounts die with it; the disk is an image file
inside the root. The static filesystem tools (mke2fs, mkfs.fat) from the
toolchain are copied to /usr/sbin, a static busybox gives /bin/sh for runcmd.

The test side attaches the image itself to look at it (losetup + partx, since
the kernel may lack a GPT parser) through `Disk`.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from agent_root import AgentRoot, _ENV

LIVE_MODE = "/run/elemental/live_mode"
BOOTED_SLOT = "/run/elemental/booted-slot"
OEM = "/oem"
STATE_DIR = "/oem/elemental/state"

# New mount + UTS namespace; /dev, /sys, /proc inside the root; host name; chroot.
_LAUNCH = ('set -e; r="$2"; mount --make-rprivate /; mount --rbind /dev "$r/dev"; '
           'mount --rbind /sys "$r/sys"; mount -t proc proc "$r/proc"; '
           'hostname "$1"; shift; exec chroot "$@"')


def tools_dir() -> Path:
    d = os.environ.get("ELEMENTAL_TOOLS_DIR")
    if not d:
        raise RuntimeError("ELEMENTAL_TOOLS_DIR must name the toolchain's tools/bin "
                           "(tests/run.sh sets it)")
    return Path(d)


class NativeRoot(AgentRoot):
    def __init__(self, path: Path, agent_bin: str):
        super().__init__(path, agent_bin)
        for d in ("sys", "proc", "oem", "run/elemental", "bin", "usr/sbin"):
            (self.path / d).mkdir(parents=True, exist_ok=True)
        for tool in ("mke2fs", "mkfs.fat", "e2fsck"):
            shutil.copy2(tools_dir() / tool, self.path / "usr/sbin" / tool)
        busybox = shutil.which("busybox", path="/usr/bin:/bin") or "/bin/busybox"
        shutil.copy2(busybox, self.path / "bin/busybox")
        for applet in ("sh", "mkdir", "echo", "cat", "touch", "rm", "ls"):
            link = self.path / "bin" / applet
            if not link.exists():
                os.symlink("busybox", link)
        self.set_live(True)

    def set_live(self, live: bool):
        f = self.file(LIVE_MODE)
        if live:
            f.write_text("")
        elif f.exists():
            f.unlink()

    def set_booted(self, slot: str):
        self.file(BOOTED_SLOT).write_text(slot + "\n")

    def command(self, *args: str, debug: bool = False) -> list:
        cmd = ["unshare", "--uts", "--mount", "--", "/bin/sh", "-c", _LAUNCH, "sh",
               self.hostname(), str(self.path), self.AGENT]
        if debug:
            cmd.append("--debug")
        return cmd + list(args)

    AGENT = "/usr/sbin/elemental-agent"


class Disk:
    """The test's own view of the disk image: a loop device with partition
    nodes added by partx (works whether or not the kernel parses GPT)."""

    def __init__(self, image: Path):
        self.image = Path(image)
        self.loop = subprocess.run(["losetup", "--find", "--show", str(image)], check=True,
                                   capture_output=True, text=True).stdout.strip()
        try:
            subprocess.run(["partx", "--add", self.loop], check=True, capture_output=True)
        except subprocess.CalledProcessError:
            self.close()
            raise
        self.mounts = []

    def part(self, n: int) -> str:
        return f"{self.loop}p{n}"

    def by_label(self) -> dict:
        out = subprocess.run(["sfdisk", "--json", str(self.image)], check=True,
                             capture_output=True, text=True).stdout
        import json
        parts = json.loads(out)["partitiontable"]["partitions"]
        return {p["name"]: self.part(int(re.search(r"(\d+)$", p["node"]).group(1)))
                for p in parts}

    def mount(self, label: str, where: Path, read_only=False):
        where.mkdir(parents=True, exist_ok=True)
        opts = ["-o", "ro"] if read_only else []
        subprocess.run(["mount", *opts, self.by_label()[label], str(where)], check=True,
                       capture_output=True)
        self.mounts.append(where)
        return where

    def umount_all(self):
        while self.mounts:
            subprocess.run(["umount", str(self.mounts.pop())], check=False, capture_output=True)

    def close(self):
        self.umount_all()
        subprocess.run(["partx", "--delete", self.loop], check=False, capture_output=True)
        subprocess.run(["losetup", "--detach", self.loop], check=False, capture_output=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_env():
    return _ENV
