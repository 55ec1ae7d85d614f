#!/usr/bin/env bash
# Smoke check of a tools dir built by initrd/fstools.sh (which runs it before marking a build
# complete; it can also be run alone):
#   initrd/fstools-smoke.sh "$(initrd/fstools.sh | tail -1)"
# On sparse image files: filesystems the static tools make must pass the HOST's checkers and show
# their labels to the host's e2label/blkid; filesystems the host makes must pass the static checkers;
# the static checkers must fail on a damaged filesystem. As root, mke2fs/e2fsck/mkfs.fat/fsck.fat
# also run in an empty chroot (no /etc, /proc, /dev), as early in boot.
set -euo pipefail
TOOLS=$(cd "${1:?usage: $0 <tools dir>}" && pwd -P)
BIN=$TOOLS/bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
# The boot image has no /etc/mke2fs.conf: use mke2fs's built-in defaults here too.
export MKE2FS_CONFIG=/nonexistent/mke2fs.conf
unset E2FSCK_CONFIG

for t in e2fsck e2label dumpe2fs mkfs.ext4 fsck.fat mkfs.fat blkid; do
  [[ -x /sbin/$t || -x /usr/sbin/$t || -x /usr/bin/$t ]] ||
    { echo "host tool $t missing (Debian packages e2fsprogs, dosfstools, util-linux)"; exit 1; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/elemental-fstools-smoke.XXXXXX")
trap 'rm -rf "$D"' EXIT
say() { printf '[fstools-smoke] %s\n' "$*"; }
fail() { say "FAIL: $*"; exit 1; }
# expect_eq WHAT GOT WANT
expect_eq() { [[ $2 == "$3" ]] || fail "$1: got '$2', want '$3'"; say "ok: $1 = '$3'"; }
# run_ok WHAT CMD...: CMD must exit 0; its output is shown when it does not
run_ok() {
  local what=$1; shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  ((rc == 0)) || { printf '%s\n' "$out"; fail "$what: '$*' exited with $rc"; }
  say "ok: $what"
}
host_blkid() { blkid -p -o value -s "$1" "$2"; }   # -p: probe the file, no cache

# 1. static mke2fs (-t ext4, and the mkfs.ext4 name) -> host e2fsck, e2label, blkid, dumpe2fs
truncate -s 256M "$D/a.ext4"
run_ok "static mke2fs -t ext4" "$BIN/mke2fs" -t ext4 -F -q -L STATIC_A "$D/a.ext4"
run_ok "host e2fsck -fn accepts it" e2fsck -fn "$D/a.ext4"
expect_eq "host e2label" "$(e2label "$D/a.ext4")" STATIC_A
expect_eq "host blkid LABEL" "$(host_blkid LABEL "$D/a.ext4")" STATIC_A
expect_eq "host blkid TYPE" "$(host_blkid TYPE "$D/a.ext4")" ext4
features=$(dumpe2fs -h "$D/a.ext4" 2>/dev/null | sed -n 's/^Filesystem features: *//p')
for f in has_journal extent 64bit metadata_csum; do
  [[ " $features " == *" $f "* ]] || fail "ext4 made by static mke2fs lacks feature $f (has: $features)"
done
say "ok: ext4 features: $features"
(( $(stat -c %b "$D/a.ext4") * 512 < 64 * 1024 * 1024 )) || fail "image is not sparse after mke2fs"

truncate -s 64M "$D/b.ext4"
run_ok "static mkfs.ext4 (name picks the type)" "$BIN/mkfs.ext4" -F -q -L STATIC_B "$D/b.ext4"
expect_eq "host blkid TYPE" "$(host_blkid TYPE "$D/b.ext4")" ext4
run_ok "host e2fsck -fn accepts it" e2fsck -fn "$D/b.ext4"

# 2. host mkfs.ext4 -> static e2fsck, dumpe2fs, e2label, tune2fs -L, resize2fs
truncate -s 128M "$D/h.ext4"
run_ok "host mkfs.ext4" mkfs.ext4 -F -q -L HOST_MADE "$D/h.ext4"
run_ok "static e2fsck -fn accepts it" "$BIN/e2fsck" -fn "$D/h.ext4"
run_ok "static fsck.ext4 -fn accepts it" "$BIN/fsck.ext4" -fn "$D/h.ext4"
expect_eq "static e2label" "$("$BIN/e2label" "$D/h.ext4")" HOST_MADE
expect_eq "static dumpe2fs -h volume name" \
  "$("$BIN/dumpe2fs" -h "$D/h.ext4" 2>/dev/null | sed -n 's/^Filesystem volume name: *//p')" HOST_MADE
run_ok "static tune2fs -L" "$BIN/tune2fs" -L RENAMED "$D/h.ext4"
expect_eq "host e2label after static tune2fs -L" "$(e2label "$D/h.ext4")" RENAMED
run_ok "static e2label sets a label" "$BIN/e2label" "$D/h.ext4" RELABELED
expect_eq "host blkid LABEL" "$(host_blkid LABEL "$D/h.ext4")" RELABELED
truncate -s 256M "$D/h.ext4"
run_ok "static resize2fs grows it to 256M" "$BIN/resize2fs" "$D/h.ext4"
blocks=$(dumpe2fs -h "$D/h.ext4" 2>/dev/null | sed -n 's/^Block count: *//p')
bsize=$(dumpe2fs -h "$D/h.ext4" 2>/dev/null | sed -n 's/^Block size: *//p')
expect_eq "size after resize2fs" "$((blocks * bsize))" $((256 * 1024 * 1024))
run_ok "host e2fsck -fn accepts the resized fs" e2fsck -fn "$D/h.ext4"

# 3. a damaged ext4 (block group 0's block bitmap zeroed) must fail the static checker
cp --sparse=always "$D/b.ext4" "$D/bad.ext4"
bitmap=$(dumpe2fs "$D/bad.ext4" 2>/dev/null | sed -n 's/^ *Block bitmap at \([0-9]*\).*/\1/p' | head -1)
[[ -n $bitmap ]] || fail "cannot find the block bitmap of group 0"
dd if=/dev/zero of="$D/bad.ext4" bs="$(dumpe2fs -h "$D/bad.ext4" 2>/dev/null | sed -n 's/^Block size: *//p')" \
  seek="$bitmap" count=1 conv=notrunc status=none
rc=0; out=$("$BIN/e2fsck" -fn "$D/bad.ext4" 2>&1) || rc=$?
((rc != 0)) || { printf '%s\n' "$out"; fail "static e2fsck -fn accepted a damaged filesystem"; }
say "ok: static e2fsck -fn rejects a damaged filesystem (exit $rc)"
printf '%s\n' "$out" | grep -v -e '^Pass ' -e '^e2fsck [0-9]' -e '^fsck.fat [0-9]' -e '^$' | head -n 3 | sed 's/^/    /'

# 4. static mkfs.fat -F 32 (and the mkfs.vfat name) -> host fsck.fat, blkid; static fatlabel/fsck.fat
truncate -s 64M "$D/a.vfat"
run_ok "static mkfs.fat -F 32" "$BIN/mkfs.fat" -F 32 -n STATIC_ESP "$D/a.vfat"
run_ok "host fsck.fat -n accepts it" fsck.fat -n "$D/a.vfat"
expect_eq "host blkid LABEL" "$(host_blkid LABEL "$D/a.vfat")" STATIC_ESP
expect_eq "host blkid TYPE" "$(host_blkid TYPE "$D/a.vfat")" vfat
expect_eq "host blkid VERSION" "$(host_blkid VERSION "$D/a.vfat")" FAT32
expect_eq "static fatlabel" "$("$BIN/fatlabel" "$D/a.vfat")" STATIC_ESP
run_ok "static fatlabel sets a label" "$BIN/fatlabel" "$D/a.vfat" NEW_LABEL
expect_eq "host blkid LABEL after static fatlabel" "$(host_blkid LABEL "$D/a.vfat")" NEW_LABEL
run_ok "host fsck.fat -n accepts the relabeled fs" fsck.fat -n "$D/a.vfat"
truncate -s 40M "$D/b.vfat"
run_ok "static mkfs.vfat -F 32" "$BIN/mkfs.vfat" -F 32 -n VFAT_NAME "$D/b.vfat"
expect_eq "host blkid LABEL" "$(host_blkid LABEL "$D/b.vfat")" VFAT_NAME

truncate -s 64M "$D/h.vfat"
run_ok "host mkfs.fat -F 32" mkfs.fat -F 32 -n HOST_ESP "$D/h.vfat"
run_ok "static fsck.fat -n accepts it" "$BIN/fsck.fat" -n "$D/h.vfat"
run_ok "static fsck.vfat -n accepts it" "$BIN/fsck.vfat" -n "$D/h.vfat"
# damaged FAT: first FAT's media descriptor entry differs from the second FAT's
cp --sparse=always "$D/h.vfat" "$D/bad.vfat"
reserved=$(od -An -tu2 -j14 -N2 "$D/bad.vfat" | tr -d ' ')
printf '\x00' | dd of="$D/bad.vfat" bs=1 seek=$((reserved * 512)) conv=notrunc status=none
rc=0; out=$("$BIN/fsck.fat" -n "$D/bad.vfat" 2>&1) || rc=$?
((rc != 0)) || { printf '%s\n' "$out"; fail "static fsck.fat -n accepted a damaged filesystem"; }
say "ok: static fsck.fat -n rejects a damaged filesystem (exit $rc)"
printf '%s\n' "$out" | grep -v -e '^Pass ' -e '^e2fsck [0-9]' -e '^fsck.fat [0-9]' -e '^$' | head -n 3 | sed 's/^/    /'

# 5. no runtime dependencies: an empty root (no /etc, /proc, /dev, no loader)
if ((EUID == 0)); then
  R=$D/root
  mkdir -p "$R/bin"
  cp -a "$BIN"/. "$R/bin/"
  truncate -s 64M "$R/c.ext4" "$R/c.vfat"
  run_ok "chroot: static mke2fs -t ext4" env -i /usr/sbin/chroot "$R" /bin/mke2fs -t ext4 -F -q -L CHROOT /c.ext4
  run_ok "chroot: static e2fsck -fn" env -i /usr/sbin/chroot "$R" /bin/e2fsck -fn /c.ext4
  run_ok "chroot: static mkfs.fat -F 32" env -i /usr/sbin/chroot "$R" /bin/mkfs.fat -F 32 -n CHROOT /c.vfat
  run_ok "chroot: static fsck.fat -n" env -i /usr/sbin/chroot "$R" /bin/fsck.fat -n /c.vfat
  run_ok "host e2fsck -fn accepts the chroot-made ext4" e2fsck -fn "$R/c.ext4"
  expect_eq "host blkid LABEL" "$(host_blkid LABEL "$R/c.ext4")" CHROOT
  run_ok "host fsck.fat -n accepts the chroot-made FAT32" fsck.fat -n "$R/c.vfat"
else
  say "not root: empty-chroot runs left out"
fi
say "all fstools smoke checks passed"
