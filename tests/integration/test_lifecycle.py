"""The whole host lifecycle with the dummy plugin: the static agent against the
test Elemental API server over HTTPS, checked on the server after each step.

register --install -> run (Running, OS version) -> bootstrap -> in-place OS
update -> delete (Triggering Reset) -> reset -> host gone.
"""

import json
import subprocess

import yaml
from conftest import (DUMMY_PLUGIN, assert_no_secrets, condition, phase_history,
                      registration_spec, stop, wait_for)

LABEL = "elementalhost.infrastructure.cluster.x-k8s.io/"


def openssl_pubkey(private_key_path):
    return subprocess.run(["openssl", "pkey", "-in", str(private_key_path), "-pubout"],
                          check=True, capture_output=True, text=True).stdout


def test_full_lifecycle(server, root, tmp_path):
    reg = server.create_registration("fleet", spec=registration_spec())
    root.write_config(reg.config_text)
    outputs = []

    # 1. register --install: a new host named prefix + UUID, installed.
    res = root.run("register", "--install")
    outputs.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr
    hosts = server.hosts()
    assert len(hosts) == 1
    host = hosts[0]
    name = host["metadata"]["name"]
    assert name.startswith("m-") and len(name) == len("m-") + 36
    assert root.file("/etc/hostname").read_text().strip() == name
    # The stored public key is the one openssl derives from the installed private key.
    key_file = root.file("/var/lib/elemental/agent/private.key")
    assert oct(key_file.stat().st_mode & 0o777) in ("0o600", "0o640")
    assert host["spec"]["pubKey"].strip() == openssl_pubkey(key_file).strip()
    labels = host["metadata"]["labels"]
    assert labels["env"] == "integration"
    assert labels[LABEL + "installed"] == "true"
    assert host["metadata"]["annotations"]["owner"] == "tests"
    assert phase_history(server, name)[:3] == ["Registering", "Finalizing Registration",
                                               "Installing"]
    assert condition(host, "RegistrationReady")["status"] == "True"
    assert condition(host, "InstallationReady")["status"] == "True"
    # The dummy plugin received the registration's install and cloud-config.
    install = yaml.safe_load(root.file("/var/lib/elemental/agent/install.yaml").read_text())
    assert install == {"device": "/dev/vda", "debug": True}
    cloud = root.file("/var/lib/elemental/agent/cloud-init.yaml").read_text()
    assert cloud.startswith("#cloud-config\n")
    assert yaml.safe_load(cloud) == {"users": [{"name": "root", "passwd": "root"}]}
    # The agent config was rewritten from the registration (fresh token, same URI).
    cfg = yaml.safe_load(root.file("/etc/elemental/agent/config.yaml").read_text())
    assert cfg["registration"]["uri"] == reg.uri
    assert cfg["agent"]["osPlugin"] == DUMMY_PLUGIN
    assert root.power_requests() == ["reboot -f"]  # postInstall.reboot

    # 2. run: Running, OS version reconciled (nothing to do for the dummy plugin).
    log = tmp_path / "run1.log"
    agent = root.start("run", log_path=log)
    try:
        server.wait_host(name, "phase=Running", timeout=60)
        wait_for(lambda: condition(server.host(name), "OSVersionReady"), what="OSVersionReady")
        assert condition(server.host(name), "OSVersionReady")["status"] == "True"
        assert agent.poll() is None, "run must keep running"

        # 3. bootstrap: the dummy plugin writes the cloud-config, then reboots (run exits).
        bootstrap = tmp_path / "bootstrap.yaml"
        bootstrap.write_text("#cloud-config\nruncmd:\n- echo hello\n")
        server.admin("host", "set-bootstrap", name, "--format", "cloud-config",
                     "--config", bootstrap)
        assert agent.wait(60) == 0
    finally:
        stop(agent)
    outputs.append(log.read_text())
    assert root.power_requests() == ["reboot -f"] * 2  # reboot to apply the bootstrap
    applied = root.file("/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg")
    assert applied.read_text() == bootstrap.read_text()
    host = server.host(name)
    assert "Bootstrapping" in phase_history(server, name)
    bc = condition(host, "BootstrapReady")
    assert (bc["status"], bc["reason"]) == ("False", "WaitingForBootstrap")

    # After the "reboot" the bootstrap ran and left the CAPI sentinel file.
    sentinel = root.file("/run/cluster-api/bootstrap-success.complete")
    sentinel.parent.mkdir(parents=True, exist_ok=True)
    sentinel.write_text("")
    log = tmp_path / "run2.log"
    agent = root.start("run", log_path=log)
    try:
        wait_for(lambda: server.host(name)["metadata"]["labels"].get(LABEL + "bootstrapped")
                 == "true", what="bootstrapped label")
        assert condition(server.host(name), "BootstrapReady")["status"] == "True"

        # 4. In-place OS update: new osVersionManagement + in-place-update=pending.
        os_version = {"osVersion": {"imageUri": "oci://registry.example/os:v2",
                                    "upgradeRecovery": False, "debug": False}}
        server.admin("host", "patch-os-version", name, "--json", json.dumps(os_version))
        server.admin("host", "label", name, LABEL + "in-place-update=pending")
        wait_for(lambda: server.host(name)["metadata"]["labels"].get(LABEL + "in-place-update")
                 == "done", what="in-place-update=done")
        applied = yaml.safe_load(root.file("/var/lib/elemental/agent/os-version.yaml").read_text())
        assert applied == os_version
        assert condition(server.host(name), "OSVersionReady")["status"] == "True"
        server.wait_host(name, "condition=Ready", timeout=30)

        # 5. Host deleted: the agent triggers reset and exits.
        server.admin("host", "delete", name)
        assert agent.wait(60) == 0
    finally:
        stop(agent)
    outputs.append(log.read_text())
    host = server.host(name)
    assert host is not None, "the host must stay until the agent reports reset"
    assert host["status"]["phase"] == "Triggering Reset"
    rc = condition(host, "ResetReady")
    assert (rc["status"], rc["reason"]) == ("False", "WaitingForReset")
    needed = root.file("/var/lib/elemental/agent/reset.needed")
    assert needed.exists()

    # 6. reset: the dummy plugin refuses while reset.needed exists (the OS was not reset)...
    # The user (or the OS) resets the system, removing the sentinel.
    needed.unlink()
    res = root.run("reset")
    outputs.append(res.stdout + res.stderr)
    assert res.returncode == 0, res.stderr
    assert server.host(name) is None, "the host must be gone after reset"
    assert root.power_requests() == ["reboot -f"] * 3  # postReset.reboot
    assert "Resetting" in phase_history(server, name)
    reset = yaml.safe_load(root.file("/var/lib/elemental/agent/reset.yaml").read_text())
    assert reset == {"resetOem": True, "resetPersistent": False}

    # Nothing secret was logged at any step.
    private_pem = root.file("/var/lib/elemental/agent/private.key").read_text()
    assert_no_secrets("\n".join(outputs), [reg.token, private_pem.splitlines()[1]])


def test_register_twice_with_use_existing_is_idempotent(server, root):
    spec = registration_spec(hostname={"useExisting": True, "prefix": "node-"})
    reg = server.create_registration("fixed", spec=spec)
    root.write_config(reg.config_text)
    first = root.run("register")
    assert first.returncode == 0, first.stderr
    hosts = server.hosts()
    assert [h["metadata"]["name"] for h in hosts] == ["node-blank-host"]
    pub = hosts[0]["spec"]["pubKey"]

    # The second run finds the host (an empty PATCH succeeds) and does not create another.
    # The host name is now node-blank-host, so useExisting would give node-node-blank-host:
    # register as a freshly booted machine with the same name does.
    root.file("/etc/hostname").unlink()
    second = root.run("register")
    assert second.returncode == 0, second.stderr
    assert [h["metadata"]["name"] for h in server.hosts()] == ["node-blank-host"]
    assert server.hosts()[0]["spec"]["pubKey"] == pub
    posts = server.requests(path="/hosts", method="POST")
    assert len(posts) == 1
    assert "Found existing ElementalHost" in second.stderr
