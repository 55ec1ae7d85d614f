#!/usr/bin/env bash
# The main job: builds the static agent, starts the test Elemental API server
# and walks one host through its lifecycle, printing the host after each step.
set -euo pipefail
unset LIBRARY_PATH
cd "$(dirname "$0")"
bash tests/install-packages.sh
agent=$(./build.sh | tail -n 1)
exec /usr/bin/python3 tests/demo.py "$agent"
