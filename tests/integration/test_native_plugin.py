"""The native A/B plugin (`osPlugin: elemental.so`) on a disk image: the static
agent registers with the test API server, partitions and formats the image
through loop devices, pulls OS images from a local docker-registry into the
slots, and upgrades, rolls back and resets, checked with sgdisk, sfdisk,
e2fsck, fsck.vfat, `umoci unpack` and the slot state record.

Booting is simulated: between runs the test does what the boot image does
(`elemental-agent boot-decision`, then mount COS_OEM at /oem).
"""
import json
import shutil
import subprocess

import pytest
import yaml
from conftest import agent_binary, condition, stop, wait_for

import oci_registry
from native_root import STATE_DIR, Disk, NativeRoot

if oci_registry.missing_prerequisites():
    pytest.fail("the native plugin tests need " + oci_registry.missing_prerequisites() +
                " (bash tests/install-packages.sh installs them)", pytrace=False)

NATIVE_PLUGIN = "/usr/lib/elemental/plugins/elemental.so"
SECOND = 1_000_000_000
LABEL = "elementalhost.infrastructure.cluster.x-k8s.io/"
LABELS = ["COS_GRUB", "COS_OEM", "COS_SYSTEM_A", "COS_SYSTEM_B", "COS_PERSISTENT"]


@pytest.fixture(scope="module")
def os_images(tmp_path_factory):
    """A registry holding os:v1, os:v2 and os:v3, and the OCI layout they came from."""
    d = tmp_path_factory.mktemp("registry")
    proc, addr = oci_registry.start_registry(d)
    layout = d / "layout"
    try:
        for v in ("v1", "v2", "v3"):
            oci_registry.build_os_image(layout, v, v)
            oci_registry.push(layout, v, addr, "os")
        yield addr, layout
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def nroot(tmp_path, os_images):
    addr, _ = os_images
    root = NativeRoot(tmp_path / "root", agent_binary())
    # The test registry speaks plain HTTP: say so the way operators do.
    root.file("/etc/elemental/agent/registries.yaml").write_text(
        f'mirrors:\n  "{addr}":\n    endpoint: ["http://{addr}"]\n')
    with open(root.path / "disk.img", "wb") as f:
        f.truncate(512 << 20)
    return root


def native_spec(registry_addr, reset=None, **install_overrides):
    install = {
        "device": "/disk.img",
        "systemUri": f"oci://{registry_addr}/os:v1",
        # Small slots so the test disk is small; mkfs.fat needs 33 MiB for FAT32.
        "partitions": {"efi": {"size": 40}, "oem": {"size": 16}, "system": {"size": 96},
                       "persistent": {"size": 32}},
    }
    install.update(install_overrides)
    return {
        "hostLabels": {"env": "native"},
        "config": {
            "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
            "elemental": {
                "agent": {
                    "osPlugin": NATIVE_PLUGIN,
                    "reconciliation": SECOND,
                    "workDir": "/var/lib/elemental/agent",
                    "hostname": {"prefix": "n-"},
                    "postInstall": {"reboot": True},
                    "postReset": {"reboot": True},
                },
                "install": install,
                "reset": reset or {"resetOem": False, "resetPersistent": False},
            },
        },
    }


def check(*cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)


