"""Small pieces for tests that boot the image/ artifacts in QEMU (TCG, one VM at
a time, always under `timeout`, serial console to a file): the kernel to boot,
a tiny initrd whose /init prints a marker and powers off, and the QEMU run.

Facts behind the choices: ../../../shared/notes/qemu.md is the project's copy;
in short, KVM does not work on the test machines, `-cpu max` under TCG, QEMU
exits 0 on power-off and, with -no-reboot, on a reboot.
"""
import glob
import gzip
import io
import os
import stat
import subprocess
import time
from pathlib import Path

OVMF = "/usr/share/ovmf/OVMF.fd"
TINY_MARKER = "TINY-BOOT-OK"


def kernel():
    """ELEMENTAL_KERNEL, else the newest Debian kernel in /boot; "" when none."""
    k = os.environ.get("ELEMENTAL_KERNEL")
    if k:
        return k
    found = sorted(glob.glob("/boot/vmlinuz-*"))
    return found[-1] if found else ""


def missing_prerequisites():
    """A sentence naming what is missing, or "" when everything is there."""
    missing = []
    if not kernel():
        missing.append("a kernel (linux-image-amd64)")
    for p in ("/usr/bin/qemu-system-x86_64", OVMF, "/bin/busybox", "/usr/bin/grub-mkimage",
              "/usr/bin/xorriso", "/usr/bin/mcopy", "/usr/lib/grub/x86_64-efi",
              "/usr/lib/grub/i386-pc"):
        if not os.path.exists(p):
            missing.append(p)
    return ", ".join(missing)


def _newc(entries):
    """A cpio archive in the kernel's "newc" format from (name, mode, data, rdev)
    tuples, with owner 0, mtime 0 and fixed inode numbers (reproducible)."""
    out = io.BytesIO()

    def pad(n):
        out.write(b"\0" * ((4 - n % 4) % 4))

    for ino, (name, mode, data, rdev) in enumerate(entries + [("TRAILER!!!", 0, b"", (0, 0))], 1):
        nb = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(nb), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + nb)
        pad(110 + len(nb))
        out.write(data)
        pad(len(data))
    return out.getvalue()


def tiny_initrd(path: Path, busybox="/bin/busybox"):
    """Writes a gzip'd initrd: a static busybox and an /init that prints
    "TINY-BOOT-OK cmdline=[<kernel command line>]" and powers off."""
    init = ("#!/bin/busybox sh\n"
            "/bin/busybox mount -t proc proc /proc\n"
            f'echo "{TINY_MARKER} cmdline=[$(/bin/busybox cat /proc/cmdline)]"\n'
            "/bin/busybox poweroff -f\n")
    d, r, c = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755, stat.S_IFCHR | 0o600
    entries = [("bin", d, b"", (0, 0)), ("bin/busybox", r, Path(busybox).read_bytes(), (0, 0)),
               ("dev", d, b"", (0, 0)), ("dev/console", c, b"", (5, 1)),
               ("proc", d, b"", (0, 0)), ("init", r, init.encode(), (0, 0))]
    path.write_bytes(gzip.compress(_newc(entries), compresslevel=9, mtime=0))
    return path


def qemu(args, serial: Path, timeout=90):
    """Runs one TCG VM (512 MiB, 1 CPU, no reboot) with `args` added, the serial
    console going to `serial`; returns (exit code, serial text, seconds).
    Exit code 124 or 137 means the hard timeout ended it."""
    cmd = ["timeout", "--kill-after=5", str(timeout), "qemu-system-x86_64",
           "-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "1", "-no-reboot",
           "-display", "none", "-monitor", "none", "-serial", f"file:{serial}", *args]
    start = time.monotonic()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    took = time.monotonic() - start
    text = serial.read_bytes().decode(errors="replace") if serial.exists() else ""
    if p.stderr.strip():
        text += "\n[qemu stderr] " + p.stderr
    return p.returncode, text, took


def marker_cmdline(text):
    """The kernel command line the tiny initrd reported, or None."""
    for line in text.replace("\r", "").splitlines():
        i = line.find(TINY_MARKER + " cmdline=[")
        if i >= 0 and line.endswith("]"):
            return line[i + len(TINY_MARKER) + len(" cmdline=["):-1]
    return None
