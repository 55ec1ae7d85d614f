#!/usr/bin/env bash
# Builds (or reuses from cache) the static filesystem tools the boot image ships and the disk code
# runs: e2fsprogs (mke2fs, e2fsck, tune2fs, resize2fs, dumpe2fs, e2label) and dosfstools (mkfs.fat,
# fsck.fat, fatlabel), from Debian source packages, linked against musl with the toolchain of
# toolchain/build.sh.
#
#   TOOLS=$(initrd/fstools.sh | tail -1)      # then $TOOLS/bin/mke2fs, $TOOLS/bin/mkfs.fat, ...
#
# Progress goes to stderr; the LAST line of stdout is the tools dir (it holds bin/). See the section
# "Filesystem tools" in toolchain/README.md.
# Environment: ELEMENTAL_TOOLCHAIN_DIR (a toolchain dir; default: the one toolchain/build.sh prints),
# ELEMENTAL_CACHE_DIR (default /var/cache/elemental-agent).
#
# This script lives outside toolchain/ on purpose: every file there is part of the toolchain's cache
# key, and adding one would rebuild the toolchain for everybody.
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)
SMOKE=$HERE/fstools-smoke.sh
TC=${ELEMENTAL_TOOLCHAIN_DIR:-}

# Clean, deterministic environment (as in toolchain/build.sh).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
unset LIBRARY_PATH CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH OBJC_INCLUDE_PATH \
      PKG_CONFIG_PATH PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR \
      CC CXX CPP CFLAGS CXXFLAGS CPPFLAGS LDFLAGS LDLIBS AR RANLIB LD NM STRIP \
      MAKEFLAGS MFLAGS GNUMAKEFLAGS DESTDIR GCC_EXEC_PREFIX COMPILER_PATH \
      ELEMENTAL_TOOLCHAIN_DIR MKE2FS_CONFIG E2FSCK_CONFIG

JOBS=$(nproc)
CACHE_ROOT=${ELEMENTAL_CACHE_DIR:-/var/cache/elemental-agent}
CACHE_FS=$CACHE_ROOT/fstools
SRC_DIR=$CACHE_ROOT/toolchain/sources   # shared with toolchain/build.sh (same lock)
TRIPLE=x86_64-linux-musl

SOURCE_PACKAGES=(e2fsprogs dosfstools)
# Host packages: dpkg-source, the static checks (file, readelf) and the smoke check, which runs the
# host's own e2fsprogs, dosfstools and blkid against what the static tools make (and vice versa).
HOST_PACKAGES=(dpkg-dev file binutils make e2fsprogs dosfstools util-linux)

# The programs in <dir>/bin: "name" is a program, "name>target" a symlink to one.
PROGRAMS=(mke2fs e2fsck tune2fs resize2fs dumpe2fs mkfs.fat fsck.fat fatlabel
          'mkfs.ext2>mke2fs' 'mkfs.ext3>mke2fs' 'mkfs.ext4>mke2fs'
          'fsck.ext2>e2fsck' 'fsck.ext3>e2fsck' 'fsck.ext4>e2fsck' 'e2label>tune2fs'
          'mkfs.vfat>mkfs.fat' 'fsck.vfat>fsck.fat')

APT_GET=(apt-get -o Acquire::Retries=2 -o Acquire::http::Timeout=30 -o APT::Sandbox::User=root)

