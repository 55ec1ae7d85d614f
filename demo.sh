#!/usr/bin/env bash
# The main job: builds the static agent, the static filesystem tools and the
# boot image, starts the test Elemental API server and a local registry, and
# walks a blank QEMU VM through the whole lifecycle (register, install, run,
# bootstrap, upgrade, rollback, reset), printing the host after each step.
set -euo pipefail
unset LIBRARY_PATH
cd "$(dirname "$0")"
bash tests/install-packages.sh
agent=$(./build.sh | tail -n 1)
tools=$(bash initrd/fstools.sh | tail -n 1)
export ELEMENTAL_TOOLS_DIR="$tools/bin"
exec /usr/bin/python3 tests/demo.py "$agent"
