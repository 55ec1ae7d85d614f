"""The whole lifecycle of the seed documents in QEMU (TCG): a blank VM boots
the boot image, registers and installs, runs on slot A, is bootstrapped,
upgraded to v2 on slot B, survives a broken v3 by rolling back to B, and is
reset and installed again as a new host. After each step the host is checked
on the test API server and the slot on the serial console.
"""
import vm_lifecycle
from vm_lab import Lab


def test_whole_lifecycle(tmp_path, agent_bin):
    with Lab(tmp_path / "lab", agent_bin) as lab:
        vm_lifecycle.walk(lab, tmp_path)
