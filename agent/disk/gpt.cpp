// GPT serialisation, parsing and kernel notification (see gpt.hpp).
//
// Layout reference: UEFI specification 2.10, section 5.3 (GPT header, entry
// array) and 5.2.3 (protective MBR).
#include "disk/gpt.hpp"

#include <linux/blkpg.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace elemental::disk {

namespace {

constexpr char kSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
constexpr uint32_t kRevision = 0x00010000;
constexpr uint32_t kHeaderSize = 92;
constexpr size_t kNameUnits = 36;  // 72 bytes of UTF-16LE
// Bounds for tables read from disk: the spec allows larger arrays, but no
// tool writes more than a few hundred entries; this keeps a hostile header
// from making us allocate gigabytes.
constexpr uint64_t kMaxEntryArrayBytes = 4 * kMiB;

void Put16(uint8_t* p, uint16_t v) { p[0] = v & 0xFF; p[1] = v >> 8; }
void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint32_t Crc32(const uint8_t* data, size_t len) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; the entry array is far below 4 GiB, but feed it
  // in chunks anyway so the type never truncates.
  while (len > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(len, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    len -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

Expected<std::vector<uint16_t>> Utf8ToUtf16(const std::string& s) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t n = 0;
    if (c < 0x80) { cp = c; n = 1; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 2; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 3; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 4; }
    else return Error("partition name '" + s + "' is not valid UTF-8");
    if (i + n > s.size()) return Error("partition name '" + s + "' is not valid UTF-8");
    for (size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return Error("partition name '" + s + "' is not valid UTF-8");
      cp = (cp << 6) | (cc & 0x3F);
    }
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<uint16_t>(0xD800 | (cp >> 10)));
      out.push_back(static_cast<uint16_t>(0xDC00 | (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
  }
  return out;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes a NUL-terminated UTF-16LE name; unpaired surrogates become U+FFFD.
std::string DecodeName(const uint8_t* p) {
  std::string out;
  for (size_t i = 0; i < kNameUnits; ++i) {
    uint32_t u = Get16(p + 2 * i);
    if (u == 0) break;
    if (u >= 0xD800 && u < 0xDC00 && i + 1 < kNameUnits) {
      uint32_t lo = Get16(p + 2 * (i + 1));
      if (lo >= 0xDC00 && lo < 0xE000) {
        AppendUtf8(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
        ++i;
        continue;
      }
    }
    if (u >= 0xD800 && u < 0xE000) u = 0xFFFD;
    AppendUtf8(out, u);
  }
  return out;
}

uint64_t EntryArraySectors(const GptTable& t) {
  uint64_t bytes = uint64_t{t.entry_count} * t.entry_size;
  return (bytes + t.sector_size - 1) / t.sector_size;
}

Expected<std::vector<uint8_t>> SerializeEntries(const GptTable& t) {
  std::vector<uint8_t> buf(EntryArraySectors(t) * t.sector_size, 0);
  for (const auto& p : t.partitions) {
    if (p.number < 1 || static_cast<uint32_t>(p.number) > t.entry_count) {
      return Error("partition number " + std::to_string(p.number) + " is outside the entry array");
    }
    uint8_t* e = buf.data() + static_cast<size_t>(p.number - 1) * t.entry_size;
    auto type = p.type.ToDisk();
    auto unique = p.unique.ToDisk();
    std::memcpy(e, type.data(), 16);
    std::memcpy(e + 16, unique.data(), 16);
    Put64(e + 32, p.first_lba);
    Put64(e + 40, p.last_lba);
    Put64(e + 48, p.attributes);
    auto name = Utf8ToUtf16(p.name);
    if (!name) return name.error();
    if (name->size() > kNameUnits) {
      return Error("partition name '" + p.name + "' is longer than 36 UTF-16 code units");
    }
    for (size_t i = 0; i < name->size(); ++i) Put16(e + 56 + 2 * i, (*name)[i]);
  }
  return buf;
}

std::vector<uint8_t> SerializeHeader(const GptTable& t, uint64_t my_lba, uint64_t alt_lba,
                                     uint64_t entries_lba, uint32_t entries_crc) {
  std::vector<uint8_t> h(t.sector_size, 0);
  std::memcpy(h.data(), kSignature, 8);
  Put32(h.data() + 8, kRevision);
  Put32(h.data() + 12, kHeaderSize);
  Put64(h.data() + 24, my_lba);
  Put64(h.data() + 32, alt_lba);
  Put64(h.data() + 40, t.first_usable_lba);
  Put64(h.data() + 48, t.last_usable_lba);
  auto g = t.disk_guid.ToDisk();
  std::memcpy(h.data() + 56, g.data(), 16);
  Put64(h.data() + 72, entries_lba);
  Put32(h.data() + 80, t.entry_count);
  Put32(h.data() + 84, t.entry_size);
  Put32(h.data() + 88, entries_crc);
  Put32(h.data() + 16, Crc32(h.data(), kHeaderSize));
  return h;
}

std::vector<uint8_t> ProtectiveMbr(const GptTable& t) {
  std::vector<uint8_t> m(t.sector_size, 0);
  uint8_t* e = m.data() + 446;
  e[0] = 0x00;                         // not bootable
  e[1] = 0x00; e[2] = 0x02; e[3] = 0x00;  // CHS of LBA 1
  e[4] = 0xEE;                         // GPT protective
  e[5] = 0xFF; e[6] = 0xFF; e[7] = 0xFF;  // CHS end: "beyond CHS"
  Put32(e + 8, 1);
  uint64_t size = t.disk_sectors - 1;
  Put32(e + 12, size > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(size));
  m[510] = 0x55;
  m[511] = 0xAA;
  return m;
}

// One parsed copy (primary or backup) of the header and its entries.
Expected<GptTable> ReadCopy(const Device& dev, uint64_t header_lba) {
  const uint32_t ss = dev.sector_size();
  const uint64_t sectors = dev.sectors();
  if (header_lba >= sectors) {
    return Error("header LBA " + std::to_string(header_lba) + " is beyond the end of the disk");
  }
  std::vector<uint8_t> h(ss);
  if (auto st = dev.ReadAt(header_lba * ss, h.data(), h.size()); !st) return st.error();
  if (std::memcmp(h.data(), kSignature, 8) != 0) {
    return Error("no GPT signature at LBA " + std::to_string(header_lba));
  }
  uint32_t header_size = Get32(h.data() + 12);
  if (header_size < kHeaderSize || header_size > ss) {
    return Error("header size " + std::to_string(header_size) + " is invalid");
  }
  uint32_t want_crc = Get32(h.data() + 16);
  Put32(h.data() + 16, 0);
  if (Crc32(h.data(), header_size) != want_crc) return Error("header checksum mismatch");
  GptTable t;
  t.sector_size = ss;
  t.disk_sectors = sectors;
  uint64_t my_lba = Get64(h.data() + 24);
  if (my_lba != header_lba) {
    return Error("header says it is at LBA " + std::to_string(my_lba) + ", found at " +
                 std::to_string(header_lba));
  }
  t.first_usable_lba = Get64(h.data() + 40);
  t.last_usable_lba = Get64(h.data() + 48);
  t.disk_guid = Guid::FromDisk(h.data() + 56);
  uint64_t entries_lba = Get64(h.data() + 72);
  t.entry_count = Get32(h.data() + 80);
  t.entry_size = Get32(h.data() + 84);
  uint32_t entries_crc = Get32(h.data() + 88);
  if (t.first_usable_lba > t.last_usable_lba || t.last_usable_lba >= sectors) {
    return Error("usable range " + std::to_string(t.first_usable_lba) + "-" +
                 std::to_string(t.last_usable_lba) + " does not fit a disk of " +
                 std::to_string(sectors) + " sectors");
  }
  if (t.entry_size < 128 || t.entry_size > 4096 || t.entry_size % 8 != 0) {
    return Error("entry size " + std::to_string(t.entry_size) + " is invalid");
  }
  uint64_t array_bytes = uint64_t{t.entry_count} * t.entry_size;
  if (t.entry_count == 0 || array_bytes > kMaxEntryArrayBytes) {
    return Error("entry count " + std::to_string(t.entry_count) + " is invalid");
  }
  uint64_t array_sectors = EntryArraySectors(t);
  if (entries_lba < 1 || entries_lba >= sectors || sectors - entries_lba < array_sectors) {
    return Error("entry array at LBA " + std::to_string(entries_lba) + " lies outside the disk");
  }
  uint64_t array_last = entries_lba + array_sectors - 1;
  if (!(array_last < t.first_usable_lba || entries_lba > t.last_usable_lba)) {
    return Error("entry array at LBA " + std::to_string(entries_lba) +
                 " overlaps the usable area");
  }
  std::vector<uint8_t> entries(array_sectors * ss);
  if (auto st = dev.ReadAt(entries_lba * ss, entries.data(), entries.size()); !st) {
    return st.error();
  }
  if (Crc32(entries.data(), array_bytes) != entries_crc) {
    return Error("partition entries checksum mismatch");
  }
  for (uint32_t i = 0; i < t.entry_count; ++i) {
    const uint8_t* e = entries.data() + static_cast<size_t>(i) * t.entry_size;
    GptPartition p;
    p.type = Guid::FromDisk(e);
    if (p.type.IsZero()) continue;
    p.number = static_cast<int>(i + 1);
    p.unique = Guid::FromDisk(e + 16);
    p.first_lba = Get64(e + 32);
    p.last_lba = Get64(e + 40);
    p.attributes = Get64(e + 48);
    p.name = DecodeName(e + 56);
    if (p.first_lba > p.last_lba || p.first_lba < t.first_usable_lba ||
        p.last_lba > t.last_usable_lba) {
      return Error("partition " + std::to_string(p.number) + " ('" + p.name + "') LBA range " +
                   std::to_string(p.first_lba) + "-" + std::to_string(p.last_lba) +
                   " lies outside the usable area");
    }
    t.partitions.push_back(p);
  }
  std::vector<const GptPartition*> by_start;
  for (const auto& p : t.partitions) by_start.push_back(&p);
  std::sort(by_start.begin(), by_start.end(),
            [](const GptPartition* a, const GptPartition* b) { return a->first_lba < b->first_lba; });
  for (size_t i = 1; i < by_start.size(); ++i) {
    if (by_start[i]->first_lba <= by_start[i - 1]->last_lba) {
      return Error("partitions " + std::to_string(by_start[i - 1]->number) + " and " +
                   std::to_string(by_start[i]->number) + " overlap");
    }
  }
  return t;
}

}  // namespace

const GptPartition* GptTable::FindByName(const std::string& name) const {
  for (const auto& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

Expected<GptTable> TableFromPlan(const PartitionPlan& plan) {
  GptTable t;
  t.sector_size = plan.sector_size;
  t.disk_sectors = plan.disk_sectors;
  t.first_usable_lba = plan.first_usable_lba;
  t.last_usable_lba = plan.last_usable_lba;
  auto disk_guid = Guid::Random();
  if (!disk_guid) return disk_guid.error();
  t.disk_guid = *disk_guid;
  for (const auto& pp : plan.partitions) {
    GptPartition p;
    p.number = pp.number;
    p.type = pp.type;
    auto unique = Guid::Random();
    if (!unique) return unique.error();
    p.unique = *unique;
    p.first_lba = pp.first_lba;
    p.last_lba = pp.last_lba;
    p.name = pp.label;
    t.partitions.push_back(p);
  }
  return t;
}

Status WriteGpt(Device& dev, const GptTable& t) {
  const std::string what = "writing the partition table to '" + dev.path() + "'";
  if (dev.sector_size() != t.sector_size) {
    return Error(what + ": the table is for " + std::to_string(t.sector_size) +
                 "-byte sectors, the device has " + std::to_string(dev.sector_size()));
  }
  if (dev.sectors() < t.disk_sectors) {
    return Error(what + ": the table is for " + std::to_string(t.disk_sectors) +
                 " sectors, the device has only " + std::to_string(dev.sectors()));
  }
  auto entries = SerializeEntries(t);
  if (!entries) return entries.error().Wrap(what);
  const uint64_t array_sectors = EntryArraySectors(t);
  const uint64_t last = t.disk_sectors - 1;
  if (t.first_usable_lba < 2 + array_sectors || t.last_usable_lba + array_sectors + 1 > last) {
    return Error(what + ": usable range leaves no room for the entry arrays");
  }
  const uint32_t entries_crc =
      Crc32(entries->data(), static_cast<size_t>(t.entry_count) * t.entry_size);
  const uint64_t backup_entries_lba = last - array_sectors;
  auto primary = SerializeHeader(t, 1, last, 2, entries_crc);
  auto backup = SerializeHeader(t, last, 1, backup_entries_lba, entries_crc);
  auto mbr = ProtectiveMbr(t);
  const uint64_t ss = t.sector_size;
  // Backup first: if we stop half way, the old primary (or the new backup)
  // is still a consistent table.
  if (auto st = dev.WriteAt(backup_entries_lba * ss, entries->data(), entries->size()); !st) {
    return st.error().Wrap(what);
  }
  if (auto st = dev.WriteAt(last * ss, backup.data(), backup.size()); !st) return st.error().Wrap(what);
  if (auto st = dev.WriteAt(2 * ss, entries->data(), entries->size()); !st) return st.error().Wrap(what);
  if (auto st = dev.WriteAt(1 * ss, primary.data(), primary.size()); !st) return st.error().Wrap(what);
  if (auto st = dev.WriteAt(0, mbr.data(), mbr.size()); !st) return st.error().Wrap(what);
  // Zero the alignment gap before the first partition (at most 1 MiB): old
  // content there, such as the "CD001" of a live ISO once written to this
  // disk, would make the disk look like boot media to select.hpp.
  uint64_t first_part = t.last_usable_lba + 1;
  for (const auto& p : t.partitions) first_part = std::min(first_part, p.first_lba);
  uint64_t gap_end = std::min(first_part, t.first_usable_lba + kMiB / ss);
  if (gap_end > t.first_usable_lba) {
    std::vector<uint8_t> zeros((gap_end - t.first_usable_lba) * ss, 0);
    if (auto st = dev.WriteAt(t.first_usable_lba * ss, zeros.data(), zeros.size()); !st) {
      return st.error().Wrap(what);
    }
  }
  if (auto st = dev.Sync(); !st) return st.error().Wrap(what);
  return Status::Ok();
}

Expected<GptTable> ReadGpt(const Device& dev) {
  const std::string what = "no valid GPT on '" + dev.path() + "'";
  if (dev.sectors() < 3) return Error(what + ": the disk is too small");
  auto primary = ReadCopy(dev, 1);
  if (primary) return primary;
  auto backup = ReadCopy(dev, dev.sectors() - 1);
  if (!backup) {
    return Error(what + ": primary: " + primary.error().message() +
                 "; backup: " + backup.error().message());
  }
  backup->from_backup = true;
  backup->primary_problem = primary.error().message();
  return backup;
}

Status ReloadPartitions(Device& dev, const GptTable& t) {
  if (!dev.is_block_device()) return Status::Ok();
  const std::string what = "re-reading the partition table of '" + dev.path() + "'";
  if (ioctl(dev.fd(), BLKRRPART) != 0) {
    int err = errno;
    if (err == EINVAL) {
      return Error(what + ": the device does not support partitions (a loop device needs "
                          "LO_FLAGS_PARTSCAN)", err);
    }
    return ErrnoError(what, err);
  }
  // After a successful re-read the kernel holds exactly what its own GPT
  // parser found on disk, so a partition that already exists (EBUSY) is the
  // one we wrote. Kernels without a GPT parser get them added here.
  for (const auto& p : t.partitions) {
    struct blkpg_partition part {};
    part.start = static_cast<long long>(p.first_lba * t.sector_size);
    part.length = static_cast<long long>((p.last_lba - p.first_lba + 1) * t.sector_size);
    part.pno = p.number;
    struct blkpg_ioctl_arg arg {};
    arg.op = BLKPG_ADD_PARTITION;
    arg.datalen = sizeof(part);
    arg.data = &part;
    if (ioctl(dev.fd(), BLKPG, &arg) != 0 && errno != EBUSY) {
      return ErrnoError("adding partition " + std::to_string(p.number) + " of '" + dev.path() +
                        "' to the kernel", errno);
    }
  }
  return Status::Ok();
}

}  // namespace elemental::disk
