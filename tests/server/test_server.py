# test_server.py - self-check of the test Elemental API server (tests/server).
#
# Starts the real server process on a free port with a freshly generated CA and talks to
# it over HTTPS with a Python client whose tokens are made with PyJWT/cryptography, so
# every assertion is about real responses. Run: /usr/bin/python3 -m pytest tests/server -q
import concurrent.futures
import json
import os
import socket
import ssl
import subprocess
import sys
import time

import jwt
from jwt.algorithms import OKPAlgorithm
import pytest
from cryptography import x509

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elemental_jwt as ejwt  # noqa: E402
import elemental_store as es  # noqa: E402
from harness import ADMIN, PYTHON, ApiClient, HostIdentity, running_server  # noqa: E402

INSTALLED = es.LABEL_INSTALLED
IN_PLACE = es.LABEL_IN_PLACE_UPDATE

SPEC = {
    "hostLabels": {"site": "lab"},
    "config": {
        "cloudConfig": {"runcmd": ["echo a && echo b"]},
        "elemental": {
            "registration": {"tokenDuration": 3600 * 10**9},
            "agent": {"reconciliation": "1s", "hostname": {"prefix": "m-"},
                      "postInstall": {"reboot": True}},
            "install": {"device": "/dev/vda", "systemUri": "oci://reg/os:v1"},
            "reset": {"enabled": True},
        },
    },
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("srv")) as s:
        yield s


@pytest.fixture(scope="module")
def reg(srv):
    return srv.create_registration("demo", spec=SPEC)


@pytest.fixture
def api(srv):
    return ApiClient(srv.ca_path)


_counter = [0]


def new_name(prefix="h"):
    _counter[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _counter[0])


@pytest.fixture
def host(srv, reg, api):
    """A freshly created host: (name, identity)."""
    ident = HostIdentity()
    name = new_name()
    r = api.create_host(reg.uri, reg.token, ident, name, labels={"site": "lab"})
    assert r.status == 201, r
    return name, ident


def reg_token(srv, *args):
    return srv.admin("registration", "token", "demo", *args).strip()


# ---------------------------------------------------------------- TLS, PKI, startup

def test_ready_url_and_certificate(srv):
    assert srv.url == "https://localhost:%d" % srv.port
    ctx = ssl.create_default_context(cafile=srv.ca_path)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_tls_failure_is_recorded(srv, tmp_path):
    other = tmp_path / "other"
    subprocess.run([PYTHON, os.path.join(os.path.dirname(ADMIN), "pki.py"), str(other)],
                   check=True, capture_output=True)
    since = srv.last_request_id()
    ctx = ssl.create_default_context(cafile=str(other / "ca.pem"))
    with pytest.raises(ssl.SSLError):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as raw:
            ctx.wrap_socket(raw, server_hostname="localhost")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if any(r.get("tls_error") for r in srv.requests(since)):
            break
        time.sleep(0.05)
    assert any(r.get("tls_error") for r in srv.requests(since))


def test_plain_http_and_sigterm(tmp_path):
    with running_server(tmp_path, tls=False) as s:
        assert s.url.startswith("http://localhost:")
        reg = s.create_registration("plain")
        assert reg.uri.startswith("http://localhost:%d/" % s.port)
        assert "caCert" not in reg.config_text
        r = ApiClient().get_registration(reg.uri, reg.token)
        assert r.status == 200
        assert s.stop() == 0


# ---------------------------------------------------------------- registration

def test_registration_agent_config(srv, reg):
    import yaml
    cfg = yaml.safe_load(reg.config_text)
    assert cfg["registration"]["uri"] == \
        "%s/elemental/v1/namespaces/default/registrations/demo" % srv.url
    assert cfg["registration"]["caCert"] == srv.ca_pem
    assert cfg["registration"]["token"] == reg.token
    assert cfg["agent"]["reconciliation"] == 10**9
    assert cfg["agent"]["workDir"] == "/var/lib/elemental/agent"
    assert cfg["agent"]["hostname"] == {"prefix": "m-", "useExisting": False}


