#!/usr/bin/env bash
# Installs the Debian packages the tests need (test API server, checks;
# gdisk, fdisk, e2fsprogs, dosfstools check what agent/disk writes;
# busybox-static is the shell of the native plugin tests' roots;
# image/ and its VM tests: qemu-system-x86, ovmf, ipxe-qemu, linux-image-amd64,
# grub-mkrescue with its EFI and BIOS modules, xorriso, mtools, cpio).
# Quick no-op when everything is already installed.
set -euo pipefail
pkgs=(python3 python3-pytest python3-jwt python3-cryptography python3-yaml openssl util-linux time file binutils
      docker-registry umoci skopeo gdisk fdisk e2fsprogs dosfstools busybox-static
      qemu-system-x86 ovmf ipxe-qemu linux-image-amd64 grub-common grub-efi-amd64-bin grub-pc-bin
      xorriso mtools cpio)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "tests: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}" >&2
fi
