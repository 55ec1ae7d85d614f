// Host identity: an Ed25519 key pair, its PEM encodings, and host JWTs.
//
// The private key lives in <workDir>/private.key as PEM "PRIVATE KEY"
// (PKCS#8, RFC 8410), mode 0600; it is created when missing. The public key
// sent at registration is PEM "PUBLIC KEY" (SubjectPublicKeyInfo, OID
// 1.3.101.112). Signatures come from libsodium.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::identity {

inline constexpr const char* kPrivateKeyFile = "private.key";

class Identity {
 public:
  // An all-zero key; use one of the factories below to get a real one.
  Identity() = default;
  Identity(const Identity&) = default;
  Identity& operator=(const Identity&) = default;
  // Wipes the seed (sodium_memzero).
  ~Identity();

  // A new random key pair.
  static Expected<Identity> Generate();
  // From a 32-byte Ed25519 seed (RFC 8032 private key).
  static Expected<Identity> FromSeed(const std::array<uint8_t, 32>& seed);
  // Parses PEM "PRIVATE KEY" (PKCS#8 Ed25519). Errors say what was wrong
  // without echoing key material.
  static Expected<Identity> FromPem(const std::string& pem);
  // Loads <dir>/private.key, or generates a key and writes it (mode 0600,
  // written to a temp file, fsynced and renamed into place; <dir> is created
  // with mode 0700 when missing). A file that exists but does not parse is
  // an error and is left untouched. The private PEM is registered with
  // log::AddSecret.
  static Expected<Identity> LoadOrCreate(const std::string& dir);

  // PEM "PRIVATE KEY" (PKCS#8) of this key.
  std::string MarshalPrivatePem() const;
  // PEM "PUBLIC KEY" (SubjectPublicKeyInfo).
  std::string MarshalPublicPem() const;
  const std::array<uint8_t, 32>& public_key() const { return public_key_; }

  // Ed25519 signature of `data` (64 bytes).
  std::vector<uint8_t> Sign(const std::string& data) const;
  // A compact JWT: header {"alg":"EdDSA","typ":"JWT"}, the given claims,
  // base64url without padding.
  std::string SignJwt(const json::Value& claims) const;

 private:
  std::array<uint8_t, 32> seed_{};
  std::array<uint8_t, 32> public_key_{};
};

// Host token claims as upstream's client.newToken: iat=now, nbf=now-2s,
// exp=now+60s, iss=issuer, sub=host name, aud=[registration URI].
json::Value HostTokenClaims(const std::string& issuer, const std::string& hostname,
                            const std::string& registration_uri,
                            std::chrono::system_clock::time_point now);

// base64url without padding, and its inverse (which rejects bad input).
std::string Base64UrlEncode(const std::string& data);
Expected<std::string> Base64UrlDecode(const std::string& text);

}  // namespace elemental::identity
