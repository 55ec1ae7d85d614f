"""The boot image's failures are visible: the step that failed and why, then
a rescue shell on the console — never a silent hang or a kernel panic."""
import subprocess

import pytest

from vm_lab import KERNEL_ARGS, REPO, build_boot_image


@pytest.fixture(scope="module")
def boot_image(tmp_path_factory, agent_bin):
    return build_boot_image(agent_bin, tmp_path_factory.mktemp("boot") / "out")


@pytest.mark.parametrize("extra_args,expected", [
    # No baked config and nothing on the command line.
    ("", "boot failed at step 'agent config': no agent config"),
    # A malformed kernel command line names the key.
    ("elemental.config.url=ftp://example/c.yaml",
     "boot failed at step 'kernel command line': kernel command line: elemental.config.url: "
     "not an http(s) URL: 'ftp://example/c.yaml'"),
    # A config URL nobody serves: retried, then the error names the URL.
    ("elemental.config.url=http://10.0.2.2:9/c.yaml",
     "fetching the agent config from http://10.0.2.2:9/c.yaml"),
])
def test_failure_names_the_step_and_starts_a_shell(tmp_path, boot_image, extra_args, expected):
    kernel, initrd = boot_image
    serial = tmp_path / "serial.log"
    res = subprocess.run(
        ["bash", str(REPO / "qemu/run.sh"), "--kernel", str(kernel), "--initrd", str(initrd),
         "--append", f"{KERNEL_ARGS} {extra_args}".strip(), "--disk", str(tmp_path / "disk.img"),
         "--disk-size", "1G", "--serial", str(serial), "--timeout", "300",
         "--expect", "starting a rescue shell on the console", "--stop-on-expect"],
        capture_output=True, text=True, timeout=400)
    log = serial.read_text(errors="replace")
    assert res.returncode == 0, res.stderr + log[-3000:]
    assert expected in log, log[-3000:]
    assert "Kernel panic" not in log
