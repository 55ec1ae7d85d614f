// Identity keys: PEM encodings checked against `openssl pkey`, strict
// parsing of bad PEM, and the key file written by LoadOrCreate.
#include "identity/identity.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/log.hpp"

namespace elemental::identity {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/identity_test.XXXXXX";
    char* p = mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p != nullptr ? p : "/nonexistent";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a shell command; returns its exit status and stdout+stderr.
int RunCommand(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  return pclose(p);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// The PEM for a DER blob given as hex, for hand-made bad keys.
std::string PemFromHex(const std::string& label, const std::string& hex) {
  std::string der;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    der.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  size_t i = 0;
  for (; i + 2 < der.size(); i += 3) {
    uint32_t v = (uint8_t(der[i]) << 16) | (uint8_t(der[i + 1]) << 8) | uint8_t(der[i + 2]);
    for (int s = 18; s >= 0; s -= 6) b64.push_back(kB64[(v >> s) & 63]);
  }
  if (der.size() - i == 1) {
    uint32_t v = uint8_t(der[i]) << 16;
    b64 += std::string{kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], '=', '='};
  } else if (der.size() - i == 2) {
    uint32_t v = (uint8_t(der[i]) << 16) | (uint8_t(der[i + 1]) << 8);
    b64 += std::string{kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return "-----BEGIN " + label + "-----\n" + b64 + "\n-----END " + label + "-----\n";
}

constexpr const char* kSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kPkcs8PrefixHex = "302e020100300506032b657004220420";

TEST(IdentityTest, PemFormat) {
  auto id = Identity::Generate();
  ASSERT_TRUE(id.has_value());
  std::string priv = id->MarshalPrivatePem();
  EXPECT_EQ(priv.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_NE(priv.find("\n-----END PRIVATE KEY-----\n"), std::string::npos);
  // 48 DER bytes → 64 base64 characters on one line.
  EXPECT_EQ(priv.size(), strlen("-----BEGIN PRIVATE KEY-----\n") + 65 +
                             strlen("-----END PRIVATE KEY-----\n"));
  std::string pub = id->MarshalPublicPem();
  EXPECT_EQ(pub.rfind("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA", 0), 0u) << pub;
  EXPECT_EQ(priv.find("MC4CAQAwBQYDK2VwBCIEI"), strlen("-----BEGIN PRIVATE KEY-----\n")) << "PKCS#8 prefix";
}

TEST(IdentityTest, OpensslDerivesSamePublicKey) {
  TempDir dir;
  auto id = Identity::Generate();
  ASSERT_TRUE(id.has_value());
  std::string key = dir.path() + "/k.pem";
  WriteFile(key, id->MarshalPrivatePem());
  std::string out;
  ASSERT_EQ(RunCommand("openssl pkey -in " + key + " -pubout", out), 0) << out;
  EXPECT_EQ(out, id->MarshalPublicPem());
  // openssl re-encodes the private key byte for byte the same.
  ASSERT_EQ(RunCommand("openssl pkey -in " + key, out), 0) << out;
  EXPECT_EQ(out, id->MarshalPrivatePem());
}

TEST(IdentityTest, ParsesOpensslGeneratedKey) {
  TempDir dir;
  std::string key = dir.path() + "/gen.pem";
  std::string out;
  ASSERT_EQ(RunCommand("openssl genpkey -algorithm ed25519 -out " + key, out), 0) << out;
  auto id = Identity::FromPem(ReadFile(key));
  ASSERT_TRUE(id.has_value()) << id.error().message();
  ASSERT_EQ(RunCommand("openssl pkey -in " + key + " -pubout", out), 0) << out;
  EXPECT_EQ(id->MarshalPublicPem(), out);
  EXPECT_EQ(id->MarshalPrivatePem(), ReadFile(key));
}

TEST(IdentityTest, SignatureVerifiedByOpenssl) {
  TempDir dir;
  auto id = Identity::Generate();
  ASSERT_TRUE(id.has_value());
  const std::string msg = "sign me, please";
  auto sig = id->Sign(msg);
  WriteFile(dir.path() + "/pub.pem", id->MarshalPublicPem());
  WriteFile(dir.path() + "/msg", msg);
  WriteFile(dir.path() + "/sig", std::string(sig.begin(), sig.end()));
  std::string out;
  EXPECT_EQ(RunCommand("openssl pkeyutl -verify -pubin -inkey " + dir.path() + "/pub.pem -rawin -in " +
                    dir.path() + "/msg -sigfile " + dir.path() + "/sig",
                out),
            0)
      << out;
  EXPECT_NE(out.find("Signature Verified Successfully"), std::string::npos) << out;
}

TEST(IdentityTest, AcceptsPkcs8V2WithMatchingPublicKey) {
  auto ref = Identity::FromPem(PemFromHex("PRIVATE KEY", std::string(kPkcs8PrefixHex) + kSeedHex));
  ASSERT_TRUE(ref.has_value()) << ref.error().message();
  std::string pk_hex;
  for (uint8_t b : ref->public_key()) {
    char buf[3];
    snprintf(buf, sizeof(buf), "%02x", b);
    pk_hex += buf;
  }
  // OneAsymmetricKey v2: version 1, [1] public key.
  std::string v2 = "3051020101300506032b657004220420" + std::string(kSeedHex) + "812100" + pk_hex;
  auto id = Identity::FromPem(PemFromHex("PRIVATE KEY", v2));
  ASSERT_TRUE(id.has_value()) << id.error().message();
  EXPECT_EQ(id->public_key(), ref->public_key());

  std::string wrong = pk_hex;
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  auto bad = Identity::FromPem(PemFromHex(
      "PRIVATE KEY", "3051020101300506032b657004220420" + std::string(kSeedHex) + "812100" + wrong));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("does not match"), std::string::npos);
}

TEST(IdentityTest, AcceptsSurroundingTextAndCrlf) {
  std::string pem = PemFromHex("PRIVATE KEY", std::string(kPkcs8PrefixHex) + kSeedHex);
  std::string crlf;
  for (char c : pem) {
    if (c == '\n') crlf += "\r\n";
    else crlf.push_back(c);
  }
  auto id = Identity::FromPem("some leading text\n" + crlf + "trailing\n");
  ASSERT_TRUE(id.has_value()) << id.error().message();
}

struct BadPem {
  const char* name;
  std::string pem;
  const char* want;  // substring of the error
};

TEST(IdentityTest, RejectsBadPem) {
  const std::string good_der = std::string(kPkcs8PrefixHex) + kSeedHex;
  const std::string good = PemFromHex("PRIVATE KEY", good_der);
  std::string bad_b64 = good;
  bad_b64[40] = '*';
  std::string no_end = good.substr(0, good.find("-----END"));
  const std::vector<BadPem> cases = {
      {"empty", "", "no PEM data found"},
      {"garbage", "hello world", "no PEM data found"},
      {"wrong label", PemFromHex("EC PRIVATE KEY", good_der), "'EC PRIVATE KEY', want 'PRIVATE KEY'"},
      {"public key", PemFromHex("PUBLIC KEY", good_der), "want 'PRIVATE KEY'"},
      {"bad base64", bad_b64, "not valid base64"},
      {"no END line", no_end, "END PRIVATE KEY"},
      {"encrypted headers",
       "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----\n",
       "headers"},
      // X25519 (1.3.101.110) instead of Ed25519.
      {"wrong OID", PemFromHex("PRIVATE KEY", "302e020100300506032b656e04220420" + std::string(kSeedHex)),
       "not an Ed25519 key (algorithm OID 1.3.101.110"},
      // An EC key's algorithm identifier (OID 1.2.840.10045.2.1 + curve).
      {"EC OID",
       PemFromHex("PRIVATE KEY", "3039020100301306072a8648ce3d020106082a8648ce3d030107041f" +
                                     std::string(62, '1')),
       "1.2.840.10045.2.1"},
      // A 31-byte seed.
      {"short seed", PemFromHex("PRIVATE KEY", "302d020100300506032b657004210420" + std::string(kSeedHex).substr(2)),
       "truncated"},
      {"wrong seed length",
       PemFromHex("PRIVATE KEY", "302d020100300506032b65700421041f" + std::string(kSeedHex).substr(2)),
       "must be 32 bytes, got 31"},
      {"trailing data", PemFromHex("PRIVATE KEY", good_der + "00"), "trailing data"},
      {"truncated", PemFromHex("PRIVATE KEY", good_der.substr(0, 40)), "truncated"},
      {"version 2", PemFromHex("PRIVATE KEY", "302e020102300506032b657004220420" + std::string(kSeedHex)),
       "unsupported version"},
      {"not a sequence", PemFromHex("PRIVATE KEY", "0401ff"), "not a DER SEQUENCE"},
      {"algorithm params",
       PemFromHex("PRIVATE KEY", "3030020100300706032b65700500" "04220420" + std::string(kSeedHex)),
       "no parameters"},
  };
  for (const auto& c : cases) {
    auto id = Identity::FromPem(c.pem);
    ASSERT_FALSE(id.has_value()) << c.name;
    const std::string& msg = id.error().message();
    EXPECT_NE(msg.find(c.want), std::string::npos) << c.name << ": " << msg;
    EXPECT_EQ(msg.rfind("parsing Ed25519 private key", 0), 0u) << c.name << ": " << msg;
    // Key material is never echoed.
    EXPECT_EQ(msg.find("MC4CAQ"), std::string::npos) << c.name << ": " << msg;
    EXPECT_EQ(msg.find("9d61b1"), std::string::npos) << c.name << ": " << msg;
  }
}

TEST(IdentityTest, LoadOrCreateWritesThenLoadsSameKey) {
  TempDir dir;
  std::string work = dir.path() + "/var/lib/elemental/agent";  // created on demand
  auto first = Identity::LoadOrCreate(work);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  std::string path = work + "/" + kPrivateKeyFile;
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat(work.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(ReadFile(path), first->MarshalPrivatePem());
  // No temp files left behind.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(work)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);

  auto second = Identity::LoadOrCreate(work);
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->public_key(), first->public_key());
  EXPECT_EQ(second->MarshalPrivatePem(), first->MarshalPrivatePem());
}

TEST(IdentityTest, LoadOrCreateKeepsExistingDirMode) {
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  auto id = Identity::LoadOrCreate(dir.path());
  ASSERT_TRUE(id.has_value()) << id.error().message();
  struct stat st{};
  ASSERT_EQ(stat(dir.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(IdentityTest, LoadOrCreateRejectsCorruptFile) {
  TempDir dir;
  WriteFile(dir.path() + "/private.key", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n");
  auto id = Identity::LoadOrCreate(dir.path());
  ASSERT_FALSE(id.has_value());
  EXPECT_NE(id.error().message().find(dir.path() + "/private.key"), std::string::npos)
      << id.error().message();
  // The corrupt file is left for the operator, not overwritten.
  EXPECT_NE(ReadFile(dir.path() + "/private.key").find("nope"), std::string::npos);
}

TEST(IdentityTest, LoadOrCreateFailsWhenDirIsAFile) {
  TempDir dir;
  WriteFile(dir.path() + "/file", "x");
  auto id = Identity::LoadOrCreate(dir.path() + "/file");
  ASSERT_FALSE(id.has_value());
}

TEST(IdentityTest, PrivatePemIsRegisteredAsSecret) {
  TempDir dir;
  auto id = Identity::LoadOrCreate(dir.path());
  ASSERT_TRUE(id.has_value());
  std::string pem = id->MarshalPrivatePem();
  EXPECT_EQ(log::Scrub("key: " + pem), "key: [REDACTED]");
}

TEST(IdentityTest, FromSeedIsDeterministic) {
  std::array<uint8_t, 32> seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i);
  auto a = Identity::FromSeed(seed);
  auto b = Identity::FromSeed(seed);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->public_key(), b->public_key());
  EXPECT_EQ(a->Sign("x"), b->Sign("x"));
  auto c = Identity::Generate();
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->public_key(), a->public_key());
}

}  // namespace
}  // namespace elemental::identity
