"""image/build-iso.sh and image/build-pxe.sh: what they write, and that the
artifacts really boot in QEMU (TCG, one VM at a time, each under a hard
timeout). The kernel is Debian's; the initrd is a tiny one (tests/lib/boot_vm.py)
whose /init reports the kernel command line it got and powers off, so a boot
is proven by that marker and by the command line the script asked for.

ISO: UEFI (OVMF) from a CD-ROM and from a disk (the ISO written to a USB
stick), legacy BIOS from a CD-ROM. PXE: QEMU's iPXE option ROM fetches
boot.ipxe over HTTP from a server on the host, under BIOS and under UEFI.
"""
import functools
import http.server
import os
import pathlib
import re
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
import boot_vm  # noqa: E402
from oci_registry import free_port  # noqa: E402

TOP = pathlib.Path(__file__).resolve().parents[2]
ISO_SH = TOP / "image" / "build-iso.sh"
PXE_SH = TOP / "image" / "build-pxe.sh"
BASE_CMDLINE = "console=tty0 console=ttyS0,115200 panic=5"
EXTRA = "elemental.registration.uri=https://10.0.2.2:8443/r elemental.debug"

if boot_vm.missing_prerequisites():
    pytest.fail("tests/boot needs " + boot_vm.missing_prerequisites() +
                " (bash tests/install-packages.sh installs them)", pytrace=False)


def script(path, *args, env=None, check=True):
    p = subprocess.run(["bash", str(path), *map(str, args)], capture_output=True, text=True,
                       timeout=120, env=env)
    if check and p.returncode != 0:
        raise AssertionError(f"{path.name} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("image")


@pytest.fixture(scope="module")
def initrd(work):
    return boot_vm.tiny_initrd(work / "tiny.img")


@pytest.fixture(scope="module")
def iso(work, initrd):
    out = work / "boot.iso"
    script(ISO_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", out,
           "--append", EXTRA)
    return out


@pytest.fixture(scope="module")
def pxe(work, initrd):
    # Served from a sub-directory, so only relative URLs can find the files.
    out = work / "www" / "boot" / "x86_64"
    script(PXE_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", out,
           "--append", EXTRA)
    return out


def assert_booted(rc, text, want_cmdline_end):
    assert rc == 0, f"QEMU exit {rc} (124/137: hard timeout); serial console:\n{text[-3000:]}"
    got = boot_vm.marker_cmdline(text)
    assert got is not None, "the tiny initrd's marker is not on the serial console:\n" + text[-3000:]
    assert got.endswith(want_cmdline_end), got


# ---- ISO ------------------------------------------------------------------------------------

def test_iso_is_reproducible_and_has_both_boot_entries(work, initrd, iso):
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    a, b = work / "a.iso", work / "b.iso"
    script(ISO_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", a, env=env)
    os.utime(initrd)  # a newer input mtime must not change the bytes
    script(ISO_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", b, env=env)
    assert a.read_bytes() == b.read_bytes(), "two builds from the same inputs differ"

    report = subprocess.run(["xorriso", "-indev", str(iso), "-report_el_torito", "plain"],
                            capture_output=True, text=True, check=True).stdout
    platforms = re.findall(r"El Torito boot img :\s+\d+\s+(\S+)", report)
    assert sorted(platforms) == ["BIOS", "UEFI"], report
    cfg = subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso), "-extract",
                          "/boot/grub/grub.cfg", str(work / "grub.cfg")],
                         capture_output=True, text=True)
    assert cfg.returncode == 0, cfg.stderr
    text = (work / "grub.cfg").read_text()
    assert f"linux /boot/vmlinuz {BASE_CMDLINE} {EXTRA}\n" in text
    assert "initrd /boot/initrd.img" in text
    assert "terminal_output serial console" in text and "set timeout=1" in text


def test_iso_boots_under_uefi_from_cdrom(work, iso):
    rc, text, _ = boot_vm.qemu(["-bios", boot_vm.OVMF, "-cdrom", iso, "-nic", "none"],
                               work / "uefi-cd.log")
    assert_booted(rc, text, f"{BASE_CMDLINE} {EXTRA}")


