// Host identity: Ed25519 keys through libsodium, their PEM/DER wrappers, the
// key file (read and written power-safe through common/fs), and compact JWTs
// (RFC 7519 with EdDSA, RFC 8037).
//
// The DER structures are fixed for Ed25519 (RFC 8410), so they are written
// by hand rather than through an ASN.1 library:
//   PKCS#8:  30 2e 02 01 00 30 05 06 03 2b 65 70 04 22 04 20 <32-byte seed>
//   SPKI:    30 2a 30 05 06 03 2b 65 70 03 21 00 <32-byte public key>
// Parsing is a small, strict DER reader that also accepts the PKCS#8 v2
// form (RFC 5958 OneAsymmetricKey) with an embedded public key, as long as
// that key matches the seed.
#include "identity/identity.hpp"

#include <sodium.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace elemental::identity {
namespace {

constexpr uint8_t kPkcs8Prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                    0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
constexpr uint8_t kSpkiPrefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                   0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr uint8_t kEd25519Oid[] = {0x2b, 0x65, 0x70};  // 1.3.101.112

constexpr const char* kPrivateLabel = "PRIVATE KEY";
constexpr const char* kPublicLabel = "PUBLIC KEY";
// A key file is ~120 bytes; anything much larger is not one.
constexpr size_t kMaxKeyFileBytes = 64 * 1024;

// The JWT header, byte for byte as golang-jwt writes it for EdDSA.
constexpr const char* kJwtHeader = R"({"alg":"EdDSA","typ":"JWT"})";

Status InitSodium() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = sodium_init(); });
  if (rc < 0) return Error("initializing libsodium failed");
  return Status::Ok();
}

// Wipes a string's bytes before it is freed.
struct WipedString {
  std::string s;
  ~WipedString() {
    if (!s.empty()) sodium_memzero(s.data(), s.size());
  }
};

