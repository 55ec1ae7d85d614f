#!/usr/bin/env bash
# Builds the libFuzzer targets (host clang-14 with ASan + UBSan, see
# CMakeLists.txt) into build-fuzz/ and runs each one briefly from its seed
# corpus: a fixed number of runs with a fixed seed, so a run is repeatable,
# and a time cap per target in case the machine is slow. Fails on any crash,
# leak, sanitizer report, broken property, timeout or out-of-memory; the
# failing input is kept in build-fuzz/findings/ and the log is printed.
# For longer runs by hand see README.md.
#
# Environment: FUZZ_RUNS_SCALE (multiplies the run counts, default 1),
# FUZZ_SEED (default 1), FUZZ_MAX_SECONDS (cap per target, default 60),
# FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail
unset LIBRARY_PATH
cd "$(dirname "$0")/../.."
top=$PWD
build=${FUZZ_BUILD_DIR:-$top/build-fuzz}
scale=${FUZZ_RUNS_SCALE:-1}
seed=${FUZZ_SEED:-1}
cap=${FUZZ_MAX_SECONDS:-60}

work=$(mktemp -d /tmp/elemental-fuzz.XXXXXX)  # corpora, logs, findings; kept on failure
cmake -G Ninja -S tests/fuzz -B "$build" -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER=clang++-14 > "$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; exit 1; }
ninja -C "$build" -j2 > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }

# target  runs  max input length (bytes)
targets=(
  "reference 800000 512"
  "manifest 400000 4096"
  "apply      8000 16384"
)

export TMPDIR=$work  # fuzz_apply's sandboxes go here too
export UBSAN_OPTIONS=print_stacktrace=1
for t in "${targets[@]}"; do
  read -r name runs max_len <<<"$t"
  mkdir -p "$work/corpus-$name"
  log=$work/$name.log
  start=$(date +%s)
  if ! "$build/fuzz_$name" -runs=$((runs * scale)) -seed="$seed" -max_total_time="$cap" \
      -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/$name-" \
      "$work/corpus-$name" "tests/fuzz/seeds/$name" > "$log" 2>&1; then
    echo "fuzz: fuzz_$name FAILED; the end of its log ($log):"
    tail -n 80 "$log"
    mkdir -p "$build/findings"
    for f in "$work/$name"-*; do
      [ -e "$f" ] || continue
      cp "$f" "$build/findings/"
      echo "fuzz: input kept: $build/findings/$(basename "$f")"
      echo "fuzz: reproduce: $build/fuzz_$name $build/findings/$(basename "$f")"
    done
    exit 1
  fi
  done_line=$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" || echo "no summary")
  echo "fuzz: fuzz_$name ok: $done_line (limit $((runs * scale)) runs, ${cap}s; took $(( $(date +%s) - start ))s)"
done
rm -rf "$work"
