"""The whole lifecycle of the seed documents in QEMU (TCG): a blank VM boots
the boot image, registers and installs, runs on slot A, is bootstrapped,
upgraded to v2 on slot B, survives a broken v3 by rolling back to B, and is
reset and installed again as a new host. After each step the host is checked
on the test API server and the slot on the serial console.
"""
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

import oci_registry  # noqa: E402
import vm_lifecycle  # noqa: E402
from vm_lab import Lab  # noqa: E402

if oci_registry.missing_prerequisites():
    pytest.fail("the E2E tests need " + oci_registry.missing_prerequisites(), pytrace=False)


def agent_binary():
    path = os.environ.get("ELEMENTAL_AGENT_BIN") or str(TESTS.parent / "build/agent/elemental-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary not found at {path}", pytrace=False)
    return path


def test_whole_lifecycle(tmp_path):
    with Lab(tmp_path / "lab", agent_binary()) as lab:
        vm_lifecycle.walk(lab, tmp_path)