def state(nroot):
    res = nroot.run("state", "--state-dir", STATE_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    st = yaml.safe_load(res.stdout)
    active = [s for s, info in st["slots"].items() if info["active"]]
    st["active"] = active[0] if len(active) == 1 else active
    return st


def install(server, nroot, os_images, **spec_overrides):
    addr, _ = os_images
    reg = server.create_registration("fleet", spec=native_spec(addr, **spec_overrides))
    nroot.write_config(reg.config_text)
    res = nroot.run("register", "--install", timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    hosts = server.hosts()
    assert len(hosts) == 1, hosts
    return hosts[0]["metadata"]["name"], res.stdout + res.stderr


def boot(nroot, disk):
    """What the boot image does: decide the slot (writing the record), give
    the installed system its COS_OEM at /oem and the files the registration
    left there (host name, agent config, identity)."""
    disk.umount_all()
    oem = disk.mount("COS_OEM", nroot.path / "oem")
    nroot.set_live(False)
    res = nroot.run("boot-decision", "--state-dir", STATE_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    decision = yaml.safe_load(res.stdout)
    if decision["action"] == "boot":
        nroot.set_booted(decision["slot"])
        if (oem / "elemental/files").is_dir():
            shutil.copytree(oem / "elemental/files", nroot.path, dirs_exist_ok=True)
    return {"action": decision["action"], "slot": decision["slot"]}


def slot_tree(disk, label, where):
    disk.mount(label, where, read_only=True)
    try:
        return oci_registry.tree(where, ignore=("lost+found",))
    finally:
        subprocess.run(["umount", str(where)], check=True)
        disk.mounts.remove(where)


def expected_tree(os_images, version, tmp_path):
    _, layout = os_images
    dest = tmp_path / f"umoci-{version}"
    if not dest.exists():
        oci_registry.unpack(layout, version, dest)
    return oci_registry.tree(dest / "rootfs")


def assert_slot_holds(disk, label, os_images, version, tmp_path):
    got = slot_tree(disk, label, tmp_path / f"mnt-{label}")
    want = expected_tree(os_images, version, tmp_path)
    # The slot's root is a filesystem root (its mode and times are mkfs's).
    got.pop(".", None)
    want.pop(".", None)
    assert oci_registry.diff_trees(got, want) == []


def run_until(nroot, server, name, tmp_path, done, what, timeout=300):
    """Starts `run`, waits for done(host) or for the agent to exit, stops it."""
    log = tmp_path / f"run-{what.replace(' ', '-')}.log"
    agent = nroot.start("run", log_path=log)
    try:
        wait_for(lambda: agent.poll() is not None or done(server.host(name)), timeout=timeout,
                 what=what)
    finally:
        stop(agent)
    return log.read_text()


def test_install_upgrade_rollback(server, nroot, os_images, tmp_path):
    addr, _ = os_images
    name, out = install(server, nroot, os_images)
    assert nroot.power_requests() == ["reboot -f"]
    host = server.host(name)
    assert condition(host, "InstallationReady")["status"] == "True"
    assert host["metadata"]["labels"][LABEL + "installed"] == "true"

    # The disk as real tools see it.
    image = nroot.path / "disk.img"
    res = check("sgdisk", "-v", image)
    assert "No problems found" in res.stdout, res.stdout + res.stderr
    table = json.loads(check("sfdisk", "--json", image).stdout)["partitiontable"]
    assert table["label"] == "gpt"
    assert [p["name"] for p in table["partitions"]] == LABELS
    assert table["partitions"][0]["type"] == "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
    with Disk(image) as disk:
        parts = disk.by_label()
        for label in LABELS[1:]:
            res = check("e2fsck", "-fn", parts[label])
            assert res.returncode == 0, label + ": " + res.stdout + res.stderr
            assert check("e2label", parts[label]).stdout.strip() == label
        res = check("fsck.vfat", "-n", parts["COS_GRUB"])
        assert res.returncode == 0, res.stdout + res.stderr

        # Slot A holds v1 exactly as umoci unpacks it; B is empty.
        assert_slot_holds(disk, "COS_SYSTEM_A", os_images, "v1", tmp_path)
        # COS_OEM: the registration's files for the installed system.
        oem = disk.mount("COS_OEM", tmp_path / "oem", read_only=True)
        files = oem / "elemental/files"
        assert (files / "etc/hostname").read_text() == name + "\n"
        cfg = yaml.safe_load((files / "etc/elemental/agent/config.yaml").read_text())
        assert cfg["agent"]["osPlugin"] == NATIVE_PLUGIN
        key = files / "var/lib/elemental/agent/private.key"
        assert "PRIVATE KEY" in key.read_text()
        assert key.stat().st_mode & 0o077 in (0, 0o040)
        reg_cc = (oem / "elemental/cloud-config/registration.yaml").read_text()
        assert yaml.safe_load(reg_cc) == {"users": [{"name": "root", "passwd": "root"}]}
        disk.umount_all()

        # First boot: A.
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        st = state(nroot)
        assert st["active"] == "A"
        assert st["slots"]["A"]["image"] == f"oci://{addr}/os:v1"
        assert st["slots"]["A"]["state"] == "good"
        # Without --state-dir, `state` reads /oem and shows the disk it is on.
        res = nroot.run("state")
        assert res.returncode == 0, res.stdout + res.stderr
        layout = yaml.safe_load(res.stdout)["layout"]
        assert [(p["label"], p["fs"]) for p in layout] == list(zip(LABELS, ["vfat"] + ["ext4"] * 4))
        assert [p["device"] for p in layout] == [parts[label] for label in LABELS]
        assert layout[2]["size"] == 96 << 20

        # Running; then v2 with in-place-update=pending: pulled into B, reboot.
        os_v2 = {"osVersion": {"imageUri": f"oci://{addr}/os:v2"}}
        server.admin("host", "patch-os-version", name, "--json", json.dumps(os_v2))
        server.admin("host", "label", name, LABEL + "in-place-update=pending")
        out = run_until(nroot, server, name, tmp_path, lambda h: False, "reboot for v2")
        assert nroot.power_requests() == ["reboot -f"] * 2, out
        host = server.host(name)
        assert condition(host, "OSVersionReady")["reason"] == "WaitingForPostReconcileReboot"
        st = state(nroot)
        assert st["slots"]["B"]["image"] == f"oci://{addr}/os:v2"
        assert st["slots"]["B"]["state"] == "trying"
        assert st["pendingTry"]["slot"] == "B" and st["pendingTry"]["bootTriesLeft"] == 3
        disk.umount_all()
        assert_slot_holds(disk, "COS_SYSTEM_A", os_images, "v1", tmp_path)  # untouched
        assert_slot_holds(disk, "COS_SYSTEM_B", os_images, "v2", tmp_path)

        # Boot B; run marks it good and finds v2 reconciled: in-place-update done.
        assert boot(nroot, disk) == {"action": "boot", "slot": "B"}
        run_until(nroot, server, name, tmp_path,
                  lambda h: h["metadata"]["labels"].get(LABEL + "in-place-update") == "done",
                  "in-place-update done on B")
        assert condition(server.host(name), "OSVersionReady")["status"] == "True"
        st = state(nroot)
        assert st["active"] == "B" and st["slots"]["B"]["state"] == "good"
        assert nroot.power_requests() == ["reboot -f"] * 2

        # The same request again: nothing to do, no reboot.
        server.admin("host", "label", name, LABEL + "in-place-update=pending")
        run_until(nroot, server, name, tmp_path,
                  lambda h: h["metadata"]["labels"].get(LABEL + "in-place-update") == "done",
                  "in-place-update done again")
        assert nroot.power_requests() == ["reboot -f"] * 2

        # B → A with v3.
        os_v3 = {"osVersion": {"imageUri": f"oci://{addr}/os:v3"}}
        server.admin("host", "patch-os-version", name, "--json", json.dumps(os_v3))
        server.admin("host", "label", name, LABEL + "in-place-update=pending")
        run_until(nroot, server, name, tmp_path, lambda h: False, "reboot for v3")
        assert nroot.power_requests() == ["reboot -f"] * 3
        disk.umount_all()
        assert_slot_holds(disk, "COS_SYSTEM_A", os_images, "v3", tmp_path)
        assert_slot_holds(disk, "COS_SYSTEM_B", os_images, "v2", tmp_path)

        # v3 never reaches the API: three boots of A, then the fourth rolls back to B.
        for _ in range(3):
            assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        assert boot(nroot, disk) == {"action": "boot", "slot": "B"}
        st = state(nroot)
        assert st["active"] == "B"
        assert st["slots"]["A"]["state"] == "failed"
        assert st["lastRollback"]["image"] == f"oci://{addr}/os:v3"

        # Running on B: the rollback is reported, and v3 is not tried again.
        run_until(nroot, server, name, tmp_path,
                  lambda h: (condition(h, "OSVersionReady") or {}).get("status") == "False"
                  and "os:v3" in condition(h, "OSVersionReady")["message"],
                  "OSVersionReady False naming v3")
        c = condition(server.host(name), "OSVersionReady")
        assert c["reason"] == "OSVersionReconciliationFailed", c
        assert nroot.power_requests() == ["reboot -f"] * 3
        assert state(nroot)["slots"]["A"]["state"] == "failed"
        disk.umount_all()


def files_in(where):
    return sorted(p.name for p in where.iterdir())


@pytest.mark.parametrize("reset_persistent,reset_oem",
                         [(False, False), (True, False), (False, True), (True, True)])
def test_reset_then_install_again(server, nroot, os_images, tmp_path, reset_persistent,
                                  reset_oem):
    addr, _ = os_images
    reset = {"resetPersistent": reset_persistent, "resetOem": reset_oem}
    name, _ = install(server, nroot, os_images, reset=reset)
    image = nroot.path / "disk.img"
    with Disk(image) as disk:
        # What the installed system left: user data on COS_PERSISTENT and COS_OEM.
        (disk.mount("COS_PERSISTENT", tmp_path / "p") / "user-data").write_text("keep me?")
        (disk.mount("COS_OEM", tmp_path / "o") / "user-oem").write_text("keep me?")
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}

        # The host is deleted: run triggers the reset and reboots.
        server.admin("host", "delete", name)
        run_until(nroot, server, name, tmp_path, lambda h: False, "reset trigger")
        assert nroot.power_requests() == ["reboot -f"] * 2
        assert server.host(name)["status"]["phase"] == "Triggering Reset"
        assert state(nroot)["resetPending"] is True

        # The boot image sees the flag and runs reset in live mode.
        assert boot(nroot, disk)["action"] == "reset"
        disk.umount_all()
        nroot.set_live(True)
        res = nroot.run("reset", timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        assert server.host(name) is None
        assert nroot.power_requests() == ["reboot -f"] * 3

        parts = disk.by_label()
        for label in LABELS[1:]:
            res = check("e2fsck", "-fn", parts[label])
            assert res.returncode == 0, label + ": " + res.stdout + res.stderr
        for label in ("COS_SYSTEM_A", "COS_SYSTEM_B"):
            where = disk.mount(label, tmp_path / label, read_only=True)
            assert files_in(where) == ["lost+found"], label
        p = disk.mount("COS_PERSISTENT", tmp_path / "p2", read_only=True)
        assert (p / "user-data").exists() == (not reset_persistent)
        o = disk.mount("COS_OEM", tmp_path / "o2", read_only=True)
        assert (o / "user-oem").exists() == (not reset_oem)
        # The agent config and identity survive for re-registration.
        files = o / "elemental/files"
        assert (files / "etc/elemental/agent/config.yaml").exists()
        assert "PRIVATE KEY" in (files / "var/lib/elemental/agent/private.key").read_text()
        disk.umount_all()
        nroot.file("/oem").mkdir(exist_ok=True)

    # A fresh install on what reset left, in the same live boot.
    res = nroot.run("register", "--install", timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "The disk was reset: keeping its partitions" in res.stdout + res.stderr, \
        res.stdout + res.stderr
    hosts = server.hosts()
    assert len(hosts) == 1, hosts
    assert condition(hosts[0], "InstallationReady")["status"] == "True"
    with Disk(image) as disk:
        assert_slot_holds(disk, "COS_SYSTEM_A", os_images, "v1", tmp_path)
        p = disk.mount("COS_PERSISTENT", tmp_path / "p3", read_only=True)
        assert (p / "user-data").exists() == (not reset_persistent)
        disk.umount_all()
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        st = state(nroot)
        assert st["active"] == "A" and st["slots"]["A"]["image"] == f"oci://{addr}/os:v1"
        disk.umount_all()


# A CAPI bootstrap as the kubeadm provider shapes it: files with encodings,
# permissions and owners, then commands as strings and as argument lists.
KUBEADM_LIKE = """\
## template: jinja
#cloud-config
write_files:
-   path: /etc/kubernetes/pki/ca.crt
    owner: root:root
    permissions: '0640'
    content: |
      -----BEGIN CERTIFICATE-----
      MIIBdummy
      -----END CERTIFICATE-----
-   path: /run/kubeadm/kubeadm.yaml
    owner: root:root
    permissions: '0640'
    encoding: b64
    content: YXBpVmVyc2lvbjoga3ViZWFkbS5rOHMuaW8vdjFiZXRhMwpraW5kOiBJbml0Q29uZmlndXJhdGlvbgo=
-   path: /etc/bootstrap-log
    append: true
    content: "written\\n"
runcmd:
  - 'mkdir -p /var/lib/kubeadm-sim && echo ran >> /var/lib/kubeadm-sim/runs'
  - [sh, -c, 'cat /run/kubeadm/kubeadm.yaml > /var/lib/kubeadm-sim/seen-config']
"""


def test_bootstrap_applied_once_at_next_start(server, nroot, os_images, tmp_path):
    name, _ = install(server, nroot, os_images)
    image = nroot.path / "disk.img"
    with Disk(image) as disk:
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        bootstrap = tmp_path / "bootstrap.yaml"
        bootstrap.write_text(KUBEADM_LIKE)
        server.admin("host", "set-bootstrap", name, "--format", "cloud-config",
                     "--config", bootstrap)
        # run stores it on COS_OEM and asks for the reboot that applies it.
        run_until(nroot, server, name, tmp_path, lambda h: False, "reboot for bootstrap")
        assert nroot.power_requests() == ["reboot -f"] * 2
        stored = nroot.file("/oem/elemental/bootstrap/cloud-config.yaml")
        assert stored.read_text() == KUBEADM_LIKE
        assert not nroot.file("/run/kubeadm/kubeadm.yaml").exists()

        # The next start applies it, the sentinel appears, the host is bootstrapped.
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        run_until(nroot, server, name, tmp_path,
                  lambda h: h["metadata"]["labels"].get(LABEL + "bootstrapped") == "true",
                  "bootstrapped label")
        ca = nroot.file("/etc/kubernetes/pki/ca.crt")
        assert ca.read_text().startswith("-----BEGIN CERTIFICATE-----\nMIIBdummy\n")
        assert ca.stat().st_mode & 0o7777 == 0o640
        assert nroot.file("/run/kubeadm/kubeadm.yaml").read_text() == \
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n"
        assert nroot.file("/var/lib/kubeadm-sim/seen-config").read_text() == \
            "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n"
        assert nroot.file("/var/lib/kubeadm-sim/runs").read_text() == "ran\n"
        assert nroot.file("/run/cluster-api/bootstrap-success.complete").exists()
        assert condition(server.host(name), "BootstrapReady")["status"] == "True"

        # Another start (a later reboot) does not run it again.
        assert boot(nroot, disk) == {"action": "boot", "slot": "A"}
        server.admin("host", "label", name, LABEL + "in-place-update=pending")
        run_until(nroot, server, name, tmp_path,
                  lambda h: h["metadata"]["labels"].get(LABEL + "in-place-update") == "done",
                  "a full reconcile after the restart")
        assert nroot.file("/var/lib/kubeadm-sim/runs").read_text() == "ran\n"
        assert nroot.file("/etc/bootstrap-log").read_text() == "written\n"
        assert nroot.power_requests() == ["reboot -f"] * 2
        disk.umount_all()
