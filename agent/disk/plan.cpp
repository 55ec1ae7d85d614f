// Partition plan arithmetic (see plan.hpp).
#include "disk/plan.hpp"

namespace elemental::disk {

namespace {

constexpr uint64_t kAlign = kMiB;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// Sectors of the partition entry array.
uint64_t EntrySectors(uint32_t sector_size) {
  return (uint64_t{kGptEntryCount} * kGptEntrySize + sector_size - 1) / sector_size;
}

}  // namespace

const char* FsTypeName(FsType t) { return t == FsType::kVfat ? "vfat" : "ext4"; }

PartitionSizes WithDefaults(const PartitionSizes& s) {
  PartitionSizes d = s;
  if (d.esp_mib == 0) d.esp_mib = 64;
  if (d.oem_mib == 0) d.oem_mib = 64;
  if (d.system_mib == 0) d.system_mib = 3072;
  if (d.persistent_min_mib == 0) d.persistent_min_mib = 1024;
  return d;
}

const PlannedPartition* PartitionPlan::Find(const std::string& label) const {
  for (const auto& p : partitions) {
    if (p.label == label) return &p;
  }
  return nullptr;
}

uint64_t MinimumDiskBytes(const PartitionSizes& sizes) {
  PartitionSizes s = WithDefaults(sizes);
  // 1 MiB before the first partition (MBR, GPT header and entries, alignment)
  // and 1 MiB at the end for the backup entries and header.
  return (s.esp_mib + s.oem_mib + 2 * s.system_mib + s.persistent_min_mib + 2) * kMiB;
}

Expected<PartitionPlan> MakePlan(uint64_t disk_bytes, uint32_t sector_size,
                                 const PartitionSizes& sizes) {
  if (sector_size != 512 && sector_size != 4096) {
    return Error("sector size " + std::to_string(sector_size) + " is not supported (512 or 4096)");
  }
  PartitionSizes s = WithDefaults(sizes);
  // Sizes so large that MiB arithmetic would overflow are refused outright.
  const uint64_t kMaxMib = uint64_t{1} << 40;
  if (s.esp_mib > kMaxMib || s.oem_mib > kMaxMib || s.system_mib > kMaxMib ||
      s.persistent_min_mib > kMaxMib) {
    return Error("partition size too large (more than 2^40 MiB)");
  }
  const uint64_t need = MinimumDiskBytes(s);
  PartitionPlan plan;
  plan.sector_size = sector_size;
  plan.disk_sectors = disk_bytes / sector_size;
  const uint64_t entry_sectors = EntrySectors(sector_size);
  // LBA 0 protective MBR, 1 header, 2.. entries; the backup mirrors it at the end.
  plan.first_usable_lba = 2 + entry_sectors;
  const uint64_t reserved_end = 1 + entry_sectors;
  auto too_small = [&]() {
    return Error("disk of " + std::to_string(disk_bytes / kMiB) +
                 " MiB is too small for the layout: it needs at least " +
                 std::to_string(need / kMiB) + " MiB (ESP " + std::to_string(s.esp_mib) +
                 " + OEM " + std::to_string(s.oem_mib) + " + 2 x system " +
                 std::to_string(s.system_mib) + " + persistent at least " +
                 std::to_string(s.persistent_min_mib) + " + 2 MiB for the partition tables)");
  };
  if (disk_bytes < need || plan.disk_sectors <= reserved_end + plan.first_usable_lba) {
    return too_small();
  }
  plan.last_usable_lba = plan.disk_sectors - 1 - reserved_end;

  const uint64_t align_sectors = kAlign / sector_size;
  uint64_t next = AlignUp(plan.first_usable_lba, align_sectors);
  struct Fixed {
    const char* label;
    FsType fs;
    uint64_t mib;
  };
  const Fixed fixed[] = {
      {kLabelEsp, FsType::kVfat, s.esp_mib},
      {kLabelOem, FsType::kExt4, s.oem_mib},
      {kLabelSystemA, FsType::kExt4, s.system_mib},
      {kLabelSystemB, FsType::kExt4, s.system_mib},
  };
  int number = 1;
  for (const auto& f : fixed) {
    PlannedPartition p;
    p.number = number++;
    p.label = f.label;
    p.fs = f.fs;
    p.type = f.fs == FsType::kVfat ? kEspTypeGuid : kLinuxFilesystemTypeGuid;
    p.first_lba = next;
    p.size_bytes = f.mib * kMiB;
    p.last_lba = p.first_lba + p.size_bytes / sector_size - 1;
    next = AlignUp(p.last_lba + 1, align_sectors);
    plan.partitions.push_back(p);
  }
  PlannedPartition persistent;
  persistent.number = number;
  persistent.label = kLabelPersistent;
  persistent.fs = FsType::kExt4;
  persistent.type = kLinuxFilesystemTypeGuid;
  persistent.first_lba = next;
  if (next > plan.last_usable_lba ||
      (plan.last_usable_lba - next + 1) * sector_size < s.persistent_min_mib * kMiB) {
    return too_small();
  }
  persistent.last_lba = plan.last_usable_lba;
  persistent.size_bytes = (persistent.last_lba - persistent.first_lba + 1) * sector_size;
  plan.partitions.push_back(persistent);
  return plan;
}

}  // namespace elemental::disk
