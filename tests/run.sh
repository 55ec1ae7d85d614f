#!/usr/bin/env bash
# Runs every test: builds the agent with the musl toolchain, then the unit
# tests (ctest), a short run of the libFuzzer targets (tests/fuzz), the test
# API server's own checks and the integration tests
# (the static agent against the test API server over HTTPS), and the OCI
# pull tests (against Debian's docker-registry), and tests/boot: the boot
# image (built twice for reproducibility, booted in QEMU), the ISO and the PXE
# bundle booted in QEMU, the test OS images; and the end-to-end tests in QEMU
# (tests/e2e: the whole lifecycle, power cuts during upgrades).
set -euo pipefail
unset LIBRARY_PATH
cd "$(dirname "$0")/.."
top=$PWD
start=$(date +%s)

bash tests/install-packages.sh
agent=$(./build.sh | tail -n 1)
echo "== agent: $agent"
file "$agent"
# Static mke2fs, e2fsck, mkfs.fat, ... as the boot image ships them (built once, then cached).
tools=$(bash initrd/fstools.sh | tail -n 1)
[ -x "$tools/bin/mke2fs" ] || { echo "initrd/fstools.sh did not produce $tools/bin/mke2fs" >&2; exit 1; }
export ELEMENTAL_TOOLS_DIR="$tools/bin"
echo "== filesystem tools: $ELEMENTAL_TOOLS_DIR"

echo "== unit tests"
(cd build && ctest --output-on-failure -j2)

echo "== fuzz targets, a short bounded run each (tests/fuzz/README.md)"
bash tests/fuzz/run.sh

echo "== test API server checks"
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/server

echo "== integration tests"
ELEMENTAL_AGENT_BIN="$agent" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

echo "== OCI pull tests (a real docker-registry, images built with umoci and skopeo)"
ELEMENTAL_AGENT_BIN="$agent" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/oci

echo "== boot image, VM runner, ISO, PXE bundle, test OS images (QEMU, TCG unless KVM is proven)"
ELEMENTAL_AGENT_BIN="$agent" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/boot

echo "== end-to-end: the whole lifecycle and power cuts during upgrades, in QEMU"
ELEMENTAL_AGENT_BIN="$agent" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e

echo "== all tests passed in $(( $(date +%s) - start ))s"