def test_registration_token_claims(srv, reg):
    claims = jwt.decode(reg.token, options={"verify_signature": False})
    assert claims["iss"] == "ElementalRegistrationReconciler"
    assert claims["sub"] == reg.uri and claims["aud"] == [reg.uri]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["nbf"] == claims["iat"]
    assert jwt.get_unverified_header(reg.token)["alg"] == "EdDSA"


def test_get_registration_ok(srv, reg, api):
    r = api.get_registration(reg.uri, reg.token)
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["hostLabels"] == {"site": "lab"}
    el = body["config"]["elemental"]
    assert el["registration"] == {"uri": reg.uri, "caCert": srv.ca_pem,
                                  "tokenDuration": 3600 * 10**9, "token": reg.token}
    assert el["agent"] == {"workDir": "/var/lib/elemental/agent",
                           "hostname": {"prefix": "m-"},
                           "osPlugin": "/usr/lib/elemental/plugins/elemental.so",
                           "reconciliation": 10**9, "postInstall": {"reboot": True},
                           "postReset": {}}
    assert el["install"] == {"device": "/dev/vda", "systemUri": "oci://reg/os:v1"}
    assert el["reset"] == {"enabled": True}
    assert body["config"]["cloudConfig"] == {"runcmd": ["echo a && echo b"]}
    assert b"\\u0026\\u0026" in r.body  # Go's HTML-safe escaping of '&'


def test_registration_defaults_without_agent(srv, api):
    reg = srv.create_registration("bare")
    body = api.get_registration(reg.uri, reg.token).json()
    assert body["config"]["elemental"]["agent"] == {
        "workDir": "/var/lib/elemental/agent", "hostname": {},
        "osPlugin": "/usr/lib/elemental/plugins/elemental.so",
        "reconciliation": 10**10, "postInstall": {}, "postReset": {}}
    assert "exp" not in jwt.decode(reg.token, options={"verify_signature": False})
    assert "hostLabels" not in body and "cloudConfig" not in body["config"]


@pytest.mark.parametrize("header,status", [
    (None, 401),
    ("", 401),
    ("Token abc", 401),
    ("Bearer", 401),
    ("Bearer ", 401),  # Go trims header whitespace: "Bearer" -> not a Bearer token
    ("Bearer not.a.jwt", 403),
    ("Bearer a.b", 403),
])
def test_get_registration_bad_headers(reg, api, header, status):
    headers = {} if header is None else {"Registration-Authorization": header}
    r = api.request("GET", reg.uri, headers)
    assert r.status == status, r
    assert r.headers["Content-Type"].startswith("text/plain")


def test_get_registration_token_variants(srv, reg, api):
    def status(tok):
        return api.get_registration(reg.uri, tok).status
    assert status(reg_token(srv)) == 200
    assert status(reg_token(srv, "--duration", "0")) == 200
    assert status(reg_token(srv, "--expired")) == 403
    assert status(reg_token(srv, "--not-yet-valid")) == 403
    assert status(reg_token(srv, "--wrong-key")) == 403
    good = reg_token(srv)
    h, p, s = good.split(".")
    assert status(h + "." + p + "." + s[:-4] + ("AAAA" if s[-4:] != "AAAA" else "BBBB")) == 403
    assert status(h + "=." + p + "." + s) == 403  # padding is not allowed (Go RawURLEncoding)
    # another algorithm known to golang-jwt -> 401 (keyfunc error wraps ErrUnauthorized)
    hs = jwt.encode({"sub": reg.uri, "aud": [reg.uri]}, "secret", algorithm="HS256")
    assert status(hs) == 401
    none = jwt.encode({"sub": reg.uri}, None, algorithm="none")
    assert status(none) == 401
    # an algorithm golang-jwt does not know -> 403
    key = ejwt.load_private_key_pem(srv.store.get_registration("default", "demo")[1])
    jws = jwt.PyJWS()
    jws.register_algorithm("Ed25519", OKPAlgorithm())
    odd = jws.encode(json.dumps({"sub": reg.uri}).encode(), key, algorithm="Ed25519")
    assert jwt.get_unverified_header(odd)["alg"] == "Ed25519"
    assert status(odd) == 403
    # wrong claim types are malformed tokens
    assert status(ejwt.sign(key, {"sub": reg.uri, "aud": [reg.uri], "exp": "soon"})) == 403
    assert status(ejwt.sign(key, {"sub": 5, "aud": [reg.uri]})) == 403