# ---------------------------------------------------------------------------------------------------
# Logging and steps
now() { printf '%s' "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf '[fstools %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

LOG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/elemental-fstools.XXXXXX")
PRE_LOG_DIR=$LOG_DIR
STEP_NO=0
# run_step NAME FUNCTION [ARGS...]: runs FUNCTION in a subshell with `set -e` effective, output to
# LOG_DIR/NN-NAME.log; on failure names the step and the log, shows its tail and exits.
run_step() {
  local name=$1; shift
  STEP_NO=$((STEP_NO + 1))
  local logf; logf=$(printf '%s/%02d-%s.log' "$LOG_DIR" "$STEP_NO" "$name")
  local t0; t0=$(now)
  log "step $name ..."
  local rc=0
  set +e
  ( set -euo pipefail; "$@" ) >"$logf" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    log "FAILED: step '$name' (exit $rc) after $(elapsed "$t0"); log: $logf"
    { echo "----- last 40 lines of $logf -----"; tail -n 40 "$logf"; echo "-----"; } >&2 || true
    exit 1
  fi
  log "step $name done in $(elapsed "$t0")"
}

T_START=$(now)

# ---------------------------------------------------------------------------------------------------
# 1. Host packages (root only when something is missing).
step_host_packages() {
  local -a missing=()
  local p installed
  installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${HOST_PACKAGES[@]}" 2>/dev/null || true) "
  for p in "${HOST_PACKAGES[@]}"; do [[ $installed == *" installed:$p "* ]] || missing+=("$p"); done
  if ((${#missing[@]} == 0)); then echo "all host packages installed"; return 0; fi
  ((EUID == 0)) || { echo "missing host packages (need root to install): ${missing[*]}"; return 1; }
  apt-get -o DPkg::Lock::Timeout=600 -q -y install --no-install-recommends "${missing[@]}" ||
    { apt-get -o DPkg::Lock::Timeout=600 -q update && \
      apt-get -o DPkg::Lock::Timeout=600 -q -y install --no-install-recommends "${missing[@]}"; }
}
run_step host-packages step_host_packages

# ---------------------------------------------------------------------------------------------------
# 2. The musl toolchain: given, or built/reused by toolchain/build.sh (a cache hit takes ~1 s).
if [[ -z $TC ]]; then
  log "toolchain: running toolchain/build.sh"
  TC=$(bash "$TOP/toolchain/build.sh" | tail -n 1) || die "toolchain/build.sh failed"
fi
TC=$(cd "$TC" 2>/dev/null && pwd -P) || die "toolchain dir '$TC' does not exist"
[[ -f $TC/sysroot/usr/lib/libc.a ]] || die "'$TC' is not a toolchain dir built by toolchain/build.sh"
log "toolchain: $TC"

mkdir -p "$SRC_DIR" "$CACHE_FS" 2>/dev/null ||
  die "cannot create $SRC_DIR or $CACHE_FS (run as root or set ELEMENTAL_CACHE_DIR)"

# ---------------------------------------------------------------------------------------------------
# 3. Resolve the source versions: for each package the newest version apt offers whose files can be
#    fetched (an older one, with a warning, if the newest is missing on the mirror). Downloads go to
#    the toolchain's source dir and are never fetched twice; the result is memoized per state of the
#    apt source indices, so a cache hit needs no apt call.
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
# the .dsc, that SHA256; dpkg-source checks the tarballs against the .dsc when unpacking).
files_present() {
  local f size hash n=0
  while read -r f size hash; do
    n=$((n + 1))
    [[ -f $SRC_DIR/$f && $(stat -c %s "$SRC_DIR/$f") == "$size" ]] || return 1
    if [[ $f == *.dsc ]]; then
      [[ $hash == SHA256:* && $(sha256sum "$SRC_DIR/$f" | cut -d' ' -f1) == "${hash#SHA256:}" ]] || return 1
    fi
  done
  ((n > 0))
}

resolve_sources() {
  local memo_key memo pkg ver tag dsc hash files versions
  memo_key=$({ echo fstools; printf '%s\n' "${SOURCE_PACKAGES[@]}"
               stat -c '%n %s %Y' /var/lib/apt/lists/*_Sources* 2>/dev/null || true; } | sha256sum | cut -c1-16)
  memo=$SRC_DIR/.resolved-$memo_key
  if [[ -f $memo ]] && awk '$1 == "F"' "$memo" | cut -d' ' -f2- | files_present; then
    while read -r tag pkg ver dsc hash; do
      [[ $tag == S ]] || continue
      SRC_VER[$pkg]=$ver; SRC_DSC[$pkg]=$dsc; SRC_DSC_HASH[$pkg]=$hash
    done <"$memo"
    local complete=1
    for pkg in "${SOURCE_PACKAGES[@]}"; do [[ -n ${SRC_VER[$pkg]:-} ]] || complete=0; done
    if ((complete)); then
      echo "resolution memoized in $memo (apt source indices unchanged)"
      grep '^W ' "$memo" | sed 's/^W /WARNING: /' || true
      return 0
    fi
  fi

  local memo_lines="" warnings=""
  for pkg in "${SOURCE_PACKAGES[@]}"; do
    versions=$(apt-cache showsrc "$pkg" 2>/dev/null |
      awk -v p="$pkg" '/^Package: /{ q = $2 } /^Version: / && q == p { print $2 }' | sort_versions_desc)
    [[ -n $versions ]] || { echo "no source package '$pkg' in the apt indices (deb-src missing? run toolchain/install-packages.sh)"; return 1; }
    local first=1 found=""
    for ver in $versions; do
      files=$("${APT_GET[@]}" source --print-uris -qq "$pkg=$ver" | awk '/^\x27/ { print $2, $3, $4 }')
      if ! files_present <<<"$files"; then
        echo "downloading $pkg=$ver"
        (cd "$SRC_DIR" && "${APT_GET[@]}" source --download-only -q "$pkg=$ver") || true
      fi
      if files_present <<<"$files"; then
        found=$ver
        SRC_VER[$pkg]=$ver
        SRC_DSC[$pkg]=$(awk '$1 ~ /\.dsc$/ { print $1 }' <<<"$files")
        SRC_DSC_HASH[$pkg]=$(awk '$1 ~ /\.dsc$/ { sub(/^SHA256:/, "", $3); print $3 }' <<<"$files")
        memo_lines+="S $pkg $ver ${SRC_DSC[$pkg]} ${SRC_DSC_HASH[$pkg]}"$'\n'
        memo_lines+=$(awk '{ print "F", $0 }' <<<"$files")$'\n'
        ((first)) || warnings+="W $pkg: newer source version(s) listed by apt could not be downloaded; using $ver"$'\n'
        echo "$pkg $ver"
        break
      fi
      echo "WARNING: $pkg $ver is listed in the apt indices but could not be downloaded; trying an older version"
      first=0
    done
    [[ -n $found ]] || { echo "no downloadable version of source package $pkg"; return 1; }
  done
  printf '%s' "$warnings" | sed 's/^W /WARNING: /'
  printf '%s%s' "$memo_lines" "$warnings" >"$memo.tmp.$$"
  mv "$memo.tmp.$$" "$memo"
}

# resolve_sources fills arrays, so it runs in this shell (not in run_step's subshell).
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
grep -h '^WARNING: ' "$RESOLVE_LOG" | sed 's/^/  /' >&2 || true
log "step resolve-sources done in $(elapsed "$t0")"

# ---------------------------------------------------------------------------------------------------
# 4. Cache key: the toolchain (its dir name is its own key; its .complete lists that key's inputs),
#    the source versions and .dsc hashes, this script and the smoke check.
key_inputs() {
  local pkg
  echo "elemental-agent fstools v1 $TRIPLE"
  echo "toolchain $(basename "$TC") $(sha256sum <"$TC/.complete" 2>/dev/null | cut -d' ' -f1 || echo none)"
  for pkg in "${SOURCE_PACKAGES[@]}"; do echo "source $pkg ${SRC_VER[$pkg]} ${SRC_DSC_HASH[$pkg]}"; done
  (cd "$HERE" && sha256sum fstools.sh fstools-smoke.sh | sed 's/^/file /')
}
KEY_INPUTS=$(key_inputs)
KEY=$(sha256sum <<<"$KEY_INPUTS" | cut -d' ' -f1)
FINAL=$CACHE_FS/$KEY

if [[ -f $FINAL/.complete ]]; then
  log "cache hit: $FINAL ($(elapsed "$T_START"))"
  rm -rf "$PRE_LOG_DIR"
  echo "$FINAL"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# 5. Build into $CACHE_FS/<key>.tmp.<pid>, rename to <key> when complete and checked.
exec 9>"$CACHE_FS/.build.lock"
if ! flock -n 9; then
  log "another fstools build is running; waiting for its lock ($CACHE_FS/.build.lock)"
  flock 9
fi
if [[ -f $FINAL/.complete ]]; then
  log "cache hit after waiting: $FINAL"
  rm -rf "$PRE_LOG_DIR"
  echo "$FINAL"
  exit 0
fi
rm -rf "$CACHE_FS"/*.tmp.* "$CACHE_FS"/*.work.*   # leftovers of failed builds (we hold the lock)
[[ -e $FINAL ]] && { log "removing incomplete $FINAL"; rm -rf "$FINAL"; }

OUT=$CACHE_FS/$KEY.tmp.$$
WORK=$CACHE_FS/$KEY.work.$$
mkdir -p "$OUT/logs" "$OUT/bin" "$WORK"
cp "$PRE_LOG_DIR"/*.log "$OUT/logs/"
rm -rf "$PRE_LOG_DIR"
LOG_DIR=$OUT/logs
printf '%s\n' "$KEY_INPUTS" >"$OUT/key-inputs.txt"

on_exit() {
  local rc=$?
  if ((rc != 0)); then
    log "build NOT completed (exit $rc). Logs: $LOG_DIR; $OUT and $WORK are not marked complete" \
        "and will be removed by the next run."
  fi
}
trap on_exit EXIT
trap 'log "interrupted"; exit 130' INT TERM

log "building fstools $KEY with $JOBS jobs"

CLANG=$(command -v clang-14) || die "clang-14 missing"
LLD=$(command -v ld.lld-14) || die "ld.lld-14 missing"
LLVM_AR=$(command -v llvm-ar-14) || die "llvm-ar-14 missing"
LLVM_RANLIB=$(command -v llvm-ranlib-14) || die "llvm-ranlib-14 missing"
LLVM_STRIP=$(command -v llvm-strip-14) || die "llvm-strip-14 missing"

# Plain C programs: only musl from the sysroot (no libc++, no toolchain libraries). The configure
# scripts run natively (the static test programs run on this host), so no --host.
TARGET_CC="$CLANG --target=$TRIPLE --sysroot=$TC/sysroot --gcc-toolchain=$TC/gcc-none"
T_CFLAGS="-O2 -ffunction-sections -fdata-sections -fstack-protector-strong -ffile-prefix-map=$WORK=."
T_LDFLAGS="-static -fuse-ld=lld --ld-path=$LLD -rtlib=compiler-rt -unwindlib=none -Wl,--gc-sections"
CONF_ENV=(CC="$TARGET_CC" CFLAGS="$T_CFLAGS" LDFLAGS="$T_LDFLAGS" AR="$LLVM_AR" RANLIB="$LLVM_RANLIB"
          PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH=)

# unpack PKG -> $WORK/PKG (dpkg-source applies the Debian patches)
unpack() {
  local pkg=$1
  echo "=== unpack $pkg ${SRC_VER[$pkg]}"
  rm -rf "${WORK:?}/$pkg"
  dpkg-source --no-check -x "$SRC_DIR/${SRC_DSC[$pkg]}" "$WORK/$pkg"
}

step_e2fsprogs() {
  unpack e2fsprogs
  cd "$WORK/e2fsprogs"
  echo "=== configure"
  # Private libuuid/libblkid (static, no host library), no NLS, no shared libraries, only the
  # programs we ship. backtrace() is glibc-only. /etc/mke2fs.conf is optional: without it mke2fs
  # uses the built-in copy of misc/mke2fs.conf.in (with Debian's patch to it).
  env "${CONF_ENV[@]}" ./configure --prefix=/usr --sysconfdir=/etc \
    --disable-nls --disable-rpath --disable-elf-shlibs --disable-bsd-shlibs \
    --enable-libuuid --enable-libblkid --disable-uuidd --disable-fsck \
    --disable-fuse2fs --disable-debugfs --disable-imager --disable-defrag \
    --disable-e2initrd-helper --disable-backtrace
  echo "=== build"
  # RDYNAMIC: e2fsck links with -rdynamic (for backtraces), which with -static still gives it a
  # dynamic section.
  local -a mk=(-j "$JOBS" RDYNAMIC=)
  make "${mk[@]}" libs
  make "${mk[@]}" -C misc mke2fs tune2fs dumpe2fs
  make "${mk[@]}" -C e2fsck e2fsck
  make "${mk[@]}" -C resize resize2fs
  echo "=== install"
  install -m 755 misc/mke2fs misc/tune2fs misc/dumpe2fs e2fsck/e2fsck resize/resize2fs "$OUT/bin/"
  install -m 644 NOTICE "$OUT/LICENSE.e2fsprogs"
}

step_dosfstools() {
  unpack dosfstools
  cd "$WORK/dosfstools"
  echo "=== configure"
  # iconv (for label code pages) is part of musl's libc
  env "${CONF_ENV[@]}" ./configure --prefix=/usr --disable-dependency-tracking --disable-rpath
  echo "=== build"
  make -j "$JOBS" -C src mkfs.fat fsck.fat fatlabel
  echo "=== install"
  install -m 755 src/mkfs.fat src/fsck.fat src/fatlabel "$OUT/bin/"
  install -m 644 COPYING "$OUT/LICENSE.dosfstools"
}

# Strip, add the symlinks, and refuse anything that is not a static executable.
step_finalize() {
  local e name target f rc=0
  for e in "${PROGRAMS[@]}"; do
    [[ $e == *'>'* ]] && continue
    "$LLVM_STRIP" --strip-all "$OUT/bin/$e"
  done
  for e in "${PROGRAMS[@]}"; do
    [[ $e == *'>'* ]] || continue
    name=${e%%>*}; target=${e#*>}
    ln -sfn "$target" "$OUT/bin/$name"
  done
  for e in "${PROGRAMS[@]}"; do
    name=${e%%>*}
    [[ -x $OUT/bin/$name ]] || { echo "missing: bin/$name"; rc=1; continue; }
    f=$(file -bL "$OUT/bin/$name")
    if [[ $f != *"statically linked"* && $f != *"static-pie linked"* ]]; then
      echo "NOT STATIC: bin/$name: $f"; rc=1; continue
    fi
    if readelf -lW "$OUT/bin/$name" | grep -E '^ +(INTERP|DYNAMIC) ' >/dev/null; then
      echo "NOT STATIC: bin/$name has an INTERP/DYNAMIC segment"; rc=1; continue
    fi
    echo "static: bin/$name ($(stat -L -c %s "$OUT/bin/$name") bytes): $f"
  done
  # nothing but the expected programs
  for f in "$OUT"/bin/*; do
    name=${f##*/}
    [[ " ${PROGRAMS[*]} " == *" $name "* || " ${PROGRAMS[*]} " == *" $name>"* ]] ||
      { echo "unexpected file bin/$name"; rc=1; }
  done
  ((rc == 0)) || return 1
  {
    echo "elemental-agent fstools $KEY"
    echo "built $(date -u +%FT%TZ) on $(hostname) in $(elapsed "$T_START")"
    echo "toolchain $TC"
    local pkg
    for pkg in "${SOURCE_PACKAGES[@]}"; do echo "source $pkg ${SRC_VER[$pkg]}"; done
  } >"$OUT/VERSIONS"
  du -sh "$OUT/bin"
}

step_smoke() { bash "$SMOKE" "$OUT"; }

# The two builds run in parallel: their configure scripts are serial, so one alone leaves a core idle.
# (Each background run_step numbers its log STEP_NO+1 in its own subshell, so count here too.)
pids=()
run_step e2fsprogs step_e2fsprogs & pids+=($!); STEP_NO=$((STEP_NO + 1))
run_step dosfstools step_dosfstools & pids+=($!); STEP_NO=$((STEP_NO + 1))
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
((failed == 0)) || exit 1
run_step finalize step_finalize
run_step smoke step_smoke

# ---------------------------------------------------------------------------------------------------
# 6. Publish: atomic rename, then mark complete.
rm -rf "$WORK"
sync -f "$OUT" 2>/dev/null || sync
mv -T "$OUT" "$FINAL"
LOG_DIR=$FINAL/logs
printf '%s\n' "$KEY_INPUTS" >"$FINAL/.complete.tmp"
mv "$FINAL/.complete.tmp" "$FINAL/.complete"
trap - EXIT
log "fstools complete in $(elapsed "$T_START"): $FINAL"
echo "$FINAL"
