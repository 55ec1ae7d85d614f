// Base64 and gzip decoding for write_files. See codec.hpp.
#include "cloudinit/codec.hpp"

#include <zlib.h>

#include <cstring>
#include <memory>

namespace elemental::cloudinit {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string Printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  static const char* hex = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  return std::string("0x") + hex[u >> 4] + hex[u & 15];
}

struct InflateDeleter {
  void operator()(z_stream* s) const {
    inflateEnd(s);
    delete s;
  }
};

}  // namespace

Expected<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t digits = 0;   // base64 digits seen
  size_t padding = 0;  // '=' seen
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = Base64Value(c);
    if (v < 0) {
      return Error("invalid base64: unexpected character " + Printable(c) + " at offset " +
                   std::to_string(i));
    }
    if (padding > 0) return Error("invalid base64: data after padding");
    ++digits;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // A last group of one digit carries less than a byte; padding, when
  // present, must complete the group of four.
  if (digits % 4 == 1) return Error("invalid base64: truncated");
  if (padding > 0 && (digits + padding) % 4 != 0) return Error("invalid base64: wrong padding");
  if (padding > 2) return Error("invalid base64: wrong padding");
  return out;
}

Expected<std::string> Gunzip(std::string_view data, size_t max_bytes) {
  std::unique_ptr<z_stream, InflateDeleter> zs(new z_stream);
  std::memset(zs.get(), 0, sizeof(z_stream));
  // 16 + MAX_WBITS: a gzip wrapper is required (not raw deflate or zlib).
  if (inflateInit2(zs.get(), 16 + MAX_WBITS) != Z_OK) {
    delete zs.release();
    return Error("invalid gzip data: cannot initialise zlib");
  }
  if (data.empty()) return Error("invalid gzip data: empty");
  std::string out;
  char buf[64 * 1024];
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs->avail_in = static_cast<uInt>(data.size());
  while (true) {
    zs->next_out = reinterpret_cast<Bytef*>(buf);
    zs->avail_out = sizeof(buf);
    const int r = inflate(zs.get(), Z_NO_FLUSH);
    const size_t got = sizeof(buf) - zs->avail_out;
    if (out.size() + got > max_bytes) {
      return Error("gzip data expands beyond " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, got);
    if (r == Z_STREAM_END) {
      if (zs->avail_in == 0) break;
      // Another member follows (what `cat a.gz b.gz` gives, and gzip -d reads).
      if (inflateReset(zs.get()) != Z_OK) return Error("invalid gzip data: cannot reset zlib");
      continue;
    }
    if (r == Z_BUF_ERROR && zs->avail_in == 0) return Error("invalid gzip data: truncated");
    if (r != Z_OK) {
      return Error(std::string("invalid gzip data: ") + (zs->msg != nullptr ? zs->msg : "corrupt"));
    }
  }
  return out;
}

}  // namespace elemental::cloudinit
