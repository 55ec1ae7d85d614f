#!/usr/bin/env bash
# Smoke check of a toolchain dir built by toolchain/build.sh (not run by build.sh):
#   toolchain/smoke/run.sh "$(toolchain/build.sh | tail -1)"
# Builds a C++20 program calling into every library, a GoogleTest/gMock test and a C program with
# toolchain/musl.cmake, checks that they are static (no dynamic section, no interpreter) and runs
# them, also inside an empty chroot (no /dev, /proc, /etc) when run as root.
set -euo pipefail
TC=$(cd "${1:?usage: $0 <toolchain dir>}" && pwd -P)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
unset LIBRARY_PATH CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH CC CXX CFLAGS CXXFLAGS LDFLAGS

B=$(mktemp -d "${TMPDIR:-/tmp}/elemental-smoke.XXXXXX")
trap 'rm -rf "$B"' EXIT
say() { printf '[smoke] %s\n' "$*"; }

# -Werror on the command line: the toolchain must add no warnings (also not at link time), and
# CMAKE_CXX_FLAGS given here must not drop any of the toolchain's own flags.
cmake -S "$HERE" -B "$B" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$HERE/../musl.cmake" \
  -DELEMENTAL_TOOLCHAIN_DIR="$TC" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" >"$B/configure.log" ||
  { cat "$B/configure.log"; exit 1; }
grep -E '_(INC|LIB|DIR|LIBRARY) = ' "$B/configure.log" | sed 's/^-- /[smoke] found /'
cmake --build "$B" -j "$(nproc)"

rc=0
for exe in smoke smoke_test smoke_c; do
  f=$(file -b "$B/$exe")
  size=$(stat -c %s "$B/$exe")
  if [[ $f != *"statically linked"* ]]; then say "FAIL $exe: $f"; rc=1; continue; fi
  if ! readelf -d "$B/$exe" | grep 'There is no dynamic section' >/dev/null; then
    say "FAIL $exe has a dynamic section"; readelf -d "$B/$exe"; rc=1; continue
  fi
  if readelf -lW "$B/$exe" | grep -E '^ +(INTERP|DYNAMIC) ' >/dev/null; then
    say "FAIL $exe has an INTERP/DYNAMIC segment"; rc=1; continue
  fi
  say "$exe: static, no dynamic section, $((size / 1024)) KiB ($f)"
done
((rc == 0)) || exit 1

say "running smoke_c";    "$B/smoke_c"
say "running smoke";      "$B/smoke"
say "running smoke_test"; "$B/smoke_test"

if ((EUID == 0)); then
  mkdir -p "$B/root/tmp"
  cp "$B/smoke" "$B/smoke_test" "$B/root/"
  say "running smoke in an empty chroot (no /dev, /proc, /etc)"
  chroot "$B/root" /smoke
  chroot "$B/root" /smoke_test --gtest_brief=1
fi
say "all smoke checks passed"