def test_registration_strict_vs_upstream_claims(srv, reg, api):
    wrong_sub = reg_token(srv, "--sub", "someone-else")
    wrong_aud = reg_token(srv, "--aud", "https://elsewhere/")
    assert api.get_registration(reg.uri, wrong_sub).status == 403
    assert api.get_registration(reg.uri, wrong_aud).status == 403
    srv.admin("setting", "set", "auth_mode", "upstream")
    try:
        # upstream does not check sub/aud at all
        assert api.get_registration(reg.uri, wrong_sub).status == 200
        assert api.get_registration(reg.uri, wrong_aud).status == 200
    finally:
        srv.admin("setting", "set", "auth_mode", "strict")
    assert api.get_registration(reg.uri, wrong_sub).status == 403


def test_rotate_key_invalidates_old_tokens(srv, api):
    reg = srv.create_registration("rotating")
    assert api.get_registration(reg.uri, reg.token).status == 200
    new = srv.admin("registration", "rotate-key", "rotating").strip()
    assert api.get_registration(reg.uri, reg.token).status == 403
    r = api.get_registration(reg.uri, new)
    assert r.status == 200 and r.json()["config"]["elemental"]["registration"]["token"] == new


def test_unknown_registration_is_404_before_auth(srv, api):
    uri = srv.url + "/elemental/v1/namespaces/default/registrations/nope"
    assert api.request("GET", uri).status == 404
    assert api.request("POST", uri + "/hosts", body="garbage").status == 404
    assert api.request("PATCH", uri + "/hosts/x", body={}).status == 404


def test_routing(srv, reg, api):
    assert api.request("GET", srv.url + "/elemental/v1/whatever").status == 404
    assert api.request("PUT", reg.uri).status == 405
    assert api.request("GET", reg.uri + "/hosts").status == 405
    r = api.request("GET", srv.url + "/elemental//v1/namespaces/default/registrations/demo")
    assert r.status == 301 and r.headers["Location"] == \
        "/elemental/v1/namespaces/default/registrations/demo"


# ---------------------------------------------------------------- create host

def test_create_host(srv, reg, api):
    ident, name = HostIdentity(), new_name()
    r = api.create_host(reg.uri, reg.token, ident, name, labels={"site": "lab"},
                        annotations={"a": "b"})
    assert r.status == 201, r
    assert r.headers["Location"] == \
        "/elemental/v1/namespaces/default/registrations/demo/hosts/" + name
    h = srv.host(name)
    assert h["spec"]["pubKey"] == ident.pub_pem
    assert h["metadata"]["labels"] == {"site": "lab"}
    assert h["metadata"]["annotations"] == {"a": "b"}
    assert h["metadata"]["finalizers"] == [es.FINALIZER]
    assert h["metadata"]["ownerReferences"][0]["name"] == "demo"
    # same name again -> 409, whatever the key
    assert api.create_host(reg.uri, reg.token, ident, name).status == 409
    assert api.create_host(reg.uri, reg.token, HostIdentity(), name).status == 409


