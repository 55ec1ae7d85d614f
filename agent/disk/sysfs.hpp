// Block devices as the kernel lists them in sysfs, and partitions found by
// their GPT label (PARTLABEL), never by device order.
//
// What is read (every root is a parameter, so tests pass a fake tree):
//   <sysfs>/block/<disk>/{dev,size}         whole disks: "major:minor", size in 512-byte units
//   <sysfs>/block/<disk>/{removable,ro}     "0"/"1"
//   <sysfs>/block/<disk>/device/{vendor,model}  for messages (optional)
//   <sysfs>/block/<disk>/<part>/partition   a subdirectory with this file is a partition
//                                           (its number); also {start,size,dev} there
//   <mountinfo>                             /proc/self/mountinfo: which devices are mounted
// (<sysfs>/block/<disk>/<part> is the same directory as
// <sysfs>/class/block/<part>; going through the disk gives the parent.)
// Device nodes are <dev>/<name> (devtmpfs names them after the kernel:
// sda1, vda1, nvme0n1p1, loop0p1, mmcblk0p1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"

namespace elemental::disk {

struct SystemPaths {
  std::string sysfs = "/sys";
  std::string dev = "/dev";
  std::string mountinfo = "/proc/self/mountinfo";
};

struct BlockDevice {
  std::string name;     // kernel name: "sda", "nvme0n1p2"
  std::string node;     // <dev>/<name>
  std::string devnum;   // "8:0"
  uint64_t size_bytes = 0;
  bool is_partition = false;
  int partition_number = 0;   // partitions only
  uint64_t start_sector = 0;  // partitions only, 512-byte units
  std::string parent;         // partitions only: the whole disk's name
};

// Every block device in <sysfs>/class/block, sorted by name. Entries that
// vanish while scanning are skipped; unreadable attributes are an Error
// naming the file.
Expected<std::vector<BlockDevice>> ScanBlockDevices(const SystemPaths& paths);

// The device node name of partition `n` of `disk`: "sda"+1 → "sda1",
// "nvme0n1"+1 → "nvme0n1p1", "loop0"+1 → "loop0p1" (a "p" when the disk
// name ends in a digit, as the kernel does).
std::string PartitionName(const std::string& disk, int n);

struct LabeledPartition {
  std::string label;  // GPT partition name
  std::string node;   // <dev>/<name>
  std::string disk_node;
  int number = 0;
  uint64_t size_bytes = 0;
};

// The partitions of whole disk `disk_name` (e.g. "vda") that the kernel
// shows, each with its PARTLABEL read from the disk's GPT. A kernel
// partition whose start does not match its GPT entry is left out (a stale
// view). Errors: the disk's GPT cannot be read.
Expected<std::vector<LabeledPartition>> DiskPartitions(const SystemPaths& paths,
                                                       const std::string& disk_name);

// The node of the partition labelled `label` on any disk. Disks whose GPT
// cannot be read are skipped. Errors: "no partition labelled 'X' (looked
// at: vda, sdb)", "partition label 'X' found on more than one disk: ...".
Expected<std::string> FindPartitionByLabel(const SystemPaths& paths, const std::string& label);

}  // namespace elemental::disk
