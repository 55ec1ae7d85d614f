#!/usr/bin/env bash
# Builds the test OS images: an OCI image layout with the tags v1, v2 and v3,
# each a whole (tiny) OS root the native A/B plugin installs into a slot:
# busybox (static, with its applet links), the agent at
# /usr/sbin/elemental-agent (a stripped copy), /etc/os-release with VERSION,
# and /sbin/init (image/test-os/init) that reports
# "TEST-OS <version> running on slot <slot>" on the console and keeps
# `elemental-agent run` going. v3 is deliberately broken: its init
# (image/test-os/init-broken) prints "TEST-OS v3 broken" and exits 1.
# Two layers: a base layer shared by the three tags (busybox + agent), then a
# small layer with the version's init and os-release.
#
#   image/test-os/build.sh --agent PATH --layout DIR [--busybox PATH] [--push REGISTRY/REPO]
#   image/test-os/build.sh --layout DIR --push REGISTRY/REPO     (push an existing layout)
#
# --push copies the three tags with skopeo to docker://REGISTRY/REPO:<tag>
# (plain HTTP allowed, as a test registry on 127.0.0.1 needs).
# DIR is replaced when it already holds an OCI layout; any other non-empty DIR
# is refused. Needs root (umoci unpack keeps owners), umoci, skopeo for --push,
# busybox-static, binutils (strip).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "test-os: $*" >&2; exit 1; }

agent="" layout="" push="" busybox=/bin/busybox
while [ $# -gt 0 ]; do
  case "$1" in
    --agent) agent=${2:?}; shift 2 ;;
    --layout) layout=${2:?}; shift 2 ;;
    --push) push=${2:?}; shift 2 ;;
    --busybox) busybox=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "test-os: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$layout" ] || usage
[ -n "$agent" ] || [ -n "$push" ] || usage
here=$(cd "$(dirname "$0")" && pwd)
tags="v1 v2 v3"

build() {
  [ -f "$agent" ] && [ -x "$agent" ] || die "agent $agent: not an executable file"
  [ -f "$busybox" ] || die "busybox $busybox: not found (package busybox-static)"
  # A static busybox has no program interpreter; a dynamic one would not run in the test OS.
  if LC_ALL=C readelf -l "$busybox" | grep -q 'Requesting program interpreter'; then
    die "busybox $busybox is dynamically linked; use busybox-static's /bin/busybox"
  fi
  command -v umoci >/dev/null || die "umoci not found (bash tests/install-packages.sh)"
  [ "$(id -u)" = 0 ] || die "needs root (umoci unpack keeps file owners)"
  if [ -e "$layout" ] && [ -n "$(ls -A "$layout")" ]; then
    [ -f "$layout/oci-layout" ] && [ -f "$layout/index.json" ] ||
      die "$layout exists, is not empty and is not an OCI layout; refusing to replace it"
    rm -rf "$layout"
  fi
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  umoci init --layout "$layout"
  umoci new --image "$layout:base"

  # Base layer: the tree, busybox with its applet links, the agent.
  umoci unpack --image "$layout:base" "$work/base" >/dev/null
  local r=$work/base/rootfs
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,usr/share/udhcpc,etc/elemental/agent,var/lib/elemental}
  mkdir -p "$r"/{proc,sys,dev,run,tmp,root,oem,mnt,var/log,var/tmp}
  chmod 1777 "$r/tmp" "$r/var/tmp"
  chmod 0700 "$r/root"
  install -m 0755 "$busybox" "$r/bin/busybox"
  local applet target
  while read -r applet; do
    case "$applet" in bin/busybox|sbin/init|linuxrc|"") continue ;; esac
    target=$(echo "$applet" | sed -e 's|[^/]*/|../|g' -e 's|[^/]*$||')bin/busybox
    [ "${applet%/*}" = bin ] && target=busybox
    ln -sf "$target" "$r/$applet"
  done < <("$busybox" --list-full)
  strip -o "$r/usr/sbin/elemental-agent" "$agent"
  chmod 0755 "$r/usr/sbin/elemental-agent"
  install -m 0755 "$here/udhcpc.script" "$r/usr/share/udhcpc/default.script"
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
  printf 'root:*:0:0:99999:7:::\n' >"$r/etc/shadow"
  chmod 0600 "$r/etc/shadow"
  printf 'root:x:0:\n' >"$r/etc/group"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$r/etc/hosts"
  umoci repack --image "$layout:base" "$work/base" >/dev/null

  # One small layer per version.
  local v init
  for v in $tags; do
    umoci unpack --image "$layout:base" "$work/$v" >/dev/null
    r=$work/$v/rootfs
    init=$here/init
    [ "$v" = v3 ] && init=$here/init-broken
    sed "s/@VERSION@/$v/g" "$init" >"$r/sbin/init"
    chmod 0755 "$r/sbin/init"
    cat >"$r/etc/os-release" <<EOF
NAME="Elemental Test OS"
ID=elemental-test-os
VERSION="$v"
VERSION_ID=$v
PRETTY_NAME="Elemental Test OS $v"
EOF
    umoci repack --image "$layout:$v" "$work/$v" >/dev/null
    umoci config --image "$layout:$v" --author "elemental-agent image/test-os" \
      --config.cmd /sbin/init --config.label "org.opencontainers.image.version=$v"
  done
  umoci rm --image "$layout:base"
  umoci gc --layout "$layout"
  for v in $tags; do
    echo "test-os: $layout:$v: $(image_size "$v") bytes compressed" >&2
  done
}

# Sum of the compressed layer sizes of a tag.
image_size() {
  /usr/bin/python3 - "$layout" "$1" <<'EOF'
import json, sys
layout, tag = sys.argv[1:]
index = json.load(open(f"{layout}/index.json"))
m = next(m for m in index["manifests"]
         if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
algo, hexd = m["digest"].split(":")
manifest = json.load(open(f"{layout}/blobs/{algo}/{hexd}"))
print(sum(l["size"] for l in manifest["layers"]))
EOF
}

if [ -n "$agent" ]; then
  build
fi
if [ -n "$push" ]; then
  command -v skopeo >/dev/null || die "skopeo not found (bash tests/install-packages.sh)"
  [ -f "$layout/index.json" ] || die "$layout: no OCI layout (build it with --agent first)"
  for v in $tags; do
    skopeo copy -q --dest-tls-verify=false "oci:$layout:$v" "docker://$push:$v"
    echo "test-os: pushed $push:$v" >&2
  done
fi