std::string Base64Encode(const uint8_t* data, size_t len, int variant) {
  std::string out(sodium_base64_encoded_len(len, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, len, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes base64 of the given variant, skipping the characters in `ignore`.
// Returns false on any invalid input.
bool Base64Decode(const std::string& text, int variant, const char* ignore, std::string& out) {
  out.assign(text.size() / 4 * 3 + 3, '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), ignore, &len, nullptr, variant) != 0) {
    sodium_memzero(out.data(), out.size());
    out.clear();
    return false;
  }
  out.resize(len);
  return true;
}

std::string PemEncode(const char* label, const uint8_t* der, size_t len) {
  std::string b64 = Base64Encode(der, len, sodium_base64_VARIANT_ORIGINAL);
  std::string out = std::string("-----BEGIN ") + label + "-----\n";
  for (size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64);
    out.push_back('\n');
  }
  out += std::string("-----END ") + label + "-----\n";
  sodium_memzero(b64.data(), b64.size());
  return out;
}

// Finds the first PEM block and returns its DER bytes. Text before and after
// the block is ignored (as Go's pem.Decode does); PEM headers (encrypted
// keys) are refused. Messages never include the encoded bytes.
Expected<std::string> PemDecode(const std::string& pem, const std::string& want_label) {
  const std::string begin = "-----BEGIN ";
  size_t b = pem.find(begin);
  if (b == std::string::npos) return Error("no PEM data found");
  size_t label_start = b + begin.size();
  size_t label_end = pem.find("-----", label_start);
  if (label_end == std::string::npos) return Error("malformed PEM BEGIN line");
  std::string label = pem.substr(label_start, label_end - label_start);
  if (label.size() > 64 || label.find('\n') != std::string::npos) {
    return Error("malformed PEM BEGIN line");
  }
  if (label != want_label) {
    return Error("PEM block is '" + label + "', want '" + want_label + "'");
  }
  size_t body_start = label_end + 5;
  const std::string end = "-----END " + want_label + "-----";
  size_t e = pem.find(end, body_start);
  if (e == std::string::npos) return Error("PEM block has no '" + end + "' line");
  WipedString wipe{pem.substr(body_start, e - body_start)};
  if (wipe.s.find(':') != std::string::npos) {
    return Error("PEM headers (for example an encrypted key) are not supported");
  }
  std::string der;
  if (!Base64Decode(wipe.s, sodium_base64_VARIANT_ORIGINAL, " \t\r\n", der)) {
    return Error("PEM block is not valid base64");
  }
  if (der.empty()) return Error("PEM block is empty");
  return der;
}

// A minimal DER reader: one tag-length-value at a time.
struct Tlv {
  uint8_t tag = 0;
  const uint8_t* data = nullptr;
  size_t len = 0;
};

class DerReader {
 public:
  DerReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }

  Expected<Tlv> Next(const char* what) {
    if (n_ < 2) return Error(std::string("DER: truncated ") + what);
    Tlv t;
    t.tag = p_[0];
    size_t len = p_[1];
    size_t hdr = 2;
    if (len & 0x80) {
      size_t nbytes = len & 0x7f;
      if (nbytes == 0 || nbytes > 2) return Error(std::string("DER: bad length in ") + what);
      if (n_ < 2 + nbytes) return Error(std::string("DER: truncated ") + what);
      len = 0;
      for (size_t i = 0; i < nbytes; ++i) len = (len << 8) | p_[2 + i];
      hdr += nbytes;
    }
    if (n_ - hdr < len) return Error(std::string("DER: truncated ") + what);
    t.data = p_ + hdr;
    t.len = len;
    p_ += hdr + len;
    n_ -= hdr + len;
    return t;
  }

 private:
  const uint8_t* p_;
  size_t n_;
};

std::string OidToString(const uint8_t* p, size_t n) {
  if (n == 0) return "(empty)";
  std::string out = std::to_string(p[0] / 40) + "." + std::to_string(p[0] % 40);
  uint64_t v = 0;
  for (size_t i = 1; i < n && i < 32; ++i) {
    v = (v << 7) | (p[i] & 0x7f);
    if (!(p[i] & 0x80)) {
      out += "." + std::to_string(v);
      v = 0;
    }
  }
  return out;
}

// Parses PKCS#8 Ed25519 DER into the seed; `embedded_pub` is set when the
// v2 form carries a public key.
Status ParsePkcs8(const std::string& der, std::array<uint8_t, 32>& seed,
                  std::optional<std::array<uint8_t, 32>>& embedded_pub) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(der.data());
  DerReader top(bytes, der.size());
  auto outer = top.Next("PKCS#8 structure");
  if (!outer) return outer.error();
  if (outer->tag != 0x30) return Error("PKCS#8: not a DER SEQUENCE");
  if (!top.empty()) return Error("PKCS#8: trailing data after the key");

  DerReader seq(outer->data, outer->len);
  auto version = seq.Next("PKCS#8 version");
  if (!version) return version.error();
  if (version->tag != 0x02 || version->len != 1 || version->data[0] > 1) {
    return Error("PKCS#8: unsupported version");
  }
  auto alg = seq.Next("PKCS#8 algorithm");
  if (!alg) return alg.error();
  if (alg->tag != 0x30) return Error("PKCS#8: malformed algorithm identifier");
  DerReader alg_seq(alg->data, alg->len);
  auto oid = alg_seq.Next("PKCS#8 algorithm OID");
  if (!oid) return oid.error();
  if (oid->tag != 0x06) return Error("PKCS#8: malformed algorithm identifier");
  if (oid->len != sizeof(kEd25519Oid) || std::memcmp(oid->data, kEd25519Oid, oid->len) != 0) {
    return Error("PKCS#8: not an Ed25519 key (algorithm OID " + OidToString(oid->data, oid->len) +
                 ", want 1.3.101.112)");
  }
  if (!alg_seq.empty()) return Error("PKCS#8: Ed25519 algorithm identifier must have no parameters");

  auto priv = seq.Next("PKCS#8 private key");
  if (!priv) return priv.error();
  if (priv->tag != 0x04) return Error("PKCS#8: private key is not an OCTET STRING");
  DerReader priv_inner(priv->data, priv->len);
  auto key = priv_inner.Next("Ed25519 private key");
  if (!key) return key.error();
  if (key->tag != 0x04 || !priv_inner.empty()) {
    return Error("PKCS#8: Ed25519 private key is not an OCTET STRING");
  }
  if (key->len != 32) {
    return Error("PKCS#8: Ed25519 private key must be 32 bytes, got " + std::to_string(key->len));
  }
  std::memcpy(seed.data(), key->data, 32);

  // Optional v2 trailers: [0] attributes, [1] public key.
  while (!seq.empty()) {
    auto t = seq.Next("PKCS#8 optional field");
    if (!t) return t.error();
    if (t->tag == 0xa0) continue;  // attributes: ignored
    if (t->tag == 0x81) {          // [1] IMPLICIT BIT STRING
      if (t->len != 33 || t->data[0] != 0) return Error("PKCS#8: malformed embedded public key");
      std::array<uint8_t, 32> pub{};
      std::memcpy(pub.data(), t->data + 1, 32);
      embedded_pub = pub;
      continue;
    }
    return Error("PKCS#8: unexpected field after the private key");
  }
  return Status::Ok();
}

}  // namespace

Identity::~Identity() { sodium_memzero(seed_.data(), seed_.size()); }

