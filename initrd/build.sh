#!/usr/bin/env bash
# Builds the elemental boot image: the kernel from Debian's linux-image-amd64 and a reproducible,
# compressed newc cpio (initramfs) whose /init hands over to `elemental-agent boot`.
#
#   initrd/build.sh --agent PATH --out DIR [--config FILE] [--extra-modules "m1 m2"]
#                   [--compress zstd|gzip] [--fstools DIR] [--no-vmlinux]
#
# Writes into DIR:
#   vmlinuz          the kernel (bzImage) of Debian's linux-image-amd64 (installed when missing)
#   vmlinux          the same kernel as an uncompressed ELF, which QEMU boots through PVH ~3 s
#                    faster under TCG (skipped with --no-vmlinux; kexec needs the bzImage)
#   kernel-version   its version (the /lib/modules/<kver> name)
#   initrd.img       the boot image; contents and layout: initrd/README.md
#   initrd.modules   the module load order baked into the image (= /etc/elemental/boot/modules)
# Progress goes to stderr; the last line of stdout is DIR.
#
# Reproducible: the same inputs give the same bytes (sorted entries, mtimes SOURCE_DATE_EPOCH,
# default the commit time of HEAD, else 0; uid/gid 0; `gzip -n` / zstd without names or times).
# Environment: SOURCE_DATE_EPOCH, ELEMENTAL_KVER (a kernel version under /lib/modules to use
# instead of the one linux-image-amd64 depends on), ELEMENTAL_CACHE_DIR (passed to fstools.sh).
set -euo pipefail
umask 022
export LC_ALL=C
unset LIBRARY_PATH

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
TOP=$(cd "$HERE/.." && pwd -P)

log() { printf '[initrd %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

AGENT='' OUT='' CONFIG='' EXTRA_MODULES='' COMPRESS=zstd FSTOOLS='' VMLINUX=1
while [ $# -gt 0 ]; do
  case "$1" in
    --agent) AGENT=${2:?--agent needs a path}; shift 2 ;;
    --out) OUT=${2:?--out needs a dir}; shift 2 ;;
    --config) CONFIG=${2:?--config needs a file}; shift 2 ;;
    --extra-modules) EXTRA_MODULES=${2?--extra-modules needs a list}; shift 2 ;;
    --compress) COMPRESS=${2:?--compress needs zstd or gzip}; shift 2 ;;
    --fstools) FSTOOLS=${2:?--fstools needs a dir}; shift 2 ;;
    --no-vmlinux) VMLINUX=0; shift ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -n "$AGENT" ] || die "--agent PATH is required"
[ -n "$OUT" ] || die "--out DIR is required"
[ -f "$AGENT" ] || die "agent '$AGENT' not found"
file -b "$AGENT" 2>/dev/null | grep -qE 'statically linked|static-pie linked' \
  || die "agent '$AGENT' is not a statically linked program (the image has no libc)"
[ -z "$CONFIG" ] || [ -f "$CONFIG" ] || die "config '$CONFIG' not found"
case "$COMPRESS" in zstd|gzip) ;; *) die "--compress must be zstd or gzip, not '$COMPRESS'" ;; esac

# The kernel modules the boot needs: disks (virtio, NVMe, AHCI/SATA, SCSI), network (virtio,
# Intel e1000/e1000e as QEMU and many machines have), the filesystems of the COS_* partitions and
# the slot overlay, loop devices. Dependencies and soft dependencies come from the kernel's files.
MODULES=(virtio_pci virtio_blk virtio_net virtio_scsi nvme ahci sd_mod
         ext4 crc32c_generic vfat nls_cp437 nls_ascii nls_iso8859_1 overlay loop e1000 e1000e)
# shellcheck disable=SC2206
MODULES+=($EXTRA_MODULES)

