#!/usr/bin/env bash
# Starts one VM (qemu-system-x86_64) the way the boot image's tests and the demo need it, and says
# by its exit code whether the run passed.
#
#   qemu/run.sh (--kernel K --initrd I [--append "ARGS"] | --iso ISO)
#               --disk DISK.img [--disk ...] [--disk-size 8G] --serial LOG --timeout SECONDS
#               [--expect REGEX] [--fail REGEX] [--stop-on-expect] [--no-reboot] [--uefi]
#               [--mem MiB] [--smp N] [--echo] [--interactive] [--accel auto|tcg|kvm]
#               [-- EXTRA QEMU ARGS...]
#
#   --kernel/--initrd  direct kernel boot (a PXE-style boot: the bzImage `vmlinuz`, or the ELF
#                      `vmlinux` that initrd/build.sh also writes, which boots ~3 s faster under TCG
#                      through PVH; PVH does not apply with --uefi, use the bzImage there)
#   --append           kernel command line; default "console=ttyS0 panic=5"
#   --iso              boot from this CD image instead (-boot order=dc: the CD while the disk has
#                      nothing bootable)
#   --disk             a raw disk image attached as virtio (/dev/vda, then vdb, ...); repeatable
#   --disk-size        size for disks that do not exist yet (created sparse and blank); default 8G
#   --serial           the serial console (ttyS0) is written to this file
#   --timeout          hard limit in seconds for the whole run (QEMU is killed then)
#   --expect           pass only if this extended regex appears in the serial log
#   --fail             fail as soon as this extended regex appears in the serial log
#   --stop-on-expect   stop the VM as soon as --expect matched (instead of waiting for it to exit)
#   --no-reboot        a guest reboot ends QEMU instead of rebooting (exit as for poweroff)
#   --uefi             firmware OVMF (/usr/share/ovmf/OVMF.fd) instead of SeaBIOS
#   --mem, --smp       RAM in MiB (default 1024), CPUs (default 1)
#   --echo             also copy the serial log to stdout as it grows
#   --interactive      serial console on this terminal (a human at the rescue shell); still logged
#   --accel            auto (default): KVM only when a probe proves it works, else TCG -cpu max
#   --                 the rest goes to QEMU as it is (e.g. more -device or -netdev options)
#
# Networking: QEMU user networking with a virtio NIC; the guest gets 10.0.2.15 by DHCP and reaches
# the host's 127.0.0.1 services at 10.0.2.2.
# The guest can end the run with a verdict through isa-debug-exit (I/O port 0xf4): writing the byte
# 0x10 means pass, any other byte v fails with "guest signalled failure v", e.g.
#     printf '\020' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null     # pass
# Exit code: 0 pass; 1 failure (guest verdict, --fail matched, --expect missing, QEMU error);
# 2 usage; 3 timeout. On failure the tail of the serial log is printed to stderr.
# Environment: ELEMENTAL_QEMU_ACCEL (as --accel), QEMU (the qemu-system-x86_64 to run).
set -euo pipefail
export LC_ALL=C

log() { printf '[qemu %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
usage() { sed -n '2,39p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bad() { log "ERROR: $*"; exit 2; }

KERNEL='' INITRD='' APPEND="console=ttyS0 panic=5" ISO='' DISKS=() DISK_SIZE=8G SERIAL='' TIMEOUT=''
EXPECT='' FAIL='' STOP_ON_EXPECT=0 NO_REBOOT=0 UEFI=0 MEM=1024 SMP=1 ECHO=0 INTERACTIVE=0
ACCEL=${ELEMENTAL_QEMU_ACCEL:-auto} EXTRA=()
QEMU_BIN=${QEMU:-qemu-system-x86_64}
OVMF=/usr/share/ovmf/OVMF.fd
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) KERNEL=${2:?}; shift 2 ;;
    --initrd) INITRD=${2:?}; shift 2 ;;
    --append) APPEND=${2?}; shift 2 ;;
    --iso) ISO=${2:?}; shift 2 ;;
    --disk) DISKS+=("${2:?}"); shift 2 ;;
    --disk-size) DISK_SIZE=${2:?}; shift 2 ;;
    --serial) SERIAL=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --expect) EXPECT=${2:?}; shift 2 ;;
    --fail) FAIL=${2:?}; shift 2 ;;
    --stop-on-expect) STOP_ON_EXPECT=1; shift ;;
    --no-reboot) NO_REBOOT=1; shift ;;
    --uefi) UEFI=1; shift ;;
    --mem) MEM=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --echo) ECHO=1; shift ;;
    --interactive) INTERACTIVE=1; shift ;;
    --accel) ACCEL=${2:?}; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) usage ;;
    *) bad "unknown argument '$1' (see --help)" ;;
  esac
