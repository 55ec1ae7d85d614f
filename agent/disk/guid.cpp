// GUID text/disk conversions and random GUIDs (see guid.hpp).
#include "disk/guid.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>

namespace elemental::disk {

namespace {

Guid MustParse(const char* text) {
  auto g = Guid::Parse(text);
  return g ? *g : Guid{};
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const Guid kEspTypeGuid = MustParse("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
const Guid kLinuxFilesystemTypeGuid = MustParse("0FC63DAF-8483-4772-8E79-3D69D8477DE4");

bool Guid::IsZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string Guid::ToString() const {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

// The first three fields (4, 2 and 2 bytes) are stored little-endian.
std::array<uint8_t, 16> Guid::ToDisk() const {
  std::array<uint8_t, 16> d = bytes;
  d[0] = bytes[3]; d[1] = bytes[2]; d[2] = bytes[1]; d[3] = bytes[0];
  d[4] = bytes[5]; d[5] = bytes[4];
  d[6] = bytes[7]; d[7] = bytes[6];
  return d;
}

Guid Guid::FromDisk(const uint8_t* d) {
  Guid g;
  for (size_t i = 0; i < 16; ++i) g.bytes[i] = d[i];
  g.bytes[0] = d[3]; g.bytes[1] = d[2]; g.bytes[2] = d[1]; g.bytes[3] = d[0];
  g.bytes[4] = d[5]; g.bytes[5] = d[4];
  g.bytes[6] = d[7]; g.bytes[7] = d[6];
  return g;
}

Expected<Guid> Guid::Parse(const std::string& text) {
  Error bad("invalid GUID '" + text + "'");
  if (text.size() != 36) return bad;
  Guid g;
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return bad;
      ++i;
      continue;
    }
    int hi = HexValue(text[i]);
    int lo = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || out >= 16) return bad;
    g.bytes[out++] = static_cast<uint8_t>(hi * 16 + lo);
    i += 2;
  }
  if (out != 16) return bad;
  return g;
}

Expected<Guid> Guid::Random() {
  Guid g;
  size_t got = 0;
  while (got < g.bytes.size()) {
    ssize_t n = getrandom(g.bytes.data() + got, g.bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("generating a random GUID", errno);
    }
    got += static_cast<size_t>(n);
  }
  g.bytes[6] = static_cast<uint8_t>((g.bytes[6] & 0x0F) | 0x40);  // version 4
  g.bytes[8] = static_cast<uint8_t>((g.bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return g;
}

}  // namespace elemental::disk
