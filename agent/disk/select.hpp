// Choosing the disk to install on. The rule, as a pure function over what
// ScanDisks() found (documented in README.md):
//   `device` given → that path (a /dev/disk/by-id or by-path link is
//   resolved); otherwise the first whole disk, by kernel name order, that is
//   not a virtual device (loop, ram, zram, sr, md, dm-, nbd, fd, mtdblock),
//   not removable, not read-only, not the boot medium (mounted at / or
//   under /run/initramfs, or holding an ISO 9660 live image), has no other
//   mounted partition, and is at least the layout's minimum size.
// None fits → an Error listing every candidate with the reason it was
// rejected.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/sysfs.hpp"

namespace elemental::disk {

struct DiskInfo {
  std::string name;  // "vda"
  std::string node;  // "/dev/vda"
  uint64_t size_bytes = 0;
  bool removable = false;
  bool read_only = false;
  std::string model;  // vendor + model when sysfs has them, for messages
  // Mount points of the disk or its partitions (from mountinfo).
  std::vector<std::string> mounts;
  // The disk starts with an ISO 9660 image ("CD001" at byte 32769): live
  // media written to a stick or attached as a disk.
  bool iso9660 = false;
};

// Whole disks from sysfs with their flags and mounts.
Expected<std::vector<DiskInfo>> ScanDisks(const SystemPaths& paths);

// Why a disk cannot be the install target, or "" when it can.
std::string RejectReason(const DiskInfo& d, uint64_t min_bytes);

// The rule above over `disks` (already in name order). Error: "no disk fits
// the install (needs at least N MiB): vda (8192 MiB): has mounted
// partitions (/); sr0: virtual device ..." or "no disks found".
Expected<DiskInfo> SelectDisk(const std::vector<DiskInfo>& disks, uint64_t min_bytes);

// Resolves a configured device path: symlinks (by-id, by-path) are followed
// to the real node; it must be a block device or a regular file (image
// files, for tests). Errors: "install device '<path>': ...".
Expected<std::string> ResolveDevice(const std::string& path);

// `device` non-empty → ResolveDevice(device), refusing a partition
// ("install device '/dev/vda1' is a partition ('/dev/vda1'), not a whole
// disk", seen through <sysfs>/dev/block/<maj:min>/partition); otherwise
// ScanDisks + SelectDisk, giving the chosen node.
Expected<std::string> ChooseInstallDisk(const std::string& device, uint64_t min_bytes,
                                        const SystemPaths& paths = {});

}  // namespace elemental::disk