def test_iso_boots_under_uefi_as_usb_disk(work, iso):
    rc, text, _ = boot_vm.qemu(["-bios", boot_vm.OVMF, "-nic", "none",
                                "-drive", f"file={iso},format=raw,if=virtio,readonly=on"],
                               work / "uefi-disk.log")
    assert_booted(rc, text, f"{BASE_CMDLINE} {EXTRA}")


def test_iso_boots_under_bios_from_cdrom(work, iso):
    rc, text, _ = boot_vm.qemu(["-cdrom", iso, "-nic", "none"], work / "bios-cd.log")
    assert_booted(rc, text, f"{BASE_CMDLINE} {EXTRA}")


def test_iso_script_refuses_bad_input(work, initrd):
    p = script(ISO_SH, "--kernel", work / "nope", "--initrd", initrd, "--out", work / "x.iso",
               check=False)
    assert p.returncode == 1 and "nope: not a file" in p.stderr, p.stderr
    p = script(ISO_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", work / "x.iso",
               "--append", 'a="b c"', check=False)
    assert p.returncode == 1 and "must not contain" in p.stderr, p.stderr
    p = script(ISO_SH, "--kernel", boot_vm.kernel(), "--out", work / "x.iso", check=False)
    assert p.returncode == 2 and "--initrd I" in p.stderr, p.stderr
    assert not (work / "x.iso").exists()


# ---- PXE ------------------------------------------------------------------------------------

def test_pxe_bundle_contents(pxe, initrd):
    assert sorted(p.name for p in pxe.iterdir()) == ["README.txt", "boot.ipxe", "initrd.img",
                                                     "vmlinuz"]
    assert (pxe / "initrd.img").read_bytes() == initrd.read_bytes()
    assert (pxe / "vmlinuz").read_bytes() == pathlib.Path(boot_vm.kernel()).read_bytes()
    lines = (pxe / "boot.ipxe").read_text().splitlines()
    assert lines[0] == "#!ipxe"
    assert f"kernel vmlinuz initrd=initrd.img {BASE_CMDLINE} {EXTRA} || goto failed" in lines
    assert "initrd initrd.img || goto failed" in lines
    fetched = [l.split()[1] for l in lines if l.split()[:1] in (["kernel"], ["initrd"])]
    assert fetched == ["vmlinuz", "initrd.img"], "boot.ipxe must fetch by relative URL"


def test_pxe_script_refuses_ipxe_specials(work, initrd):
    p = script(PXE_SH, "--kernel", boot_vm.kernel(), "--initrd", initrd, "--out", work / "p2",
               "--append", "x=${net0/ip}", check=False)
    assert p.returncode == 1 and "must not contain" in p.stderr, p.stderr


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, fmt, *args):
        _Handler.requests.append(self.path)


@pytest.fixture
def http_root(work, pxe):
    """An HTTP server on 127.0.0.1 (10.0.2.2 from the guest) serving work/www."""
    _Handler.requests = []
    handler = functools.partial(_Handler, directory=str(work / "www"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("firmware", ["bios", "uefi"])
def test_pxe_bundle_boots_over_http(work, pxe, http_root, firmware):
    url = f"http://10.0.2.2:{http_root}/boot/x86_64/boot.ipxe"
    args = ["-boot", "n", "-nic", f"user,model=virtio-net-pci,bootfile={url}"]
    if firmware == "uefi":
        args = ["-bios", boot_vm.OVMF] + args
    rc, text, _ = boot_vm.qemu(args, work / f"pxe-{firmware}.log")
    assert_booted(rc, text, f"initrd=initrd.img {BASE_CMDLINE} {EXTRA}")
    for f in ("boot.ipxe", "vmlinuz", "initrd.img"):
        assert f"/boot/x86_64/{f}" in _Handler.requests, f"{f} not fetched: {_Handler.requests}"
