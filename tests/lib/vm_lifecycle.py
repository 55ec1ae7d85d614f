"""The whole lifecycle of the seed documents, step by step, on a Lab (see
vm_lab.py): used by the E2E test and by the demo, which prints each step.

`report(step, name)` is called after each step with the host's name.
"""
from vm_lab import LABEL

BOOTSTRAP = """#cloud-config
write_files:
- path: /etc/e2e/bootstrap.txt
  permissions: '0600'
  content: bootstrapped by the e2e test
runcmd:
- echo "E2E-BOOTSTRAP-RUNCMD ran" > /dev/console
"""


def phase(lab, name):
    return (lab.host(name) or {}).get("status", {}).get("phase")


def status(lab, name, ctype):
    return (lab.condition(name, ctype) or {}).get("status")


def walk(lab, tmp_path, report=lambda step, name: None):
    lab.registration()

    # Blank disk: register --install, then the reboot.
    lab.boot()
    name = lab.wait("the host to register", lab.only_host, timeout=600)
    report("booted the boot image on a blank disk: registered", name)
    lab.wait("InstallationReady", lambda: status(lab, name, "InstallationReady") == "True")
    assert lab.wait_reboot() == 0
    assert lab.labels(name).get(LABEL + "installed") == "true"
    report("installed v1 into slot A; rebooting", name)

    # Slot A, v1, Running.
    lab.boot()
    lab.wait_serial("TEST-OS v1 running on slot A")
    # The slot state as the boot image read it.
    assert f"slot A: good, active, {lab.image('v1')}" in lab.serial()
    assert "slot B: empty" in lab.serial()
    lab.wait("phase Running", lambda: phase(lab, name) == "Running")
    report("running v1 on slot A", name)

    # Bootstrap: stored, reboot, applied once at the next start, sentinel, bootstrapped.
    bootstrap = tmp_path / "bootstrap.yaml"
    bootstrap.write_text(BOOTSTRAP)
    lab.server.admin("host", "set-bootstrap", name, "--format", "cloud-config",
                     "--config", bootstrap)
    assert lab.wait_reboot(600) == 0
    report("bootstrap secret set: stored on COS_OEM; rebooting", name)
    lab.boot()
    # Its files are written before the system starts, its commands by `run`.
    lab.wait_serial("pending bootstrap: 1 file(s) written before the system starts")
    lab.wait_serial("E2E-BOOTSTRAP-RUNCMD ran")
    lab.wait("bootstrapped label", lambda: lab.labels(name).get(LABEL + "bootstrapped") == "true")
    report("bootstrap applied (write_files, runcmd, sentinel): bootstrapped", name)

    # v2 with in-place-update=pending: pulled into B, reboot, B marked good, done.
    lab.patch_os(name, "v2")
    assert lab.wait_reboot(600) == 0
    report("osVersion v2 + in-place-update=pending: v2 written to slot B; rebooting", name)
    lab.boot()
    lab.wait_serial("TEST-OS v2 running on slot B")
    lab.wait("in-place-update done",
             lambda: lab.labels(name).get(LABEL + "in-place-update") == "done")
    assert status(lab, name, "OSVersionReady") == "True"
    report("running v2 on slot B: in-place-update done", name)

    # Broken v3 into A: three failing boots, then the rollback to B, reported.
    lab.patch_os(name, "v3")
    assert lab.wait_reboot(600) == 0
    report("osVersion v3 (broken): written to slot A; rebooting", name)
    for n in range(3):
        lab.boot()
        lab.wait_serial("TEST-OS v3 broken")
        lab.wait_reboot(300)
        report(f"v3 failed to boot ({n + 1}/3)", name)
    lab.boot()
    lab.wait_serial("TEST-OS v2 running on slot B")
    assert f"slot A: failed, {lab.image('v3')}" in lab.serial()
    assert f"slot B: good, active, {lab.image('v2')}" in lab.serial()
    lab.wait("OSVersionReady False naming v3",
             lambda: status(lab, name, "OSVersionReady") == "False"
             and "os:v3" in lab.condition(name, "OSVersionReady").get("message", ""))
    # No retry loop: after more reconciles the VM still runs on B.
    seen = len(lab.server.requests(path="/hosts"))
    lab.wait("more reconciles", lambda: len(lab.server.requests(path="/hosts")) > seen + 5,
             timeout=120)
    assert lab.vm.poll() is None, "the host must not reboot into v3 again"
    report("rolled back to v2 on slot B; OSVersionReady False: "
           + lab.condition(name, "OSVersionReady").get("message", ""), name)

    # Host deleted: reset triggered, reboot, reset in the boot image, a new host installed.
    lab.server.admin("host", "delete", name)
    assert lab.wait_reboot(600) == 0
    report("host deleted: reset triggered; rebooting", name)
    lab.boot()
    lab.wait("the old host to be gone", lambda: lab.host(name) is None, timeout=600)
    report("reset done in the boot image: host gone", name)
    assert lab.wait_reboot() == 0
    lab.boot()
    new = lab.wait("a new host", lab.only_host, timeout=600)
    assert new != name
    lab.wait("the new host installed",
             lambda: status(lab, new, "InstallationReady") == "True")
    assert lab.wait_reboot() == 0
    report("registered and installed again as a new host", new)
    lab.boot()
    lab.wait_serial("TEST-OS v1 running on slot A")
    lab.wait("the new host Running", lambda: phase(lab, new) == "Running")
    report("running v1 on slot A", new)
    return new
