// Manifest/index decoding, platform selection and digests.
#include "oci/manifest.hpp"

#include <gtest/gtest.h>

#include "oci/digest.hpp"

namespace elemental::oci {
namespace {

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

json::Value MustParse(const std::string& text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : json::Value();
}

TEST(OciDigest, Sha256) {
  EXPECT_EQ(DigestOf("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a", 1);
  h.Update("bc", 2);
  EXPECT_EQ(h.Finish(), DigestOf("abc"));
  EXPECT_TRUE(CheckDigest(DigestOf("x"), DigestOf("x")));
  auto st = CheckDigest(DigestOf("x"), DigestOf("y"));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_FALSE(ValidateDigest("sha512:00"));
  EXPECT_TRUE(ValidateDigest(kD1));
}

TEST(OciManifest, SelectsPlatformFromIndex) {
  auto doc = MustParse(R"({"schemaVersion":2,"mediaType":")" + std::string(kOciIndex) +
                       R"(","manifests":[
    {"mediaType":")" + kOciManifest + R"(","digest":")" + kD1 + R"(","size":10,
     "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":")" + kOciManifest + R"(","digest":")" + kD2 + R"(","size":11,
     "platform":{"os":"linux","architecture":"amd64"}},
    {"mediaType":")" + kOciManifest + R"(","digest":")" + kD3 + R"(","size":12,
     "platform":{"os":"linux","architecture":"arm","variant":"v7"}}]})");
  EXPECT_EQ(DetectMediaType("", doc), kOciIndex);
  EXPECT_TRUE(IsIndexType(DetectMediaType("", doc)));
  auto idx = ParseIndex(doc);
  ASSERT_TRUE(idx) << idx.error().message();
  ASSERT_EQ(idx->size(), 3u);

  auto amd = SelectPlatform(*idx, Platform{});
  ASSERT_TRUE(amd);
  EXPECT_EQ(amd->digest, kD2);
  auto arm = SelectPlatform(*idx, *ParsePlatform("linux/arm/v7"));
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, kD3);
  auto arm64 = SelectPlatform(*idx, *ParsePlatform("linux/arm64"));
  ASSERT_TRUE(arm64);
  EXPECT_EQ(arm64->digest, kD1);
  auto none = SelectPlatform(*idx, *ParsePlatform("linux/s390x"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(),
            "no manifest for platform linux/s390x (available: linux/arm64/v8, linux/amd64, "
            "linux/arm/v7)");
  EXPECT_FALSE(ParsePlatform("linux"));
  EXPECT_FALSE(ParsePlatform("linux//x"));
}

TEST(OciManifest, DockerSchema2Layers) {
  auto doc = MustParse(R"({"schemaVersion":2,
    "mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
                       kD1 + R"(","size":5},
    "layers":[
      {"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" + kD2 +
                       R"(","size":100},
      {"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":")" + kD3 +
                       R"(","size":200},
      {"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" + kD1 +
                       R"(","size":300}]})");
  EXPECT_EQ(DetectMediaType("application/vnd.docker.distribution.manifest.v2+json; x=y", doc),
            kDockerManifest);
  auto m = ParseManifest(doc);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->config.digest, kD1);
  ASSERT_EQ(m->layers.size(), 3u);
  EXPECT_EQ(m->layers[0].compression, Compression::kGzip);
  EXPECT_EQ(m->layers[1].compression, Compression::kZstd);
  EXPECT_EQ(m->layers[2].compression, Compression::kNone);
  EXPECT_EQ(m->layers[2].desc.size, 300);
}

TEST(OciManifest, Errors) {
  auto bad_type = ParseManifest(MustParse(
      R"({"config":{"mediaType":"x","digest":")" + kD1 + R"(","size":1},
          "layers":[{"mediaType":"application/x-foo","digest":")" + kD1 + R"(","size":1}]})"));
  ASSERT_FALSE(bad_type);
  EXPECT_EQ(bad_type.error().message(),
            "manifest: layers[0]: unsupported layer media type 'application/x-foo'");
  auto bad_digest = ParseManifest(MustParse(
      R"({"config":{"mediaType":"x","digest":"md5:00","size":1},"layers":[]})"));
  ASSERT_FALSE(bad_digest);
  EXPECT_EQ(bad_digest.error().message(), "manifest: config: unsupported digest 'md5:00'");
  EXPECT_FALSE(ParseManifest(MustParse(R"({"layers":[]})")));
  EXPECT_FALSE(ParseIndex(MustParse(R"({"manifests":{}})")));
  EXPECT_NE(ManifestAccept().find(kDockerList), std::string::npos);
}

}  // namespace
}  // namespace elemental::oci
