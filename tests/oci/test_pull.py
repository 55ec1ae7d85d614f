"""`elemental-agent pull` against Debian's docker-registry, compared with `umoci unpack`.

The test starts its own registry (never the system service) on a free port of
127.0.0.1 with storage in a temp dir, builds images with umoci, pushes them
with skopeo, pulls them with the agent and compares the trees entry by entry.
Needs root (device nodes, ownership) and the docker-registry, umoci and skopeo
packages. ELEMENTAL_AGENT_BIN names the agent binary.
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import sys
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
from oci_registry import (free_port, missing_prerequisites, run,  # noqa: E402,F401
                          start_registry, tree)

AGENT = os.environ.get("ELEMENTAL_AGENT_BIN", "build/agent/elemental-agent")
# All traffic here is local: a proxy of the machine running the tests must not
# be used by the agent, skopeo or the harness's own urllib calls. Tests that
# want a proxy set it for the agent alone (test_pull_net.py).
for _k in [k for k in os.environ if k.lower().endswith("_proxy")]:
    del os.environ[_k]
REGISTRY_CFG = {}  # "127.0.0.1:port" -> its config file

# Missing prerequisites fail the run: a skipped test must never count as passing.
if missing_prerequisites():
    pytest.fail("tests/oci needs " + missing_prerequisites() +
                " (bash tests/install-packages.sh installs them)", pytrace=False)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    d = tmp_path_factory.mktemp("registry")
    proc, addr = start_registry(d)
    REGISTRY_CFG[addr] = d / "config.yml"
    yield addr
    proc.terminate()
    proc.wait(timeout=10)


def pull(*args):
    """Runs `elemental-agent pull ARGS...` and returns the finished process."""
    return subprocess.run([AGENT, "pull", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def build_image(layout, tag):
    """Two layers: a varied tree, then deletions (whiteouts) and changes."""
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:{tag}")
    bundle = layout.parent / "bundle"
    run("umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle))
    r = bundle / "rootfs"
    for p in ("etc", "usr/bin", "usr/lib", "var/empty", "tmp", "gone/sub", "opaque"):
        (r / p).mkdir(parents=True, exist_ok=True)
    (r / "etc/hosts").write_text("127.0.0.1 localhost\n")
    (r / "etc/shadow").write_text("root:*:1::::::\n")
    os.chmod(r / "etc/shadow", 0o640)
    os.chown(r / "etc/shadow", 0, 42)
    (r / "usr/bin/tool").write_bytes(os.urandom(300000))
    os.chmod(r / "usr/bin/tool", 0o4755)
    os.link(r / "usr/bin/tool", r / "usr/bin/tool-link")
    os.symlink("usr/lib", r / "lib")
    os.symlink("/etc/hosts", r / "abs-link")
    os.chmod(r / "tmp", 0o1777)
    os.mkfifo(r / "fifo")
    os.mknod(r / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    (r / "usr/lib/owned").write_text("x")
    os.chown(r / "usr/lib/owned", 1000, 1000)
    (r / "gone/sub/f").write_text("f")
    (r / "opaque/old").write_text("old")
    (r / "sparse").write_bytes(b"")
    os.truncate(r / "sparse", 1 << 20)
    os.utime(r / "etc/hosts", (1600000000, 1600000000))
    (r / "usr/bin/ping").write_bytes(b"ping")
    os.chmod(r / "usr/bin/ping", 0o755)
    # cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2).
    os.setxattr(r / "usr/bin/ping", "security.capability",
                bytes.fromhex("0000000200200000000000000000000000000000"))
    # --refresh-bundle: without it the next repack diffs against the empty
    # image again and replaces this layer instead of adding a second one.
    run("umoci", "repack", "--refresh-bundle", "--image", f"{layout}:{tag}", str(bundle))
    # Second layer.
    shutil.rmtree(r / "gone")
    (r / "etc/shadow").unlink()
    shutil.rmtree(r / "opaque")
    (r / "opaque").mkdir()
    (r / "opaque/new").write_text("new")
    os.link(r / "etc/hosts", r / "usr/bin/hosts-link")
    run("umoci", "repack", "--image", f"{layout}:{tag}", str(bundle))
    shutil.rmtree(bundle)


@pytest.mark.parametrize("fmt", ["oci", "v2s2", "zstd"])
def test_pull_matches_umoci_unpack(registry, tmp_path, fmt):
    layout = tmp_path / "layout"
    build_image(layout, "v1")
    dest = f"docker://{registry}/test/img-{fmt}:v1"
    extra = []
    if fmt == "v2s2":
        extra = ["--format", "v2s2"]
    elif fmt == "zstd":
        extra = ["--dest-compress-format", "zstd", "--dest-compress"]
    run("skopeo", "copy", "--dest-tls-verify=false", *extra, f"oci:{layout}:v1", dest)

    ref_bundle = tmp_path / "ref"
    run("umoci", "unpack", "--image", f"{layout}:v1", str(ref_bundle))
    target = tmp_path / "target"
    target.mkdir()
    res = pull(f"oci://{registry}/test/img-{fmt}:v1", "--to", str(target), "--insecure-registry", registry)
    assert res.returncode == 0, res.stderr + res.stdout
    # Each layer's end is logged by the progress reporter, with size and rate.
    assert re.search(r"layer 1/2 sha256:[0-9a-f]{12}: 0\.\d/0\.\d MB \(", res.stderr), res.stderr
    assert re.search(r"layer 2/2 sha256:[0-9a-f]{12}: 0\.\d/0\.\d MB", res.stderr), res.stderr
    want = tree(ref_bundle / "rootfs")
    got = tree(target)
    assert len(want) > 15
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k
    assert "gone" not in got and "etc/shadow" not in got
    assert "opaque/old" not in got and "opaque/new" in got
    assert "security.capability" in got["usr/bin/ping"]["xattrs"]


def test_pull_errors(registry, tmp_path):
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"{registry}/no/such:v1", "--to", str(target), "--insecure-registry", registry)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "not found (HTTP 404)" in out and registry in out


def push_image(registry, tmp_path, name):
    layout = tmp_path / "layout"
    build_image(layout, "v1")
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
        f"docker://{registry}/{name}:v1")
    return layout


def registry_blob_paths(registry_data):
    root = registry_data / "docker/registry/v2/blobs/sha256"
    return {p.parent.name: p for p in root.glob("*/*/data")}


def test_digest_mismatch_fails(registry, tmp_path):
    push_image(registry, tmp_path, "test/corrupt")
    # The registry's storage is next to its config (see the fixture).
    data = None
    for line in open(REGISTRY_CFG[registry]):
        if "rootdirectory" in line:
            data = line.split(":", 1)[1].strip()
    blobs = registry_blob_paths(pathlib.Path(data))
    # The first layer, as the registry lists it.
    req = urllib.request.Request(
        f"http://{registry}/v2/test/corrupt/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                           "application/vnd.docker.distribution.manifest.v2+json"})
    manifest = json.loads(urllib.request.urlopen(req, timeout=10).read())
    victim = blobs[manifest["layers"][0]["digest"].split(":", 1)[1]]
    content = bytearray(victim.read_bytes())
    content[-10] ^= 0xFF
    victim.write_bytes(bytes(content))
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"{registry}/test/corrupt:v1", "--to", str(target), "--insecure-registry", registry)
    assert res.returncode != 0
    assert "digest mismatch" in res.stdout + res.stderr


class FlakyAuthProxy:
    """A registry front that asks for a Bearer token (fetched with Basic
    credentials), redirects blob downloads elsewhere, cuts the first download
    of every blob halfway, and answers 503 once per manifest."""

    USER, PASSWORD, TOKEN = "puller", "s3cret", "tok-123"

    def __init__(self, upstream):
        import http.server
        import threading
        proxy = self
        self.upstream = upstream
        self.log = []  # (path, range header, authorization header)
        self.cut = set()
        self.failed = set()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                proxy.log.append((self.path, self.headers.get("Range"),
                                  self.headers.get("Authorization")))
                if self.path.startswith("/token"):
                    import base64
                    want = "Basic " + base64.b64encode(
                        f"{proxy.USER}:{proxy.PASSWORD}".encode()).decode()
                    if self.headers.get("Authorization") != want:
                        return self.reply(401, b"{}")
                    return self.reply(200, json.dumps({"token": proxy.TOKEN}).encode(),
                                      {"Content-Type": "application/json"})
                if self.path.startswith("/v2/"):
                    if self.headers.get("Authorization") != "Bearer " + proxy.TOKEN:
                        port = self.server.server_address[1]
                        return self.reply(401, b"{}", {
                            "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",'
                                                f'service="test",scope="repository:x:pull"'})
                    if "/manifests/" in self.path and self.path not in proxy.failed:
                        proxy.failed.add(self.path)
                        return self.reply(503, b"busy")
                    if "/blobs/" in self.path:
                        return self.reply(307, b"", {"Location": "/storage" + self.path})
                    return self.forward(self.path)
                if self.path.startswith("/storage/"):
                    return self.forward(self.path[len("/storage"):], cut=True)
                self.reply(404, b"")

            def reply(self, code, body, headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def forward(self, path, cut=False):
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "range")}
                req = urllib.request.Request(f"http://{proxy.upstream}{path}", headers=headers)
                with urllib.request.urlopen(req, timeout=30) as r:
                    body = r.read()
                    self.send_response(r.status)
                    for k in ("Content-Type", "Docker-Content-Digest", "Content-Range"):
                        if r.headers.get(k):
                            self.send_header(k, r.headers[k])
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if cut and path not in proxy.cut and len(body) > 1000:
                        proxy.cut.add(path)
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_bearer_auth_redirect_retry_and_resume(registry, tmp_path):
    push_image(registry, tmp_path, "test/flaky")
    proxy = FlakyAuthProxy(registry)
    try:
        auth = tmp_path / "config.json"
        import base64
        cred = base64.b64encode(f"{proxy.USER}:{proxy.PASSWORD}".encode()).decode()
        auth.write_text(json.dumps({"auths": {proxy.address: {"auth": cred}}}))
        target = tmp_path / "t"
        target.mkdir()
        res = pull(f"oci://{proxy.address}/test/flaky:v1", "--to", str(target), "--insecure-registry", proxy.address, "--auth-file", str(auth))
        assert res.returncode == 0, res.stdout + res.stderr
        ref = tmp_path / "ref"
        run("skopeo", "copy", "--src-tls-verify=false", f"docker://{registry}/test/flaky:v1",
            f"oci:{tmp_path}/copy:v1")
        run("umoci", "unpack", "--image", f"{tmp_path}/copy:v1", str(ref))
        assert tree(target) == tree(ref / "rootfs")
        ranged = [p for p, rng, _ in proxy.log if p.startswith("/storage/") and rng]
        assert ranged, proxy.log  # interrupted blobs were resumed with Range
        assert any(p.startswith("/token") for p, _, _ in proxy.log)
        # The 503 on each manifest was retried.
        assert len([p for p, _, _ in proxy.log if "/manifests/" in p]) >= 2
    finally:
        proxy.close()


def test_https_is_the_default(registry, tmp_path):
    """A registry not marked insecure is spoken to over TLS (and this one has none)."""
    push_image(registry, tmp_path, "test/tls")
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"{registry}/test/tls:v1", "--to", str(target))
    assert res.returncode != 0
    assert not any(target.iterdir())


def test_https_with_custom_ca(tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=test CA", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    # mbedTLS checks DNS names only, so the registry is reached as localhost.
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
    try:
        layout = tmp_path / "layout"
        build_image(layout, "v1")
        run("skopeo", "copy", "--dest-cert-dir", str(d / "certs-unused"), "--dest-tls-verify=false",
            f"oci:{layout}:v1", f"docker://{addr}/test/tls:v1")
        target = tmp_path / "t"
        target.mkdir()
        local = addr.replace("127.0.0.1", "localhost")
        res = pull(f"{local}/test/tls:v1", "--to", str(target), "--ca-file", str(d / "ca.pem"))
        assert res.returncode == 0, res.stdout + res.stderr
        ref = tmp_path / "ref"
        run("umoci", "unpack", "--image", f"{layout}:v1", str(ref))
        assert tree(target) == tree(ref / "rootfs")
        # Without the CA the certificate is refused, at once (not retried).
        other = tmp_path / "t2"
        other.mkdir()
        res = pull(f"{local}/test/tls:v1", "--to", str(other))
        assert res.returncode != 0
        assert "giving up" not in res.stdout + res.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_pull_by_digest(registry, tmp_path):
    push_image(registry, tmp_path, "test/bydigest")
    req = urllib.request.Request(
        f"http://{registry}/v2/test/bydigest/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json, "
                           "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        digest = "sha256:" + hashlib.sha256(r.read()).hexdigest()
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"oci://{registry}/test/bydigest@{digest}", "--to", str(target), "--insecure-registry", registry)
    assert res.returncode == 0, res.stdout + res.stderr
    assert digest in res.stdout + res.stderr
    assert (target / "etc/hosts").read_text() == "127.0.0.1 localhost\n"
    # A digest the registry does not have: a clear 404 naming the reference.
    bad = "sha256:" + "0" * 64
    res = pull(f"{registry}/test/bydigest@{bad}", "--to", str(target), "--insecure-registry", registry)
    assert res.returncode != 0
    assert f"test/bydigest@{bad}" in res.stdout + res.stderr