# ------------------------------------------------------------------------------------------------
# Host packages: the kernel and its modules, busybox, kmod's depmod/modinfo, the CA bundle,
# compressors, strip.
PACKAGES=(linux-image-amd64 busybox-static kmod ca-certificates zstd gzip xz-utils binutils file python3)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ -n "${ELEMENTAL_KVER:-}" ]; then
  KVER=$ELEMENTAL_KVER
else
  # linux-image-amd64 is a metapackage depending on exactly one linux-image-<kver> package.
  KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | tr ',' '\n' \
         | sed -n 's/^ *linux-image-\([0-9][^ ]*\).*/\1/p' | head -n 1)
fi
[ -n "$KVER" ] || die "cannot tell the kernel version of linux-image-amd64"
MODDIR=/lib/modules/$KVER
KERNEL=/boot/vmlinuz-$KVER
[ -f "$KERNEL" ] || die "$KERNEL not found (kernel $KVER)"
[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep not found (kernel $KVER)"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH

if [ -z "$FSTOOLS" ]; then
  log "static filesystem tools (initrd/fstools.sh, cached)"
  FSTOOLS=$(bash "$HERE/fstools.sh" | tail -n 1)
fi
[ -d "$FSTOOLS/bin" ] || die "no bin/ in the fs tools dir '$FSTOOLS'"
[ -x "$FSTOOLS/bin/mke2fs" ] || die "$FSTOOLS/bin/mke2fs missing"

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/elemental-initrd.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
R=$STAGE/root
mkdir -p "$R"

log "kernel $KVER, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, staging in $R"

# ------------------------------------------------------------------------------------------------
# Directories
for d in bin sbin usr/bin usr/sbin usr/share/udhcpc etc/udhcpc etc/ssl/certs etc/elemental/boot etc/elemental/agent \
         lib/modules proc sys dev run oem sysroot mnt var root; do
  mkdir -p "$R/$d"
done
mkdir "$R/tmp"
chmod 1777 "$R/tmp"
chmod 0700 "$R/root"
ln -s ../run "$R/var/run"

# /init and the agent
install -m 0755 "$HERE/files/init" "$R/init"
install -m 0755 "$AGENT" "$R/usr/sbin/elemental-agent"
strip --strip-all "$R/usr/sbin/elemental-agent"

# busybox with a link for each applet, except the names the static fs tools own.
install -m 0755 /bin/busybox "$R/bin/busybox"
"$R/bin/busybox" --list-full >/dev/null 2>&1 || die "/bin/busybox has no --list-full (need Debian's busybox-static)"
for t in "$FSTOOLS"/bin/*; do
  n=$(basename "$t")
  if [ -L "$t" ]; then
    ln -s "$(readlink "$t")" "$R/usr/sbin/$n"
  else
    install -m 0755 "$t" "$R/usr/sbin/$n"
  fi
done
applets=0
while read -r a; do
  [ -n "$a" ] || continue
  n=$(basename "$a")
  [ "$a" != bin/busybox ] || continue
  [ ! -e "$R/usr/sbin/$n" ] || continue
  [ ! -e "$R/$a" ] && [ ! -L "$R/$a" ] || continue
  mkdir -p "$R/$(dirname "$a")"
  ln -s /bin/busybox "$R/$a"
  applets=$((applets + 1))
done < <("$R/bin/busybox" --list-full | sort)
for a in sh ash mount umount mkdir cat echo ls ln cp mv rm sleep udhcpc ip ifconfig route switch_root \
         reboot poweroff modprobe insmod dmesg grep sed awk vi setsid cttyhack head tail; do
  [ -L "$R/bin/$a" ] || [ -L "$R/sbin/$a" ] || [ -L "$R/usr/bin/$a" ] || [ -L "$R/usr/sbin/$a" ] \
    || die "busybox has no applet '$a'"
done
install -m 0755 "$HERE/files/udhcpc.script" "$R/usr/share/udhcpc/default.script"
# Debian's busybox looks for /etc/udhcpc/default.script when udhcpc runs without -s.
ln -s /usr/share/udhcpc/default.script "$R/etc/udhcpc/default.script"

# /etc
install -m 0644 /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
: >"$R/etc/resolv.conf"
printf 'PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PATH\nPS1="elemental-boot# "\n' >"$R/etc/profile"
echo "$KVER" >"$R/etc/elemental/boot/kernel-version"
if [ -n "$CONFIG" ]; then
  install -m 0600 "$CONFIG" "$R/etc/elemental/agent/config.yaml"
fi

# Kernel modules, their load order and a modules.dep made for exactly them.
log "modules: ${MODULES[*]}"
/usr/bin/python3 "$HERE/modules.py" --moddir "$MODDIR" --stage "$R" "${MODULES[@]}" \
  >"$R/etc/elemental/boot/modules" || die "resolving the kernel modules failed"
depmod -b "$R" "$KVER" || die "depmod -b failed"
nmod=$(wc -l <"$R/etc/elemental/boot/modules")

# ------------------------------------------------------------------------------------------------
# The archive
log "writing the cpio ($COMPRESS)"
/usr/bin/python3 "$HERE/mkcpio.py" --epoch "$SOURCE_DATE_EPOCH" --node dev/console:c:5:1:0600 \
  --node dev/null:c:1:3:0666 "$R" "$STAGE/initrd.cpio"
case "$COMPRESS" in
  # -19 with a window the kernel's decompressor accepts (it has no --long); no names or times.
  zstd) zstd -q -19 --no-progress -T1 -c "$STAGE/initrd.cpio" >"$STAGE/initrd.img" ;;
  gzip) gzip -n -9 -c "$STAGE/initrd.cpio" >"$STAGE/initrd.img" ;;
esac
mv -f "$STAGE/initrd.img" "$OUT/initrd.img"
cp -f "$R/etc/elemental/boot/modules" "$OUT/initrd.modules"

install -m 0644 "$KERNEL" "$OUT/vmlinuz"
echo "$KVER" >"$OUT/kernel-version"
if [ "$VMLINUX" = 1 ]; then
  # The bzImage carries the ELF kernel XZ-compressed: find the XZ stream and unpack it once.
  if [ ! -f "$OUT/vmlinux" ] || [ "$OUT/vmlinux" -ot "$OUT/vmlinuz" ] || ! cmp -s "$OUT/kernel-version.vmlinux" "$OUT/kernel-version"; then
    off=$(grep -obUaP '\xfd7zXZ\x00' "$KERNEL" | head -n 1 | cut -d: -f1 || true)
    [ -n "$off" ] || die "no XZ stream in $KERNEL (cannot extract vmlinux; use --no-vmlinux)"
    tail -c +$((off + 1)) "$KERNEL" | xz -dc --single-stream >"$OUT/vmlinux.tmp" 2>/dev/null || true
    [ "$(head -c 4 "$OUT/vmlinux.tmp" | tail -c 3)" = ELF ] || die "extracting vmlinux from $KERNEL failed"
    mv -f "$OUT/vmlinux.tmp" "$OUT/vmlinux"
    cp -f "$OUT/kernel-version" "$OUT/kernel-version.vmlinux"
  fi
fi

size=$(stat -c %s "$OUT/initrd.img")
raw=$(stat -c %s "$STAGE/initrd.cpio")
agent_size=$(stat -c %s "$R/usr/sbin/elemental-agent")
log "kernel $KVER, $nmod modules, $applets busybox applets, agent $((agent_size / 1024)) KiB stripped"
log "initrd.img: $size bytes ($((size / 1024)) KiB, $COMPRESS; $((raw / 1024)) KiB uncompressed) sha256 $(sha256sum "$OUT/initrd.img" | cut -c1-16)"
echo "initrd size: $size bytes ($((size / 1024)) KiB)" >&2
echo "$OUT"
