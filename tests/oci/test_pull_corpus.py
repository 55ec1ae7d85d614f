"""More of the conformance corpus: an image index with several platforms, and
layers carrying an entry for the root itself. Each pulled tree is compared
with `umoci unpack` of the matching manifest, root directory included. Same
prerequisites as test_pull.py (whose helpers it uses)."""
import hashlib
import io
import json
import stat
import tarfile
import urllib.request

import pytest

from test_pull import pull, registry, run, tree  # noqa: F401


def add_arch_image(layout, tag, arch):
    run("umoci", "new", "--image", f"{layout}:{tag}")
    bundle = layout.parent / f"bundle-{tag}"
    run("umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle))
    r = bundle / "rootfs"
    (r / "etc").mkdir()
    (r / "etc/arch").write_text(arch + "\n")
    (r / f"only-{tag}").write_bytes(arch.encode() * 1000)
    run("umoci", "repack", "--image", f"{layout}:{tag}", str(bundle))
    run("umoci", "config", "--image", f"{layout}:{tag}", "--architecture", arch)


def add_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / digest).write_bytes(data)
    return "sha256:" + digest


@pytest.mark.parametrize("fmt", ["oci", "v2s2"])
def test_index_with_several_platforms(registry, tmp_path, fmt):
    layout = tmp_path / "layout"
    run("umoci", "init", "--layout", str(layout))
    add_arch_image(layout, "amd64", "amd64")
    add_arch_image(layout, "arm64", "arm64")
    index = json.loads((layout / "index.json").read_text())
    by_tag = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in index["manifests"]}
    platforms = {"amd64": {"os": "linux", "architecture": "amd64"},
                 "arm64": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
    # arm64 first, so picking the default (linux/amd64) is a real choice.
    nested = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
              "manifests": [{"mediaType": by_tag[t]["mediaType"], "digest": by_tag[t]["digest"],
                             "size": by_tag[t]["size"], "platform": platforms[t]}
                            for t in ("arm64", "amd64")]}
    data = json.dumps(nested).encode()
    index["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json",
                               "digest": add_blob(layout, data), "size": len(data),
                               "annotations": {"org.opencontainers.image.ref.name": "multi"}})
    (layout / "index.json").write_text(json.dumps(index))
    # v2s2: the index becomes a Docker manifest list of schema 2 manifests.
    extra = ["--format", "v2s2"] if fmt == "v2s2" else []
    run("skopeo", "copy", "--all", *extra, "--dest-tls-verify=false", f"oci:{layout}:multi",
        f"docker://{registry}/test/multi-{fmt}:v1")
    served = json.loads(urllib.request.urlopen(urllib.request.Request(
        f"http://{registry}/v2/test/multi-{fmt}/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.index.v1+json, "
                           "application/vnd.docker.distribution.manifest.list.v2+json"}),
        timeout=10).read())
    assert served["mediaType"] == {
        "oci": "application/vnd.oci.image.index.v1+json",
        "v2s2": "application/vnd.docker.distribution.manifest.list.v2+json"}[fmt]
    digests = {m["platform"]["architecture"]: m["digest"] for m in served["manifests"]}

    for platform, tag in ((None, "amd64"), ("linux/arm64/v8", "arm64"), ("linux/arm64", "arm64")):
        ref = tmp_path / f"ref-{tag}"
        if not ref.exists():
            run("umoci", "unpack", "--image", f"{layout}:{tag}", str(ref))
        target = tmp_path / f"t-{tag}-{platform is None}-{len(platform or '')}"
        target.mkdir()
        extra = ["--platform", platform] if platform else []
        res = pull(f"{registry}/test/multi-{fmt}:v1", "--to", target,
                   "--insecure-registry", registry, *extra)
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"(manifest {digests[tag]})" in res.stdout + res.stderr
        got, want = tree(target), tree(ref / "rootfs")
        assert got == want, platform
        assert (target / "etc/arch").read_text() == tag + "\n"

    target = tmp_path / "t-absent"
    target.mkdir()
    res = pull(f"{registry}/test/multi-{fmt}:v1", "--to", target,
               "--insecure-registry", registry, "--platform", "linux/s390x")
    assert res.returncode != 0
    assert "no manifest for platform linux/s390x (available: linux/arm64/v8, linux/amd64)" \
        in res.stdout + res.stderr, res.stdout + res.stderr
    assert not any(target.iterdir())


def tar_layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def entry(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, mtime=1500000000, data=None):
    i = tarfile.TarInfo(name)
    i.type, i.mode, i.uid, i.gid, i.mtime = kind, mode, uid, gid, mtime
    if data is not None:
        i.size = len(data)
    return i, data


def test_root_entries_set_the_target_root(registry, tmp_path):
    layout = tmp_path / "layout"
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:v1")
    layers = [
        # "./" first, then entries below it (which would change its mtime).
        [entry("./", tarfile.DIRTYPE, 0o750, 7, 8, 1500000000),
         entry("./f", data=b"abc"), entry("./d", tarfile.DIRTYPE, 0o755)],
        # "/" after an entry below the root, with other metadata.
        [entry("g", data=b"g", mtime=1500000100),
         entry("/", tarfile.DIRTYPE, 0o1711, 9, 10, 1400000000)],
    ]
    for n, entries in enumerate(layers):
        p = tmp_path / f"layer{n}.tar"
        p.write_bytes(tar_layer(entries))
        run("umoci", "raw", "add-layer", "--image", f"{layout}:v1", str(p))
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
        f"docker://{registry}/test/rootentry:v1")
    ref = tmp_path / "ref"
    run("umoci", "unpack", "--image", f"{layout}:v1", str(ref))
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"{registry}/test/rootentry:v1", "--to", target, "--insecure-registry", registry)
    assert res.returncode == 0, res.stdout + res.stderr
    got, want = tree(target), tree(ref / "rootfs")
    assert got == want
    root = got["."]
    assert stat.S_IMODE(root["mode"]) == 0o1711 and (root["uid"], root["gid"]) == (9, 10)
    assert root["mtime"] == 1400000000 * 10**9


def test_non_directory_root_entry_is_refused(registry, tmp_path):
    layout = tmp_path / "layout"
    run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:v1")
    p = tmp_path / "layer.tar"
    p.write_bytes(tar_layer([entry(".", data=b"not a dir")]))
    run("umoci", "raw", "add-layer", "--image", f"{layout}:v1", str(p))
    run("skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:v1",
        f"docker://{registry}/test/rootfile:v1")
    target = tmp_path / "t"
    target.mkdir()
    res = pull(f"{registry}/test/rootfile:v1", "--to", target, "--insecure-registry", registry)
    assert res.returncode != 0
    assert "the root must be a directory" in res.stdout + res.stderr
