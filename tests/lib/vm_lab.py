"""A lab for whole-lifecycle runs in QEMU: the test Elemental API server
(HTTPS), a docker-registry with the test OS images, the boot image with the
test's settings appended, and one VM whose boots are separate QEMU runs
(`-no-reboot`: a reboot ends the run, the lab starts the next boot on the
same disk). Used by the E2E tests and the demo.

The guest reaches the host's 127.0.0.1 as 10.0.2.2 (QEMU user networking).
The API server's certificate names `mgmt.elemental.test` (mbedTLS does not
match IP addresses), which the boot image's and the OS images' /etc/hosts map
to 10.0.2.2; the registry speaks plain HTTP on 10.0.2.2, declared in the
boot image's registries.yaml (the boot image hands it to the installed OS).
"""
import gzip
import io
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import oci_registry
from harness import running_server

REPO = Path(__file__).resolve().parent.parent.parent
LABEL = "elementalhost.infrastructure.cluster.x-k8s.io/"
SECOND = 1_000_000_000
MGMT = "mgmt.elemental.test"
HOSTS = f"127.0.0.1 localhost\n10.0.2.2 {MGMT}\n"
KERNEL_ARGS = "console=ttyS0 panic=5 quiet loglevel=4"


def cpio_newc(entries):
    """An uncompressed newc cpio of (path, mode, data) entries; directories have data None."""
    out = io.BytesIO()
    ino = 1

    def header(name, mode, size, nlink):
        nonlocal ino
        fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name) + 1, 0]
        ino += 1
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.write(name.encode() + b"\0")
        out.write(b"\0" * ((4 - out.tell() % 4) % 4))

    for path, mode, data in entries:
        name = path.lstrip("/")
        if data is None:
            header(name, 0o040000 | mode, 0, 2)
        else:
            header(name, 0o100000 | mode, len(data), 1)
            out.write(data)
            out.write(b"\0" * ((4 - out.tell() % 4) % 4))
    header("TRAILER!!!", 0, 0, 1)
    out.write(b"\0" * ((512 - out.tell() % 512) % 512))
    return out.getvalue()