Expected<Identity> Identity::Generate() {
  if (auto st = InitSodium(); !st) return st.error();
  std::array<uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto id = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Expected<Identity> Identity::FromSeed(const std::array<uint8_t, 32>& seed) {
  if (auto st = InitSodium(); !st) return st.error();
  Identity id;
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  if (crypto_sign_seed_keypair(id.public_key_.data(), sk, seed.data()) != 0) {
    sodium_memzero(sk, sizeof(sk));
    return Error("deriving Ed25519 key pair failed");
  }
  sodium_memzero(sk, sizeof(sk));
  id.seed_ = seed;
  return id;
}

Expected<Identity> Identity::FromPem(const std::string& pem) {
  auto der = PemDecode(pem, kPrivateLabel);
  if (!der) return der.error().Wrap("parsing Ed25519 private key");
  WipedString wipe{std::move(*der)};
  std::array<uint8_t, 32> seed{};
  std::optional<std::array<uint8_t, 32>> embedded_pub;
  Status st = ParsePkcs8(wipe.s, seed, embedded_pub);
  if (!st) {
    sodium_memzero(seed.data(), seed.size());
    return st.error().Wrap("parsing Ed25519 private key");
  }
  auto id = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  if (!id) return id.error();
  if (embedded_pub && *embedded_pub != id->public_key_) {
    return Error("parsing Ed25519 private key: PKCS#8: embedded public key does not match the private key");
  }
  log::AddSecret(pem);
  return id;
}

Expected<Identity> Identity::LoadOrCreate(const std::string& dir) {
  if (dir.empty()) return Error("loading identity: no work directory given");
  const std::string path = dir + "/" + kPrivateKeyFile;
  auto text = fs::ReadFile(path, {.what = "key file", .max_bytes = kMaxKeyFileBytes});
  if (text) {
    WipedString wipe{std::move(*text)};
    auto id = FromPem(wipe.s);
    if (!id) return id.error().Wrap("loading identity from " + path);
    log::Debug("Loaded identity from " + path);
    return id;
  }
  if (text.error().code() != ENOENT) return text.error().Wrap("loading identity");

  log::Debug("Identity file " + path + " does not exist, creating a new one");
  auto id = Generate();
  if (!id) return id.error().Wrap("creating identity");
  if (auto st = fs::MkdirAll(dir, 0700); !st) return st.error().Wrap("creating identity");
  WipedString pem{id->MarshalPrivatePem()};
  log::AddSecret(pem.s);
  if (auto st = fs::WriteFileDurable(path, pem.s, 0600); !st) {
    return st.error().Wrap("writing identity");
  }
  return id;
}

std::string Identity::MarshalPrivatePem() const {
  uint8_t der[sizeof(kPkcs8Prefix) + 32];
  std::memcpy(der, kPkcs8Prefix, sizeof(kPkcs8Prefix));
  std::memcpy(der + sizeof(kPkcs8Prefix), seed_.data(), 32);
  std::string out = PemEncode(kPrivateLabel, der, sizeof(der));
  sodium_memzero(der, sizeof(der));
  return out;
}

std::string Identity::MarshalPublicPem() const {
  uint8_t der[sizeof(kSpkiPrefix) + 32];
  std::memcpy(der, kSpkiPrefix, sizeof(kSpkiPrefix));
  std::memcpy(der + sizeof(kSpkiPrefix), public_key_.data(), 32);
  return PemEncode(kPublicLabel, der, sizeof(der));
}

std::vector<uint8_t> Identity::Sign(const std::string& data) const {
  // libsodium's secret key is seed || public key.
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  std::memcpy(sk, seed_.data(), 32);
  std::memcpy(sk + 32, public_key_.data(), 32);
  std::vector<uint8_t> sig(crypto_sign_BYTES);
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size(), sk);
  sodium_memzero(sk, sizeof(sk));
  return sig;
}

std::string Identity::SignJwt(const json::Value& claims) const {
  std::string input = Base64UrlEncode(kJwtHeader) + "." + Base64UrlEncode(claims.Dump());
  std::vector<uint8_t> sig = Sign(input);
  return input + "." +
         Base64Encode(sig.data(), sig.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

json::Value HostTokenClaims(const std::string& issuer, const std::string& hostname,
                            const std::string& registration_uri,
                            std::chrono::system_clock::time_point now) {
  // JWT NumericDate with second precision, truncated as golang-jwt does.
  int64_t secs =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::Object claims;
  claims["iat"] = json::Value(secs);
  claims["nbf"] = json::Value(secs - 2);  // mitigates clock skew, as upstream
  claims["exp"] = json::Value(secs + 60);
  claims["iss"] = json::Value(issuer);
  claims["sub"] = json::Value(hostname);
  claims["aud"] = json::Value(json::Array{json::Value(registration_uri)});
  return json::Value(std::move(claims));
}

std::string Base64UrlEncode(const std::string& data) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Expected<std::string> Base64UrlDecode(const std::string& text) {
  if (auto st = InitSodium(); !st) return st.error();
  std::string out;
  if (!Base64Decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING, nullptr, out)) {
    return Error("invalid base64url data");
  }
  return out;
}

}  // namespace elemental::identity
