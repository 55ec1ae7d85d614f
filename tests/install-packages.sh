#!/usr/bin/env bash
# Installs the Debian packages the tests need (test API server, checks;
# gdisk, fdisk, e2fsprogs, dosfstools check what agent/disk writes;
# busybox-static is the shell of the native plugin tests' roots and of
# the boot image; the -dev packages and libclang-rt-14-dev build the host
# fuzz targets in tests/fuzz; linux-image-amd64, kmod, cpio, zstd and
# ca-certificates go into / build the boot image; qemu-system-x86 and ovmf
# run the VMs; ipxe-qemu, grub-*, xorriso and mtools make the PXE and ISO).
# Quick no-op when everything is already installed.
set -euo pipefail
pkgs=(python3 python3-pytest python3-jwt python3-cryptography python3-yaml openssl util-linux time file binutils
      docker-registry umoci skopeo gdisk fdisk e2fsprogs dosfstools busybox-static
      clang-14 libclang-rt-14-dev cmake ninja-build libarchive-dev libcjson-dev libmbedtls-dev
      linux-image-amd64 kmod cpio zstd ca-certificates qemu-system-x86 ovmf
      ipxe-qemu grub-common grub-efi-amd64-bin grub-pc-bin xorriso mtools)
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
