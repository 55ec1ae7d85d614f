"""Power cuts during an upgrade, in QEMU: for a fixed set of seeds, QEMU is
killed at a moment chosen by the seed while the running system upgrades
(pulling into the other slot, writing the slot record, rebooting). Every next
boot must come up running a good slot, the slot record must read back
consistent, and the upgrade must finish on its own (in-place-update done).
Afterwards the disk is checked on the host: the record as `elemental-agent
state` reads it, and every filesystem with e2fsck after the journal replay.
"""
import random
import subprocess
import time

import yaml

import oci_registry
from vm_lab import LABEL, Lab

SEEDS = [11, 23, 37, 41, 53]
# Where in an upgrade each seed cuts: after a new line on the serial console
# plus a random delay. After "Upgrading to" the delay is short (< 0.3 s): the
# images carry a 48 MB incompressible payload, so the slot is still being
# written then, even on a fast machine. After "holds" the record says "try
# next"; after "Rebooting" the reboot is under way.
EVENTS = [("Upgrading to", 0.3), ("holds oci://", 1.0), ("Upgrading to", 0.3),
          ("Rebooting", 1.0), ("Upgrading to", 0.3)]
PAYLOAD_MB = 48


def with_payload(layout, tag, new_tag, seed):
    """new_tag: `tag` plus a layer with an incompressible file."""
    bundle = layout.parent / f"payload-{new_tag}"
    oci_registry.run("umoci", "unpack", "--image", f"{layout}:{tag}", bundle)
    (bundle / "rootfs/var").mkdir(exist_ok=True)
    (bundle / "rootfs/var/payload").write_bytes(random.Random(seed).randbytes(PAYLOAD_MB << 20))
    oci_registry.run("umoci", "repack", "--image", f"{layout}:{new_tag}", bundle)
    subprocess.run(["rm", "-rf", str(bundle)], check=True)


def running_marker(serial):
    lines = [ln for ln in serial.splitlines() if "TEST-OS" in ln and "running on slot" in ln]
    return lines[-1] if lines else None


def test_power_cut_during_upgrades(tmp_path, agent_bin):
    with Lab(tmp_path / "lab", agent_bin) as lab:
        lab.registration()
        lab.boot()
        name = lab.wait("the host to register", lab.only_host)
        assert lab.wait_reboot() == 0
        lab.boot()
        lab.wait_serial("TEST-OS v1 running on slot A")
        lab.wait("phase Running",
                 lambda: (lab.host(name) or {}).get("status", {}).get("phase") == "Running")

        for content in ("v1", "v2"):
            oci_registry.run("umoci", "tag", "--image", f"{lab.layout}:{content}", f"big-{content}")
            with_payload(lab.layout, content, f"big-{content}", len(content))
        host_registry = f"127.0.0.1:{lab.registry.rsplit(':', 1)[1]}"

        # Each seed asks for a new OS version (its own tag: its own correlationID).
        cut_before_written = 0
        for i, seed in enumerate(SEEDS):
            rng = random.Random(seed)
            content = "v2" if i % 2 == 0 else "v1"
            tag = f"p{seed}"
            oci_registry.run("skopeo", "copy", "--dest-tls-verify=false",
                             f"oci:{lab.layout}:big-{content}", f"docker://{host_registry}/os:{tag}")
            event, max_delay = EVENTS[i % len(EVENTS)]
            delay = rng.uniform(0, max_delay)
            seen = lab.serial().count(event)
            lab.patch_os(name, tag)
            # Wait for a new `event` line (or the end of the boot), a random delay, pull the plug.
            deadline = time.monotonic() + 300
            while lab.serial().count(event) <= seen and lab.vm.poll() is None:
                assert time.monotonic() < deadline, f"seed {seed}: no '{event}'"
                time.sleep(0.02)
            time.sleep(delay)
            lab.power_off()
            if f"holds oci://{lab.registry}/os:{tag}" not in lab.serial():
                cut_before_written += 1

            # Every next boot runs a good slot; the upgrade finishes by itself.
            for _ in range(4):
                lab.boot()
                lab.wait("a running test OS", lambda: running_marker(lab.serial()), timeout=300)
                serial = lab.serial()
                assert "rescue shell" not in serial
                assert "slot state record unreadable" not in serial, serial[-3000:]
                assert "TEST-OS v3" not in serial
                lab.wait("reconcile or reboot",
                         lambda: lab.vm.poll() is not None or lab.labels(name).get(
                             LABEL + "in-place-update") == "done", timeout=300)
                if lab.labels(name).get(LABEL + "in-place-update") == "done":
                    break
                lab.wait_reboot(300)
            else:
                raise AssertionError(f"seed {seed}: the upgrade did not finish after 4 boots")
            assert f"TEST-OS {content} running" in running_marker(lab.serial()), seed
            lab.wait("OSVersionReady True",
                     lambda: (lab.condition(name, "OSVersionReady") or {}).get("status") == "True")
        lab.power_off()
        # The cuts after "Upgrading to" landed while the slot was being written.
        assert cut_before_written >= 3, cut_before_written

        # The disk after the last cut, as the host's tools see it.
        disk = lab.disk
        loop = subprocess.run(["losetup", "--find", "--show", str(disk)], check=True,
                              capture_output=True, text=True).stdout.strip()
        mnt = tmp_path / "oem"
        mnt.mkdir()
        try:
            subprocess.run(["partx", "--add", loop], check=True, capture_output=True)
            for n in range(2, 6):
                # Mounting replays the ext4 journal as a boot would; then a full check.
                where = tmp_path / f"p{n}"
                where.mkdir()
                subprocess.run(["mount", f"{loop}p{n}", str(where)], check=True)
                subprocess.run(["umount", str(where)], check=True)
                res = subprocess.run(["e2fsck", "-fn", f"{loop}p{n}"], capture_output=True,
                                     text=True)
                assert res.returncode == 0, res.stdout + res.stderr
            subprocess.run(["mount", f"{loop}p2", str(mnt)], check=True)
            res = subprocess.run([agent_bin, "state", "--state-dir",
                                  str(mnt / "elemental/state")], capture_output=True, text=True)
            assert res.returncode == 0, res.stderr
            st = yaml.safe_load(res.stdout)
            assert st["installed"] is True
            active = [s for s, info in st["slots"].items() if info["active"]]
            assert len(active) == 1 and st["slots"][active[0]]["state"] == "good", st
            assert st["pendingTry"] is None, st
        finally:
            subprocess.run(["umount", str(mnt)], capture_output=True)
            subprocess.run(["partx", "--delete", loop], capture_output=True)
            subprocess.run(["losetup", "--detach", loop], capture_output=True)
