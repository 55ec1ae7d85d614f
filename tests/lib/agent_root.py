"""A throw-away root filesystem in which the static agent runs as on a host.

The agent and its dummy plugin write absolute paths (/etc/hostname,
/etc/cloud/..., /run/cluster-api/..., the work directory) and set the host
name, exactly as on a real machine. Tests run it inside a chroot and a
private UTS namespace, so nothing touches the machine running the tests.
Each run starts a new UTS namespace whose host name comes from
<root>/etc/hostname, the way a reboot keeps the installed host name.

Needs root (chroot, unshare, mknod), as the tests in CI have.
"""

import os
import shutil
import stat
import subprocess
from pathlib import Path

AGENT_IN_ROOT = "/usr/sbin/elemental-agent"
CONFIG_IN_ROOT = "/etc/elemental/agent/config.yaml"
WORK_DIR_IN_ROOT = "/var/lib/elemental/agent"
SENTINEL_IN_ROOT = "/run/cluster-api/bootstrap-success.complete"
POWER_REQUESTS_IN_ROOT = "/run/elemental-test/power-requests"
DEFAULT_HOSTNAME = "blank-host"

# The agent's environment: a plain PATH that finds the root's fake reboot/poweroff.
_ENV = dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin")

# Runs the agent: new UTS namespace, host name set, then chroot.
_LAUNCH = 'hostname "$1" && shift && exec chroot "$@"'


class AgentRoot:
    def __init__(self, path: Path, agent_bin: str):
        self.path = Path(path)
        for d in ("usr/sbin", "etc/elemental/agent", "run", "tmp", "dev", "var/lib"):
            (self.path / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.path / "tmp", 0o1777)
        shutil.copy2(agent_bin, self.path / AGENT_IN_ROOT.lstrip("/"))
        # reboot/poweroff only record the request (see tests/helpers/fake_power.c),
        # built next to the agent.
        fake_power = Path(agent_bin).resolve().parent.parent / "tests/unit/fake-power"
        if not fake_power.exists():
            raise FileNotFoundError(f"{fake_power} is missing: build the project first")
        for prog in ("reboot", "poweroff"):
            shutil.copy2(fake_power, self.path / "usr/sbin" / prog)
        (self.path / "etc/hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
        for name, minor in (("null", 3), ("urandom", 9)):
            node = self.path / "dev" / name
            if not node.exists():
                os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))

    def file(self, path_in_root: str) -> Path:
        return self.path / path_in_root.lstrip("/")

    def power_requests(self) -> list:
        """The reboot/poweroff commands the agent ran, in order ("reboot -f", ...)."""
        f = self.file(POWER_REQUESTS_IN_ROOT)
        return f.read_text().splitlines() if f.exists() else []

    def write_config(self, text: str) -> None:
        self.file(CONFIG_IN_ROOT).write_text(text)

    def hostname(self) -> str:
        f = self.file("/etc/hostname")
        if f.exists() and f.read_text().strip():
            return f.read_text().strip()
        return DEFAULT_HOSTNAME

    def command(self, *args: str, debug: bool = False) -> list:
        cmd = ["unshare", "--uts", "--", "/bin/sh", "-c", _LAUNCH, "sh",
               self.hostname(), str(self.path), AGENT_IN_ROOT]
        if debug:
            cmd.append("--debug")
        return cmd + list(args)

    def run(self, *args: str, timeout: float = 120, debug: bool = False) -> subprocess.CompletedProcess:
        """Runs the agent to completion and returns its exit code and output."""
        return subprocess.run(self.command(*args, debug=debug), capture_output=True,
                              text=True, timeout=timeout, env=_ENV)

    def start(self, *args: str, log_path: Path, debug: bool = False) -> subprocess.Popen:
        """Starts the agent in the background; its stdout and stderr go to log_path."""
        log = open(log_path, "ab")
        try:
            return subprocess.Popen(self.command(*args, debug=debug), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, env=_ENV)
        finally:
            log.close()
