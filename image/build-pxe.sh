#!/usr/bin/env bash
# Builds a PXE bundle around a kernel and the boot image (initrd): a directory
# that any HTTP (or TFTP) server can serve as it is.
#
#   image/build-pxe.sh --kernel K --initrd I --out DIR [--append "ARGS"] [--cmdline "ARGS"]
#
# DIR/vmlinuz, DIR/initrd.img, DIR/boot.ipxe (an iPXE script that fetches the
# other two by relative URL, i.e. from wherever it was itself fetched) and
# DIR/README.txt (how to serve it). The kernel command line is
# "console=tty0 console=ttyS0,115200 panic=5" followed by --append (for
# example elemental.registration.uri=...); --cmdline replaces the whole line.
# "initrd=initrd.img" is always added in front: under UEFI the kernel's EFI
# stub loads the initrd by that name from iPXE's virtual file system.
# The kernel must be a bzImage (vmlinuz), not an ELF vmlinux. The size goes to
# stderr; the last stdout line is DIR.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "build-pxe: $*" >&2; exit 1; }

kernel="" initrd="" out="" append="" cmdline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=${2:?}; shift 2 ;;
    --initrd) initrd=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --append) append=${2?}; shift 2 ;;
    --cmdline) cmdline=${2?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build-pxe: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$kernel" ] && [ -n "$initrd" ] && [ -n "$out" ] || usage
[ -f "$kernel" ] || die "kernel $kernel: not a file"
[ -f "$initrd" ] || die "initrd $initrd: not a file"
[ -n "$cmdline" ] || cmdline="console=tty0 console=ttyS0,115200 panic=5${append:+ $append}"
# iPXE expands ${...} and treats a few characters specially: refuse them
# rather than boot a kernel with a silently different command line.
case "$cmdline" in *[\$\"\'\\\|\&\#]*|*$'\n'*) die "kernel command line must not contain \$ quotes \\ | & # or newlines: $cmdline" ;; esac

mkdir -p "$out"
rm -f "$out/vmlinuz" "$out/initrd.img" "$out/boot.ipxe" "$out/README.txt"
cp "$kernel" "$out/vmlinuz"
cp "$initrd" "$out/initrd.img"
chmod 0644 "$out/vmlinuz" "$out/initrd.img"

cat >"$out/boot.ipxe" <<EOF
#!ipxe
# elemental-agent boot image. vmlinuz and initrd.img are fetched relative to
# the URL this script came from, so the directory can be served from anywhere.
echo elemental-agent: loading the kernel and the boot image from \${cwuri}
kernel vmlinuz initrd=initrd.img $cmdline || goto failed
initrd initrd.img || goto failed
boot || goto failed
:failed
echo elemental-agent: network boot failed (see the error above); starting the iPXE shell
shell
EOF

cat >"$out/README.txt" <<'EOF'
elemental-agent PXE bundle
==========================

vmlinuz      the kernel
initrd.img   the boot image (the agent is its early-boot program)
boot.ipxe    iPXE script: boots vmlinuz + initrd.img, fetched relative to its own URL

Serve this directory over HTTP, e.g.

    cd THIS_DIR && python3 -m http.server 8080

and point iPXE at the script:

  * from a DHCP server (ISC dhcpd): when the client already is iPXE, hand it the script,
    otherwise chain-load iPXE first:

        if exists user-class and option user-class = "iPXE" {
            filename "http://SERVER:8080/boot.ipxe";
        } elsif option arch = 00:07 {
            filename "ipxe.efi";        # TFTP, from Debian's ipxe package (/boot/ipxe.efi)
        } else {
            filename "undionly.kpxe";   # TFTP, from Debian's ipxe package (/boot/undionly.kpxe)
        }

  * dnsmasq: dhcp-match=set:ipxe,175
             dhcp-boot=tag:ipxe,http://SERVER:8080/boot.ipxe
             dhcp-boot=tag:!ipxe,undionly.kpxe

  * by hand at the iPXE prompt (Ctrl-B):  dhcp && chain http://SERVER:8080/boot.ipxe

  * QEMU:  qemu-system-x86_64 -boot n \
             -nic user,model=virtio-net-pci,bootfile=http://10.0.2.2:8080/boot.ipxe ...
           (QEMU's iPXE option ROM runs the script; 10.0.2.2 is the host.)

TFTP works too (the relative URLs then use TFTP), but is much slower for the kernel and the
boot image than HTTP.
EOF
echo "build-pxe: $out: $(du -sb "$out" | cut -f1) bytes; cmdline: initrd=initrd.img $cmdline" >&2
echo "$out"
