// Filesystem probing and the installed layout (see probe.hpp).
#include "disk/probe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "disk/plan.hpp"

namespace elemental::disk {
namespace {

uint32_t Le32(const unsigned char* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

Expected<std::string> ProbeFilesystem(const std::string& node) {
  int fd = ::open(node.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error("opening '" + node + "': " + std::strerror(errno));
  unsigned char buf[2048];
  ssize_t n;
  do {
    n = ::pread(fd, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  int saved = errno;
  ::close(fd);
  if (n < 0) return Error("reading '" + node + "': " + std::strerror(saved));
  if (n < static_cast<ssize_t>(sizeof buf)) return std::string();
  // ext2/3/4: superblock at 1024, magic 0xEF53 at offset 56 of it.
  const unsigned char* sb = buf + 1024;
  if (sb[56] == 0x53 && sb[57] == 0xEF) {
    const uint32_t compat = Le32(sb + 92), incompat = Le32(sb + 96);
    constexpr uint32_t kHasJournal = 0x4, kExtents = 0x40, kFlexBg = 0x200, k64Bit = 0x80;
    if (incompat & (kExtents | kFlexBg | k64Bit)) return std::string("ext4");
    if (compat & kHasJournal) return std::string("ext3");
    return std::string("ext2");
  }
  // FAT: boot signature and a FAT type string (FAT32 at 82, FAT12/16 at 54).
  if (buf[510] == 0x55 && buf[511] == 0xAA &&
      (std::memcmp(buf + 82, "FAT32", 5) == 0 || std::memcmp(buf + 54, "FAT1", 4) == 0)) {
    return std::string("vfat");
  }
  return std::string();
}

Expected<std::vector<LabeledPartition>> InstalledPartitions(const SystemPaths& paths) {
  auto oem = FindPartitionByLabel(paths, kLabelOem);
  if (!oem) return oem.error();
  auto devices = ScanBlockDevices(paths);
  if (!devices) return devices.error();
  std::string disk;
  for (const auto& d : *devices) {
    if (d.node == *oem) disk = d.parent;
  }
  if (disk.empty()) return Error("partition '" + *oem + "' has no parent disk in sysfs");
  auto parts = DiskPartitions(paths, disk);
  if (!parts) return parts.error();
  std::vector<LabeledPartition> out;
  for (const auto& p : *parts) {
    if (p.label.rfind("COS_", 0) == 0) out.push_back(p);
  }
  std::sort(out.begin(), out.end(),
            [](const LabeledPartition& a, const LabeledPartition& b) { return a.number < b.number; });
  return out;
}

}  // namespace elemental::disk
