"""A throw-away docker-registry (Debian's CNCF distribution registry) on 127.0.0.1,
small OS images built with umoci and pushed with skopeo, and a tree walk that
compares an applied root filesystem with `umoci unpack` of the same image.

Used by the OCI pull tests and the native plugin tests. Needs root and the
docker-registry, umoci and skopeo packages (tests/install-packages.sh).
"""
import hashlib
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

REGISTRY_BIN = "/usr/bin/docker-registry"


def missing_prerequisites():
    """A sentence naming what is missing, or "" when everything is there."""
    missing = [t for t in ("umoci", "skopeo") if not shutil.which(t)]
    if not os.path.exists(REGISTRY_BIN):
        missing.append("docker-registry")
    if os.geteuid() != 0:
        missing.append("root")
    return ", ".join(missing)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True,
                          timeout=300, **kw)


def start_registry(d: Path, extra_yaml=""):
    """Starts a registry with its storage in `d`; returns (process, "127.0.0.1:port")."""
    port = free_port()
    cfg = d / "config.yml"
    cfg.write_text(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {d}/data
http:
  addr: 127.0.0.1:{port}
{extra_yaml}""")
    log = open(d / "registry.log", "w")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("registry exited: " + (d / "registry.log").read_text())
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("registry did not start listening within 30 s")
            time.sleep(0.1)
    return proc, f"127.0.0.1:{port}"


def build_os_image(layout: Path, tag: str, version: str, extra=None):
    """A small OS root in two layers: a base tree, then a version layer.
    `extra` maps relative paths to file contents added in the second layer."""
    if not (layout / "index.json").exists():
        run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", f"{layout}:{tag}")
    bundle = layout.parent / f"bundle-{tag}"
    run("umoci", "unpack", "--image", f"{layout}:{tag}", bundle)
    r = bundle / "rootfs"
    for p in ("etc", "usr/bin", "usr/lib", "var/lib", "tmp", "run", "proc", "sys", "dev"):
        (r / p).mkdir(parents=True, exist_ok=True)
    os.chmod(r / "tmp", 0o1777)
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\n")
    (r / "usr/bin/payload").write_bytes(hashlib.sha256(version.encode()).digest() * 4096)
    os.symlink("usr/bin", r / "bin")
    run("umoci", "repack", "--refresh-bundle", "--image", f"{layout}:{tag}", bundle)
    (r / "etc/os-release").write_text(f'NAME="Test OS"\nVERSION="{version}"\n')
    for rel, content in (extra or {}).items():
        (r / rel).parent.mkdir(parents=True, exist_ok=True)
        (r / rel).write_text(content)
    run("umoci", "repack", "--image", f"{layout}:{tag}", bundle)
    shutil.rmtree(bundle)


def push(layout: Path, tag: str, registry: str, repo: str):
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:{tag}",
        f"docker://{registry}/{repo}:{tag}")


def unpack(layout: Path, tag: str, dest: Path) -> Path:
    """`umoci unpack` of the image; returns its rootfs."""
    run("umoci", "unpack", "--image", f"{layout}:{tag}", dest)
    return dest / "rootfs"


def tree(root, ignore=()):
    """Every entry under `root` and `root` itself (as "."), by relative path:
    type and mode, owner, mtime, size and sha256, link count and target,
    device numbers, xattrs. Top-level names in `ignore` are left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d not in ignore]
            filenames = [f for f in filenames if f not in ignore]
        names = dirnames + filenames
        if dirpath == str(root):
            names = [""] + names
        for name in names:
            p = os.path.join(dirpath, name) if name else str(root)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {"mode": st.st_mode, "uid": st.st_uid, "gid": st.st_gid,
                 "mtime": st.st_mtime_ns}
            if stat.S_ISREG(st.st_mode):
                e["size"] = st.st_size
                with open(p, "rb") as f:
                    e["sha"] = hashlib.sha256(f.read()).hexdigest()
                e["nlink"] = st.st_nlink
            elif stat.S_ISLNK(st.st_mode):
                e["link"] = os.readlink(p)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                e["rdev"] = st.st_rdev
            if not stat.S_ISLNK(st.st_mode):
                e["xattrs"] = {n: os.getxattr(p, n) for n in sorted(os.listxattr(p))}
            out[rel] = e
    return out


def diff_trees(a: dict, b: dict):
    """Lines naming each entry that differs; empty when the trees are equal."""
    lines = []
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            lines.append(f"{k}: {a.get(k)} != {b.get(k)}")
    return lines
