// GUIDs as GPT stores them: 16 bytes, with the first three fields
// little-endian on disk ("mixed endian"), written as text in the usual
// 8-4-4-4-12 form.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/expected.hpp"

namespace elemental::disk {

struct Guid {
  // Bytes in text order (RFC 4122 / big-endian), not on-disk order.
  std::array<uint8_t, 16> bytes{};

  bool IsZero() const;
  // Upper-case "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".
  std::string ToString() const;
  // On-disk (GPT) byte order.
  std::array<uint8_t, 16> ToDisk() const;
  static Guid FromDisk(const uint8_t* disk16);
  // Accepts upper or lower case hex; errors: "invalid GUID '<text>'".
  static Expected<Guid> Parse(const std::string& text);
  // A random (version 4) GUID from getrandom(2). Errors carry errno.
  static Expected<Guid> Random();

  bool operator==(const Guid& o) const { return bytes == o.bytes; }
  bool operator!=(const Guid& o) const { return !(*this == o); }
};

// Partition type GUIDs this layout uses.
extern const Guid kEspTypeGuid;            // C12A7328-F81F-11D2-BA4B-00A0C93EC93B
extern const Guid kLinuxFilesystemTypeGuid;  // 0FC63DAF-8483-4772-8E79-3D69D8477DE4

}  // namespace elemental::disk
