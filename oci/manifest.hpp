// Decoding image manifests and indexes, and choosing a platform. Pure
// functions over json::Value: the registry client fetches, this decides.
//
// Understood media types: OCI image index and manifest, Docker manifest list
// and Docker schema 2 manifest. Layers may be tar, tar+gzip or tar+zstd in
// either the OCI or the Docker spelling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::oci {

inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";

// The Accept header value for manifest requests: all four types above.
std::string ManifestAccept();

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // empty: any
};

// Parses "os/arch[/variant]". Error: "invalid platform '<text>'".
Expected<Platform> ParsePlatform(const std::string& text);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  Platform platform;  // only meaningful in an index
};

enum class Compression { kNone, kGzip, kZstd };

struct Layer {
  Descriptor desc;
  Compression compression = Compression::kNone;
};

struct Manifest {
  Descriptor config;
  std::vector<Layer> layers;
};

// True for the index / manifest-list media types.
bool IsIndexType(const std::string& media_type);

// The media type of a fetched document: the Content-Type when it names one of
// the four known types, else the document's own "mediaType" field, else a
// guess from its shape ("manifests" → OCI index, "layers" → OCI manifest).
std::string DetectMediaType(const std::string& content_type, const json::Value& doc);

// The manifest descriptors in an index. Errors name the field.
Expected<std::vector<Descriptor>> ParseIndex(const json::Value& doc);

// Picks the descriptor for `want` from an index: os and architecture must
// match; the variant must match when `want.variant` is set, otherwise an
// entry without variant (or the first) wins. Error:
// "no manifest for platform linux/arm64 (available: linux/amd64, ...)".
Expected<Descriptor> SelectPlatform(const std::vector<Descriptor>& entries, const Platform& want);

// Parses an image manifest (OCI or Docker schema 2). Unknown layer media
// types are an error naming the type ("unsupported layer media type '...'").
Expected<Manifest> ParseManifest(const json::Value& doc);

}  // namespace elemental::oci
