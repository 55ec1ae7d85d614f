"""Install from the hybrid ISO under UEFI (OVMF): a blank VM boots the ISO,
registers and installs; the next boot (the ISO again: the boot image always
decides) runs the installed OS from slot A."""
import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

import oci_registry  # noqa: E402
from vm_lab import LABEL, Lab  # noqa: E402

if oci_registry.missing_prerequisites():
    pytest.fail("the E2E tests need " + oci_registry.missing_prerequisites(), pytrace=False)


def agent_binary():
    path = os.environ.get("ELEMENTAL_AGENT_BIN") or str(TESTS.parent / "build/agent/elemental-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary not found at {path}", pytrace=False)
    return path


def test_install_from_the_iso_under_uefi(tmp_path):
    with Lab(tmp_path / "lab", agent_binary()) as lab:
        lab.registration()
        lab.use_iso()
        lab.boot()
        name = lab.wait("the host to register", lab.only_host, timeout=600)
        lab.wait("InstallationReady",
                 lambda: (lab.condition(name, "InstallationReady") or {}).get("status") == "True")
        assert lab.wait_reboot() == 0
        assert lab.labels(name).get(LABEL + "installed") == "true"
        lab.boot()
        lab.wait_serial("TEST-OS v1 running on slot A")
        lab.wait("phase Running",
                 lambda: (lab.host(name) or {}).get("status", {}).get("phase") == "Running")