def _comm(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return ""  # a zombie is dead already
        return stat.split("(", 1)[1].rsplit(")", 1)[0]
    except OSError:
        return ""


def descendants(root):
    """Every live process below `root`."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def sh(*cmd, timeout=1800, **kw):
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                         **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(str(c) for c in cmd)} exited {res.returncode}:\n"
                           f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout


def build_boot_image(agent_bin, out: Path):
    """initrd/build.sh: out/vmlinuz and out/initrd.img."""
    if not (out / "initrd.img").exists():
        sh("bash", REPO / "initrd/build.sh", "--agent", agent_bin, "--out", out)
    # The uncompressed ELF boots ~3 s faster under TCG (PVH).
    kernel = out / "vmlinux" if (out / "vmlinux").exists() else out / "vmlinuz"
    return kernel, out / "initrd.img"


def build_test_os(agent_bin, layout: Path):
    """image/test-os/build.sh: v1, v2 and the broken v3, each with the lab's
    /etc/hosts and the static mke2fs/mkfs.fat/e2fsck (the native plugin
    formats the other slot from the running OS)."""
    tools = Path(os.environ["ELEMENTAL_TOOLS_DIR"])
    if not (layout / "index.json").exists():
        sh("bash", REPO / "image/test-os/build.sh", "--agent", agent_bin, "--layout", layout)
        for tag in ("v1", "v2", "v3"):
            bundle = layout.parent / f"hosts-{tag}"
            sh("umoci", "unpack", "--image", f"{layout}:{tag}", bundle)
            (bundle / "rootfs/etc").mkdir(exist_ok=True)
            (bundle / "rootfs/etc/hosts").write_text(HOSTS)
            (bundle / "rootfs/usr/sbin").mkdir(parents=True, exist_ok=True)
            for tool in ("mke2fs", "mkfs.fat", "e2fsck"):
                shutil.copy2(tools / tool, bundle / "rootfs/usr/sbin" / tool)
            sh("umoci", "repack", "--image", f"{layout}:{tag}", bundle)
            shutil.rmtree(bundle)
    return layout


class Lab:
    def __init__(self, work: Path, agent_bin: str, say=None):
        self.work = Path(work)
        self.agent_bin = agent_bin
        self.say = say or (lambda text: None)
        self.boots = 0
        self.vm = None
        self.disk = self.work / "disk.img"
        self.serial_logs = []

    # --- set-up ---------------------------------------------------------------------------
    def __enter__(self):
        self.work.mkdir(parents=True, exist_ok=True)
        self.say("building the boot image and the test OS images")
        self.kernel, base_initrd = build_boot_image(self.agent_bin, self.work / "boot")
        self.layout = build_test_os(self.agent_bin, self.work / "os-layout")
        (self.work / "registry").mkdir(exist_ok=True)
        self.registry_proc, addr = oci_registry.start_registry(self.work / "registry")
        port = addr.rsplit(":", 1)[1]
        self.registry = f"10.0.2.2:{port}"
        for tag in ("v1", "v2", "v3"):
            oci_registry.push(self.layout, tag, addr, "os")
        self._server_cm = running_server(self.work / "server", dns_names=("localhost", MGMT),
                                         external_url=f"https://{MGMT}:{{port}}")
        self.server = self._server_cm.__enter__()
        self.base_initrd = base_initrd
        return self

    def __exit__(self, *exc):
        self.power_off()
        try:
            self._server_cm.__exit__(*exc)
        finally:
            self.registry_proc.terminate()
            self.registry_proc.wait(timeout=10)

    def image(self, tag):
        return f"oci://{self.registry}/os:{tag}"

    def registration(self, name="fleet", reset=None, baked_config=None):
        """Creates the registration and the boot image with the lab's
        settings. `baked_config`: the agent config baked into the image
        (default: the registration's; "" bakes none)."""
        spec = {
            "hostLabels": {"env": "e2e"},
            "config": {
                "elemental": {
                    "agent": {"osPlugin": "/usr/lib/elemental/plugins/elemental.so",
                              "reconciliation": SECOND, "workDir": "/var/lib/elemental/agent",
                              "hostname": {"prefix": "vm-"}, "postInstall": {"reboot": True},
                              "postReset": {"reboot": True}},
                    "install": {"device": "/dev/vda", "systemUri": self.image("v1"),
                                "partitions": {"efi": {"size": 40}, "oem": {"size": 32},
                                               "system": {"size": 256},
                                               "persistent": {"size": 128}}},
                    "reset": reset or {"resetOem": False, "resetPersistent": False},
                },
            },
        }
        reg = self.server.create_registration(name, spec=spec)
        registries = (f'mirrors:\n  "{self.registry}":\n'
                      f'    endpoint: ["http://{self.registry}"]\n')
        config = reg.config_text if baked_config is None else baked_config
        entries = [
            ("etc", 0o755, None), ("etc/elemental", 0o755, None),
            ("etc/elemental/agent", 0o700, None),
            ("etc/hosts", 0o644, HOSTS.encode()),
            ("etc/elemental/agent/registries.yaml", 0o644, registries.encode()),
        ]
        if config:
            entries.append(("etc/elemental/agent/config.yaml", 0o600, config.encode()))
        extra = cpio_newc(entries)
        self.initrd = self.work / "initrd-lab.img"
        with open(self.initrd, "wb") as f:
            f.write(self.base_initrd.read_bytes())
            f.write(gzip.compress(extra, mtime=0))
        return reg

    def use_iso(self):
        """Boots from now on from a hybrid ISO of the lab's boot image under
        UEFI (OVMF), as a user with a USB stick or a virtual CD would."""
        vmlinuz = self.kernel.parent / "vmlinuz"
        self.iso = self.work / "lab.iso"
        sh("bash", REPO / "image/build-iso.sh", "--kernel", vmlinuz, "--initrd", self.initrd,
           "--out", self.iso, "--append", "quiet loglevel=4")
        return self.iso

    # --- the VM ---------------------------------------------------------------------------
    def boot(self, timeout=900, kernel_args=""):
        """Starts the next boot of the VM (a QEMU run that ends at the guest's
        reboot); `kernel_args` are added to the command line (direct kernel
        boot only)."""
        assert self.vm is None or self.vm.poll() is not None, "the VM is still running"
        self.boots += 1
        log = self.work / f"serial-{self.boots:02d}.log"
        self.serial_logs.append(log)
        if getattr(self, "iso", None):
            source = ["--iso", str(self.iso), "--uefi"]
        else:
            source = ["--kernel", str(self.kernel), "--initrd", str(self.initrd), "--append",
                      f"{KERNEL_ARGS} {kernel_args}".strip()]
        self.vm = subprocess.Popen(
            ["bash", str(REPO / "qemu/run.sh"), *source, "--disk", str(self.disk), "--disk-size",
             "2G", "--serial", str(log), "--timeout", str(timeout), "--no-reboot"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.boot_started = time.monotonic()
        return log

    def serial(self):
        log = self.serial_logs[-1]
        return log.read_text(errors="replace") if log.exists() else ""

    def wait_serial(self, text, timeout=600):
        self.wait(f"'{text}' on the serial console", lambda: text in self.serial(), timeout)

    def wait_reboot(self, timeout=900):
        """Waits for the guest to end this boot (reboot or power-off)."""
        deadline = time.monotonic() + timeout
        while self.vm.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"boot {self.boots} did not end within {timeout}s; serial "
                                     f"tail:\n{self.serial()[-3000:]}")
            time.sleep(0.5)
        return self.vm.returncode

    def power_off(self):
        """Pulls the plug: SIGKILL to QEMU first, then to the wrapper and
        everything else it started (`timeout` runs QEMU in a process group
        of its own, so the whole tree is walked)."""
        if self.vm is None or self.vm.poll() is not None:
            return
        pids = descendants(self.vm.pid)
        pids.sort(key=lambda p: 0 if "qemu" in _comm(p) else 1)
        for pid in pids + [self.vm.pid]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.vm.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(os.path.exists(f"/proc/{p}") and _comm(p) for p in pids):
            if time.monotonic() > deadline:
                raise AssertionError(f"QEMU did not die: {pids}")
            time.sleep(0.05)

    def wait(self, what, predicate, timeout=600):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.vm is not None and self.vm.poll() is not None and "serial" in what:
                raise AssertionError(f"the VM stopped while waiting for {what}; serial tail:\n"
                                     f"{self.serial()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; serial "
                                     f"tail:\n{self.serial()[-3000:]}")
            time.sleep(0.5)

    # --- the host as the cluster sees it ---------------------------------------------------
    def host(self, name):
        return self.server.host(name)

    def only_host(self):
        hosts = self.server.hosts()
        return hosts[0]["metadata"]["name"] if len(hosts) == 1 else None

    def labels(self, name):
        h = self.host(name)
        return (h or {}).get("metadata", {}).get("labels", {})

    def condition(self, name, ctype):
        h = self.host(name) or {}
        for c in h.get("status", {}).get("conditions", []):
            if c["type"] == ctype:
                return c
        return None

    def line(self, name, slot=""):
        """One `kubectl get elementalhost`-style line."""
        h = self.host(name)
        if h is None:
            return f"{name:<44} (deleted)"
        st = h.get("status", {})
        ready = next((c["status"] for c in st.get("conditions", []) if c["type"] == "Ready"), "-")
        os_image = (h.get("spec", {}).get("osVersionManagement", {}) or {}).get(
            "osVersion", {}).get("imageUri", "-")
        return (f"{name:<44} {st.get('phase', '-'):<24} {ready:<6} "
                f"{os_image.rsplit('/', 1)[-1]:<8} {slot or '-'}")

    def booted_slot(self):
        """The slot the last boot switched to, from the serial console."""
        for line in reversed(self.serial().splitlines()):
            if "switching to slot " in line:
                return line.rsplit("switching to slot ", 1)[1].strip()[:1]
        return ""

    def patch_os(self, name, tag):
        self.server.admin("host", "patch-os-version", name, "--json",
                          json.dumps({"osVersion": {"imageUri": self.image(tag)}}))
        self.server.admin("host", "label", name, LABEL + "in-place-update=pending")
