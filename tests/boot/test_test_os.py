"""image/test-os/build.sh: the test OS images v1, v2 and the broken v3.

Each tag is unpacked with `umoci unpack` and checked (files, modes, static
busybox and agent, applet links, os-release); v1's init runs in a chroot inside
private mount, PID, UTS, IPC and network namespaces with a fake agent that
reports what it sees; v3's init must fail; the three tags are pushed to a
throw-away docker-registry and the agent pulls v2 back, compared with
`umoci unpack`. Needs root, umoci, skopeo, docker-registry, busybox-static,
unshare. ELEMENTAL_AGENT_BIN names the agent binary.
"""
import json
import os
import pathlib
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "lib"))
import os_images  # noqa: E402
from oci_registry import diff_trees, missing_prerequisites, run, start_registry, tree  # noqa: E402

AGENT = os.environ.get("ELEMENTAL_AGENT_BIN", "build/agent/elemental-agent")
for _k in [k for k in os.environ if k.lower().endswith("_proxy")]:
    del os.environ[_k]

if missing_prerequisites() or not os.path.exists(AGENT):
    pytest.fail("tests/boot/test_test_os.py needs " +
                (missing_prerequisites() or f"the agent at {AGENT} (ELEMENTAL_AGENT_BIN)") +
                " (bash tests/install-packages.sh)", pytrace=False)


def elf_interp_and_symtab(path):
    """(has a PT_INTERP program header, has a .symtab section) of an ELF64 file."""
    data = pathlib.Path(path).read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2, f"{path}: not ELF64"
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    interp = any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == 3
                 for i in range(phnum))
    symtab = any(struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == 2
                 for i in range(shnum))
    return interp, symtab


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    return os_images.build(AGENT, tmp_path_factory.mktemp("test-os") / "layout")


@pytest.fixture(scope="module")
def roots(layout):
    out = {}
    for tag in os_images.TAGS:
        bundle = layout.parent / f"unpacked-{tag}"
        run("umoci", "unpack", "--image", f"{layout}:{tag}", bundle)
        out[tag] = bundle / "rootfs"
    return out


