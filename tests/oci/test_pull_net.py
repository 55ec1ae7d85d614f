"""`elemental-agent pull` and the network around a registry: tokens that expire
mid-pull, forward proxies from the environment, and registry mirrors from a
registries.yaml. Same prerequisites as test_pull.py (whose helpers it uses)."""
import base64
import http.server
import json
import os
import select
import socket
import subprocess
import threading
import urllib.request

import pytest

from test_pull import (AGENT, build_image, free_port, push_image, registry,  # noqa: F401
                       run, start_registry, tree)


def pull_env(*args, env=None):
    """`elemental-agent pull ARGS...` with extra environment `env`; proxy
    variables of the test runner itself are dropped so they cannot interfere."""
    e = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    e.update(env or {})
    return subprocess.run([AGENT, "pull", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=e)


def reference_tree(tmp_path, layout):
    ref = tmp_path / "ref"
    run("umoci", "unpack", "--image", f"{layout}:v1", str(ref))
    return tree(ref / "rootfs")


class ExpiringTokenFront:
    """A registry front asking for Bearer tokens that stop working after
    `uses` authorised requests (as a short-lived token expires during a long
    pull). With `refuse_new` every token but the first is refused too."""

    def __init__(self, upstream, uses, refuse_new=False):
        front = self
        self.upstream = upstream
        self.log = []  # (path, authorization)
        self.tokens = {}  # token -> uses left
        self.issued = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                authz = self.headers.get("Authorization") or ""
                front.log.append((self.path, authz))
                if self.path.startswith("/token"):
                    front.issued += 1
                    tok = f"token-{front.issued}-abcdefgh"
                    front.tokens[tok] = 0 if refuse_new and front.issued > 1 else uses
                    return self.reply(200, json.dumps({"token": tok}).encode())
                tok = authz[len("Bearer "):] if authz.startswith("Bearer ") else ""
                if front.tokens.get(tok, 0) <= 0:
                    port = self.server.server_address[1]
                    return self.reply(401, b"{}", {
                        "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",'
                                            f'service="test",scope="repository:x:pull"'})
                front.tokens[tok] -= 1
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "range")}
                req = urllib.request.Request(f"http://{front.upstream}{self.path}",
                                             headers=headers)
                with urllib.request.urlopen(req, timeout=30) as r:
                    body = r.read()
                    self.reply(r.status, body, {k: r.headers[k] for k in
                                                ("Content-Type", "Docker-Content-Digest")
                                                if r.headers.get(k)})

            def reply(self, code, body, headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_token_expiring_mid_pull_is_refreshed(registry, tmp_path):
    layout = push_image(registry, tmp_path, "test/expiring")
    # Two authorised requests per token: the manifest and the first layer use
    # up the first token, the second layer meets a 401 and needs a new one.
    front = ExpiringTokenFront(registry, uses=2)
    try:
        target = tmp_path / "t"
        target.mkdir()
        res = pull_env(f"{front.address}/test/expiring:v1", "--to", target,
                       "--insecure-registry", front.address)
        assert res.returncode == 0, res.stdout + res.stderr
        assert tree(target) == reference_tree(tmp_path, layout)
        assert front.issued >= 2, "\n".join(map(str, front.log))
        # A refused token was followed by a token request, then the same path again.
        paths = [p for p, _ in front.log]
        blobs = [p for p in paths if "/blobs/" in p]
        assert len(blobs) > len(set(blobs)), front.log
        assert "token-1-abcdefgh" not in res.stdout + res.stderr
    finally:
        front.close()


def test_token_refused_after_refresh_is_a_clear_error(registry, tmp_path):
    push_image(registry, tmp_path, "test/expiring2")
    front = ExpiringTokenFront(registry, uses=1, refuse_new=True)
    try:
        target = tmp_path / "t"
        target.mkdir()
        res = pull_env(f"{front.address}/test/expiring2:v1", "--to", target,
                       "--insecure-registry", front.address)
        assert res.returncode != 0
        out = res.stdout + res.stderr
        assert "authentication failed even with a fresh token (HTTP 401)" in out, out
        assert "test/expiring2" in out and front.address in out
        # One refresh per request, not a loop.
        assert front.issued == 2, front.log
    finally:
        front.close()


class ForwardProxy:
    """An HTTP forward proxy: CONNECT tunnels (https) and absolute-URI GETs
    (plain http). Records what it was asked for and the Proxy-Authorization."""

    def __init__(self):
        proxy = self
        self.seen = []  # (method, target, proxy-authorization)

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_CONNECT(self):
                proxy.seen.append(("CONNECT", self.path,
                                   self.headers.get("Proxy-Authorization")))
                host, port = self.path.rsplit(":", 1)
                up = socket.create_connection((host, int(port)), timeout=30)
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                conns = [self.connection, up]
                try:
                    while True:
                        r, _, _ = select.select(conns, [], [], 30)
                        if not r:
                            break
                        done = False
                        for s in r:
                            data = s.recv(65536)
                            if not data:
                                done = True
                                break
                            (up if s is self.connection else self.connection).sendall(data)
                        if done:
                            break
                finally:
                    up.close()
                    self.close_connection = True

            def do_GET(self):
                proxy.seen.append(("GET", self.path, self.headers.get("Proxy-Authorization")))
                assert self.path.startswith("http://")
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "range", "authorization")}
                req = urllib.request.Request(self.path, headers=headers)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                try:
                    r = opener.open(req, timeout=30)
                except urllib.error.HTTPError as e:
                    r = e
                body = r.read()
                self.send_response(r.status if hasattr(r, "status") else r.code)
                for k in ("Content-Type", "Docker-Content-Digest", "Content-Range",
                          "WWW-Authenticate"):
                    if r.headers.get(k):
                        self.send_header(k, r.headers[k])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_http_proxy_from_environment(registry, tmp_path):
    layout = push_image(registry, tmp_path, "test/proxied")
    proxy = ForwardProxy()
    try:
        target = tmp_path / "t"
        target.mkdir()
        res = pull_env(f"{registry}/test/proxied:v1", "--to", target,
                       "--insecure-registry", registry,
                       env={"HTTP_PROXY": f"http://user:pr0xy-pw@{proxy.address}"})
        out = res.stdout + res.stderr
        assert res.returncode == 0, out
        assert tree(target) == reference_tree(tmp_path, layout)
        gets = [t for m, t, _ in proxy.seen if m == "GET"]
        assert any(t.startswith(f"http://{registry}/v2/test/proxied/blobs/") for t in gets), gets
        assert any("/manifests/v1" in t for t in gets), gets
        # Proxy credentials are sent to the proxy, never logged.
        want = "Basic " + base64.b64encode(b"user:pr0xy-pw").decode()
        assert all(a == want for _, _, a in proxy.seen)
        assert f"Using proxy http://***@{proxy.address} for {registry}" in out, out
        assert "pr0xy-pw" not in out
    finally:
        proxy.close()


