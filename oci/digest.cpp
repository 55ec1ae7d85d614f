// SHA-256 over mbedTLS (see digest.hpp).
#include "oci/digest.hpp"

// mbedTLS 2.28 (Debian's and the toolchain's): the *_ret functions are the non-deprecated ones.
#include <mbedtls/sha256.h>

namespace elemental::oci {

struct Sha256::Impl {
  mbedtls_sha256_context ctx;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  mbedtls_sha256_init(&impl_->ctx);
  mbedtls_sha256_starts_ret(&impl_->ctx, 0);
}

Sha256::~Sha256() { mbedtls_sha256_free(&impl_->ctx); }

void Sha256::Update(const void* data, size_t len) {
  mbedtls_sha256_update_ret(&impl_->ctx, static_cast<const unsigned char*>(data), len);
}

std::string Sha256::Finish() {
  unsigned char out[32];
  mbedtls_sha256_finish_ret(&impl_->ctx, out);
  static const char kHex[] = "0123456789abcdef";
  std::string s = "sha256:";
  for (unsigned char b : out) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

std::string DigestOf(std::string_view data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

Status ValidateDigest(const std::string& digest) {
  bool ok = digest.size() == 71 && digest.rfind("sha256:", 0) == 0;
  for (size_t i = 7; ok && i < digest.size(); ++i) {
    char c = digest[i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (!ok) return Error("unsupported digest '" + digest + "'");
  return Status::Ok();
}

Status CheckDigest(const std::string& expected, const std::string& actual) {
  if (expected != actual) {
    return Error("digest mismatch: expected " + expected + ", got " + actual);
  }
  return Status::Ok();
}

}  // namespace elemental::oci
