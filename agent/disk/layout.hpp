// The A/B layout on one disk, in the few calls the plugin makes: create it
// (plan + GPT + tell the kernel + find the partition nodes), open an
// existing one (noFormat, reset, upgrade), and make its filesystems.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/format.hpp"
#include "disk/plan.hpp"
#include "disk/sysfs.hpp"

namespace elemental::disk {

struct LayoutPartition {
  std::string label;
  FsType fs = FsType::kExt4;
  int number = 0;
  uint64_t size_bytes = 0;
  // The partition's device node ("/dev/vda3"); empty when the disk is a plain
  // image file (attach it with LoopDevice to get nodes).
  std::string node;
};

struct DiskLayout {
  std::string disk;  // the disk's real path ("/dev/vda", or an image file)
  uint32_t sector_size = 512;
  std::vector<LayoutPartition> partitions;  // ESP, OEM, A, B, persistent

  // nullptr when the label is not there.
  const LayoutPartition* Find(const std::string& label) const;
};

// Writes a fresh GPT for the layout on `disk` (a block device or an image
// file), makes the kernel see it, and finds each partition's node by label
// through sysfs. Everything on the disk is lost. The disk is held
// exclusively (O_EXCL) only inside this call, so mkfs and mount work after
// it; a disk with a mounted partition is refused (code EBUSY). Errors are
// wrapped with "partitioning '<disk>'".
Expected<DiskLayout> CreateLayout(const std::string& disk, const PartitionSizes& sizes = {},
                                  const SystemPaths& paths = {});

// Reads the layout already on `disk` (its GPT) and finds the partition
// nodes; partitions the kernel does not show yet (no GPT parser, a loop
// device attached just now) are added to it first. Errors: "'<disk>' has no COS_OEM partition", GPT errors, ...,
// wrapped with "reading the layout of '<disk>'".
Expected<DiskLayout> OpenLayout(const std::string& disk, const SystemPaths& paths = {});

// Makes the filesystem of one partition (labelled as the partition), or of
// every partition.
Status FormatPartition(ProcessRunner& runner, const FormatTools& tools, const DiskLayout& layout,
                       const std::string& label);
Status FormatLayout(ProcessRunner& runner, const FormatTools& tools, const DiskLayout& layout);

}  // namespace elemental::disk