def test_create_host_auth(srv, reg, api):
    ident, name = HostIdentity(), new_name()
    other = HostIdentity()
    # host token signed by a key that is not the one in the body
    r = api.create_host(reg.uri, reg.token, ident, name, host_token=other.token(name, reg.uri))
    assert r.status == 403
    # bad registration token
    assert api.create_host(reg.uri, reg_token(srv, "--expired"), ident, name).status == 403
    # missing headers
    body = {"name": name, "pubKey": ident.pub_pem}
    assert api.request("POST", reg.uri + "/hosts", {}, body).status == 401
    assert api.request("POST", reg.uri + "/hosts", {
        "Authorization": "Bearer " + ident.token(name, reg.uri)}, body).status == 401
    assert api.request("POST", reg.uri + "/hosts", {
        "Registration-Authorization": "Bearer " + reg.token}, body).status == 401
    # strict: host token for another name
    r = api.create_host(reg.uri, reg.token, ident, name,
                        host_token=ident.token("other-name", reg.uri))
    assert r.status == 403
    # a pubKey that is not an Ed25519 PEM
    r = api.request("POST", reg.uri + "/hosts", {
        "Authorization": "Bearer " + ident.token(name, reg.uri),
        "Registration-Authorization": "Bearer " + reg.token},
        {"name": name, "pubKey": "not a key"})
    assert r.status == 403
    assert srv.host(name) is None


@pytest.mark.parametrize("body,status", [
    ("", 400),
    ("{", 400),
    ("[1]", 400),
    ('{"name": 5}', 400),
    ('{"labels": 5}', 400),
    ('{"labels": {"a": 1}}', 400),
    ('{"annotations": "x"}', 400),
])
def test_create_host_bad_body_is_400_before_auth(reg, api, body, status):
    assert api.request("POST", reg.uri + "/hosts", {}, body).status == status


def test_create_host_invalid_k8s_names_are_500(srv, reg, api):
    ident = HostIdentity()
    assert api.create_host(reg.uri, reg.token, ident, "Bad_Name").status == 500
    assert api.create_host(reg.uri, reg.token, ident, "").status == 500
    assert api.create_host(reg.uri, reg.token, ident, new_name(),
                           labels={"bad key!": "x"}).status == 500


# ---------------------------------------------------------------- patch host

def test_patch_host_flow(srv, reg, api, host):
    name, ident = host
    r = api.patch_host(reg.uri, ident, name, {})
    assert r.status == 200 and r.json() == {"name": name, "labels": {"site": "lab"}}
    r = api.patch_host(reg.uri, ident, name, {
        "phase": "Registering",
        "condition": {"type": "RegistrationReady", "status": "True", "severity": "Info"}})
    assert r.status == 200
    h = srv.host(name)
    assert h["status"]["phase"] == "Registering"
    assert es.get_condition(h, "Ready")["status"] == "True"
    r = api.patch_host(reg.uri, ident, name, {
        "condition": {"type": "InstallationReady", "status": "False", "severity": "Info",
                      "reason": "WaitingForInstallation", "message": "waiting"}})
    ready = es.get_condition(srv.host(name), "Ready")
    assert (ready["status"], ready["reason"], ready["severity"], ready["message"]) == \
        ("False", "WaitingForInstallation", "Info", "waiting")
    assert srv.admin("host", "get", name, "--field",
                     "status.conditions[type=Ready].status").strip() == "False"
    r = api.patch_host(reg.uri, ident, name, {"installed": True, "phase": "Installing",
                                              "condition": {"type": "InstallationReady",
                                                            "status": "True",
                                                            "severity": "Info"}})
    body = r.json()
    assert body["installed"] is True and body["labels"][INSTALLED] == "true"
    assert "bootstrapped" not in body and "needsReset" not in body  # omitempty
    assert "bootstrapReady" not in body
    srv.wait_host(name, "condition=Ready", timeout=10)
    h = srv.host(name)
    assert [c["type"] for c in h["status"]["conditions"]] == \
        ["Ready", "InstallationReady", "RegistrationReady"]
    types = [e["change"].get("phase") for e in srv.history(name) if "phase" in e["change"]]
    assert types == ["Registering", "Installing"]


