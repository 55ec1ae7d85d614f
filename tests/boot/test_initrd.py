"""Smoke test of the boot image (initrd/build.sh) and the VM runner (qemu/run.sh).

Builds the image twice (the bytes must match), then boots it in QEMU (TCG unless KVM is proven)
with a small cpio appended that adds /test-init (tests/boot/test-init.sh) and `rdinit=/test-init`:
the guest loads the listed modules in order, gets its address by DHCP, fetches a file from the
host, makes and mounts ext4, vfat (on a loop device) and an overlay with the static tools, and runs
the static agent. A second boot checks the real /init: an agent that cannot start ends in the
rescue shell. The agent's `boot` verb itself is tested elsewhere.

Environment: ELEMENTAL_AGENT_BIN (default build/agent/elemental-agent), ELEMENTAL_TOOLS_DIR (the
static fs tools' bin/; default: initrd/fstools.sh builds or reuses them).
"""

import functools
import gzip
import hashlib
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
BUILD = TOP / "initrd" / "build.sh"
MKCPIO = TOP / "initrd" / "mkcpio.py"
RUN = TOP / "qemu" / "run.sh"
EPOCH = "1700000000"
CONFIG = "registration:\n  uri: https://10.0.2.2:8443/elemental/registration/smoke\n"


def agent_binary() -> str:
    path = os.environ.get("ELEMENTAL_AGENT_BIN") or str(TOP / "build/agent/elemental-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary not found at {path}: build it with ./build.sh "
                    "or set ELEMENTAL_AGENT_BIN")
    return path


def build(out: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "config.yaml").write_text(CONFIG)
    cmd = ["bash", str(BUILD), "--agent", agent_binary(), "--out", str(out),
           "--config", str(tmp / "config.yaml"), *extra]
    tools = os.environ.get("ELEMENTAL_TOOLS_DIR")
    if tools:
        cmd += ["--fstools", str(Path(tools).parent)]
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, TMPDIR=str(tmp))
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-4000:]}")
    return p


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    base = tmp_path_factory.mktemp("initrd")
    out = base / "out"
    p = build(out, base / "tmp1")
    sys.stderr.write(p.stderr[-600:])
    return out


def with_overlay(image: Path, files: dict, dest: Path) -> Path:
    """The boot image with a gzip'd cpio of `files` ({path: (mode, text)}) appended."""
    stage = dest.parent / (dest.name + ".d")
    shutil.rmtree(stage, ignore_errors=True)
    for rel, (mode, text) in files.items():
        f = stage / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
        f.chmod(mode)
    cpio = dest.parent / (dest.name + ".cpio")
    subprocess.run([sys.executable, str(MKCPIO), "--epoch", EPOCH, str(stage), str(cpio)], check=True)
    data = (image / "initrd.img").read_bytes()
    data += b"\0" * (-len(data) % 4)  # the kernel looks for the next archive at a 4-byte boundary
    data += gzip.compress(cpio.read_bytes(), mtime=0)
    dest.write_bytes(data)
    return dest


def run_vm(image: Path, initrd: Path, tmp: Path, append: str, expect: str, timeout: int = 240,
           uefi: bool = False):
    serial = tmp / "serial.log"
    # BIOS: the ELF vmlinux through PVH (fastest under TCG); UEFI: OVMF boots the bzImage.
    kernel = image / ("vmlinuz" if uefi else "vmlinux")
    cmd = ["bash", str(RUN), "--kernel", str(kernel), "--initrd", str(initrd), *(["--uefi"] if uefi else []),
           "--append", append, "--disk", str(tmp / "disk.img"), "--disk-size", "256M",
           "--serial", str(serial), "--timeout", str(timeout), "--no-reboot",
           "--expect", expect, "--fail", "SMOKE-FAIL|Kernel panic"]
    start = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    took = time.monotonic() - start
    log = serial.read_text(errors="replace") if serial.exists() else ""
    return p, log, took