done

if [ -n "$ISO" ]; then
  [ -z "$KERNEL$INITRD" ] || bad "--iso and --kernel/--initrd exclude each other"
  [ -f "$ISO" ] || bad "ISO '$ISO' not found"
else
  [ -n "$KERNEL" ] || bad "either --kernel K --initrd I or --iso ISO is required"
  [ -f "$KERNEL" ] || bad "kernel '$KERNEL' not found"
  [ -z "$INITRD" ] || [ -f "$INITRD" ] || bad "initrd '$INITRD' not found"
fi
[ ${#DISKS[@]} -gt 0 ] || bad "--disk DISK.img is required"
[ -n "$SERIAL" ] || bad "--serial LOG is required"
[ -n "$TIMEOUT" ] || bad "--timeout SECONDS is required"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] && [ "$TIMEOUT" -gt 0 ] || bad "--timeout must be a positive number of seconds"
[[ "$MEM" =~ ^[0-9]+$ ]] || bad "--mem must be MiB"
[ "$UEFI" = 0 ] || [ -f "$OVMF" ] || bad "$OVMF not found (install Debian's ovmf)"
command -v "$QEMU_BIN" >/dev/null || bad "$QEMU_BIN not found (install Debian's qemu-system-x86)"
case "$ACCEL" in auto|tcg|kvm) ;; *) bad "--accel must be auto, tcg or kvm" ;; esac
if [ "$UEFI" = 1 ] && [ -n "$KERNEL" ] && [ "$(head -c 4 "$KERNEL" | tail -c 3)" = ELF ]; then
  bad "--uefi boots a bzImage (vmlinuz), not the ELF vmlinux"
fi

# ------------------------------------------------------------------------------------------------
# Acceleration. /dev/kvm alone proves nothing: on some machines it exists and every guest kernel
# hangs under KVM ("KVM internal error", QEMU paused) although real-mode code runs. So KVM is used
# only when the CPU has vmx/svm and a Linux kernel, booted under KVM without a root, reaches its
# panic within 20 s (panic=-1 + -no-reboot: QEMU exits 0) and printed it on the serial console.
# The kernel is --kernel, else the newest /boot/vmlinuz-*. The verdict is cached per host boot.
kvm_works() {
  grep -qwE 'vmx|svm' /proc/cpuinfo || return 1
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
  local cache k plog rc=0
  cache=${TMPDIR:-/tmp}/elemental-kvm-probe.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo x)
  if [ -f "$cache" ]; then [ "$(cat "$cache")" = yes ]; return; fi
  k=$KERNEL
  [ -n "$k" ] || k=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
  [ -n "$k" ] || return 1
  plog=$(mktemp "${TMPDIR:-/tmp}/elemental-kvm-probe-log.XXXXXX")
  timeout --kill-after=2 20 "$QEMU_BIN" -accel kvm -cpu host -m 256 -display none -vga none -nodefaults \
    -no-reboot -serial "file:$plog" -kernel "$k" -append "console=ttyS0 panic=-1 loglevel=1" \
    </dev/null >/dev/null 2>&1 || rc=$?
  if [ "$rc" = 0 ] && grep -qa 'Kernel panic' "$plog"; then echo yes >"$cache"; else echo no >"$cache"; fi
  rm -f "$plog"
  [ "$(cat "$cache")" = yes ]
}
if [ "$ACCEL" = auto ]; then
  if kvm_works; then ACCEL=kvm; else ACCEL=tcg; fi
fi
if [ "$ACCEL" = kvm ]; then
  ACCEL_ARGS=(-accel kvm -cpu host)
else
  ACCEL_ARGS=(-accel tcg -cpu max)
fi

# ------------------------------------------------------------------------------------------------
# Disks
for d in "${DISKS[@]}"; do
  if [ ! -e "$d" ]; then
    mkdir -p "$(dirname "$d")"
    truncate -s "$DISK_SIZE" "$d" || bad "cannot create disk '$d' of size $DISK_SIZE"
    log "created blank sparse disk $d ($DISK_SIZE)"
  fi
done

ARGS=("${ACCEL_ARGS[@]}" -m "$MEM" -smp "$SMP" -display none -vga none -nodefaults
      -no-user-config -device isa-debug-exit,iobase=0xf4,iosize=0x04
      -nic user,model=virtio-net-pci)
[ "$UEFI" = 0 ] || ARGS+=(-bios "$OVMF")
for d in "${DISKS[@]}"; do
  ARGS+=(-drive "file=$d,format=raw,if=virtio,cache=unsafe")
