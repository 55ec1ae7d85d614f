#!/usr/bin/env bash
# Builds (or reuses from cache) the static musl C++20 toolchain for elemental-agent:
# a musl sysroot, libc++/libc++abi/libunwind, and static libraries built from Debian source packages.
#
#   TC=$(toolchain/build.sh | tail -1)
#
# Progress goes to stderr; the LAST line of stdout is the toolchain dir. See toolchain/README.md.
# Environment: ELEMENTAL_CACHE_DIR (default /var/cache/elemental-agent).
set -euo pipefail
umask 022

TOOLCHAIN_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

# ---------------------------------------------------------------------------------------------------
# Clean, deterministic environment (LIBRARY_PATH is set on some machines for CUDA stubs and leaks
# into clang's link line; PATH may contain pyenv/cargo/local tools).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
unset LIBRARY_PATH CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH OBJC_INCLUDE_PATH \
      PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
      CC CXX CPP CFLAGS CXXFLAGS CPPFLAGS LDFLAGS LDLIBS AR RANLIB LD NM STRIP \
      MAKEFLAGS MFLAGS GNUMAKEFLAGS CMAKE_GENERATOR CMAKE_TOOLCHAIN_FILE CMAKE_PREFIX_PATH \
      CMAKE_BUILD_PARALLEL_LEVEL CMAKE_INSTALL_PREFIX DESTDIR GCC_EXEC_PREFIX COMPILER_PATH \
      ELEMENTAL_TOOLCHAIN_DIR

JOBS=$(nproc)
CACHE_ROOT=${ELEMENTAL_CACHE_DIR:-/var/cache/elemental-agent}
CACHE_TC=$CACHE_ROOT/toolchain
SRC_DIR=$CACHE_TC/sources          # apt-get source downloads, shared by all keys
TRIPLE=x86_64-linux-musl

# Debian source packages built into the toolchain (keep in sync with the step list at the bottom).
SOURCE_PACKAGES=(llvm-toolchain-14 zlib libzstd xz-utils mbedtls curl cjson libarchive libsodium
                 yaml-cpp googletest)
# Host packages whose contents end up in (or shape) the output: part of the cache key.
HOST_KEY_PACKAGES=(clang-14 libclang-common-14-dev libclang-rt-14-dev lld-14 llvm-14 musl-dev
                   linux-libc-dev cmake)

APT_GET=(apt-get -o Acquire::Retries=2 -o Acquire::http::Timeout=30 -o APT::Sandbox::User=root)

# ---------------------------------------------------------------------------------------------------
# Logging and steps
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf '[toolchain %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

LOG_DIR=""          # per-step logs: <build dir>/logs, or a temp dir before the build dir exists
STEP_NO=0
# run_step NAME FUNCTION [ARGS...]: runs FUNCTION in a subshell with `set -e` effective, output to
# LOG_DIR/NN-NAME.log; on failure names the step and the log, shows its tail and exits.
run_step() {
  local name=$1; shift
  local nr=${STEP_NR[$name]:-$((++STEP_NO))}
  local logf; logf=$(printf '%s/%02d-%s.log' "$LOG_DIR" "$nr" "$name")
  local t0; t0=$(now)
  log "step $name ..."
  local rc=0
  set +e
  ( set -euo pipefail; STEP_T0=$t0; "$@"; phase done; times >"$logf.times" ) >"$logf" 2>&1
  rc=$?
  set -e
  if (( rc != 0 )); then
    if [[ -e $LOG_DIR/.aborting ]]; then
      log "step $name stopped (another step failed)"
      exit 1
    fi
    log "FAILED: step '$name' (exit $rc) after $(elapsed "$t0"); log: $logf"
    { echo "----- last 40 lines of $logf -----"; tail -n 40 "$logf"; echo "-----"; } >&2 || true
    exit 1
  fi
  # CPU time of the step (user+sys of its processes)
  local cpu
  cpu=$(awk 'NR == 2 { n = split($0, f, " "); t = 0
                       for (i = 1; i <= n; i++) { split(f[i], m, "m"); sub(/s$/, "", m[2]); t += m[1] * 60 + m[2] }
                       printf "%.0fs", t }' "$logf.times")
  rm -f "$logf.times"
  log "step $name done in $(elapsed "$t0") (cpu $cpu)"
}

declare -A STEP_NR=()

# phase NAME: timestamped marker in a step log (shows where a step spends its time)
phase() { printf '=== %(%H:%M:%S)T +%s %s\n' -1 "$(elapsed "$STEP_T0")" "$*"; }

T_START=$(now)
PRE_LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/elemental-toolchain.XXXXXX")
LOG_DIR=$PRE_LOG_DIR

# ---------------------------------------------------------------------------------------------------
# 1. Host packages (+ deb-src entry).
step_install_packages() { "$TOOLCHAIN_SRC/install-packages.sh"; }
run_step install-packages step_install_packages

