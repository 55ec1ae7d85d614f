// Image references: `oci://registry[:port]/repo[:tag][@sha256:<hex>]`, the
// `oci://` prefix optional, normalised the way Docker does it (no registry →
// docker.io, served by registry-1.docker.io; a single-name repository on
// Docker Hub → library/<name>; no tag and no digest → tag "latest").
#pragma once

#include <string>

#include "common/expected.hpp"

namespace elemental::oci {

struct Reference {
  std::string registry;    // as written or defaulted: "docker.io", "localhost:5000"
  std::string repository;  // "library/alpine", "team/os"
  std::string tag;         // empty when only a digest was given
  std::string digest;      // "sha256:<64 hex>" or empty

  // The host[:port] to talk to: registry-1.docker.io for docker.io.
  std::string Endpoint() const;
  // What the manifest request names: the digest when set, else the tag.
  std::string ManifestRef() const { return digest.empty() ? tag : digest; }
  // Canonical text without the oci:// prefix: "docker.io/library/alpine:3.19".
  std::string String() const;
};

// Parses a reference. Errors read "invalid image reference '<text>': <why>"
// (empty, bad repository characters, bad tag, bad or non-sha256 digest).
Expected<Reference> ParseReference(const std::string& text);

}  // namespace elemental::oci
