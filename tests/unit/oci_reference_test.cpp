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

}  // namespace
}  // namespace elemental::oci