def test_no_proxy_bypasses_the_proxy(registry, tmp_path):
    push_image(registry, tmp_path, "test/direct")
    proxy = ForwardProxy()
    try:
        target = tmp_path / "t"
        target.mkdir()
        # Lowercase wins over uppercase; the proxy is bypassed for this host.
        res = pull_env(f"{registry}/test/direct:v1", "--to", target,
                       "--insecure-registry", registry,
                       env={"http_proxy": f"http://{proxy.address}",
                            "HTTP_PROXY": "http://127.0.0.1:1",
                            "NO_PROXY": "example.com, 127.0.0.1"})
        assert res.returncode == 0, res.stdout + res.stderr
        assert proxy.seen == []
        assert "Using proxy" not in res.stdout + res.stderr
        # ALL_PROXY covers http:// when HTTP_PROXY is not set.
        target2 = tmp_path / "t2"
        target2.mkdir()
        res = pull_env(f"{registry}/test/direct:v1", "--to", target2,
                       "--insecure-registry", registry,
                       env={"ALL_PROXY": f"http://{proxy.address}"})
        assert res.returncode == 0, res.stdout + res.stderr
        assert any(m == "GET" for m, _, _ in proxy.seen)
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory):
    """A TLS registry reached as localhost:PORT, and its CA file."""
    d = tmp_path_factory.mktemp("tlsreg")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(d / "srv.key"), "-out", str(d / "srv.csr"))
    (d / "ext").write_text("subjectAltName=DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext"),
        "-out", str(d / "srv.pem"))
    proc, addr = start_registry(d, f"""  tls:
    certificate: {d}/srv.pem
    key: {d}/srv.key
""")
    yield addr.replace("127.0.0.1", "localhost"), d / "ca.pem"
    proc.terminate()
    proc.wait(timeout=10)


def test_https_proxy_tunnels_tls(tls_registry, tmp_path):
    addr, ca = tls_registry
    layout = tmp_path / "layout"
    build_image(layout, "v1")
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
        f"docker://{addr}/test/tunnel:v1")
    proxy = ForwardProxy()
    try:
        target = tmp_path / "t"
        target.mkdir()
        res = pull_env(f"{addr}/test/tunnel:v1", "--to", target, "--ca-file", ca,
                       env={"https_proxy": f"http://{proxy.address}",
                            "HTTP_PROXY": "http://127.0.0.1:1"})
        out = res.stdout + res.stderr
        assert res.returncode == 0, out
        assert tree(target) == reference_tree(tmp_path, layout)
        assert proxy.seen and all(m == "CONNECT" and t == addr for m, t, _ in proxy.seen), \
            proxy.seen
        assert f"Using proxy http://{proxy.address} for {addr}" in out
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """A second plain registry to act as a mirror."""
    d = tmp_path_factory.mktemp("mirror")
    proc, addr = start_registry(d)
    yield addr
    proc.terminate()
    proc.wait(timeout=10)


