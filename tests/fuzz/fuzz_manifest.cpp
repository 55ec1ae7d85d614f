// libFuzzer target: manifest and index decoding (oci/manifest) and the JSON
// layer under it (common/json), fed what a registry could answer.
//
// The input is a manifest document as fetched. It goes through the same steps
// as a pull: json::Parse, DetectMediaType (with each Content-Type a registry
// might send), then ParseIndex + SelectPlatform and ParseManifest (both are
// tried whatever the type says). Properties checked, abort on a break:
//   - printing a parsed document gives JSON that parses and prints the same;
//   - every accepted descriptor has a valid sha256 digest and a size >= 0;
//   - a manifest's layers have a known compression;
//   - a platform chosen from an index is one of its entries and matches.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/json.hpp"
#include "oci/digest.hpp"
#include "oci/manifest.hpp"

namespace {

using namespace elemental;
using namespace elemental::oci;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_manifest: %s\n", what.c_str());
  std::abort();
}

void CheckDescriptor(const Descriptor& d, const std::string& where) {
  if (!ValidateDigest(d.digest)) Fail(where + ": accepted invalid digest '" + d.digest + "'");
  if (d.size < 0) Fail(where + ": accepted negative size");
}

void CheckIndex(const json::Value& doc) {
  auto entries = ParseIndex(doc);
  if (!entries) {
    if (entries.error().message().empty()) Fail("index error without a message");
    return;
  }
  for (const auto& d : *entries) CheckDescriptor(d, "index entry");
  for (const char* p : {"linux/amd64", "linux/arm64/v8", "linux/arm/v7", "windows/amd64"}) {
    auto want = ParsePlatform(p);
    if (!want) Fail(std::string("ParsePlatform refused ") + p);
    auto chosen = SelectPlatform(*entries, *want);
    if (!chosen) {
      if (chosen.error().message().rfind("no manifest for platform ", 0) != 0) {
        Fail("SelectPlatform error wording: " + chosen.error().message());
      }
      continue;
    }
    if (chosen->platform.os != want->os || chosen->platform.architecture != want->architecture ||
        (!want->variant.empty() && chosen->platform.variant != want->variant)) {
      Fail(std::string("SelectPlatform chose a non-matching entry for ") + p);
    }
    bool found = false;
    for (const auto& d : *entries) found = found || (d.digest == chosen->digest);
    if (!found) Fail("SelectPlatform chose a descriptor that is not in the index");
  }
}

void CheckManifest(const json::Value& doc) {
  auto m = ParseManifest(doc);
  if (!m) {
    if (m.error().message().empty()) Fail("manifest error without a message");
    return;
  }
  CheckDescriptor(m->config, "manifest config");
  for (const auto& l : m->layers) {
    CheckDescriptor(l.desc, "manifest layer");
    if (l.compression != Compression::kNone && l.compression != Compression::kGzip &&
        l.compression != Compression::kZstd) {
      Fail("layer with an unknown compression");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The exact bytes, not NUL-terminated: the parser must respect the length.
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto doc = json::Parse(body);
  if (!doc) {
    if (doc.error().message().rfind("invalid JSON at offset ", 0) != 0 &&
        doc.error().message().find("nested deeper") == std::string::npos) {
      Fail("json::Parse error wording: " + doc.error().message());
    }
    return 0;
  }
  const std::string printed = doc->Dump();
  auto again = json::Parse(printed);
  if (!again) Fail("printed JSON does not parse: " + again.error().message() + "\n  " + printed);
  if (again->Dump() != printed) Fail("printed JSON does not print the same:\n  " + printed);

  for (const char* ct : {"", "application/json", kOciIndex, kOciManifest, kDockerList,
                         kDockerManifest, "application/vnd.oci.image.index.v1+json; charset=utf-8"}) {
    std::string mt = DetectMediaType(ct, *doc);
    if (IsIndexType(mt) && mt != kOciIndex && mt != kDockerList) Fail("IsIndexType of " + mt);
  }
  CheckIndex(*doc);
  CheckManifest(*doc);
  return 0;
}
