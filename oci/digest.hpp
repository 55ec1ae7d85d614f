// Streaming SHA-256 for manifests and blobs, and "sha256:<hex>" digests.
// mbedTLS does the hashing inside digest.cpp; no mbedTLS type appears here.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace elemental::oci {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t len);
  // "sha256:<64 lowercase hex>"; the hasher must not be used afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The digest of a whole buffer, "sha256:<hex>".
std::string DigestOf(std::string_view data);

// Checks that `digest` names a supported algorithm (sha256) and is well formed.
// Error: "unsupported digest '<d>'".
Status ValidateDigest(const std::string& digest);

// Ok when `actual` equals `expected`; else
// "digest mismatch: expected <expected>, got <actual>".
Status CheckDigest(const std::string& expected, const std::string& actual);

}  // namespace elemental::oci
