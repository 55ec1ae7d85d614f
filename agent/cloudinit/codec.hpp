// Decoders for write_files content: standard base64 (RFC 4648, as cloud-init
// reads it) and gzip (zlib does the inflating, inside codec.cpp only).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace elemental::cloudinit {

// Standard alphabet; whitespace (space, tab, CR, LF) is skipped, "=" padding
// is optional. Errors: "invalid base64: unexpected character '%' at offset
// 12", "invalid base64: data after padding", "invalid base64: truncated".
Expected<std::string> Base64Decode(std::string_view text);

// Largest gunzip output accepted (a gzip bomb in a cloud-config is an error,
// not an exhausted host).
inline constexpr size_t kMaxGunzipBytes = 256u << 20;

// One or more concatenated gzip members. Errors: "invalid gzip data: <zlib
// message>", "invalid gzip data: truncated", "gzip data expands beyond N
// bytes".
Expected<std::string> Gunzip(std::string_view data, size_t max_bytes = kMaxGunzipBytes);

}  // namespace elemental::cloudinit