done
if [ -n "$ISO" ]; then
  ARGS+=(-drive "file=$ISO,media=cdrom,readonly=on" -boot order=dc)
else
  ARGS+=(-kernel "$KERNEL" -append "$APPEND")
  [ -z "$INITRD" ] || ARGS+=(-initrd "$INITRD")
fi
[ "$NO_REBOOT" = 0 ] || ARGS+=(-no-reboot)

mkdir -p "$(dirname "$SERIAL")"
: >"$SERIAL"
if [ "$INTERACTIVE" = 1 ]; then
  ARGS+=(-chardev "stdio,id=con,mux=on,signal=off,logfile=$SERIAL" -serial chardev:con -mon chardev=con)
else
  ARGS+=(-chardev "file,id=con,path=$SERIAL" -serial chardev:con)
fi
ARGS+=("${EXTRA[@]}")

log "accel $ACCEL, ${ISO:+iso $ISO}${KERNEL:+kernel $KERNEL}, disk ${DISKS[*]}, timeout ${TIMEOUT}s, serial $SERIAL"
start=$EPOCHREALTIME
STDERR_LOG=$(mktemp "${TMPDIR:-/tmp}/elemental-qemu-stderr.XXXXXX")
cleanup() {
  [ -z "${QPID:-}" ] || kill "$QPID" 2>/dev/null || true
  [ -z "${TPID:-}" ] || kill "$TPID" 2>/dev/null || true
  rm -f "$STDERR_LOG"
}
trap cleanup EXIT

if [ "$INTERACTIVE" = 1 ]; then
  timeout --foreground --kill-after=5 "$TIMEOUT" "$QEMU_BIN" "${ARGS[@]}" 2>"$STDERR_LOG" &
else
  timeout --kill-after=5 "$TIMEOUT" "$QEMU_BIN" "${ARGS[@]}" </dev/null >/dev/null 2>"$STDERR_LOG" &
fi
QPID=$!
if [ "$ECHO" = 1 ] && [ "$INTERACTIVE" = 0 ]; then
  tail -n +1 -F --pid="$QPID" "$SERIAL" 2>/dev/null &
  TPID=$!
fi

# Watch the log while QEMU runs: --fail ends the run at once, --expect with --stop-on-expect too.
verdict=
while kill -0 "$QPID" 2>/dev/null; do
  if [ -n "$FAIL" ] && grep -qaE -- "$FAIL" "$SERIAL"; then
    verdict=fail-regex
    break
  fi
  if [ "$STOP_ON_EXPECT" = 1 ] && [ -n "$EXPECT" ] && grep -qaE -- "$EXPECT" "$SERIAL"; then
    verdict=expect-stop
    break
  fi
  sleep 0.2
done
if [ -n "$verdict" ]; then
  kill "$QPID" 2>/dev/null || true
fi
rc=0
wait "$QPID" || rc=$?
QPID=
[ -z "${TPID:-}" ] || { sleep 0.3; kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; TPID=; }
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

fail() {
  log "FAIL after ${secs}s: $*"
  if [ -s "$STDERR_LOG" ]; then
    log "QEMU stderr:"
    tail -n 20 "$STDERR_LOG" | sed 's/^/  | /' >&2
  fi
  log "last lines of the serial log $SERIAL:"
  tail -n 40 "$SERIAL" | tr -d '\r' | sed 's/^/  | /' >&2
  exit "${2:-1}"
}

case "$verdict" in
  fail-regex) fail "the serial log matched --fail '$FAIL'" ;;
  expect-stop) log "PASS after ${secs}s: the serial log matched '$EXPECT' (VM stopped)"; exit 0 ;;
esac
# timeout(1) exits 124 when it sent its signal (137 if it had to kill)
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  fail "timeout: the VM ran for more than ${TIMEOUT}s${EXPECT:+ without printing '$EXPECT'}" 3
fi
case "$rc" in
  0) ;;                                  # poweroff, or a reboot under --no-reboot
  33) log "guest signalled pass (isa-debug-exit 0x10)" ;;
  *)
    if [ $((rc & 1)) = 1 ] && [ "$rc" -gt 1 ] && [ "$rc" -lt 256 ]; then
      fail "guest signalled failure $(( rc >> 1 )) (isa-debug-exit)"
    fi
    fail "QEMU exited with status $rc"
    ;;
esac
if [ -n "$EXPECT" ] && ! grep -qaE -- "$EXPECT" "$SERIAL"; then
  fail "the VM stopped without printing '$EXPECT'"
fi
log "PASS after ${secs}s${EXPECT:+: the serial log matched '$EXPECT'}"
exit 0
