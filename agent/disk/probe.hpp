// What is on a partition, read from its first sectors: enough for
// `elemental-agent state` to show the installed layout, not a general blkid.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/sysfs.hpp"

namespace elemental::disk {

// "ext4"/"ext3"/"ext2" (ext superblock magic and feature flags), "vfat"
// (a FAT boot sector), "" when neither is recognised. Errors: the device
// cannot be opened or read (named).
Expected<std::string> ProbeFilesystem(const std::string& node);

// The COS_* partitions of the installed disk, the one that holds COS_OEM, in
// partition-number order. Errors: no COS_OEM, or COS_OEM on more than one
// disk (from FindPartitionByLabel).
Expected<std::vector<LabeledPartition>> InstalledPartitions(const SystemPaths& paths);

}  // namespace elemental::disk
