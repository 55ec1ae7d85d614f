#!/usr/bin/env bash
# Ensures a Debian 12 (bookworm) host has everything toolchain/build.sh needs:
#   - a deb-src entry (so `apt-get source` works) plus fresh package indices,
#   - the host packages listed below.
# Fast no-op when everything is already in place; needs root only when it has work to do.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  clang-14 lld-14 llvm-14 libclang-rt-14-dev   # compiler, linker, ar/ranlib, compiler-rt builtins + crtbegin/end
  cmake ninja-build make                       # build systems
  musl-dev musl-tools linux-libc-dev           # C library for the sysroot + kernel headers
  dpkg-dev                                     # dpkg-source, used to unpack `apt-get source` downloads
  autoconf automake libtool pkg-config         # libsodium's autogen.sh, xz's configure
  python3 xz-utils bzip2 patch file binutils   # libc++ build, tarballs, Debian patches, smoke check (file, readelf)
)
SRC_FILE=/etc/apt/sources.list.d/elemental-src.sources
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 -q -y)

log() { printf 'install-packages: %s\n' "$*" >&2; }

have_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] && grep -qE '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && grep -qiE '^[[:space:]]*Types:.*deb-src' "$f" && return 0
  done
  return 1
}

have_source_indices() { compgen -G '/var/lib/apt/lists/*_source_Sources*' >/dev/null; }
have_binary_indices() { compgen -G '/var/lib/apt/lists/*_binary-*_Packages*' >/dev/null; }

missing=()
installed=" $(dpkg-query -W -f='${db:Status-Status}:${Package} ' "${PACKAGES[@]}" 2>/dev/null || true) "
for p in "${PACKAGES[@]}"; do
  [[ $installed == *" installed:$p "* ]] || missing+=("$p")
done

need_src_entry=0; need_update=0
have_deb_src || need_src_entry=1
if (( need_src_entry )) || ! have_source_indices; then need_update=1; fi
if (( ${#missing[@]} )) && ! have_binary_indices; then need_update=1; fi

if (( ! need_src_entry && ! need_update && ${#missing[@]} == 0 )); then
  log "all ${#PACKAGES[@]} packages installed, deb-src configured: nothing to do"
  exit 0
fi

if (( EUID != 0 )); then
  log "ERROR: needs root to configure apt (deb-src entry: $((1-need_src_entry)), indices up to date: $((1-need_update)), missing packages: ${missing[*]:-none})"
  exit 1
fi

if (( need_src_entry )); then
  log "writing $SRC_FILE"
  cat >"$SRC_FILE" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

if (( need_update )); then
  log "apt-get update"
  "${APT[@]}" update >&2
fi

if (( ${#missing[@]} )); then
  log "installing: ${missing[*]}"
  if ! "${APT[@]}" install --no-install-recommends "${missing[@]}" >&2; then
    log "install failed; refreshing indices and retrying once"
    "${APT[@]}" update >&2
    "${APT[@]}" install --no-install-recommends "${missing[@]}" >&2
  fi
fi
log "done"
