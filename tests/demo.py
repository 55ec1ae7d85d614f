"""The demo: one host walked through the whole Elemental lifecycle.

Starts the test Elemental API server (HTTPS with a fresh test CA), creates a
registration, and runs the static elemental-agent (dummy OS plugin) inside a
throw-away root filesystem through register, install, run, bootstrap, an OS
version change, an in-place update and reset. After each step it prints the
host as `kubectl get elementalhost -o yaml` would.

Usage: /usr/bin/python3 tests/demo.py AGENT_BINARY
"""

import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

from agent_root import AgentRoot  # noqa: E402
from harness import running_server  # noqa: E402

LABEL = "elementalhost.infrastructure.cluster.x-k8s.io/"

SPEC = {
    "hostLabels": {"env": "demo"},
    "config": {
        "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
        "elemental": {
            "agent": {"osPlugin": "/usr/lib/elemental/plugins/dummy.so",
                      "reconciliation": 1_000_000_000, "hostname": {"prefix": "demo-"},
                      "postInstall": {"reboot": True}, "postReset": {"reboot": True}},
            "install": {"device": "/dev/vda"},
            "reset": {"resetOem": True},
        },
    },
}


def banner(text):
    print("\n" + "=" * 78 + "\n== " + text + "\n" + "=" * 78, flush=True)


def wait(what, predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: timed out waiting for {what}")
        time.sleep(0.2)


def show(srv, name):
    print(srv.admin("host", "show", name, "-o", "yaml"), end="", flush=True)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def label(srv, name, key):
    h = srv.host(name)
    return h and h["metadata"].get("labels", {}).get(LABEL + key)


def main():
    agent_bin = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="elemental-demo-") as tmp:
        tmp = Path(tmp)
        with running_server(tmp / "server") as srv:
            print(f"test Elemental API server: {srv.url}")
            srv.create_registration("demo", spec=SPEC)
            reg_cfg = (tmp / "server" / "demo-config.yaml").read_text()
            root = AgentRoot(tmp / "host", agent_bin)
            root.write_config(reg_cfg)

            banner("elemental-agent register --install")
            res = root.run("register", "--install")
            sys.stderr.write(res.stderr)
            if res.returncode != 0:
                raise SystemExit("demo: register --install failed")
            name = srv.hosts()[0]["metadata"]["name"]
            show(srv, name)

            banner("elemental-agent run  (host reboots into the installed system)")
            log = tmp / "run.log"
            agent = root.start("run", log_path=log)
            wait("phase Running", lambda: srv.host(name)["status"].get("phase") == "Running")
            show(srv, name)

            banner("bootstrap secret set: the agent applies it and reboots")
            cfg = tmp / "bootstrap.yaml"
            cfg.write_text("#cloud-config\nruncmd:\n- echo bootstrapped\n")
            srv.admin("host", "set-bootstrap", name, "--format", "cloud-config", "--config", cfg)
            agent.wait(90)
            show(srv, name)

            banner("after the reboot the bootstrap ran (sentinel file present): run again")
            sentinel = root.file("/run/cluster-api/bootstrap-success.complete")
            sentinel.parent.mkdir(parents=True, exist_ok=True)
            sentinel.write_text("")
            agent = root.start("run", log_path=log)
            wait("bootstrapped", lambda: label(srv, name, "bootstrapped") == "true")
            show(srv, name)

            banner("OS version change with in-place-update=pending")
            version = {"osVersion": {"imageUri": "oci://registry.example/os:v2"}}
            srv.admin("host", "patch-os-version", name, "--json", json.dumps(version))
            srv.admin("host", "label", name, LABEL + "in-place-update=pending")
            wait("in-place-update=done", lambda: label(srv, name, "in-place-update") == "done")
            show(srv, name)

            banner("host deleted: the agent triggers reset")
            srv.admin("host", "delete", name)
            agent.wait(90)
            show(srv, name)

            banner("elemental-agent reset  (after the OS was reset)")
            root.file("/var/lib/elemental/agent/reset.needed").unlink()
            res = root.run("reset")
            sys.stderr.write(res.stderr)
            stop(agent)
            print(srv.admin("host", "list"), end="")
            if srv.host(name) is not None or res.returncode != 0:
                raise SystemExit("demo: reset did not remove the host")
            print(f"host {name} is gone: lifecycle complete")


if __name__ == "__main__":
    main()