def test_patch_quirks_match_upstream(srv, reg, api, host):
    name, ident = host
    # upstream sets the label to "true" whenever the field is present, even for false
    r = api.patch_host(reg.uri, ident, name, {"installed": False})
    assert r.json()["installed"] is True
    # keys match case-insensitively, trailing data after the JSON value is ignored
    r = api.request("PATCH", "%s/hosts/%s" % (reg.uri, name),
                    {"Authorization": "Bearer " + ident.token(name, reg.uri)},
                    '{"Phase": "Running"} trailing')
    assert r.status == 200 and srv.host(name)["status"]["phase"] == "Running"
    r = api.request("PATCH", "%s/hosts/%s" % (reg.uri, name),
                    {"Authorization": "Bearer " + ident.token(name, reg.uri)}, "null")
    assert r.status == 200


@pytest.mark.parametrize("body", [
    "", "{", '"x"', '{"installed": "yes"}', '{"labels": 5}', '{"phase": 1}',
    '{"condition": {"lastTransitionTime": "yesterday"}}', '{"inPlaceUpdate": true}',
    '{"Auth": 1}'])
def test_patch_bad_body_400(reg, api, host, body):
    name, ident = host
    r = api.request("PATCH", "%s/hosts/%s" % (reg.uri, name),
                    {"Authorization": "Bearer " + ident.token(name, reg.uri)}, body)
    assert r.status == 400, r


def test_patch_auth(srv, reg, api, host):
    name, ident = host
    other = HostIdentity()
    assert api.patch_host(reg.uri, other, name, {}).status == 403
    assert api.request("PATCH", "%s/hosts/%s" % (reg.uri, name), {}, {}).status == 401
    expired = ident.token(name, reg.uri, exp=int(time.time()) - 1, iat=int(time.time()) - 61)
    assert api.patch_host(reg.uri, ident, name, {}, host_token=expired).status == 403
    future = ident.token(name, reg.uri, nbf=int(time.time()) + 30)
    assert api.patch_host(reg.uri, ident, name, {}, host_token=future).status == 403
    wrong_aud = ident.token(name, reg.uri, aud=["https://other/"])
    assert api.patch_host(reg.uri, ident, name, {}, host_token=wrong_aud).status == 403
    no_exp = ident.token(name, reg.uri, exp=None)
    assert api.patch_host(reg.uri, ident, name, {}, host_token=no_exp).status == 403
    # ... all of which upstream accepts (it checks only signature, exp and nbf)
    srv.admin("setting", "set", "auth_mode", "upstream")
    try:
        assert api.patch_host(reg.uri, ident, name, {}, host_token=wrong_aud).status == 200
        assert api.patch_host(reg.uri, ident, name, {}, host_token=no_exp).status == 200
        assert api.patch_host(reg.uri, ident, name, {}, host_token=expired).status == 403
    finally:
        srv.admin("setting", "set", "auth_mode", "strict")
    assert api.patch_host(reg.uri, ident, "no-such-host", {}).status == 404


def test_bootstrapped_needs_secret(srv, reg, api, host):
    name, ident = host
    r = api.patch_host(reg.uri, ident, name, {"bootstrapped": True})
    assert r.status == 400
    assert api.get_bootstrap(reg.uri, ident, name).status == 404
    cfg = "#cloud-config\nruncmd:\n- touch /run/cluster-api/bootstrap-success.complete\n"
    srv.admin("host", "set-bootstrap", name, "--value", cfg)
    r = api.get_bootstrap(reg.uri, ident, name)
    assert r.status == 200 and r.json() == {"format": "cloud-config", "config": cfg}
    srv.admin("host", "set-bootstrap", name, "--format", "ignition", "--value", "{}")
    assert api.get_bootstrap(reg.uri, ident, name).json() == {"format": "ignition",
                                                              "config": "{}"}
    body = api.patch_host(reg.uri, ident, name, {}).json()
    assert body["bootstrapReady"] is True and "bootstrapped" not in body
    body = api.patch_host(reg.uri, ident, name, {"bootstrapped": True}).json()
    assert body["bootstrapped"] is True
    assert es.get_condition(srv.host(name), "BootstrapReady")["status"] == "True"
    srv.admin("host", "set-bootstrap", name, "--dangling", "--secret-name", "missing")
    assert api.get_bootstrap(reg.uri, ident, name).status == 500