def manifest(layout, tag):
    index = json.loads((layout / "index.json").read_text())
    d = next(m["digest"] for m in index["manifests"]
             if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    return json.loads((layout / "blobs" / d.replace(":", "/")).read_text())


def test_layout_has_three_small_tags_sharing_the_base_layer(layout):
    index = json.loads((layout / "index.json").read_text())
    tags = sorted(m["annotations"]["org.opencontainers.image.ref.name"]
                  for m in index["manifests"])
    assert tags == ["v1", "v2", "v3"]
    layers = {t: manifest(layout, t)["layers"] for t in os_images.TAGS}
    for t in os_images.TAGS:
        assert len(layers[t]) == 2, layers[t]
        assert layers[t][0]["digest"] == layers["v1"][0]["digest"], "base layer not shared"
        total = sum(layer["size"] for layer in layers[t])
        assert total < 8 * 1024 * 1024, f"{t}: {total} bytes compressed"
        assert layers[t][1]["size"] < 16 * 1024, f"{t}: version layer {layers[t][1]['size']}"
    assert len({layers[t][1]["digest"] for t in os_images.TAGS}) == 3


@pytest.mark.parametrize("tag", os_images.TAGS)
def test_root_tree(roots, tag):
    r = roots[tag]
    mode = lambda p: stat.S_IMODE(os.lstat(r / p).st_mode)  # noqa: E731
    for d in ("proc", "sys", "dev", "run", "oem", "etc/elemental/agent", "var/lib/elemental"):
        assert (r / d).is_dir() and not (r / d).is_symlink(), d
    assert mode("tmp") == 0o1777 and mode("root") == 0o700 and mode("etc/shadow") == 0o600
    for f in ("bin/busybox", "usr/sbin/elemental-agent", "sbin/init",
              "usr/share/udhcpc/default.script"):
        st = os.lstat(r / f)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o755, f
        assert st.st_uid == 0 and st.st_gid == 0, f
    assert elf_interp_and_symtab(r / "bin/busybox")[0] is False, "busybox is not static"
    assert elf_interp_and_symtab(r / "usr/sbin/elemental-agent") == (False, False), \
        "the agent must be static and stripped"
    # Applet links are relative and land on busybox inside the root.
    for link in ("bin/sh", "sbin/reboot", "sbin/udhcpc", "sbin/ip", "bin/mount", "usr/bin/env"):
        target = os.readlink(r / link)
        assert not target.startswith("/"), (link, target)
        assert os.path.normpath(os.path.join(os.path.dirname(link), target)) == "bin/busybox"
    assert (r / "sbin/init").read_text().startswith("#!/bin/sh\n")
    assert f'VERSION="{tag}"\n' in (r / "etc/os-release").read_text()


@pytest.fixture
def fake_agent_root(roots, tmp_path):
    """A copy of v1's root whose agent is a script that reports what it sees."""
    r = tmp_path / "root"
    run("cp", "-a", roots["v1"], r)
    (r / "usr/sbin/elemental-agent").write_text(
        "#!/bin/sh\n"
        'echo "FAKE-AGENT args=[$*] host=$(hostname) pid=$$"\n'
        "for m in /proc /sys /dev /run /tmp; do\n"
        '  grep -q "^[^ ]* $m " /proc/mounts && echo "FAKE-AGENT mounted $m"\n'
        "done\n"
        "exit 3\n")
    (r / "etc/hostname").write_text("test-host\n")
    return r


def test_v1_init_runs_the_agent_in_a_loop(fake_agent_root):
    r = fake_agent_root
    # /run comes in with the booted slot, as the boot image hands it over.
    setup = (f"mount -t tmpfs run {r}/run && mkdir {r}/run/elemental && "
             f"echo B > {r}/run/elemental/booted-slot && exec chroot {r} /sbin/init")
    p = subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--uts", "--ipc", "--net",
                          "--kill-child", "sh", "-c", setup], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         start_new_session=True)
    lines, two_runs = [], threading.Event()

    def reader():
        for line in p.stdout:
            lines.append(line.rstrip("\n"))
            if sum(l.startswith("FAKE-AGENT args=") for l in lines) >= 2:
                two_runs.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        two_runs.wait(timeout=60)  # the init sleeps 5 s between two runs
    finally:
        # The init is PID 1 of its namespace: only SIGKILL ends it.
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        t.join(timeout=10)
    out = "\n".join(lines)
    assert two_runs.is_set(), "the agent did not run twice:\n" + out
    assert lines[0] == "TEST-OS v1 running on slot B", out
    runs = [l for l in lines if l.startswith("FAKE-AGENT args=")]
    assert runs[0] == ("FAKE-AGENT args=[--config /etc/elemental/agent/config.yaml run] "
                       f"host=test-host pid={runs[0].split('pid=')[1]}"), out
    for m in ("/proc", "/sys", "/dev", "/run", "/tmp"):
        assert f"FAKE-AGENT mounted {m}" in lines, out
    assert "TEST-OS v1: elemental-agent run exited with status 3; starting it again in 5 s" in lines
    assert "not found" not in out, out


def test_v3_init_fails(roots):
    p = subprocess.run(["chroot", str(roots["v3"]), "/sbin/init"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and p.stdout == "TEST-OS v3 broken\n", (p.returncode, p.stdout,
                                                                    p.stderr)


def test_push_then_the_agent_pulls_v2(layout, tmp_path):
    proc, registry = start_registry(tmp_path)
    try:
        os_images.push(layout, registry, "elemental/test-os")
        for tag in os_images.TAGS:
            out = run("skopeo", "inspect", "--tls-verify=false",
                      f"docker://{registry}/elemental/test-os:{tag}").stdout
            assert json.loads(out)["Labels"]["org.opencontainers.image.version"] == tag
        target = tmp_path / "pulled"
        target.mkdir()
        res = subprocess.run([AGENT, "pull", f"oci://{registry}/elemental/test-os:v2",
                              "--to", str(target), "--insecure-registry", registry],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout + res.stderr
        ref = tmp_path / "ref"
        run("umoci", "unpack", "--image", f"{layout}:v2", ref)
        assert diff_trees(tree(ref / "rootfs"), tree(target)) == []
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_build_refuses_a_directory_that_is_not_a_layout(tmp_path):
    d = tmp_path / "precious"
    d.mkdir()
    (d / "keep").write_text("x")
    p = subprocess.run(["bash", str(os_images.SCRIPT), "--agent", AGENT, "--layout", str(d)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "refusing to replace it" in p.stderr, p.stderr
    assert (d / "keep").read_text() == "x"