mkdir -p "$SRC_DIR" 2>/dev/null || die "cannot create $SRC_DIR (run as root or set ELEMENTAL_CACHE_DIR)"

# ---------------------------------------------------------------------------------------------------
# 2. Resolve source package versions: for each package the newest version `apt-get source` offers
#    whose files can actually be fetched (a version listed in the index but missing on the mirror
#    falls back to the next older one, with a warning). Downloads are kept in $SRC_DIR and never
#    fetched twice. The result is memoized per state of the apt source indices, so a cache hit needs
#    no apt calls at all; after `apt-get update` the resolution (and availability) is redone.
declare -A SRC_VER SRC_DSC SRC_DSC_HASH

sort_versions_desc() {
  local -a vs; mapfile -t vs < <(sort -u)
  local i j t n=${#vs[@]}
  for ((i = 1; i < n; i++)); do
    t=${vs[i]}; j=$((i - 1))
    while ((j >= 0)) && dpkg --compare-versions "${vs[j]}" lt "$t"; do vs[j + 1]=${vs[j]}; j=$((j - 1)); done
    vs[j + 1]=$t
  done
  if ((n)); then printf '%s\n' "${vs[@]}"; fi
}

# stdin: "<file> <size> <algo>:<hash>" lines. True if all are in $SRC_DIR with that size (and, for
# the .dsc, that SHA256; the tarballs are verified against the .dsc when unpacked).
files_present() {
  local f size hash
  while read -r f size hash; do
    [[ -f $SRC_DIR/$f && $(stat -c %s "$SRC_DIR/$f") == "$size" ]] || return 1
    if [[ $f == *.dsc ]]; then
      [[ $hash == SHA256:* && $(sha256sum "$SRC_DIR/$f" | cut -d' ' -f1) == "${hash#SHA256:}" ]] || return 1
    fi
  done
  return 0
}

resolve_sources() {
  local memo_key memo pkg ver
  memo_key=$({ printf '%s\n' "${SOURCE_PACKAGES[@]}"; stat -c '%n %s %Y' /var/lib/apt/lists/*_Sources* 2>/dev/null || true; } |
    sha256sum | cut -c1-16)
  memo=$SRC_DIR/.resolved-$memo_key
  if [[ -f $memo ]] && awk '$1 == "F"' "$memo" | cut -d' ' -f2- | files_present; then
    while read -r tag pkg ver dsc hash; do
      [[ $tag == S ]] || continue
      SRC_VER[$pkg]=$ver; SRC_DSC[$pkg]=$dsc; SRC_DSC_HASH[$pkg]=$hash
    done <"$memo"
    echo "resolution memoized in $memo (apt source indices unchanged)"
    grep '^W ' "$memo" | sed 's/^W /WARNING: /' || true
    local missing=0
    for pkg in "${SOURCE_PACKAGES[@]}"; do [[ -n ${SRC_VER[$pkg]:-} ]] || missing=1; done
    ((missing == 0)) && return 0
    echo "memo incomplete; resolving again"
  fi

  # all versions of all packages, newest first
  declare -A versions idx
  local showsrc
  showsrc=$(apt-cache showsrc "${SOURCE_PACKAGES[@]}" 2>/dev/null |
    awk '/^Package: /{ p = $2 } /^Version: /{ print p, $2 }')
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    versions[$pkg]=$(awk -v p="$pkg" '$1 == p { print $2 }' <<<"$showsrc" | sort_versions_desc)
    [[ -n ${versions[$pkg]} ]] || { echo "no source package '$pkg' in the apt indices (deb-src missing?)"; return 1; }
    idx[$pkg]=1
  done

  local -a pending=("${SOURCE_PACKAGES[@]}") specs missing next warnings=()
  local uris files memo_files=""
  while ((${#pending[@]})); do
    specs=()
    for pkg in "${pending[@]}"; do
      ver=$(sed -n "${idx[$pkg]}p" <<<"${versions[$pkg]}")
      [[ -n $ver ]] || { echo "no downloadable version of source package $pkg"; return 1; }
      specs+=("$pkg=$ver")
    done
    # one apt call for all packages (each apt-get call costs ~1 s)
    uris=$("${APT_GET[@]}" source --print-uris -qq "${specs[@]}" | awk '/^\x27/ { print $2, $3, $4 }')
    missing=()
    for pkg in "${pending[@]}"; do
      files=$(awk -v p="${pkg}_" 'index($1, p) == 1' <<<"$uris")
      [[ -n $files ]] && files_present <<<"$files" || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
      local -a dl=()
      for pkg in "${missing[@]}"; do dl+=("$pkg=$(sed -n "${idx[$pkg]}p" <<<"${versions[$pkg]}")"); done
      echo "downloading ${dl[*]}"
      (cd "$SRC_DIR" && "${APT_GET[@]}" source --download-only -q "${dl[@]}") || true
    fi
    next=()
    for pkg in "${pending[@]}"; do
      ver=$(sed -n "${idx[$pkg]}p" <<<"${versions[$pkg]}")
      files=$(awk -v p="${pkg}_" 'index($1, p) == 1' <<<"$uris")
      if [[ -n $files ]] && files_present <<<"$files"; then
        SRC_VER[$pkg]=$ver
        SRC_DSC[$pkg]=$(awk '$1 ~ /\.dsc$/ { print $1 }' <<<"$files")
        SRC_DSC_HASH[$pkg]=$(awk '$1 ~ /\.dsc$/ { sub(/^SHA256:/, "", $3); print $3 }' <<<"$files")
        memo_files+=$(awk '{ print "F", $0 }' <<<"$files")$'\n'
        echo "$pkg $ver"
        if ((idx[$pkg] > 1)); then
          warnings+=("$pkg: newer source version(s) listed by apt could not be downloaded; using $ver")
        fi
      else
        echo "WARNING: $pkg $ver is listed in the apt indices but could not be downloaded; trying an older version"
        idx[$pkg]=$((idx[$pkg] + 1))
        next+=("$pkg")
      fi
    done
    pending=("${next[@]}")
  done
  local w
  for w in "${warnings[@]}"; do echo "WARNING: $w"; done
  {
    for pkg in "${SOURCE_PACKAGES[@]}"; do echo "S $pkg ${SRC_VER[$pkg]} ${SRC_DSC[$pkg]} ${SRC_DSC_HASH[$pkg]}"; done
    for w in "${warnings[@]}"; do echo "W $w"; done
    printf '%s' "$memo_files"
  } >"$memo.tmp.$$"
  mv "$memo.tmp.$$" "$memo"
}

# resolve_sources must run in this shell (it fills the arrays), so it is not wrapped in run_step's
# subshell; its output still goes to a step log.
STEP_NO=$((STEP_NO + 1))
RESOLVE_LOG=$(printf '%s/%02d-resolve-sources.log' "$LOG_DIR" "$STEP_NO")
t0=$(now)
log "step resolve-sources ..."
exec 8>"$SRC_DIR/.lock"
flock 8
if ! resolve_sources >"$RESOLVE_LOG" 2>&1; then
  log "FAILED: step 'resolve-sources'; log: $RESOLVE_LOG"
  tail -n 40 "$RESOLVE_LOG" >&2
  exit 1
fi
exec 8>&-
grep -h '^WARNING: .*; using' "$RESOLVE_LOG" | sed 's/^/  /' >&2 || true
log "step resolve-sources done in $(elapsed "$t0")"

# ---------------------------------------------------------------------------------------------------
# 3. Cache key: source package versions (+ .dsc hashes), host packages that shape the output, and
#    every file in toolchain/ that influences the build (not README.md, not smoke/).
key_inputs() {
  local pkg
  echo "elemental-agent toolchain v1 $TRIPLE"
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    echo "source $pkg ${SRC_VER[$pkg]} ${SRC_DSC_HASH[$pkg]}"
  done
  dpkg-query -W -f='host ${Package} ${Version}\n' "${HOST_KEY_PACKAGES[@]}"
  (cd "$TOOLCHAIN_SRC" && find . -type f ! -path './smoke/*' ! -name README.md ! -name '*~' -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sed 's/^/file /')
}
KEY_INPUTS=$(key_inputs)
KEY=$(sha256sum <<<"$KEY_INPUTS" | cut -d' ' -f1)
FINAL=$CACHE_TC/$KEY

if [[ -f $FINAL/.complete ]]; then
  log "cache hit: $FINAL ($(elapsed "$T_START"))"
  rm -rf "$PRE_LOG_DIR"
  echo "$FINAL"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# 4. Build from scratch into $CACHE_TC/<key>.tmp.<pid>, rename to <key> when complete.
exec 9>"$CACHE_TC/.build.lock"
if ! flock -n 9; then
  log "another toolchain build is running; waiting for its lock ($CACHE_TC/.build.lock)"
  flock 9
fi
if [[ -f $FINAL/.complete ]]; then   # built by whoever held the lock
  log "cache hit after waiting: $FINAL"
  echo "$FINAL"
  exit 0
fi
# Leftovers of failed/interrupted builds (we hold the lock, so nobody else is building).
rm -rf "$CACHE_TC"/*.tmp.* "$CACHE_TC"/*.work.*
[[ -e $FINAL ]] && { log "removing incomplete $FINAL"; rm -rf "$FINAL"; }

OUT=$CACHE_TC/$KEY.tmp.$$        # becomes the toolchain dir
WORK=$CACHE_TC/$KEY.work.$$      # unpacked sources and build trees; deleted on success
SYSROOT=$OUT/sysroot
DEPS=$OUT/deps
mkdir -p "$OUT/logs" "$WORK"
cp "$PRE_LOG_DIR"/*.log "$OUT/logs/"
rm -rf "$PRE_LOG_DIR"
LOG_DIR=$OUT/logs
printf '%s\n' "$KEY_INPUTS" >"$OUT/key-inputs.txt"

on_exit() {
  local rc=$?
  if (( rc != 0 )); then
    log "build NOT completed (exit $rc). Logs: $LOG_DIR; partial output $OUT and work dir $WORK are" \
        "not marked complete and will be removed by the next run."
  fi
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM

log "building toolchain $KEY with $JOBS jobs"

# ---------------------------------------------------------------------------------------------------
# Tool settings shared by the steps.
CLANG=$(command -v clang-14)
CLANGXX=$(command -v clang++-14)
LLD=$(command -v ld.lld-14)
LLVM_AR=$(command -v llvm-ar-14)
LLVM_RANLIB=$(command -v llvm-ranlib-14)
LLVM_NM=$(command -v llvm-nm-14)
LLVM_STRIP=$(command -v llvm-strip-14)
PYTHON3=/usr/bin/python3
[[ -x $PYTHON3 ]] || die "$PYTHON3 missing"

# Flags for the autotools/Makefile builds (CMake builds get the same through musl.cmake).
TARGET_CC="$CLANG --target=$TRIPLE --sysroot=$SYSROOT --gcc-toolchain=$OUT/gcc-none"
DEP_CFLAGS="-O2 -ffunction-sections -fdata-sections -ffile-prefix-map=$WORK=."
DEP_LDFLAGS="-static -fuse-ld=lld --ld-path=$LLD -rtlib=compiler-rt -unwindlib=none"

CMAKE_COMMON=(
  -G Ninja
  -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN_SRC/musl.cmake"
  -DELEMENTAL_TOOLCHAIN_DIR="$OUT"
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG"
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
  -DCMAKE_INSTALL_PREFIX="$DEPS"
  -DCMAKE_INSTALL_LIBDIR=lib
  -DCMAKE_C_FLAGS="-ffunction-sections -fdata-sections -ffile-prefix-map=$WORK=."
  -DCMAKE_CXX_FLAGS="-ffunction-sections -fdata-sections -ffile-prefix-map=$WORK=."
  -DBUILD_SHARED_LIBS=OFF
  -DBUILD_TESTING=OFF
)

# unpack PKG -> $WORK/PKG (dpkg-source applies the Debian patches)
unpack() {
  local pkg=$1
  phase "unpack $pkg ${SRC_VER[$pkg]}"
  rm -rf "${WORK:?}/$pkg"
  dpkg-source --no-check -x "$SRC_DIR/${SRC_DSC[$pkg]}" "$WORK/$pkg"
}

# ---------------------------------------------------------------------------------------------------
# Steps

step_sysroot() {
  mkdir -p "$SYSROOT/usr/include" "$SYSROOT/usr/lib" "$OUT/gcc-none" "$DEPS/include" "$DEPS/lib"
  cp -a /usr/include/$TRIPLE/. "$SYSROOT/usr/include/"
  cp -a /usr/include/linux /usr/include/asm-generic "$SYSROOT/usr/include/"
  cp -a /usr/include/x86_64-linux-gnu/asm "$SYSROOT/usr/include/asm"
  cp -a /usr/lib/$TRIPLE/*.a /usr/lib/$TRIPLE/*.o "$SYSROOT/usr/lib/"
  # no dangling or absolute symlinks into the host
  if find "$SYSROOT" -type l -lname '/*' | grep .; then echo "absolute symlinks in sysroot"; return 1; fi
  ls -l "$SYSROOT/usr/lib"
}

step_libcxx() {
  local pkg=llvm-toolchain-14 src=$WORK/llvm
  local orig debtar
  orig=$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(.*\.orig\.tar\.[a-z0-9]*\)$/\1/p' "$SRC_DIR/${SRC_DSC[$pkg]}" | head -1)
  debtar=$(sed -n 's/^ [0-9a-f]\{64\} [0-9]* \(.*\.debian\.tar\.[a-z0-9]*\)$/\1/p' "$SRC_DIR/${SRC_DSC[$pkg]}" | head -1)
  [[ -n $orig && -n $debtar ]] || { echo "cannot find tarballs in ${SRC_DSC[$pkg]}"; return 1; }
  # verify against the .dsc (dpkg-source would; we unpack by hand to extract only what is needed)
  local f want
  for f in "$orig" "$debtar"; do
    want=$(awk -v f="$f" '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == f { print $1 }' \
      "$SRC_DIR/${SRC_DSC[$pkg]}")
    echo "$want  $SRC_DIR/$f" | sha256sum -c -
  done
  rm -rf "$src"; mkdir -p "$src"
  # only the runtimes and the CMake support they need (~95 MB of ~1 GB)
  phase extract
  tar -xf "$SRC_DIR/$orig" -C "$src" --strip-components=1 --wildcards --no-wildcards-match-slash \
    '*/libcxx' '*/libcxxabi' '*/libunwind' '*/runtimes' '*/cmake' '*/llvm/cmake' '*/llvm/utils' \
    '*/third-party'
  tar -xf "$SRC_DIR/$debtar" -C "$src"
  # Debian patches that apply to the extracted part; patches for other parts of LLVM fail the dry
  # run (missing files) and are skipped.
  local p applied=0 skipped=0
  phase debian patches
  while read -r p; do
    [[ -z $p || $p == \#* ]] && continue
    p=${p%% *}
    if patch -d "$src" -p1 -f -s --dry-run <"$src/debian/patches/$p" >/dev/null 2>&1; then
      patch -d "$src" -p1 -f -s <"$src/debian/patches/$p"
      echo "applied Debian patch $p"; applied=$((applied + 1))
    else
      skipped=$((skipped + 1))
    fi
  done <"$src/debian/patches/series"
  echo "Debian patches: $applied applied, $skipped skipped (not applicable to libcxx/libcxxabi/libunwind)"

  phase configure
  cmake -S "$src/runtimes" -B "$WORK/llvm-build" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN_SRC/musl.cmake" \
    -DELEMENTAL_TOOLCHAIN_DIR="$OUT" \
    -DELEMENTAL_TOOLCHAIN_BOOTSTRAP=ON \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DCMAKE_INSTALL_PREFIX="$SYSROOT/usr" \
    -DCMAKE_C_FLAGS="-ffunction-sections -fdata-sections -ffile-prefix-map=$WORK=." \
    -DCMAKE_CXX_FLAGS="-ffunction-sections -fdata-sections -ffile-prefix-map=$WORK=." \
    -DPython3_EXECUTABLE="$PYTHON3" \
    -DLLVM_ENABLE_RUNTIMES="libcxx;libcxxabi;libunwind" \
    -DLLVM_INCLUDE_TESTS=OFF -DLLVM_INCLUDE_DOCS=OFF \
    -DLIBCXX_HAS_MUSL_LIBC=ON \
    -DLIBCXX_ENABLE_SHARED=OFF -DLIBCXXABI_ENABLE_SHARED=OFF -DLIBUNWIND_ENABLE_SHARED=OFF \
    -DLIBCXX_ENABLE_STATIC=ON -DLIBCXXABI_ENABLE_STATIC=ON -DLIBUNWIND_ENABLE_STATIC=ON \
    -DLIBCXX_ENABLE_STATIC_ABI_LIBRARY=ON \
    -DLIBCXXABI_USE_LLVM_UNWINDER=ON \
    -DLIBCXX_USE_COMPILER_RT=ON -DLIBCXXABI_USE_COMPILER_RT=ON -DLIBUNWIND_USE_COMPILER_RT=ON \
    -DLIBCXX_INCLUDE_TESTS=OFF -DLIBCXXABI_INCLUDE_TESTS=OFF -DLIBUNWIND_INCLUDE_TESTS=OFF \
    -DLIBCXX_INCLUDE_BENCHMARKS=OFF -DLIBCXX_INCLUDE_DOCS=OFF -DLIBUNWIND_INCLUDE_DOCS=OFF \
    -DLIBCXX_ENABLE_INCOMPLETE_FEATURES=ON
  phase build
  cmake --build "$WORK/llvm-build" -j "$JOBS"
  phase install
  cmake --install "$WORK/llvm-build"
  rm -rf "$src" "$WORK/llvm-build"
}

step_zlib() {
  unpack zlib
  cd "$WORK/zlib"
  phase configure
  # zlib's configure links its test programs with $CC $CFLAGS only (no LDFLAGS): without the link
  # flags those tests fail and zlib silently falls back to vsprintf() (unbounded) in gzprintf.
  CC="$TARGET_CC" CFLAGS="$DEP_CFLAGS -Qunused-arguments $DEP_LDFLAGS" AR="$LLVM_AR" RANLIB="$LLVM_RANLIB" \
    ./configure --static --prefix="$DEPS" --libdir="$DEPS/lib" --includedir="$DEPS/include"
  if grep -E -- '-DNO_vsnprintf|-DNO_STRERROR|-DHAS_vsprintf_void' Makefile; then
    echo "zlib configure could not link its test programs"; return 1
  fi
  phase build
  make -j "$JOBS" libz.a
  phase install
  make install
}

step_zstd() {
  unpack libzstd
  phase build
  local -a vars=(CC="$TARGET_CC" AR="$LLVM_AR" RANLIB="$LLVM_RANLIB" CFLAGS="$DEP_CFLAGS"
    LDFLAGS="$DEP_LDFLAGS" PREFIX="$DEPS" LIBDIR="$DEPS/lib" INCLUDEDIR="$DEPS/include"
    PKGCONFIGDIR="$DEPS/lib/pkgconfig")
  # Two invocations: in one, install-static races libzstd.a-mt and builds a second, single-threaded
  # libzstd.a.
  make -C "$WORK/libzstd/lib" -j "$JOBS" "${vars[@]}" libzstd.a-mt
  phase install
  make -C "$WORK/libzstd/lib" "${vars[@]}" install-static install-includes install-pc
  "$LLVM_NM" "$DEPS/lib/libzstd.a" | grep ' U pthread_create' >/dev/null ||
    { echo "libzstd.a is not the multi-threaded build"; return 1; }
}

step_xz() {
  # xz's CMake build (liblzma only): a third of the time of its autotools build on these machines
  unpack xz-utils
  phase configure
  cmake -S "$WORK/xz-utils" -B "$WORK/xz-utils/build-musl" "${CMAKE_COMMON[@]}" \
    -DCREATE_XZ_SYMLINKS=OFF -DCREATE_LZMA_SYMLINKS=OFF
  phase build
  cmake --build "$WORK/xz-utils/build-musl" -j "$JOBS" --target liblzma
  phase install
  cmake --install "$WORK/xz-utils/build-musl" --component liblzma_Development
}

step_mbedtls() {
  unpack mbedtls
  cd "$WORK/mbedtls"
  patch -p1 <"$TOOLCHAIN_SRC/patches/mbedtls-entropy-getrandom-musl.patch"
  # thread-safe contexts (Debian enables these too); TLS 1.2 only (TLS 1.0/1.1 are deprecated, and
  # mbedTLS 2.28's TLS 1.3 is an unusable prototype that curl does not support with mbedTLS 2.x)
  "$PYTHON3" scripts/config.py set MBEDTLS_THREADING_C
  "$PYTHON3" scripts/config.py set MBEDTLS_THREADING_PTHREAD
  "$PYTHON3" scripts/config.py unset MBEDTLS_SSL_PROTO_TLS1
  "$PYTHON3" scripts/config.py unset MBEDTLS_SSL_PROTO_TLS1_1
  "$PYTHON3" scripts/config.py unset MBEDTLS_SSL_CBC_RECORD_SPLITTING
  phase configure
  cmake -S . -B build "${CMAKE_COMMON[@]}" \
    -DENABLE_PROGRAMS=OFF -DENABLE_TESTING=OFF -DMBEDTLS_FATAL_WARNINGS=OFF \
    -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DLINK_WITH_PTHREAD=ON \
    -DMBEDTLS_PYTHON_EXECUTABLE="$PYTHON3" -DGEN_FILES=OFF
  phase build
  cmake --build build -j "$JOBS"
  phase install
  cmake --install build
}

step_curl() {
  unpack curl
  phase configure
  cmake -S "$WORK/curl" -B "$WORK/curl/build-musl" "${CMAKE_COMMON[@]}" \
    -DBUILD_CURL_EXE=OFF -DBUILD_SHARED_LIBS=OFF -DENABLE_MANUAL=OFF -DPICKY_COMPILER=OFF \
    -DHTTP_ONLY=ON -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON \
    -DCURL_ENABLE_SSL=ON -DCURL_USE_MBEDTLS=ON -DCURL_USE_OPENSSL=OFF -DCURL_USE_GNUTLS=OFF \
    -DCURL_USE_WOLFSSL=OFF -DCURL_USE_BEARSSL=OFF -DCURL_USE_NSS=OFF \
    -DMBEDTLS_INCLUDE_DIRS="$DEPS/include" \
    -DMBEDTLS_LIBRARY="$DEPS/lib/libmbedtls.a" \
    -DMBEDX509_LIBRARY="$DEPS/lib/libmbedx509.a" \
    -DMBEDCRYPTO_LIBRARY="$DEPS/lib/libmbedcrypto.a" \
    -DCURL_ZLIB=ON -DCURL_ZSTD=ON -DCURL_BROTLI=OFF \
    -DUSE_NGHTTP2=OFF -DUSE_NGTCP2=OFF -DUSE_QUICHE=OFF -DUSE_MSH3=OFF \
    -DUSE_LIBIDN2=OFF -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF -DCURL_USE_LIBSSH=OFF \
    -DCURL_USE_GSSAPI=OFF -DENABLE_ARES=OFF -DENABLE_THREADED_RESOLVER=ON \
    -DCURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt -DCURL_CA_PATH=none \
    -DCURL_CA_FALLBACK=OFF
  phase build
  cmake --build "$WORK/curl/build-musl" -j "$JOBS"
  phase install
  cmake --install "$WORK/curl/build-musl"
}

step_cjson() {
  unpack cjson
  phase configure
  cmake -S "$WORK/cjson" -B "$WORK/cjson/build-musl" "${CMAKE_COMMON[@]}" \
    -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF \
    -DENABLE_CUSTOM_COMPILER_FLAGS=OFF -DENABLE_TARGET_EXPORT=ON -DENABLE_LOCALES=ON
  phase build
  cmake --build "$WORK/cjson/build-musl" -j "$JOBS"
  phase install
  cmake --install "$WORK/cjson/build-musl"
}

step_libarchive() {
  unpack libarchive
  local b=$WORK/libarchive/build-musl
  phase configure
  cmake -S "$WORK/libarchive" -B "$b" "${CMAKE_COMMON[@]}" \
    -DENABLE_ZLIB=ON -DENABLE_ZSTD=ON -DENABLE_LZMA=ON -DHAVE_LZMA_STREAM_ENCODER_MT=1 \
    -DENABLE_OPENSSL=OFF -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_CNG=OFF \
    -DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF -DENABLE_ACL=OFF -DENABLE_BZip2=OFF -DENABLE_LZ4=OFF \
    -DENABLE_LZO=OFF -DENABLE_LIBB2=OFF -DENABLE_ICONV=OFF -DENABLE_PCREPOSIX=OFF \
    -DENABLE_LIBGCC=OFF -DENABLE_XATTR=ON \
    -DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF -DENABLE_TEST=OFF -DENABLE_WERROR=OFF \
    -DENABLE_INSTALL=OFF
  phase build
  cmake --build "$b" -j "$JOBS" --target archive_static
  phase install
  install -m 644 "$b/libarchive/libarchive.a" "$DEPS/lib/libarchive.a"
  install -m 644 "$WORK/libarchive/libarchive/archive.h" "$WORK/libarchive/libarchive/archive_entry.h" \
    "$DEPS/include/"
}

step_libsodium() {
  unpack libsodium
  cd "$WORK/libsodium"
  phase autogen
  ./autogen.sh -s
  phase configure
  CC="$TARGET_CC" CFLAGS="$DEP_CFLAGS" LDFLAGS="$DEP_LDFLAGS" AR="$LLVM_AR" RANLIB="$LLVM_RANLIB" \
    NM="$LLVM_NM" ./configure --prefix="$DEPS" --libdir="$DEPS/lib" \
    --disable-shared --enable-static --disable-dependency-tracking --disable-debug
  phase build
  make -j "$JOBS"
  phase install
  make install
}

step_yaml_cpp() {
  unpack yaml-cpp
  phase configure
  cmake -S "$WORK/yaml-cpp" -B "$WORK/yaml-cpp/build-musl" "${CMAKE_COMMON[@]}" \
    -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF -DYAML_CPP_BUILD_CONTRIB=OFF \
    -DYAML_BUILD_SHARED_LIBS=OFF -DYAML_CPP_INSTALL=ON
  phase build
  cmake --build "$WORK/yaml-cpp/build-musl" -j "$JOBS"
  phase install
  cmake --install "$WORK/yaml-cpp/build-musl"
}

step_googletest() {
  unpack googletest
  phase configure
  cmake -S "$WORK/googletest" -B "$WORK/googletest/build-musl" "${CMAKE_COMMON[@]}" \
    -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON -Dgtest_build_tests=OFF -Dgmock_build_tests=OFF \
    -Dgtest_disable_pthreads=OFF
  phase build
  cmake --build "$WORK/googletest/build-musl" -j "$JOBS"
  phase install
  cmake --install "$WORK/googletest/build-musl"
}

# Make the output relocatable: no absolute path of the build location may remain in any text file.
# .pc files get ${pcfiledir}-relative paths, CMake files ${CMAKE_CURRENT_LIST_DIR}-relative ones.
step_finalize() {
  rm -rf "$DEPS/bin" "$DEPS/share/man" "$DEPS/share/doc"
  find "$OUT" -name '*.la' -delete
  rmdir "$DEPS/share" 2>/dev/null || true
  local f rel
  while IFS= read -r -d '' f; do
    rel=$(realpath --relative-to="$(dirname "$f")" "$OUT")
    case $f in
      *.pc)    sed -i "s|$OUT|\${pcfiledir}/$rel|g" "$f" ;;
      *.cmake) sed -i "s|$OUT|\${CMAKE_CURRENT_LIST_DIR}/$rel|g" "$f" ;;
      *) echo "unexpected build path in $f:"; grep -n "$OUT" "$f" | head; return 1 ;;
    esac
    echo "relocated $f"
  done < <(grep -rlIZ --exclude-dir=logs --exclude=key-inputs.txt -- "$OUT" "$OUT" || true)
  cp "$TOOLCHAIN_SRC/musl.cmake" "$OUT/toolchain.cmake"
  # everything is static
  if find "$OUT" -name '*.so*' | grep .; then echo "shared libraries in the output"; return 1; fi
  {
    echo "elemental-agent musl toolchain $KEY"
    echo "built $(date -u +%FT%TZ) on $(hostname) in $(elapsed "$T_START")"
    local pkg
    for pkg in "${SOURCE_PACKAGES[@]}"; do echo "source $pkg ${SRC_VER[$pkg]}"; done
  } >"$OUT/VERSIONS"
  (cd "$OUT" && find sysroot/usr/lib deps/lib -maxdepth 1 -name '*.a' -printf '%s %p\n' | sort -k2)
  du -sh "$OUT"
}

# The library steps and their dependencies, in start priority order (longest chains first). They
# run in parallel, up to $SLOTS at a time: configure scripts and CMake checks are serial, so two
# cores are only kept busy by more than one build at a time.
STEPS=(
  "libcxx     |                  |step_libcxx"
  "zlib       |                  |step_zlib"
  "xz         |                  |step_xz"
  "zstd       |                  |step_zstd"
  "mbedtls    |                  |step_mbedtls"
  "libarchive |zlib zstd xz      |step_libarchive"
  "libsodium  |                  |step_libsodium"
  "curl       |zlib zstd mbedtls |step_curl"
  "yaml-cpp   |libcxx            |step_yaml_cpp"
  "googletest |libcxx            |step_googletest"
  "cjson      |                  |step_cjson"
)
SLOTS=$((JOBS + 1))
declare -A ST_DEPS=() ST_FUNC=() ST_STATE=() RUNNING=()
ORDER=()
nr=4   # 01 install-packages, 02 resolve-sources, 03 sysroot
for e in "${STEPS[@]}"; do
  IFS='|' read -r n d f <<<"$e"
  n=${n// /}; f=${f// /}
  ORDER+=("$n"); ST_DEPS[$n]=$d; ST_FUNC[$n]=$f; ST_STATE[$n]=pending; STEP_NR[$n]=$((nr++))
done
STEP_NR[sysroot]=3; STEP_NR[finalize]=$nr

run_step sysroot step_sysroot

stop_running() {
  local pid
  set +m   # no job-control notices for the steps being stopped
  : >"$LOG_DIR/.aborting"
  for pid in "${!RUNNING[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
}
trap 'log "interrupted"; stop_running; exit 130' INT TERM
failed=""
set -m   # a process group per step, so a failure can stop the others with everything they run
while :; do
  if [[ -z $failed ]]; then
    for n in "${ORDER[@]}"; do
      ((${#RUNNING[@]} < SLOTS)) || break
      [[ ${ST_STATE[$n]} == pending ]] || continue
      ready=1
      for d in ${ST_DEPS[$n]}; do [[ ${ST_STATE[$d]} == done ]] || ready=0; done
      ((ready)) || continue
      run_step "$n" "${ST_FUNC[$n]}" &
      RUNNING[$!]=$n; ST_STATE[$n]=running
    done
  fi
  ((${#RUNNING[@]})) || break
  rc=0
  wait -n -p done_pid "${!RUNNING[@]}" || rc=$?
  if [[ -z ${done_pid:-} || -z ${RUNNING[$done_pid]:-} ]]; then
    # no status for a known step (should not happen): treat vanished steps as failed
    for pid in "${!RUNNING[@]}"; do
      kill -0 "$pid" 2>/dev/null || { done_pid=$pid; rc=1; break; }
    done
    [[ -n ${done_pid:-} && -n ${RUNNING[$done_pid]:-} ]] || continue
  fi
  n=${RUNNING[$done_pid]}; unset "RUNNING[$done_pid]"
  if ((rc == 0)); then
    ST_STATE[$n]=done
  else
    failed=$n
    ((${#RUNNING[@]} == 0)) || log "stopping the steps still running: ${RUNNING[*]}"
    stop_running
    wait || true
    break
  fi
done
set +m
trap 'log "interrupted"; exit 130' INT TERM
[[ -z $failed ]] || exit 1
for n in "${ORDER[@]}"; do [[ ${ST_STATE[$n]} == done ]] || die "step $n did not run (scheduler bug)"; done

run_step finalize step_finalize

# ---------------------------------------------------------------------------------------------------
# 5. Publish: atomic rename, then mark complete.
rm -rf "$WORK"
sync -f "$OUT" 2>/dev/null || sync
mv -T "$OUT" "$FINAL"
OUT=$FINAL LOG_DIR=$FINAL/logs
printf '%s\n' "$KEY_INPUTS" >"$FINAL/.complete.tmp"
mv "$FINAL/.complete.tmp" "$FINAL/.complete"
trap - EXIT
log "toolchain complete in $(elapsed "$T_START"): $FINAL"
echo "$FINAL"
