"""Install from the hybrid ISO under UEFI (OVMF): a blank VM boots the ISO,
registers and installs; the next boot (the ISO again: the boot image always
decides) runs the installed OS from slot A."""
from vm_lab import LABEL, Lab


def test_install_from_the_iso_under_uefi(tmp_path, agent_bin):
    with Lab(tmp_path / "lab", agent_bin) as lab:
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
