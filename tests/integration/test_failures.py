"""How the agent behaves when things go wrong: bad tokens, wrong CA, the server
down, malformed responses, plain HTTP, and secrets in logs."""

import os
import signal
import subprocess
import sys

import pytest
import yaml
from conftest import (TESTS, assert_no_secrets, registration_spec, stop, wait_for)

sys.path.insert(0, str(TESTS / "server"))
import harness  # noqa: E402
import pki  # noqa: E402


def with_config(root, reg, mutate):
    cfg = yaml.safe_load(reg.config_text)
    mutate(cfg)
    root.write_config(yaml.safe_dump(cfg))
    return cfg


def reg_requests(server, status=None):
    rs = [r for r in server.requests(method="GET") if not r["path"].endswith("/bootstrap")]
    return [r for r in rs if status is None or r["status"] == status]


@pytest.mark.parametrize("kind", ["--expired", "--wrong-key", "garbage"])
def test_invalid_registration_token_is_retried_without_crash(server, root, tmp_path, kind):
    reg = server.create_registration("fleet", spec=registration_spec())
    bad = "not-a-jwt-at-all" if kind == "garbage" else \
        server.admin("registration", "token", "fleet", kind).strip()
    with_config(root, reg, lambda c: c["registration"].__setitem__("token", bad))
    log = tmp_path / "agent.log"
    agent = root.start("register", log_path=log, debug=True)
    try:
        wait_for(lambda: len(reg_requests(server, 403)) >= 3, timeout=60,
                 what="three refused registration requests")
        assert agent.poll() is None, "the agent must keep retrying"
    finally:
        stop(agent)
    text = log.read_text()
    assert "403" in text
    assert server.hosts() == []
    assert_no_secrets(text, [bad, reg.token])


def test_wrong_ca_fails_with_a_tls_error(server, root, tmp_path):
    other = tmp_path / "other-pki"
    pki.make_pki(str(other), dns_names=("localhost",))
    reg = server.create_registration("fleet", spec=registration_spec())
    with_config(root, reg, lambda c: c["registration"].__setitem__(
        "caCert", (other / "ca.pem").read_text()))
    log = tmp_path / "agent.log"
    agent = root.start("register", log_path=log)
    try:
        wait_for(lambda: log.read_text().count("getting remote Registration") >= 2
                 or log.read_text().count("ERROR") >= 2, timeout=60, what="two failed attempts")
        assert agent.poll() is None
    finally:
        stop(agent)
    text = log.read_text()
    assert "certificate" in text.lower() or "tls" in text.lower(), text[-2000:]
    assert server.hosts() == []


def test_agent_survives_the_server_being_down(tmp_path, root):
    srv_dir = tmp_path / "server"
    with harness.running_server(srv_dir) as srv:
        reg = srv.create_registration("fleet", spec=registration_spec())
        port = srv.port
        paths = srv.pki
    root.write_config(reg.config_text)
    log = tmp_path / "agent.log"
    agent = root.start("register", "--install", log_path=log)
    try:
        wait_for(lambda: log.read_text().count("ERROR") >= 2, timeout=60,
                 what="failed attempts while the server is down")
        assert agent.poll() is None
        # The server comes back on the same address with the same state.
        proc = subprocess.Popen(
            [harness.PYTHON, harness.SERVER, "--db", str(srv_dir / "elemental.db"),
             "--listen", f"127.0.0.1:{port}", "--tls-cert", paths["cert"],
             "--tls-key", paths["key"], "--ca", paths["ca"],
             "--log", str(srv_dir / "server2.log")],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert harness._wait_ready(proc, 30), "server did not restart"
            assert agent.wait(120) == 0, log.read_text()[-3000:]
            hosts = srv.hosts()
            assert len(hosts) == 1
            assert hosts[0]["metadata"]["labels"][
                "elementalhost.infrastructure.cluster.x-k8s.io/installed"] == "true"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    finally:
        stop(agent)


@pytest.mark.parametrize("fault,expect", [
    (["--bad-json"], "invalid JSON"),
    (["--huge"], "exceeds"),
    (["--mutate", '{"hostLabels": 5}'], "hostLabels"),
    (["--mutate", '{"config": {"elemental": {"agent": {"reconciliation": "soon"}}}}'],
     "reconciliation"),
    (["--status", "500"], "500"),
    (["--close"], "GET"),
])
def test_malformed_registration_response_gives_clear_error(server, root, tmp_path, fault, expect):
    reg = server.create_registration("fleet", spec=registration_spec())
    root.write_config(reg.config_text)
    path = reg.uri.split("://", 1)[1].split("/", 1)[1]
    server.fault("--path", "/" + path + "$", "--method", "GET", "--count", 2, *fault)
    log = tmp_path / "agent.log"
    agent = root.start("register", log_path=log)
    try:
        assert agent.wait(120) == 0, log.read_text()[-3000:]
    finally:
        stop(agent)
    text = log.read_text()
    assert expect in text, text[-3000:]
    assert len(server.hosts()) == 1, "the agent must recover once the server answers well"


@pytest.mark.parametrize("fault,expect", [
    (["--mutate", '{"installed": "yes"}'], "installed"),
    (["--mutate", '{"labels": 5}'], "labels"),
    (["--bad-json"], "invalid JSON"),
])
def test_malformed_host_response_gives_clear_error(server, root, tmp_path, fault, expect):
    reg = server.create_registration("fleet", spec=registration_spec())
    root.write_config(reg.config_text)
    assert root.run("register", "--install").returncode == 0
    name = server.hosts()[0]["metadata"]["name"]
    server.fault("--path", "/hosts/" + name + "$", "--method", "PATCH", "--count", 2, *fault)
    log = tmp_path / "agent.log"
    agent = root.start("run", log_path=log)
    try:
        server.wait_host(name, "phase=Running", timeout=60)
        wait_for(lambda: expect in log.read_text(), timeout=30, what="the error in the log")
        assert agent.poll() is None, "run must survive malformed responses"
    finally:
        stop(agent)


def test_plain_http_is_refused_unless_allowed(tmp_path, root):
    with harness.running_server(tmp_path / "server", tls=False) as srv:
        reg = srv.create_registration("fleet", spec=registration_spec())
        assert reg.uri.startswith("http://")
        root.write_config(reg.config_text)
        res = root.run("register", timeout=30)
        assert res.returncode != 0
        assert "insecureAllowHttp" in res.stderr
        assert srv.hosts() == []

        with_config(root, reg, lambda c: c.setdefault("agent", {}).__setitem__(
            "insecureAllowHttp", True))
        res = root.run("register", timeout=60)
        assert res.returncode == 0, res.stderr
        assert len(srv.hosts()) == 1


@pytest.mark.parametrize("debug", [False, True])
def test_no_secrets_in_logs(server, root, debug):
    reg = server.create_registration("fleet", spec=registration_spec())
    root.write_config(reg.config_text)
    res = root.run("register", "--install", debug=debug)
    assert res.returncode == 0, res.stderr
    if debug:
        assert "DEBUG" in res.stderr
    key = root.file("/var/lib/elemental/agent/private.key").read_text()
    new_cfg = yaml.safe_load(root.file("/etc/elemental/agent/config.yaml").read_text())
    secrets = [reg.token, new_cfg["registration"].get("token"), key.splitlines()[1]]
    assert_no_secrets(res.stdout + res.stderr, secrets)