def test_os_version_and_in_place_update(srv, reg, api, host):
    name, ident = host
    api.patch_host(reg.uri, ident, name, {"installed": True})
    os_version = {"osVersion": {"imageUri": "oci://reg/os:v2", "upgradeRecovery": False}}
    srv.admin("host", "patch-os-version", name, "--json", json.dumps(os_version))
    body = api.patch_host(reg.uri, ident, name, {"phase": "Running"}).json()
    assert body["osVersionManagement"] == os_version
    assert "inPlaceUpgrade" not in body
    srv.admin("host", "label", name, IN_PLACE + "=pending")
    body = api.patch_host(reg.uri, ident, name, {}).json()
    assert body["inPlaceUpgrade"] == "pending"
    body = api.patch_host(reg.uri, ident, name, {"inPlaceUpdate": "done"}).json()
    assert body["inPlaceUpgrade"] == "done"
    assert srv.host(name)["metadata"]["labels"][IN_PLACE] == "done"


def test_os_version_hidden_when_host_has_no_labels(srv, reg, api):
    # upstream's fromElementalHost returns early for a host without labels
    ident, name = HostIdentity(), new_name()
    assert api.create_host(reg.uri, reg.token, ident, name).status == 201
    srv.admin("host", "patch-os-version", name, "--json", '{"osVersion":{"imageUri":"x"}}')
    assert api.patch_host(reg.uri, ident, name, {}).json() == {"name": name}


def test_condition_summary_and_transition_times(srv, reg, api, host):
    name, ident = host
    old = "2020-01-01T00:00:00Z"
    api.patch_host(reg.uri, ident, name, {"condition": {
        "type": "RegistrationReady", "status": "True", "severity": "Info",
        "lastTransitionTime": old}})
    assert es.get_condition(srv.host(name), "RegistrationReady")["lastTransitionTime"] == old
    api.patch_host(reg.uri, ident, name, {"condition": {
        "type": "InstallationReady", "status": "False", "severity": "Info",
        "reason": "WaitingForInstallation"}})
    api.patch_host(reg.uri, ident, name, {"condition": {
        "type": "BootstrapReady", "status": "False", "severity": "Error",
        "reason": "BootstrapFailed", "message": "boom"}})
    ready = es.get_condition(srv.host(name), "Ready")
    assert (ready["reason"], ready["severity"]) == ("BootstrapFailed", "Error")
    # same state again keeps the time; a state change sets a new one
    api.patch_host(reg.uri, ident, name, {"condition": {
        "type": "RegistrationReady", "status": "True", "severity": "Info"}})
    assert es.get_condition(srv.host(name), "RegistrationReady")["lastTransitionTime"] == old
    api.patch_host(reg.uri, ident, name, {"condition": {
        "type": "RegistrationReady", "status": "False", "severity": "Warning",
        "reason": "RegistrationFailed"}})
    assert es.get_condition(srv.host(name), "RegistrationReady")["lastTransitionTime"] != old


# ---------------------------------------------------------------- delete / reset

def test_delete_reset_flow(srv, reg, api, host):
    name, ident = host
    assert api.delete_host(reg.uri, ident, name).status == 202
    h = srv.host(name)
    assert h["metadata"]["deletionTimestamp"]
    assert h["metadata"]["labels"][es.LABEL_NEEDS_RESET] == "true"
    reset = es.get_condition(h, "ResetReady")
    assert (reset["status"], reset["reason"]) == ("False", "WaitingForReset")
    assert es.get_condition(h, "Ready")["reason"] == "WaitingForReset"
    assert api.delete_host(reg.uri, ident, name).status == 202  # already deleting
    body = api.patch_host(reg.uri, ident, name, {"phase": "Resetting"}).json()
    assert body["needsReset"] is True
    r = api.patch_host(reg.uri, ident, name, {"reset": True, "condition": {
        "type": "ResetReady", "status": "True", "severity": "Info"}})
    assert r.status == 200 and r.json()["labels"][es.LABEL_RESET] == "true"
    srv.wait_host(name, "gone", timeout=10)
    assert api.patch_host(reg.uri, ident, name, {}).status == 404
    assert api.delete_host(reg.uri, ident, name).status == 404
    # the name can be registered again
    assert api.create_host(reg.uri, reg.token, ident, name).status == 201


