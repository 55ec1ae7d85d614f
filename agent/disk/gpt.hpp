// GUID Partition Tables: build one from a partition plan, write it (protective
// MBR, primary header + entries at LBA 1/2, backup entries + header at the
// end), read one back (checking both CRCs, falling back to the backup
// header), and tell the kernel about the new partitions.
//
// Disk content is untrusted: a malformed table is an Error naming what is
// wrong, never a crash; entry counts and sizes are bounds-checked before
// anything is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/device.hpp"
#include "disk/guid.hpp"
#include "disk/plan.hpp"

namespace elemental::disk {

struct GptPartition {
  int number = 0;  // 1-based index in the entry array (= Linux partition number)
  Guid type;
  Guid unique;
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;  // inclusive
  uint64_t attributes = 0;
  std::string name;  // the PARTLABEL, UTF-8
};

struct GptTable {
  uint32_t sector_size = 512;
  uint64_t disk_sectors = 0;
  Guid disk_guid;
  uint64_t first_usable_lba = 0;
  uint64_t last_usable_lba = 0;
  uint32_t entry_count = kGptEntryCount;
  uint32_t entry_size = kGptEntrySize;
  std::vector<GptPartition> partitions;  // used entries only, by number
  // Set by ReadGpt when the primary header or entries were damaged and the
  // backup copy was used.
  bool from_backup = false;
  std::string primary_problem;  // why the primary copy was not used

  // nullptr when no partition has that name.
  const GptPartition* FindByName(const std::string& name) const;
};

// Fresh random disk and partition GUIDs (getrandom) for the plan.
Expected<GptTable> TableFromPlan(const PartitionPlan& plan);

// Writes the table to the device and zeroes the gap between the entry
// array and the first partition (open it writable; a block device is then
// held exclusively until the Device is closed, so close it before mkfs or
// mount): backup entries and header first, then the
// primary ones and the protective MBR, then fsync. The device must have the
// table's sector size and at least its sectors. Names longer than 36 UTF-16
// units are an error.
Status WriteGpt(Device& dev, const GptTable& table);

// Reads and checks the GPT. Errors: "no valid GPT on '<path>': primary:
// <why>; backup: <why>".
Expected<GptTable> ReadGpt(const Device& dev);

// Makes the kernel see the table's partitions. Plain files: nothing. Block
// devices: BLKRRPART (the kernel re-reads the table if it has a GPT parser),
// then BLKPG_ADD_PARTITION for each partition the kernel did not create
// itself (kernels without CONFIG_EFI_PARTITION, such as minimal VM
// kernels). Loop devices need LO_FLAGS_PARTSCAN. Errors: "re-reading the
// partition table of '<path>': Device or resource busy" when a partition is
// in use.
Status ReloadPartitions(Device& dev, const GptTable& table);

}  // namespace elemental::disk
