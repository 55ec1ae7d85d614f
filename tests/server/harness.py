# harness.py - start/stop the test Elemental API server from Python tests.
#
#   sys.path.insert(0, "<repo>/tests/server")
#   from harness import running_server
#   with running_server(tmpdir) as srv:
#       reg = srv.create_registration("demo", spec={...})   # reg.config_path: agent config
#       ... run the agent with --config reg.config_path ...
#       srv.admin("host", "wait", name, "--for", "condition=Ready", "--timeout", "120")
#       srv.requests(path="/hosts")                         # the request log
#
# Also: ApiClient and HostIdentity, a small Python client of the Elemental API that mints
# agent-like tokens (used by test_server.py; handy to pre-create hosts in agent tests).
import contextlib
import http.client
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import elemental_jwt as ejwt  # noqa: E402
import elemental_store as es  # noqa: E402
import pki  # noqa: E402

PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SERVER = os.path.join(HERE, "elemental_server.py")
ADMIN = os.path.join(HERE, "elemental_admin.py")


class AdminError(Exception):
    def __init__(self, args, rc, stdout, stderr):
        super().__init__("elemental_admin %s exited %d: %s" % (" ".join(args), rc,
                                                               stderr.strip() or stdout))
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


class Registration:
    """A created registration: uri, token, the agent config (text and file)."""

    def __init__(self, obj, config_path, config_text):
        self.obj = obj
        self.name = obj["metadata"]["name"]
        self.namespace = obj["metadata"]["namespace"]
        r = obj["spec"]["config"]["elemental"]["registration"]
        self.uri = r["uri"]
        self.token = r.get("token")
        self.config_path = config_path
        self.config_text = config_text


class ServerHandle:
    def __init__(self, workdir, db, url, proc, ca_path, log_path, pki_paths):
        self.dir = workdir
        self.db = db
        self.url = url
        self.port = urllib.parse.urlsplit(url).port
        self.proc = proc
        self.ca_path = ca_path
        self.ca_pem = open(ca_path).read() if ca_path else None
        self.log_path = log_path
        self.pki = pki_paths
        self.store = es.Store(db)

    # -- admin CLI
    def admin(self, *args, check=True, input=None, timeout=300):
        args = [str(x) for x in args]
        p = subprocess.run([PYTHON, ADMIN, "--db", self.db] + args, input=input,
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AdminError(args, p.returncode, p.stdout, p.stderr)
        return p.stdout if check else p

    def admin_json(self, *args):
        return json.loads(self.admin(*args))

    def create_registration(self, name, spec=None, namespace="default", config_path=None):
        """Create a registration (spec: dict like ElementalRegistration.spec) and write the
        agent config file (default <dir>/<name>-config.yaml)."""
        args = ["registration", "create", name, "-n", namespace]
        if spec is not None:
            spec_path = os.path.join(self.dir, "%s-%s-spec.json" % (namespace, name))
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            args += ["--spec", spec_path]
        config_path = config_path or os.path.join(self.dir, "%s-config.yaml" % name)
        self.admin(*args, "--agent-config", config_path)
        obj, _ = self.store.get_registration(namespace, name)
        with open(config_path) as f:
            return Registration(obj, config_path, f.read())

    # -- direct state access (read only)
    def host(self, name, namespace="default"):
        return self.store.get_host(namespace, name)

    def hosts(self, namespace="default"):
        return self.store.list_hosts(namespace)

    def history(self, name, namespace="default", since=0):
        return self.store.events(namespace, name, since)

    def requests(self, since=0, path=None, method=None):
        out = []
        for r in self.store.requests(since):
            if path and (r.get("path") is None or path not in r["path"]):
                continue
            if method and r.get("method") != method:
                continue
            out.append(r)
        return out

    def last_request_id(self):
        rs = self.store.requests(0)
        return rs[-1]["id"] if rs else 0

    def wait_host(self, name, for_, timeout=120, namespace="default"):
        p = self.admin("host", "wait", name, "-n", namespace, "--for", for_, "--timeout",
                       timeout, check=False, timeout=timeout + 60)
        if p.returncode != 0:
            raise TimeoutError(p.stderr.strip())

    def fault(self, *args):
        """e.g. srv.fault("--path", "/hosts/", "--method", "PATCH", "--status", 503)"""
        return int(self.admin("fault", "set", *args).strip())

    def client(self, registration_uri=None):
        return ApiClient(self.ca_path)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode


def _wait_ready(proc, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith("READY "):
                    return line.split()[1]
        elif proc.poll() is not None:
            break
    return None


@contextlib.contextmanager
def running_server(tmpdir, tls=True, auth_mode=None, extra_args=(), pki_dir=None,
                   dns_names=("localhost",), external_url=None, ready_timeout=30):
    """Start the server (fresh CA + cert in <tmpdir>/pki unless pki_dir has one, DB at
    <tmpdir>/elemental.db, port 0) and stop it with SIGTERM on exit."""
    tmpdir = str(tmpdir)
    os.makedirs(tmpdir, exist_ok=True)
    db = os.path.join(tmpdir, "elemental.db")
    log_path = os.path.join(tmpdir, "server.log")
    args = [PYTHON, SERVER, "--db", db, "--listen", "127.0.0.1:0", "--log", log_path]
    paths = None
    if tls:
        pki_dir = str(pki_dir or os.path.join(tmpdir, "pki"))
        if not os.path.exists(os.path.join(pki_dir, "server.pem")):
            pki.make_pki(pki_dir, dns_names=dns_names)
        paths = {"ca": os.path.join(pki_dir, "ca.pem"),
                 "cert": os.path.join(pki_dir, "server.pem"),
                 "key": os.path.join(pki_dir, "server.key")}
        args += ["--tls-cert", paths["cert"], "--tls-key", paths["key"], "--ca", paths["ca"]]
    if auth_mode:
        args += ["--auth-mode", auth_mode]
    if external_url:
        args += ["--external-url", external_url]
    args += [str(a) for a in extra_args]
    stderr = open(os.path.join(tmpdir, "server.stderr"), "ab")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
    stderr.close()
    url = _wait_ready(proc, ready_timeout)
    if url is None:
        proc.kill()
        proc.wait()
        with open(os.path.join(tmpdir, "server.stderr"), errors="replace") as f:
            raise RuntimeError("test Elemental API server did not start: " + f.read()[-4000:])
    handle = ServerHandle(tmpdir, db, url, proc, paths["ca"] if paths else None, log_path,
                          paths)
    try:
        yield handle
    finally:
        handle.stop()


# ---------------------------------------------------------------- a Python API client

class HostIdentity:
    """An agent identity: Ed25519 key, PEM public key, agent-like tokens."""

    def __init__(self, key=None):
        self.key = key or ejwt.new_private_key()
        self.pub_pem = ejwt.public_key_pem(self.key)

    def token(self, host_name, registration_uri, **overrides):
        claims = ejwt.host_claims(host_name, registration_uri)
        for k, v in overrides.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return ejwt.sign(self.key, claims)


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:200])


