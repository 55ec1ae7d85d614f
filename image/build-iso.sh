#!/usr/bin/env bash
# Builds a hybrid bootable ISO around a kernel and the boot image (initrd):
# GRUB for UEFI (x86_64-efi, an El Torito EFI image that is also a GPT
# partition when the ISO is written to a USB stick) and for legacy BIOS
# (El Torito no-emulation + a hybrid MBR). GRUB talks to the serial console
# and to the screen and boots the kernel after --timeout seconds.
#
#   image/build-iso.sh --kernel K --initrd I --out FILE.iso [--append "ARGS"]
#                      [--cmdline "ARGS"] [--timeout S] [--label LABEL]
#
# The kernel command line is "console=tty0 console=ttyS0,115200 panic=5"
# followed by --append; --cmdline replaces the whole line. panic=5 matters:
# a slot whose init dies panics the kernel, the machine reboots and the
# boot counting of the A/B slots can roll back.
#
# Reproducible: every timestamp (ISO 9660, Rock Ridge, the FAT image inside,
# the volume UUID) comes from SOURCE_DATE_EPOCH (default:
# the time of the last git commit of this tree, else 0), and the FAT volume
# ID is fixed; the same inputs give the same bytes.
# The kernel must be a bzImage (vmlinuz) with the EFI stub, not an ELF vmlinux.
# Progress and the size go to stderr; the last stdout line is FILE.iso.
# Needs: grub-common grub-efi-amd64-bin grub-pc-bin xorriso mtools dosfstools.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "build-iso: $*" >&2; exit 1; }

kernel="" initrd="" out="" append="" cmdline="" timeout=1 label="ELEMENTAL"
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=${2:?}; shift 2 ;;
    --initrd) initrd=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --append) append=${2?}; shift 2 ;;
    --cmdline) cmdline=${2?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --label) label=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build-iso: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$out" ] || usage
[ -f "$kernel" ] || die "kernel $kernel: not a file"
[ -f "$initrd" ] || die "initrd $initrd: not a file"
[[ "$timeout" =~ ^[0-9]+$ ]] || die "--timeout $timeout: not a number of seconds"
[[ "$label" =~ ^[A-Z0-9_]{1,32}$ ]] || die "--label $label: use 1-32 of A-Z 0-9 _"
[ -n "$cmdline" ] || cmdline="console=tty0 console=ttyS0,115200 panic=5${append:+ $append}"
# GRUB's "linux" line is parsed by GRUB's shell: refuse what it would re-interpret.
case "$cmdline" in *[\"\'\\\$\;\`]*|*$'\n'*) die "kernel command line must not contain quotes, \\, \$, ; or newlines: $cmdline" ;; esac
for t in grub-mkimage xorriso mformat mcopy mmd mkfs.fat; do
  command -v "$t" >/dev/null || die "$t not found (bash tests/install-packages.sh)"
done
grublib=/usr/lib/grub
for d in "$grublib/x86_64-efi" "$grublib/i386-pc"; do
  [ -d "$d" ] || die "$d missing (packages grub-efi-amd64-bin, grub-pc-bin)"
done

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$here" log -1 --format=%ct 2>/dev/null || echo 0)
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH: not a number"
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/iso
mkdir -p "$root/boot/grub"
cp "$kernel" "$root/boot/vmlinuz"
cp "$initrd" "$root/boot/initrd.img"

# GRUB finds the ISO by a file whose name is derived from the inputs, so
# another disk (an installed system, an older stick) is never taken for it.
id=$( { sha256sum <"$kernel"; sha256sum <"$initrd"; printf '%s\n' "$cmdline" "$timeout" "$label"; } \
      | sha256sum | cut -c1-16)
mkdir -p "$root/.elemental"
echo "elemental-agent boot ISO $id" >"$root/.elemental/iso-$id"

# Embedded in both GRUB core images: find the ISO, then read its grub.cfg.
cat >"$work/early.cfg" <<EOF
search --no-floppy --file --set=root /.elemental/iso-$id
set prefix=(\$root)/boot/grub
EOF
cat >"$root/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=$timeout
set timeout_style=menu
menuentry "elemental-agent boot image" {
  echo "Loading the kernel and the boot image ..."
  linux /boot/vmlinuz $cmdline
  initrd /boot/initrd.img
}
EOF

# Everything GRUB needs lives in the core images: no module directories on the ISO.
mods="normal configfile search search_fs_file iso9660 linux echo test serial terminal part_msdos part_gpt"
grub-mkimage -O x86_64-efi -p /boot/grub -c "$work/early.cfg" -o "$work/BOOTX64.EFI" \
  $mods fat efi_gop efi_uga
grub-mkimage -O i386-pc-eltorito -p /boot/grub -c "$work/early.cfg" -o "$root/boot/grub/bios.img" \
  $mods biosdisk

# The EFI system partition image: FAT12 sized to the loader, fixed volume ID and times.
efi_kib=$(( ($(stat -c %s "$work/BOOTX64.EFI") / 1024 + 256 + 63) / 64 * 64 ))
touch -d "@$SOURCE_DATE_EPOCH" "$work/BOOTX64.EFI"
mkfs.fat -C --invariant -i 0xe1e3e7a1 -n ELEMENTAL "$root/efi.img" "$efi_kib" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$root/efi.img" ::/EFI ::/EFI/BOOT
mcopy -m -i "$root/efi.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
date_iso=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%d%H%M%S00)
mkdir -p "$(dirname "$out")"
rm -f "$out"
xorriso -as mkisofs -quiet -o "$out" -V "$label" -r \
  --modification-date="$date_iso" --set_all_file_dates "$date_iso" \
  -b boot/grub/bios.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info \
  --grub2-mbr "$grublib/i386-pc/boot_hybrid.img" \
  -eltorito-alt-boot -e efi.img -no-emul-boot -efi-boot-part --efi-boot-image \
  --protective-msdos-label \
  "$root" 2>"$work/xorriso.log" || { cat "$work/xorriso.log" >&2; die "xorriso failed"; }
echo "build-iso: $out: $(stat -c %s "$out") bytes (kernel $(stat -c %s "$kernel"), initrd $(stat -c %s "$initrd")); cmdline: $cmdline" >&2
echo "$out"
