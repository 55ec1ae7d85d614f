// Keeping the slot state record on disk so that a power cut at any instant
// leaves one consistent record (the scheme is described in README.md,
// "Storage"): two copies, `slot-record.0` and `slot-record.1`, each with a
// sequence number and a CRC-32, each replaced by write-temp + fsync + rename +
// fsync of the directory. A reader takes the newest copy that checks out, so
// one torn or bit-rotted copy costs nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"
#include "slots/file_ops.hpp"
#include "slots/record.hpp"

namespace elemental::slots {

// Where `elemental-agent state` looks by default: the record lives on
// COS_OEM, which the installed OS mounts at /oem.
constexpr const char* kDefaultStateDir = "/oem/elemental/state";

// The names of the two copies inside the state directory.
constexpr const char* kCopyNames[2] = {"slot-record.0", "slot-record.1"};

// Error code of Store::Load when both copies exist but neither checks out.
constexpr int kRecordDamaged = 74;  // EBADMSG on Linux

struct Loaded {
  // The newest valid record; nullopt when there is no record at all (fresh
  // disk: neither copy exists).
  std::optional<Record> record;
  // One line per copy that exists but did not check out ("slot-record.1:
  // checksum mismatch"); the next Save rewrites it.
  std::vector<std::string> damaged;
};

// A copy's file content: a header line with the length and CRC-32 of the
// JSON that follows. Never fails.
std::string EncodeCopy(const Record& r);
// Parses and checks one copy. Errors: "bad header", "length mismatch",
// "checksum mismatch", JSON and Decode errors.
Expected<Record> DecodeCopy(std::string_view content);

// CRC-32 (IEEE 802.3, as zlib's crc32). Never fails.
uint32_t Crc32(std::string_view data);

class Store {
 public:
  // `dir` is the state directory (on COS_OEM); `ops` is used for every file
  // operation and must outlive the Store.
  Store(FileOps& ops, std::string dir) : ops_(ops), dir_(std::move(dir)) {}

  // Reads both copies. Errors: a copy that cannot be read for another reason
  // than ENOENT (EIO ...), and "both copies of the slot state record in
  // '<dir>' are damaged: ..." with code kRecordDamaged when copies exist but
  // none checks out.
  Expected<Loaded> Load();

  // Writes `record` with sequence = (newest valid copy's sequence) + 1 to
  // both copies, the copy not holding the current record first, so a valid
  // copy of either the old or the new record exists at every instant. Sets
  // record.sequence. Creates the directory when missing. The record must
  // pass Validate. Errors name the step and the file.
  Status Save(Record& record);

  const std::string& dir() const { return dir_; }

 private:
  Status WriteCopy(int index, const std::string& content);

  FileOps& ops_;
  std::string dir_;
};

}  // namespace elemental::slots
