// Pulling an image into a directory: reference → manifest (through an index
// when there is one) → each layer, in order, downloaded, digested,
// decompressed and applied in one streaming pass (no copy on disk).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/expected.hpp"
#include "oci/apply.hpp"
#include "oci/manifest.hpp"
#include "oci/registry.hpp"

namespace elemental::oci {

struct Progress {
  size_t layer = 0;        // 0-based index of the layer being applied
  size_t layers = 0;       // layer count
  std::string digest;      // of the layer
  int64_t done = 0;        // bytes of this layer received so far
  int64_t total = 0;       // the layer's size from the manifest
};

struct PullOptions {
  RegistryOptions registry;
  ApplyOptions apply;
  Platform platform;  // linux/amd64 by default
  // Called as bytes of a layer arrive, from the download thread (one at a
  // time, never concurrently).
  std::function<void(const Progress&)> progress;
};

struct PullResult {
  std::string manifest_digest;  // of the image manifest applied
};

// Pulls `reference` (text as the user gave it) into the existing directory
// `target`. Errors read "pulling oci://...: <what failed>".
Expected<PullResult> Pull(const std::string& reference, const std::string& target,
                          const PullOptions& opts);

}  // namespace elemental::oci
