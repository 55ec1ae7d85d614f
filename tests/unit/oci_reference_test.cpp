// Image reference parsing and Docker Hub normalisation.
#include "oci/reference.hpp"

#include <gtest/gtest.h>

namespace elemental::oci {
namespace {

TEST(OciReference, DockerHubSingleName) {
  auto r = ParseReference("alpine");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->registry, "docker.io");
  EXPECT_EQ(r->Endpoint(), "registry-1.docker.io");
  EXPECT_EQ(r->repository, "library/alpine");
  EXPECT_EQ(r->tag, "latest");
  EXPECT_EQ(r->String(), "docker.io/library/alpine:latest");
}

TEST(OciReference, OciPrefixRegistryPortTagDigest) {
  const std::string d = "sha256:" + std::string(64, 'a');
  auto r = ParseReference("oci://localhost:5000/team/os:v1.2@" + d);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->registry, "localhost:5000");
  EXPECT_EQ(r->Endpoint(), "localhost:5000");
  EXPECT_EQ(r->repository, "team/os");
  EXPECT_EQ(r->tag, "v1.2");
  EXPECT_EQ(r->digest, d);
  EXPECT_EQ(r->ManifestRef(), d);
}

TEST(OciReference, DigestOnlyHasNoTag) {
  auto r = ParseReference("127.0.0.1:5000/os@sha256:" + std::string(64, '0'));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->registry, "127.0.0.1:5000");
  EXPECT_EQ(r->tag, "");
}

TEST(OciReference, UserRepoOnDockerHub) {
  auto r = ParseReference("docker.io/user/img:1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repository, "user/img");
  auto l = ParseReference("localhost/img");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->registry, "localhost");
  EXPECT_EQ(l->repository, "img");
}

TEST(OciReference, Errors) {
  for (const char* bad : {"", "oci://", "Upper/Case", "reg.io/repo:bad tag",
                          "repo@sha256:abc", "repo@md5:0123", "reg.io/", "a//b"}) {
    auto r = ParseReference(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("invalid image reference"), std::string::npos);
  }
}

// Found by tests/fuzz/fuzz_reference: registries that are not host[:port]
// ("inde,.docker.io") were taken as they were and ended up in request URLs.
TEST(OciReference, RegistryMustBeHostAndPort) {
  for (const char* good : {"reg.example/os", "reg-1.example.com:443/os", "localhost:5000/os",
                           "127.0.0.1:65535/os", "[::1]:5000/os", "[fe80::1]/os", "Reg.IO/os"}) {
    auto r = ParseReference(good);
    EXPECT_TRUE(r) << good << ": " << r.error().message();
  }
  for (const char* bad : {"inde,.docker.io/user/repo", "reg.example:/os", "reg.example:0/os",
                          "reg.example:65536/os", "reg.example:50a/os", "-reg.example/os",
                          "reg-.example/os", "reg..example/os", ".example/os", "a b.io/os",
                          "reg.io?x=1/os", "reg.io#f/os", "[::1/os", "[::1]x/os", "[zz]:1/os",
                          "[1.2.3.4]/os", ":5000/os"}) {
    auto r = ParseReference(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("invalid registry"), std::string::npos)
        << r.error().message();
  }
}

// Found by tests/fuzz/fuzz_reference: separators in a row ("a-_--c") were
// accepted. A component is alphanumeric runs joined by exactly one of '.',
// '_', '__' or a run of '-'.
TEST(OciReference, RepositorySeparatorsFollowTheSpec) {
  for (const char* good : {"reg.io/a.b", "reg.io/a_b", "reg.io/a__b", "reg.io/a---b",
                           "reg.io/a-b.c_d__e/f0"}) {
    EXPECT_TRUE(ParseReference(good)) << good;
  }
  for (const char* bad : {"reg.io/a-_--c", "reg.io/a___b", "reg.io/a-.b", "reg.io/a._b",
                          "reg.io/a..b", "reg.io/a_-b", "reg.io/a-", "reg.io/_a", "reg.io/a.",
                          "reg.io/a__", "reg.io/a/-b"}) {
    auto r = ParseReference(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find("invalid repository name"), std::string::npos)
        << r.error().message();
  }
}

}  // namespace
}  // namespace elemental::oci
