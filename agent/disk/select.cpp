// Install disk selection (see select.hpp and README.md for the rule).
#include "disk/select.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <map>

#include "common/fs.hpp"
#include "disk/plan.hpp"

namespace elemental::disk {

namespace {

const char* const kVirtualPrefixes[] = {"loop", "ram", "zram", "sr", "md", "dm-", "nbd", "fd",
                                        "mtdblock"};

bool IsVirtual(const std::string& name, std::string* kind) {
  for (const char* p : kVirtualPrefixes) {
    std::string pre = p;
    if (name.compare(0, pre.size(), pre) == 0) {
      // "sr0" yes, "sda" no: prefixes are followed by a digit (or are "dm-").
      if (pre.back() == '-' || (name.size() > pre.size() && name[pre.size()] >= '0' &&
                                name[pre.size()] <= '9')) {
        if (pre.back() == '-') pre.pop_back();
        *kind = pre;
        return true;
      }
    }
  }
  return false;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  return s.substr(i);
}

std::string Optional(const std::string& path) {
  fs::ReadOptions o;
  o.max_bytes = 4096;
  auto t = fs::ReadFile(path, o);
  return t ? Trimmed(*t) : std::string();
}

// Mountinfo escapes spaces etc. as \040; enough to print them readably.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// major:minor → mount points, from /proc/self/mountinfo (fields: id parent
// major:minor root mountpoint ...). A missing file gives no mounts.
std::multimap<std::string, std::string> ReadMounts(const std::string& path) {
  std::multimap<std::string, std::string> out;
  fs::ReadOptions o;
  o.max_bytes = 16 * 1024 * 1024;
  auto text = fs::ReadFile(path, o);
  if (!text) return out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    std::vector<std::string> f;
    size_t i = 0;
    while (i < line.size() && f.size() < 5) {
      size_t j = line.find(' ', i);
      if (j == std::string::npos) j = line.size();
      f.push_back(line.substr(i, j - i));
      i = j + 1;
    }
    if (f.size() == 5) out.emplace(f[2], Unescape(f[4]));
  }
  return out;
}

bool HasIso9660(const std::string& node) {
  FILE* f = fopen(node.c_str(), "rbe");
  if (f == nullptr) return false;
  char buf[5] = {};
  bool ok = fseek(f, 32769, SEEK_SET) == 0 && fread(buf, 1, 5, f) == 5;
  fclose(f);
  return ok && std::string(buf, 5) == "CD001";
}

std::string MiB(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

Expected<std::vector<DiskInfo>> ScanDisks(const SystemPaths& paths) {
  auto all = ScanBlockDevices(paths);
  if (!all) return all.error().Wrap("scanning block devices");
  auto mounts = ReadMounts(paths.mountinfo);
  std::vector<DiskInfo> out;
  for (const auto& b : *all) {
    if (b.is_partition) continue;
    DiskInfo d;
    d.name = b.name;
    d.node = b.node;
    d.size_bytes = b.size_bytes;
    const std::string dir = paths.sysfs + "/block/" + b.name;
    d.removable = Optional(dir + "/removable") == "1";
    d.read_only = Optional(dir + "/ro") == "1";
    d.model = Trimmed(Optional(dir + "/device/vendor") + " " + Optional(dir + "/device/model"));
    for (const auto& x : *all) {
      if (x.devnum.empty() || (x.name != b.name && x.parent != b.name)) continue;
      auto range = mounts.equal_range(x.devnum);
      for (auto it = range.first; it != range.second; ++it) d.mounts.push_back(it->second);
    }
    std::string kind;
    if (!IsVirtual(b.name, &kind)) d.iso9660 = HasIso9660(b.node);
    out.push_back(d);
  }
  return out;
}

std::string RejectReason(const DiskInfo& d, uint64_t min_bytes) {
  std::string kind;
  if (IsVirtual(d.name, &kind)) return "virtual device (" + kind + ")";
  if (d.size_bytes == 0) return "no medium (size 0)";
  for (const auto& m : d.mounts) {
    if (m == "/" || m.compare(0, 15, "/run/initramfs/") == 0 || m == "/run/initramfs") {
      return "boot medium (mounted at " + m + ")";
    }
  }
  if (d.iso9660) return "boot medium (holds an ISO 9660 live image)";
  if (!d.mounts.empty()) {
    std::string list;
    for (const auto& m : d.mounts) list += (list.empty() ? "" : ", ") + m;
    return "has mounted partitions (" + list + ")";
  }
  if (d.removable) return "removable";
  if (d.read_only) return "read-only";
  if (d.size_bytes < min_bytes) return "too small (needs at least " + MiB(min_bytes) + ")";
  return "";
}

Expected<DiskInfo> SelectDisk(const std::vector<DiskInfo>& disks, uint64_t min_bytes) {
  std::string why;
  for (const auto& d : disks) {
    std::string r = RejectReason(d, min_bytes);
    if (r.empty()) return d;
    why += "; " + d.name + " (" + MiB(d.size_bytes) + (d.model.empty() ? "" : ", " + d.model) +
           "): " + r;
  }
  if (disks.empty()) return Error("no disk fits the install: no disks found", ENODEV);
  return Error("no disk fits the install (needs at least " + MiB(min_bytes) + "): " + why.substr(2),
               ENODEV);
}

Expected<std::string> ResolveDevice(const std::string& path) {
  const std::string what = "install device '" + path + "'";
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return ErrnoError(what, errno);
  struct stat st {};
  if (stat(buf, &st) != 0) return ErrnoError(what, errno);
  if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
    return Error(what + ": '" + buf + "' is neither a block device nor an image file");
  }
  return std::string(buf);
}

Expected<std::string> ChooseInstallDisk(const std::string& device, uint64_t min_bytes,
                                        const SystemPaths& paths) {
  if (!device.empty()) {
    auto real = ResolveDevice(device);
    if (!real) return real;
    struct stat st {};
    if (stat(real->c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
      // <sysfs>/dev/block/<major>:<minor>/partition exists for partitions.
      std::string attr = paths.sysfs + "/dev/block/" + std::to_string(major(st.st_rdev)) + ":" +
                         std::to_string(minor(st.st_rdev)) + "/partition";
      auto is_part = fs::PathExists(attr);
      if (is_part && *is_part) {
        return Error("install device '" + device + "' is a partition ('" + *real +
                     "'), not a whole disk");
      }
    }
    return real;
  }
  auto disks = ScanDisks(paths);
  if (!disks) return disks.error();
  auto d = SelectDisk(*disks, min_bytes);
  if (!d) return d.error();
  return d->node;
}

}  // namespace elemental::disk
