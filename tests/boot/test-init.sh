#!/bin/sh
# Guest side of tests/boot/test_initrd.py: booted as rdinit=/test-init from a cpio appended to the
# boot image. Checks what the boot image gives `elemental-agent boot` to work with: the module list
# loads in order, virtio disk and NIC appear, DHCP through the shipped udhcpc script, the host is
# reachable at 10.0.2.2, the static mkfs tools make filesystems the kernel mounts (ext4, vfat on a
# loop device, overlay), the static agent runs. Ends with a marker and the isa-debug-exit verdict.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

verdict() { printf "$1" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null; }
fail() {
	echo "SMOKE-FAIL: $*"
	verdict '\002'
	poweroff -f
}
step() { echo "SMOKE-STEP: $*"; }

mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
mount -t tmpfs -o mode=0755 tmpfs /run || fail "mount /run"
PORT=
for w in $(cat /proc/cmdline); do
	case "$w" in smoke.port=*) PORT=${w#smoke.port=} ;; esac
done

step "modules"
n=0
while read -r ko; do
	[ -f "$ko" ] || fail "$ko listed in /etc/elemental/boot/modules is missing"
	insmod "$ko" || fail "insmod $ko"
	n=$((n + 1))
done </etc/elemental/boot/modules
[ "$n" -gt 10 ] || fail "only $n modules listed"
loaded=$(wc -l </proc/modules)
[ "$loaded" -eq "$n" ] || fail "$n modules listed but $loaded loaded"
echo "SMOKE: loaded $n modules"
modprobe -n ext4 2>/dev/null; # modules.dep is readable (no output expected)

step "disk"
i=0
while [ ! -b /dev/vda ]; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || fail "/dev/vda did not appear"
	sleep 0.1
done

step "dhcp"
ip link set lo up
ip link set eth0 up || fail "no eth0"
# no -s: udhcpc must find the image's default script by itself
timeout 60 udhcpc -i eth0 -n -q -t 5 -T 2 || fail "udhcpc got no lease"
ip -4 addr show dev eth0 | grep -q 'inet 10\.0\.2\.15/24' || fail "eth0 is not 10.0.2.15/24: $(ip -4 addr show dev eth0)"
ip route | grep -q '^default via 10\.0\.2\.2 dev eth0' || fail "no default route via 10.0.2.2: $(ip route)"
grep -q '^nameserver 10\.0\.2\.3' /etc/resolv.conf || fail "resolv.conf: $(cat /etc/resolv.conf)"
if [ -n "$PORT" ]; then
	got=$(wget -q -O - "http://10.0.2.2:$PORT/hello.txt") || fail "wget from the host at 10.0.2.2:$PORT"
	[ "$got" = "hello from the host" ] || fail "unexpected reply from the host: $got"
fi

step "ext4"
mkfs.ext4 -F -q -L COS_SMOKE /dev/vda || fail "mkfs.ext4 /dev/vda"
mount -t ext4 /dev/vda /mnt || fail "mount ext4"
grep -q '^/dev/vda /mnt ext4 ' /proc/mounts || fail "/dev/vda is not mounted as ext4"
echo data >/mnt/file || fail "write to ext4"

step "vfat on loop"
dd if=/dev/zero of=/mnt/fat.img bs=1M count=8 2>/dev/null || fail "dd fat.img"
mkfs.vfat -n COS_GRUB /mnt/fat.img >/dev/null || fail "mkfs.vfat"
mkdir -p /run/fat
mount -t vfat -o loop /mnt/fat.img /run/fat || fail "mount vfat on a loop device"
echo boot >/run/fat/Boot.TXT || fail "write to vfat"
umount /run/fat || fail "umount vfat"
fsck.fat -n /mnt/fat.img >/dev/null || fail "fsck.fat"

step "overlay"
mkdir -p /run/lower /run/ovl/upper /run/ovl/work /sysroot
mount -o remount,ro /mnt || fail "remount ro"
mount -t overlay overlay -o lowerdir=/mnt,upperdir=/run/ovl/upper,workdir=/run/ovl/work /sysroot \
	|| fail "mount overlay"
echo changed >/sysroot/file || fail "write through the overlay"
[ "$(cat /mnt/file)" = data ] || fail "the overlay wrote to its lower layer"
umount /sysroot && umount /mnt || fail "umount"
e2fsck -fn /dev/vda >/dev/null || fail "e2fsck"

step "agent"
[ -s /etc/ssl/certs/ca-certificates.crt ] || fail "no CA bundle"
/usr/sbin/elemental-agent version || fail "elemental-agent version"

echo "SMOKE-OK kernel $(uname -r)"
verdict '\020'
poweroff -f
