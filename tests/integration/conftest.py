"""Fixtures for the integration tests: the static agent against the test API server.

Every test gets a fresh test Elemental API server (HTTPS, its own CA) and a fresh
root filesystem in which the agent runs (see tests/lib/agent_root.py).
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS / "server"))
sys.path.insert(0, str(TESTS / "lib"))

from agent_root import AgentRoot  # noqa: E402
from harness import running_server  # noqa: E402

DUMMY_PLUGIN = "/usr/lib/elemental/plugins/dummy.so"
SECOND = 1_000_000_000


def agent_binary() -> str:
    path = os.environ.get("ELEMENTAL_AGENT_BIN") or str(TESTS.parent / "build/agent/elemental-agent")
    if not os.access(path, os.X_OK):
        pytest.fail(f"agent binary not found at {path}: build it with ./build.sh "
                    "or set ELEMENTAL_AGENT_BIN")
    return path


def registration_spec(**agent_overrides) -> dict:
    """An ElementalRegistration.spec for the dummy plugin with a 1s reconcile period."""
    agent = {
        "osPlugin": DUMMY_PLUGIN,
        "reconciliation": SECOND,
        "workDir": "/var/lib/elemental/agent",
        "hostname": {"prefix": "m-"},
        "postInstall": {"reboot": True},
        "postReset": {"reboot": True},
    }
    agent.update(agent_overrides)
    return {
        "hostLabels": {"env": "integration"},
        "hostAnnotations": {"owner": "tests"},
        "config": {
            "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
            "elemental": {
                "agent": agent,
                "install": {"device": "/dev/vda", "debug": True},
                "reset": {"resetOem": True, "resetPersistent": False},
            },
        },
    }


@pytest.fixture
def agent_bin():
    return agent_binary()


@pytest.fixture
def server(tmp_path):
    with running_server(tmp_path / "server") as srv:
        yield srv


@pytest.fixture
def root(tmp_path, agent_bin):
    return AgentRoot(tmp_path / "root", agent_bin)


def wait_for(predicate, timeout=60, what="condition", interval=0.1):
    """Polls predicate() until it returns a truthy value; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def host_names(srv):
    return [h["metadata"]["name"] for h in srv.hosts()]


def condition(host, ctype):
    for c in (host.get("status") or {}).get("conditions") or []:
        if c["type"] == ctype:
            return c
    return None


def phase_history(srv, name):
    return [e["change"]["phase"] for e in srv.history(name)
            if isinstance(e.get("change"), dict) and "phase" in e["change"]]


def stop(proc, timeout=10):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def assert_no_secrets(text: str, secrets):
    for s in secrets:
        if s and s in text:
            pytest.fail(f"a secret ({s[:12]}...) appears in the agent's output")
    # No JWT-shaped strings and no PEM private keys at all.
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.", text), \
        "a JWT appears in the agent's output"
    assert "PRIVATE KEY" not in text, "private key material appears in the agent's output"