def write_registries(tmp_path, text):
    p = tmp_path / "registries.yaml"
    p.write_text(text)
    return p


def test_mirror_serves_what_the_registry_lacks(registry, mirror, tmp_path):
    layout = push_image(mirror, tmp_path, "cache/only-on-mirror")
    cfg = write_registries(tmp_path, f"""mirrors:
  "{registry}":
    endpoint:
      - "http://{mirror}"
    rewrite:
      "^test/(.*)": "cache/$1"
""")
    target = tmp_path / "t"
    target.mkdir()
    res = pull_env(f"{registry}/test/only-on-mirror:v1", "--to", target,
                   "--insecure-registry", registry, "--registries-config", cfg)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert f"Fetching from mirror {mirror}" in out
    assert tree(target) == reference_tree(tmp_path, layout)
    # Without the config the registry itself answers 404.
    res = pull_env(f"{registry}/test/only-on-mirror:v1", "--to", tmp_path / "t",
                   "--insecure-registry", registry)
    assert res.returncode != 0 and "not found (HTTP 404)" in res.stdout + res.stderr


def test_dead_and_empty_mirrors_fall_through(registry, mirror, tmp_path):
    layout = push_image(registry, tmp_path, "test/only-on-registry")
    dead = f"127.0.0.1:{free_port()}"
    cfg = write_registries(tmp_path, f"""mirrors:
  "*":
    endpoint: ["http://{dead}", "http://{mirror}"]
""")
    target = tmp_path / "t"
    target.mkdir()
    res = pull_env(f"{registry}/test/only-on-registry:v1", "--to", target,
                   "--insecure-registry", registry, "--registries-config", cfg)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert tree(target) == reference_tree(tmp_path, layout)
    assert f"Mirror {dead} failed, trying {mirror}" in out, out
    assert f"Mirror {mirror} failed, trying {registry}" in out and "not found (HTTP 404)" in out
    # The unreachable mirror is asked once per pull, not for every blob.
    assert out.count(f"Mirror {dead} failed") == 1, out


def test_registries_config_errors_name_file_line_and_key(registry, tmp_path):
    cfg = write_registries(tmp_path, """mirrors:
  docker.io:
    endpoints: ["https://x"]
""")
    res = pull_env(f"{registry}/test/x:v1", "--to", tmp_path, "--registries-config", cfg)
    assert res.returncode != 0
    assert f"{cfg}:3:5: mirrors.docker.io.endpoints: unknown key" in res.stdout + res.stderr
    cfg = write_registries(tmp_path, """mirrors:
  docker.io:
    endpoint: ["ftp://x"]
""")
    res = pull_env(f"{registry}/test/x:v1", "--to", tmp_path, "--registries-config", cfg)
    assert res.returncode != 0
    assert f"{cfg}:3:16: mirrors.docker.io.endpoint[0]: endpoint 'ftp://x': scheme must be " \
           "http or https" in res.stdout + res.stderr
    res = pull_env(f"{registry}/test/x:v1", "--to", tmp_path,
                   "--registries-config", tmp_path / "missing.yaml")
    assert res.returncode != 0 and "missing.yaml" in res.stdout + res.stderr


def test_registries_config_tls_settings(tls_registry, tmp_path):
    """configs.<host>.tls: a CA file for that host, or no verification at all."""
    addr, ca = tls_registry
    layout = tmp_path / "layout"
    build_image(layout, "v1")
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
        f"docker://{addr}/test/tlscfg:v1")
    want = reference_tree(tmp_path, layout)
    for n, tls in enumerate([f"ca_file: {ca}", "insecure_skip_verify: true"]):
        cfg = write_registries(tmp_path, f"""configs:
  "{addr}":
    tls:
      {tls}
""")
        target = tmp_path / f"t{n}"
        target.mkdir()
        res = pull_env(f"{addr}/test/tlscfg:v1", "--to", target, "--registries-config", cfg)
        assert res.returncode == 0, res.stdout + res.stderr
        assert tree(target) == want
    # Neither: the certificate is refused.
    cfg = write_registries(tmp_path, "mirrors: {}\n")
    res = pull_env(f"{addr}/test/tlscfg:v1", "--to", tmp_path / "t0", "--registries-config", cfg)
    assert res.returncode != 0
