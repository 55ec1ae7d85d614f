"""The test OS images of image/test-os (tags v1, v2, v3; v3's init is broken),
for tests that install or upgrade them: build the OCI layout once, push the
three tags to a registry (e.g. one from oci_registry.start_registry).

    layout = os_images.build(agent, tmp / "test-os")
    os_images.push(layout, "127.0.0.1:5000", "elemental/test-os")
    # -> oci://127.0.0.1:5000/elemental/test-os:v1 (and :v2, :v3)
"""
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "image" / "test-os" / "build.sh"
TAGS = ("v1", "v2", "v3")


def _run(*args):
    p = subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"{SCRIPT.name} {' '.join(map(str, args))} failed ({p.returncode}):\n"
                           + p.stdout + p.stderr)
    return p


def build(agent, layout: Path) -> Path:
    """Builds the OCI layout with v1, v2, v3 at `layout` (replaced if it is one)."""
    _run("--agent", agent, "--layout", layout)
    return layout


def push(layout: Path, registry: str, repo: str):
    """Pushes v1, v2, v3 to docker://registry/repo:<tag> (plain HTTP allowed)."""
    _run("--layout", layout, "--push", f"{registry}/{repo}")