class ApiClient:
    """Minimal HTTPS/HTTP client: one connection per request, like a careful agent."""

    def __init__(self, ca_path=None, user_agent="elemental-agent/test"):
        self.ca_path = ca_path
        self.user_agent = user_agent

    def request(self, method, url, headers=None, body=None, timeout=30):
        u = urllib.parse.urlsplit(url)
        if u.scheme == "https":
            ctx = ssl.create_default_context(cafile=self.ca_path)
            conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=timeout)
        else:
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        hdrs = {"User-Agent": self.user_agent}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        try:
            conn.request(method, u.path + ("?" + u.query if u.query else ""), body=body,
                         headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    # the five calls
    def get_registration(self, uri, reg_token):
        return self.request("GET", uri, {"Registration-Authorization": "Bearer " + reg_token})

    def create_host(self, uri, reg_token, identity, name, labels=None, annotations=None,
                    host_token=None):
        body = {"name": name, "pubKey": identity.pub_pem}
        if labels is not None:
            body["labels"] = labels
        if annotations is not None:
            body["annotations"] = annotations
        return self.request("POST", uri + "/hosts", {
            "Authorization": "Bearer " + (host_token or identity.token(name, uri)),
            "Registration-Authorization": "Bearer " + reg_token}, body)

    def patch_host(self, uri, identity, name, patch, host_token=None):
        return self.request("PATCH", "%s/hosts/%s" % (uri, name), {
            "Authorization": "Bearer " + (host_token or identity.token(name, uri))}, patch)

    def delete_host(self, uri, identity, name, host_token=None):
        return self.request("DELETE", "%s/hosts/%s" % (uri, name), {
            "Authorization": "Bearer " + (host_token or identity.token(name, uri))})

    def get_bootstrap(self, uri, identity, name, host_token=None):
        return self.request("GET", "%s/hosts/%s/bootstrap" % (uri, name), {
            "Authorization": "Bearer " + (host_token or identity.token(name, uri))})
