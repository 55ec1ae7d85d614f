#!/usr/bin/env bash
# Builds elemental-agent and its unit tests with the static musl toolchain.
#
# Installs the Debian packages the build needs, builds the toolchain (or
# reuses it from the cache, see toolchain/README.md), then configures and
# builds into ./build. Prints the path of the agent binary as its last line.
# Usage: ./build.sh [extra cmake -D options]
set -euo pipefail
unset LIBRARY_PATH
cd "$(dirname "$0")"
top=$PWD

bash toolchain/install-packages.sh >&2
tc=$(bash toolchain/build.sh | tail -n 1)
[ -d "$tc" ] || { echo "build.sh: toolchain build did not produce a directory" >&2; exit 1; }

cmake -G Ninja -S . -B build \
  -DCMAKE_TOOLCHAIN_FILE="$top/toolchain/musl.cmake" \
  -DELEMENTAL_TOOLCHAIN_DIR="$tc" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >&2
ninja -C build >&2
echo "$top/build/agent/elemental-agent"