class Host(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_image_is_reproducible(image, tmp_path):
    out2 = tmp_path / "out2"
    build(out2, tmp_path / "tmp2", "--no-vmlinux")
    assert sha256(image / "initrd.img") == sha256(out2 / "initrd.img")
    assert (image / "initrd.modules").read_text() == (out2 / "initrd.modules").read_text()


def test_image_contents(image, tmp_path):
    listing = subprocess.run(f"zstd -dc {image / 'initrd.img'} | cpio -itv --quiet", shell=True,
                             check=True, capture_output=True, text=True).stdout.splitlines()
    names = {line.split()[-1] if " -> " not in line else line.split(" -> ")[0].split()[-1]: line
             for line in listing}
    for need in ["init", "usr/sbin/elemental-agent", "bin/busybox", "bin/sh", "sbin/udhcpc",
                 "sbin/switch_root", "usr/share/udhcpc/default.script", "usr/sbin/mke2fs",
                 "usr/sbin/mkfs.ext4", "usr/sbin/mkfs.vfat", "usr/sbin/e2fsck", "usr/sbin/fsck.fat",
                 "etc/ssl/certs/ca-certificates.crt", "etc/elemental/boot/modules", "etc/passwd",
                 "etc/group", "etc/hosts", "dev/console", "proc", "sys", "dev", "run", "tmp", "oem",
                 "sysroot", "mnt", "var"]:
        assert need in names, f"{need} missing from the image"
    assert names["tmp"].startswith("drwxrwxrwt"), names["tmp"]
    assert names["etc/elemental/agent/config.yaml"].startswith("-rw-------")
    assert names["dev/console"].startswith("crw-------") and " 5,   1 " in names["dev/console"]
    config = subprocess.run(f"zstd -dc {image / 'initrd.img'} | cpio -i --quiet --to-stdout "
                            "etc/elemental/agent/config.yaml", shell=True, check=True,
                            capture_output=True, text=True).stdout
    assert config == CONFIG
    for line in listing:
        assert " root     root " in line, line
    kver = (image / "kernel-version").read_text().strip()
    mods = (image / "initrd.modules").read_text().split()
    base = [Path(m).name for m in mods]
    for m in mods:
        assert m.startswith(f"/lib/modules/{kver}/") and m.endswith(".ko"), m
        assert m.lstrip("/") in names, f"{m} listed but not in the image"
    assert f"lib/modules/{kver}/modules.dep" in names
    # dependencies first, soft pre-dependencies (crc32c for ext4) before their module
    order = {n: i for i, n in enumerate(base)}
    for before, after in [("virtio_ring.ko", "virtio_pci.ko"), ("virtio.ko", "virtio_blk.ko"),
                          ("failover.ko", "virtio_net.ko"), ("net_failover.ko", "virtio_net.ko"),
                          ("crc32c_generic.ko", "ext4.ko"), ("crc32c_generic.ko", "jbd2.ko"),
                          ("jbd2.ko", "ext4.ko"), ("mbcache.ko", "ext4.ko"), ("fat.ko", "vfat.ko"),
                          ("scsi_mod.ko", "sd_mod.ko"), ("libahci.ko", "ahci.ko")]:
        assert order[before] < order[after], f"{before} must load before {after}: {base}"
    for m in ["nls_cp437.ko", "nls_ascii.ko", "nls_iso8859-1.ko", "overlay.ko", "loop.ko",
              "e1000.ko", "e1000e.ko", "nvme.ko", "virtio_scsi.ko"]:
        assert m in order, f"{m} not in the module list"
    assert len(base) == len(set(base))


def test_missing_module_fails_the_build(tmp_path):
    cmd = ["bash", str(BUILD), "--agent", agent_binary(), "--out", str(tmp_path / "o"),
           "--no-vmlinux", "--extra-modules", "no_such_module_xyz"]
    tools = os.environ.get("ELEMENTAL_TOOLS_DIR")
    if tools:
        cmd += ["--fstools", str(Path(tools).parent)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode != 0
    assert "no_such_module_xyz" in p.stderr
    assert not (tmp_path / "o" / "initrd.img").exists()


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_boot_smoke(image, tmp_path, firmware):
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("hello from the host")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Host, directory=str(www)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        initrd = with_overlay(image, {"test-init": (0o755, (TOP / "tests/boot/test-init.sh").read_text())},
                              tmp_path / "smoke.img")
        p, log, took = run_vm(image, initrd, tmp_path,
                              f"console=ttyS0 panic=-1 rdinit=/test-init smoke.port={srv.server_port}",
                              r"SMOKE-OK", uefi=firmware == "uefi")
    finally:
        srv.shutdown()
    assert p.returncode == 0, f"qemu/run.sh failed ({p.returncode}):\n{p.stderr}\n--- serial:\n{log[-3000:]}"
    assert "guest signalled pass" in p.stderr
    assert re.search(r"SMOKE: loaded \d+ modules", log)
    assert "udhcpc: eth0 10.0.2.15/24 router 10.0.2.2" in log
    assert re.search(r"\d+\.\d+\.\d+", log[log.index("SMOKE-STEP: agent"):]), "no agent version printed"
    accel = "KVM" if "accel kvm" in p.stderr else "TCG"
    sys.stderr.write(f"{firmware}: VM start to SMOKE-OK under {accel}: {took:.1f}s\n")


def test_init_falls_back_to_a_rescue_shell(image, tmp_path):
    # An agent that is not a program: /init must say so and start a shell on the console, whose
    # login profile (replaced here) proves it runs and ends the VM.
    profile = ('echo "RESCUE-SHELL-OK pid $$"\n'
               "printf '\\020' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null\npoweroff -f\n")
    initrd = with_overlay(image, {"usr/sbin/elemental-agent": (0o755, "not a program\n"),
                                  "etc/profile": (0o644, profile)}, tmp_path / "rescue.img")
    p, log, _ = run_vm(image, initrd, tmp_path, "console=ttyS0 panic=-1", r"RESCUE-SHELL-OK pid 1\b")
    assert p.returncode == 0, f"qemu/run.sh failed ({p.returncode}):\n{p.stderr}\n--- serial:\n{log[-3000:]}"
    assert "elemental-boot: /usr/sbin/elemental-agent is not an ELF program" in log
    assert "dropping to a rescue shell" in log


def test_run_sh_verdicts(image, tmp_path):
    """qemu/run.sh's exit codes: timeout, --stop-on-expect, --fail, a guest's failure verdict."""
    hang = with_overlay(image, {"test-init": (0o755, "#!/bin/sh\necho WAITING-FOREVER\nexec sleep 1000\n")},
                        tmp_path / "hang.img")
    serial = tmp_path / "serial.log"

    def run(initrd, *opts):
        return subprocess.run(["bash", str(RUN), "--kernel", str(image / "vmlinux"), "--initrd", str(initrd),
                               "--append", "console=ttyS0 rdinit=/test-init", "--disk", str(tmp_path / "d.img"),
                               "--disk-size", "16M", "--serial", str(serial), *opts],
                              capture_output=True, text=True)

    # never prints the expected marker: stopped at --timeout, exit 3, the serial log's tail shown
    p = run(hang, "--timeout", "15", "--expect", "NEVER-PRINTED")
    assert p.returncode == 3, p.stderr
    assert "timeout" in p.stderr and "WAITING-FOREVER" in p.stderr
    # --stop-on-expect passes as soon as the marker shows
    p = run(hang, "--timeout", "60", "--expect", "WAITING-FOR", "--stop-on-expect")
    assert p.returncode == 0, p.stderr
    assert "VM stopped" in p.stderr
    # --fail stops with a failure as soon as its marker shows
    p = run(hang, "--timeout", "60", "--fail", "WAITING-F[O]REVER")
    assert p.returncode == 1, p.stderr
    assert "matched --fail" in p.stderr
    # a guest failure verdict (isa-debug-exit byte 2) is a failure naming the code
    bad = with_overlay(image, {"test-init": (0o755, "#!/bin/sh\nmount -t devtmpfs dev /dev\n"
                                            "printf '\\002' | dd of=/dev/port bs=1 seek=244 count=1\n"
                                            "sleep 100\n")}, tmp_path / "bad.img")
    p = run(bad, "--timeout", "30")
    assert p.returncode == 1, p.stderr
    assert "guest signalled failure 2" in p.stderr
    # usage errors are told apart
    p = run(bad, "--timeout", "soon")
    assert p.returncode == 2 and "--timeout must be" in p.stderr
