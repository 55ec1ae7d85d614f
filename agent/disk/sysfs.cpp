// sysfs scanning and partitions by label (see sysfs.hpp).
#include "disk/sysfs.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "common/fs.hpp"
#include "disk/device.hpp"
#include "disk/gpt.hpp"

namespace elemental::disk {

namespace {

Expected<std::string> ReadAttr(const std::string& path) {
  fs::ReadOptions o;
  o.what = "sysfs attribute";
  o.max_bytes = 4096;
  auto text = fs::ReadFile(path, o);
  if (!text) return text.error();
  std::string s = *text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

Expected<uint64_t> ReadNumber(const std::string& path) {
  auto s = ReadAttr(path);
  if (!s) return s.error();
  if (s->empty() || s->size() > 20) return Error("sysfs attribute '" + path + "' is not a number");
  uint64_t v = 0;
  for (char c : *s) {
    if (c < '0' || c > '9') return Error("sysfs attribute '" + path + "' is not a number");
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return Error("sysfs attribute '" + path + "' is out of range");
    v = next;
  }
  return v;
}

// Directory entries (names only, no "." / ".."), sorted. Missing dir → empty.
Expected<std::vector<std::string>> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return names;
    return ErrnoError("listing '" + path + "'", errno);
  }
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsFile(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::string PartitionName(const std::string& disk, int n) {
  bool digit_end = !disk.empty() && std::isdigit(static_cast<unsigned char>(disk.back()));
  return disk + (digit_end ? "p" : "") + std::to_string(n);
}

Expected<std::vector<BlockDevice>> ScanBlockDevices(const SystemPaths& paths) {
  const std::string block = paths.sysfs + "/block";
  auto disks = ListDir(block);
  if (!disks) return disks.error();
  std::vector<BlockDevice> out;
  for (const auto& disk : *disks) {
    const std::string ddir = block + "/" + disk;
    auto size = ReadNumber(ddir + "/size");
    if (!size) {
      if (size.error().code() == ENOENT) continue;  // vanished while scanning
      return size.error();
    }
    BlockDevice d;
    d.name = disk;
    d.node = paths.dev + "/" + disk;
    d.size_bytes = *size * 512;
    if (auto dev = ReadAttr(ddir + "/dev")) d.devnum = *dev;
    out.push_back(d);
    auto entries = ListDir(ddir);
    if (!entries) return entries.error();
    for (const auto& name : *entries) {
      const std::string pdir = ddir + "/" + name;
      if (!IsFile(pdir + "/partition")) continue;
      auto number = ReadNumber(pdir + "/partition");
      auto start = ReadNumber(pdir + "/start");
      auto psize = ReadNumber(pdir + "/size");
      if (!number) return number.error();
      if (!start) return start.error();
      if (!psize) return psize.error();
      if (*number == 0 || *number > 1u << 20) {
        return Error("sysfs attribute '" + pdir + "/partition' is out of range");
      }
      BlockDevice p;
      p.name = name;
      p.node = paths.dev + "/" + name;
      p.is_partition = true;
      p.partition_number = static_cast<int>(*number);
      p.start_sector = *start;
      p.size_bytes = *psize * 512;
      p.parent = disk;
      if (auto dev = ReadAttr(pdir + "/dev")) p.devnum = *dev;
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const BlockDevice& a, const BlockDevice& b) { return a.name < b.name; });
  return out;
}

Expected<std::vector<LabeledPartition>> DiskPartitions(const SystemPaths& paths,
                                                       const std::string& disk_name) {
  auto all = ScanBlockDevices(paths);
  if (!all) return all.error();
  const std::string disk_node = paths.dev + "/" + disk_name;
  auto dev = Device::Open(disk_node);
  if (!dev) return dev.error();
  auto table = ReadGpt(*dev);
  if (!table) return table.error();
  std::vector<LabeledPartition> out;
  for (const auto& b : *all) {
    if (!b.is_partition || b.parent != disk_name) continue;
    for (const auto& g : table->partitions) {
      if (g.number != b.partition_number) continue;
      // sysfs counts 512-byte units whatever the logical sector size.
      if (g.first_lba * (table->sector_size / 512) != b.start_sector) break;
      LabeledPartition lp;
      lp.label = g.name;
      lp.node = b.node;
      lp.disk_node = disk_node;
      lp.number = g.number;
      lp.size_bytes = b.size_bytes;
      out.push_back(lp);
    }
  }
  return out;
}

Expected<std::string> FindPartitionByLabel(const SystemPaths& paths, const std::string& label) {
  auto all = ScanBlockDevices(paths);
  if (!all) return all.error();
  std::vector<std::string> looked;
  std::vector<LabeledPartition> found;
  for (const auto& b : *all) {
    if (b.is_partition) continue;
    bool has_parts = std::any_of(all->begin(), all->end(), [&](const BlockDevice& x) {
      return x.is_partition && x.parent == b.name;
    });
    if (!has_parts) continue;
    looked.push_back(b.name);
    auto parts = DiskPartitions(paths, b.name);
    if (!parts) continue;  // no GPT, unreadable: not ours
    for (const auto& p : *parts) {
      if (p.label == label) found.push_back(p);
    }
  }
  if (found.size() == 1) return found[0].node;
  std::string list;
  if (found.empty()) {
    for (const auto& l : looked) list += (list.empty() ? "" : ", ") + l;
    return Error("no partition labelled '" + label + "' (looked at: " +
                 (list.empty() ? "no disks with partitions" : list) + ")", ENOENT);
  }
  for (const auto& f : found) list += (list.empty() ? "" : ", ") + f.node;
  return Error("partition label '" + label + "' found on more than one disk: " + list);
}

}  // namespace elemental::disk
