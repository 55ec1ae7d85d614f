"""Prints the agent's footprint: binary size (as built and stripped), linkage,
and the peak RSS of `elemental-agent run` over a period of normal operation
against the test Elemental API server (HTTPS, 1s reconcile period).

Usage: /usr/bin/python3 tests/bench/agent_footprint.py AGENT_BINARY [SECONDS]
(default 180 s). Needs root (the agent runs in a chroot, see tests/lib).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))
sys.path.insert(0, str(TESTS / "integration"))

from agent_root import AgentRoot  # noqa: E402
from conftest import registration_spec  # noqa: E402
from harness import running_server  # noqa: E402


def main():
    agent_bin = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 180
    with tempfile.TemporaryDirectory(prefix="elemental-bench-") as tmp:
        tmp = Path(tmp)
        stripped = tmp / "elemental-agent.stripped"
        shutil.copy2(agent_bin, stripped)
        subprocess.run(["strip", str(stripped)], check=True)
        print(f"binary:            {agent_bin}")
        print(f"file:              {subprocess.run(['file', '-b', agent_bin], capture_output=True, text=True).stdout.strip()}")
        dyn = subprocess.run(["readelf", "-d", agent_bin], capture_output=True, text=True).stdout.strip()
        print(f"readelf -d:        {dyn or '(no dynamic section)'}")
        print(f"size as built:     {os.path.getsize(agent_bin) / 1e6:.2f} MB")
        print(f"size stripped:     {os.path.getsize(stripped) / 1e6:.2f} MB")

        with running_server(tmp / "server") as srv:
            reg = srv.create_registration("bench", spec=registration_spec())
            root = AgentRoot(tmp / "root", agent_bin)
            root.write_config(reg.config_text)
            t0 = time.monotonic()
            res = root.run("register", "--install")
            if res.returncode != 0:
                raise SystemExit("register --install failed:\n" + res.stderr)
            print(f"register --install: {time.monotonic() - t0:.2f} s (wall, incl. chroot setup)")
            patches_before = len(srv.requests(method="PATCH"))
            report = tmp / "time.txt"
            cmd = ["/usr/bin/time", "-v", "-o", str(report)] + root.command("run")
            log = open(tmp / "run.log", "wb")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, PATH="/usr/sbin:/usr/bin:/sbin:/bin"))
            time.sleep(seconds)
            # /usr/bin/time reports on its child (the agent, after the execs): stop that.
            subprocess.run(["pkill", "-TERM", "-P", str(proc.pid)], check=False)
            proc.wait(timeout=30)
            text = report.read_text()
            rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
            cpu_u = re.search(r"User time \(seconds\): ([\d.]+)", text)
            cpu_s = re.search(r"System time \(seconds\): ([\d.]+)", text)
            patches = len(srv.requests(method="PATCH")) - patches_before
            print(f"run for {seconds} s:   {patches} PATCH requests, "
                  f"peak RSS {int(rss.group(1)) / 1024:.1f} MiB, "
                  f"CPU {float(cpu_u.group(1)) + float(cpu_s.group(1)):.2f} s")


if __name__ == "__main__":
    main()
