"""The demo: one blank VM walked through the whole Elemental lifecycle.

Starts the test Elemental API server (HTTPS, a fresh test CA) and a local
docker-registry holding the test OS images v1, v2 and a broken v3, builds the
boot image, and boots a blank QEMU VM (TCG unless KVM is proven) from it. The
agent in the boot image registers and installs the host; the installed OS
runs `elemental-agent run`; the demo then sets a bootstrap secret, upgrades
to v2 (slot B), tries the broken v3 (rolled back to B), and deletes the host
(reset, then a new registration and install). After each step it prints the
host as `kubectl get elementalhost` would, with the slot the VM booted.

Usage: /usr/bin/python3 tests/demo.py AGENT_BINARY  (needs ELEMENTAL_TOOLS_DIR,
see demo.sh). The serial console of each boot is kept in the work directory
printed at the start.
"""
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

import vm_lifecycle  # noqa: E402
from vm_lab import Lab  # noqa: E402


def main():
    agent_bin = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="elemental-demo-", dir="/var/tmp"))
    print(f"work directory (serial consoles, server and registry logs): {work}", flush=True)
    start = time.monotonic()
    last = [start]
    steps = []

    def say(text):
        print(f"[{time.monotonic() - start:7.1f}s] {text}", flush=True)

    with Lab(work / "lab", agent_bin, say=say) as lab:
        say(f"test Elemental API server {lab.server.url}, registry {lab.registry} "
            "(10.0.2.2 is the host as the VM sees it)")

        def report(step, name):
            now = time.monotonic()
            steps.append((step, now - last[0], now - start))
            last[0] = now
            print(f"\n[{now - start:7.1f}s] == {step}", flush=True)
            print(f"  {'NAME':<44} {'PHASE':<24} {'READY':<6} {'OS':<8} SLOT")
            print("  " + lab.line(name, lab.booted_slot()), flush=True)

        vm_lifecycle.walk(lab, work, report)
        print(f"\nlifecycle complete in {time.monotonic() - start:.0f}s, {lab.boots} boots of the VM")
        print("\nstep durations (wall time, including the VM's reboots):")
        for step, took, at in steps:
            print(f"  {took:7.1f}s  (at {at:7.1f}s)  {step}")


if __name__ == "__main__":
    main()