def test_admin_delete_sets_needs_reset(srv, reg, api, host):
    name, ident = host
    srv.admin("host", "delete", name)
    body = api.patch_host(reg.uri, ident, name, {"phase": "Running"}).json()
    assert body["needsReset"] is True
    p = srv.admin("host", "wait", name, "--for", "gone", "--timeout", "0.3", check=False)
    assert p.returncode == 1 and "timed out" in p.stderr and "needs-reset" in p.stderr
    api.patch_host(reg.uri, ident, name, {"reset": True})
    srv.admin("host", "wait", name, "--for", "gone", "--timeout", "10")


def test_admin_show_and_list(srv, reg, api, host):
    import yaml
    name, ident = host
    api.patch_host(reg.uri, ident, name, {"installed": True, "phase": "Running"})
    obj = yaml.safe_load(srv.admin("host", "show", name))
    assert obj["apiVersion"] == "infrastructure.cluster.x-k8s.io/v1beta1"
    assert obj["kind"] == "ElementalHost"
    assert obj["metadata"]["finalizers"] == [es.FINALIZER]
    assert obj["status"]["phase"] == "Running"
    assert obj["status"]["conditions"][0]["type"] == "Ready"
    listing = srv.admin("host", "list")
    line = next(ln for ln in listing.splitlines() if ln.startswith(name + " "))
    assert "Running" in line and "True" in line
    assert json.loads(srv.admin("host", "show", name, "-o", "json"))["metadata"]["name"] == name
    assert srv.admin("host", "get", name, "--field", "status.phase").strip() == "Running"
    assert srv.admin("host", "get", name, "--field",
                     "metadata.labels[%s]" % INSTALLED).strip() == "true"


# ---------------------------------------------------------------- faults and request log

def test_fault_status_then_recover(srv, reg, api, host):
    name, ident = host
    srv.fault("--path", "/hosts/" + name + "$", "--method", "PATCH", "--status", "503",
              "--count", "2")
    assert api.patch_host(reg.uri, ident, name, {"phase": "Running"}).status == 503
    assert api.patch_host(reg.uri, ident, name, {"phase": "Running"}).status == 503
    assert srv.host(name).get("status", {}).get("phase") is None  # not applied
    assert api.patch_host(reg.uri, ident, name, {"phase": "Running"}).status == 200


def test_fault_bodies(srv, reg, api, host):
    name, ident = host
    srv.fault("--path", "/hosts/" + name + "$", "--bad-json")
    r = api.patch_host(reg.uri, ident, name, {})
    assert r.status == 200
    with pytest.raises(ValueError):
        r.json()
    srv.fault("--path", "/hosts/" + name + "$", "--mutate", '{"installed":"yes","labels":5}')
    r = api.patch_host(reg.uri, ident, name, {"phase": "Installing"})
    assert r.json()["installed"] == "yes" and r.json()["labels"] == 5
    assert srv.host(name)["status"]["phase"] == "Installing"  # the real handler ran
    srv.fault("--path", "/hosts/" + name + "$", "--huge", "--size", str(8 << 20))
    r = api.patch_host(reg.uri, ident, name, {})
    assert r.status == 200 and len(r.body) == 8 << 20
    srv.fault("--path", "/hosts/" + name + "$", "--close")
    with pytest.raises((ConnectionError, OSError, Exception)):
        api.patch_host(reg.uri, ident, name, {})
    srv.fault("--path", "/hosts/" + name + "$", "--truncate", "--size", "500")
    with pytest.raises(Exception):
        api.patch_host(reg.uri, ident, name, {}).json()
    srv.fault("--path", "/hosts/" + name + "$", "--status", "500", "--apply")
    assert api.patch_host(reg.uri, ident, name, {"phase": "Running"}).status == 500
    assert srv.host(name)["status"]["phase"] == "Running"  # applied, answer lost
    assert api.patch_host(reg.uri, ident, name, {}).status == 200
    faults = [json.loads(ln) for ln in srv.admin("fault", "list").splitlines()]
    assert all(f["remaining"] == 0 for f in faults if name in f["path"])


