// Two checksummed copies of the slot state record, each replaced atomically.
#include "slots/store.hpp"

#include <array>
#include <cerrno>
#include <cstdio>

namespace elemental::slots {
namespace {

constexpr std::string_view kMagic = "elemental-slot-record";
// A record is a few KiB at most; anything larger is not ours.
constexpr size_t kMaxCopyBytes = 1 << 20;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string EncodeCopy(const Record& r) {
  std::string body = Encode(r).Dump() + "\n";
  char header[96];
  std::snprintf(header, sizeof(header), "%s crc32=%08x length=%zu\n", kMagic.data(), Crc32(body),
                body.size());
  return header + body;
}

Expected<Record> DecodeCopy(std::string_view content) {
  size_t nl = content.find('\n');
  if (nl == std::string_view::npos) return Error("bad header: no line break");
  std::string header(content.substr(0, nl));
  std::string_view body = content.substr(nl + 1);
  unsigned crc = 0;
  size_t length = 0;
  int consumed = 0;
  std::string fmt = std::string(kMagic) + " crc32=%8x length=%zu%n";
  if (std::sscanf(header.c_str(), fmt.c_str(), &crc, &length, &consumed) != 2 ||
      static_cast<size_t>(consumed) != header.size()) {
    return Error("bad header");
  }
  if (body.size() != length) {
    return Error("length mismatch: header says " + std::to_string(length) + " bytes, found " +
                 std::to_string(body.size()));
  }
  if (Crc32(body) != crc) return Error("checksum mismatch");
  auto doc = json::Parse(body);
  if (!doc) return doc.error();
  return Decode(*doc);
}

Expected<Loaded> Store::Load() {
  Loaded out;
  bool any_file = false;
  for (const char* name : kCopyNames) {
    std::string path = dir_ + "/" + name;
    auto content = ops_.Read(path, kMaxCopyBytes);
    if (!content) {
      if (content.error().code() == ENOENT) continue;
      if (content.error().code() == EFBIG) {
        any_file = true;
        out.damaged.push_back(std::string(name) + ": larger than " + std::to_string(kMaxCopyBytes) +
                              " bytes");
        continue;
      }
      return content.error().Wrap("reading the slot state record");
    }
    any_file = true;
    auto rec = DecodeCopy(*content);
    if (!rec) {
      out.damaged.push_back(std::string(name) + ": " + rec.error().message());
      continue;
    }
    // The newest valid copy wins; on a tie the first (both hold the same record
    // after a complete Save).
    if (!out.record || rec->sequence > out.record->sequence) out.record = std::move(*rec);
  }
  if (!out.record && any_file) {
    std::string msg = "both copies of the slot state record in '" + dir_ + "' are damaged";
    for (const auto& d : out.damaged) msg += (&d == &out.damaged.front() ? ": " : "; ") + d;
    return Error(msg, kRecordDamaged);
  }
  return out;
}

Status Store::WriteCopy(int index, const std::string& content) {
  std::string path = dir_ + "/" + kCopyNames[index];
  std::string tmp = path + ".tmp";
  auto fd = ops_.OpenForWrite(tmp);
  if (!fd) return fd.error().Wrap("writing '" + path + "'");
  Status st = ops_.Write(*fd, content);
  // fsync before rename: otherwise the rename may reach the disk before the
  // data, and a power cut leaves an empty or partial file under the real name.
  if (st) st = ops_.Fsync(*fd);
  Status closed = ops_.Close(*fd);
  if (st && !closed) st = closed;
  if (st) st = ops_.Rename(tmp, path);
  if (!st) {
    (void)ops_.Unlink(tmp);
    return st.error().Wrap("writing '" + path + "'");
  }
  // fsync the directory: the rename is only durable once the directory is.
  if (auto s = ops_.FsyncDir(dir_); !s) return s.error().Wrap("writing '" + path + "'");
  return Status::Ok();
}

Status Store::Save(Record& record) {
  if (auto st = Validate(record); !st) return st.error().Wrap("refusing to write the slot state record");
  if (auto st = ops_.MakeDirs(dir_); !st) return st.error().Wrap("writing the slot state record");
  // Which copy holds the current record decides the write order.
  int current = -1;
  uint64_t seq = 0;
  for (int i = 0; i < 2; ++i) {
    auto content = ops_.Read(dir_ + "/" + kCopyNames[i], kMaxCopyBytes);
    if (!content) {
      if (content.error().code() == ENOENT || content.error().code() == EFBIG) continue;
      return content.error().Wrap("writing the slot state record");
    }
    auto rec = DecodeCopy(*content);
    if (rec && (current < 0 || rec->sequence > seq)) {
      current = i;
      seq = rec->sequence;
    }
  }
  record.format_version = kFormatVersion;
  record.sequence = seq + 1;
  std::string content = EncodeCopy(record);
  int first = current < 0 ? 0 : 1 - current;
  for (int i : {first, 1 - first}) {
    if (auto st = WriteCopy(i, content); !st) return st.error().Wrap("saving the slot state record");
  }
  return Status::Ok();
}

}  // namespace elemental::slots
