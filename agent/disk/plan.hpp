// The partition plan: which partitions the A/B layout has and where they go
// on a disk of a given size, as plain data (computed here, written by
// gpt.hpp). See README.md for the layout and the default sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/guid.hpp"

namespace elemental::disk {

inline constexpr uint64_t kMiB = 1024ull * 1024ull;
inline constexpr uint64_t kGiB = 1024ull * kMiB;

// The PARTLABELs of DESIGN.md section 4.
inline constexpr const char* kLabelEsp = "COS_GRUB";
inline constexpr const char* kLabelOem = "COS_OEM";
inline constexpr const char* kLabelSystemA = "COS_SYSTEM_A";
inline constexpr const char* kLabelSystemB = "COS_SYSTEM_B";
inline constexpr const char* kLabelPersistent = "COS_PERSISTENT";

enum class FsType { kVfat, kExt4 };
const char* FsTypeName(FsType t);  // "vfat", "ext4"

// Partition sizes in MiB; 0 means "use the default".
struct PartitionSizes {
  uint64_t esp_mib = 0;             // default 64
  uint64_t oem_mib = 0;             // default 64
  uint64_t system_mib = 0;          // each of A and B; default 3072
  uint64_t persistent_min_mib = 0;  // persistent gets the rest, at least this; default 1024
};
PartitionSizes WithDefaults(const PartitionSizes& s);

struct PlannedPartition {
  int number = 0;  // 1-based GPT entry index (Linux partition number)
  std::string label;
  FsType fs = FsType::kExt4;
  Guid type;
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;  // inclusive
  uint64_t size_bytes = 0;
};

struct PartitionPlan {
  uint32_t sector_size = 512;
  uint64_t disk_sectors = 0;
  uint64_t first_usable_lba = 0;
  uint64_t last_usable_lba = 0;
  std::vector<PlannedPartition> partitions;  // in disk order: ESP, OEM, A, B, persistent

  // nullptr when the label is not in the plan.
  const PlannedPartition* Find(const std::string& label) const;
};

// Entries in the partition array we write: 128 x 128 bytes, the usual size
// every tool expects (16 KiB, 32 sectors of 512 or 4 of 4096).
inline constexpr uint32_t kGptEntryCount = 128;
inline constexpr uint32_t kGptEntrySize = 128;

// The smallest disk (bytes) the layout fits on with these sizes.
uint64_t MinimumDiskBytes(const PartitionSizes& sizes);

// Lays the partitions out on a disk of `disk_bytes` (only whole sectors
// count) with `sector_size`-byte logical sectors (512 or 4096): each
// partition starts on a 1 MiB boundary, the fixed ones have exactly their
// size, COS_PERSISTENT runs to the last usable sector. Errors: "sector size
// N is not supported (512 or 4096)", "disk of X MiB is too small for the
// layout: it needs at least Y MiB (...)".
Expected<PartitionPlan> MakePlan(uint64_t disk_bytes, uint32_t sector_size,
                                 const PartitionSizes& sizes = {});

}  // namespace elemental::disk