def test_request_log(srv, reg, api, host):
    name, ident = host
    since = srv.last_request_id()
    api.user_agent = "elemental-agent/v9.9.9"
    api.patch_host(reg.uri, ident, name, {"phase": "Running"})
    api.get_registration(reg.uri, "bogus")
    recs = srv.requests(since)
    patch = next(r for r in recs if r["method"] == "PATCH")
    assert patch["status"] == 200 and patch["user_agent"] == "elemental-agent/v9.9.9"
    assert patch["content_type"] == "application/json"
    assert json.loads(patch["body"]) == {"phase": "Running"}
    claims = patch["auth"]["authorization"]["claims"]
    assert claims["sub"] == name and claims["aud"] == [reg.uri]
    assert patch["auth"]["authorization"]["strict_problems"] == []
    bad = next(r for r in recs if r["method"] == "GET")
    assert bad["status"] == 403 and "error" in bad["auth"]["registration_authorization"]
    lines = srv.admin("requests", "--since", since, "--path", "/hosts/").splitlines()
    assert [json.loads(ln)["method"] for ln in lines] == ["PATCH"]


def test_concurrent_patches(srv, reg, api, host):
    name, ident = host

    def patch(i):
        return api.patch_host(reg.uri, ident, name, {"labels": {"n%d" % i: str(i)}}).status

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(patch, i) for i in range(24)]
        futures.append(pool.submit(srv.admin, "host", "label", name, "admin=yes"))
        results = [f.result() for f in futures]
    assert results[:-1] == [200] * 24
    labels = srv.host(name)["metadata"]["labels"]
    assert all(labels["n%d" % i] == str(i) for i in range(24)) and labels["admin"] == "yes"


# ---------------------------------------------------------------- units

def test_summary_priority_unit():
    h = {"status": {"conditions": [
        {"type": "A", "status": "True"},
        {"type": "B", "status": "False", "severity": "Info", "reason": "rb"},
        {"type": "C", "status": "False", "severity": "Warning", "reason": "rc"}]}}
    assert es.summary_condition(h)["reason"] == "rc"
    h["status"]["conditions"][2]["status"] = "True"
    assert es.summary_condition(h)["reason"] == "rb"
    # a False condition without severity ranks below True (CAPI priority 99)
    h = {"status": {"conditions": [{"type": "A", "status": "True"},
                                   {"type": "B", "status": "False"}]}}
    assert es.summary_condition(h)["status"] == "True"


def test_verify_unit():
    key = ejwt.new_private_key()
    now = 1_700_000_000
    tok = ejwt.sign(key, {"sub": "x", "exp": now + 10, "nbf": now - 2})
    ejwt.verify(tok, key.public_key, now=now)
    with pytest.raises(ejwt.Forbidden):
        ejwt.verify(tok, key.public_key, now=now + 10)  # now >= exp
    with pytest.raises(ejwt.Forbidden):
        ejwt.verify(tok, key.public_key, now=now - 3)  # now < nbf
    with pytest.raises(ejwt.Forbidden):
        ejwt.verify(tok, ejwt.new_private_key().public_key, now=now)
    pem = ejwt.public_key_pem(key).replace("PUBLIC KEY", "WHATEVER")
    ejwt.verify(tok, lambda: ejwt.parse_ed_public_key_pem(pem), now=now)  # label ignored
