// Host JWTs: the RFC 8037 test vector, token structure, claims as upstream's
// client.newToken, and an independent check with PyJWT when available.
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "identity/identity.hpp"

namespace elemental::identity {
namespace {

// RFC 8037 appendix A.1 (private key d, public key x), A.4 (signature).
constexpr const char* kRfcD = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
constexpr const char* kRfcX = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
constexpr const char* kRfcSigningInput = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
constexpr const char* kRfcSignature =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

Identity RfcIdentity() {
  auto d = Base64UrlDecode(kRfcD);
  EXPECT_TRUE(d.has_value());
  std::array<uint8_t, 32> seed{};
  EXPECT_EQ(d->size(), 32u);
  std::copy(d->begin(), d->end(), seed.begin());
  auto id = Identity::FromSeed(seed);
  EXPECT_TRUE(id.has_value());
  return *id;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p - start));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

TEST(JwtTest, Rfc8037PublicKeyFromSeed) {
  Identity id = RfcIdentity();
  const auto& pk = id.public_key();
  EXPECT_EQ(Base64UrlEncode(std::string(pk.begin(), pk.end())), kRfcX);
}

TEST(JwtTest, Rfc8037SignatureVector) {
  Identity id = RfcIdentity();
  std::vector<uint8_t> sig = id.Sign(kRfcSigningInput);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_EQ(Base64UrlEncode(std::string(sig.begin(), sig.end())), kRfcSignature);
}

TEST(JwtTest, Base64UrlRoundTripAndRejects) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len < 8; ++len) {
    std::string data = all.substr(200, len);
    std::string enc = Base64UrlEncode(data);
    EXPECT_EQ(enc.find('='), std::string::npos);
    auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(*dec, data);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("ab+/").has_value());   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("YWI=").has_value());   // padding
  EXPECT_FALSE(Base64UrlDecode("Y").has_value());      // impossible length
  EXPECT_FALSE(Base64UrlDecode("YW I").has_value());   // whitespace
  EXPECT_FALSE(Base64UrlDecode("YWJ").has_value());    // non-zero trailing bits
}

TEST(JwtTest, HostTokenClaimsMatchUpstream) {
  auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000999));
  json::Value c = HostTokenClaims("elemental-agent/1.2.3", "host-a",
                                  "https://example.com/elemental/v1/namespaces/default/registrations/r",
                                  now);
  EXPECT_EQ(c.Dump(),
            R"({"aud":["https://example.com/elemental/v1/namespaces/default/registrations/r"],)"
            R"("exp":1700000060,"iat":1700000000,"iss":"elemental-agent/1.2.3","nbf":1699999998,)"
            R"("sub":"host-a"})");
}

TEST(JwtTest, SignJwtStructureAndSignature) {
  auto id = Identity::Generate();
  ASSERT_TRUE(id.has_value());
  json::Value claims = HostTokenClaims("elemental-agent/test", "my-host", "https://x/reg",
                                       std::chrono::system_clock::now());
  std::string jwt = id->SignJwt(claims);
  auto parts = Split(jwt, '.');
  ASSERT_EQ(parts.size(), 3u) << jwt;
  for (const auto& p : parts) {
    EXPECT_EQ(p.find_first_of("=+/"), std::string::npos) << "not base64url without padding: " << p;
  }
  auto header = Base64UrlDecode(parts[0]);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(*header, R"({"alg":"EdDSA","typ":"JWT"})");
  auto payload = Base64UrlDecode(parts[1]);
  ASSERT_TRUE(payload.has_value());
  auto parsed = json::Parse(*payload);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, claims);

  auto sig = Base64UrlDecode(parts[2]);
  ASSERT_TRUE(sig.has_value());
  ASSERT_EQ(sig->size(), static_cast<size_t>(crypto_sign_BYTES));
  std::string input = parts[0] + "." + parts[1];
  EXPECT_EQ(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                        reinterpret_cast<const unsigned char*>(input.data()),
                                        input.size(), id->public_key().data()),
            0);
  // A changed payload must not verify.
  input[input.size() - 1] ^= 1;
  EXPECT_NE(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                        reinterpret_cast<const unsigned char*>(input.data()),
                                        input.size(), id->public_key().data()),
            0);
}

// PyJWT + python3-cryptography (Debian's) verify the token with the public
// PEM, as the test API server and the upstream Go server would.
TEST(JwtTest, VerifiedByPyJwt) {
  // tests/install-packages.sh installs them; missing means a broken setup, not a skip.
  ASSERT_EQ(std::system("/usr/bin/python3 -c 'import jwt, cryptography' >/dev/null 2>&1"), 0)
      << "/usr/bin/python3 with python3-jwt and python3-cryptography is needed";
  auto id = Identity::Generate();
  ASSERT_TRUE(id.has_value());
  const std::string uri = "https://example.com/elemental/v1/namespaces/ns/registrations/reg";
  std::string jwt = id->SignJwt(
      HostTokenClaims("elemental-agent/test", "host-7", uri, std::chrono::system_clock::now()));

  char dir_tmpl[] = "/tmp/jwt_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
  std::string dir = dir_tmpl;
  std::ofstream(dir + "/pub.pem") << id->MarshalPublicPem();
  std::ofstream(dir + "/token") << jwt;
  std::ofstream(dir + "/check.py")
      << "import jwt, sys\n"
         "from cryptography.hazmat.primitives.serialization import load_pem_public_key\n"
         "key = load_pem_public_key(open(sys.argv[1], 'rb').read())\n"
         "tok = open(sys.argv[2]).read()\n"
         "assert jwt.get_unverified_header(tok) == {'alg': 'EdDSA', 'typ': 'JWT'}\n"
         "c = jwt.decode(tok, key, algorithms=['EdDSA'], audience=sys.argv[3])\n"
         "assert c['sub'] == 'host-7', c\n"
         "assert c['iss'] == 'elemental-agent/test', c\n"
         "assert c['exp'] - c['iat'] == 60 and c['iat'] - c['nbf'] == 2, c\n"
         "print('OK')\n";
  std::string cmd = "/usr/bin/python3 " + dir + "/check.py " + dir + "/pub.pem " + dir + "/token " +
                    uri + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  int rc = pclose(p);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out, "OK\n");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace elemental::identity
