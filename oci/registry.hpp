// The distribution API v2 client: manifests and blobs, streamed.
//
// Authentication follows the registry's challenge: anonymous first; on a 401
// with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` a token is
// fetched (with Basic credentials when the auth file has some) and the
// request repeated; on a Basic challenge the auth file's credentials are
// sent. Redirects are followed (credentials stay with the registry host).
// Connection errors, 5xx and 429 are retried with exponential backoff; an
// interrupted blob resumes with a Range request. Every manifest and blob is
// hashed as it streams and checked against its digest. The libcurl use is
// inside registry.cpp; no curl type appears here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "oci/manifest.hpp"
#include "oci/reference.hpp"

namespace elemental::oci {

struct RegistryOptions {
  // host[:port] values spoken to over plain HTTP; every other registry is HTTPS.
  std::vector<std::string> insecure_registries;
  // PEM CA bundle for HTTPS; empty: the TLS library's default.
  std::string ca_file;
  // Docker config.json with an "auths" map; empty or missing file: anonymous.
  std::string auth_file;
  // Attempts per request (connection errors, 5xx, 429) before giving up.
  int max_attempts = 5;
  // First backoff delay; doubled after each failed attempt.
  std::chrono::milliseconds backoff{500};
  // Sleeps between attempts; replaceable by tests.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Receives blob bytes in order. An Error aborts the download.
using BlobSink = std::function<Status(const char* data, size_t len)>;

struct FetchedManifest {
  std::string media_type;
  std::string digest;  // "sha256:..." of the bytes received
  std::string body;
};

class Registry {
 public:
  Registry(Reference ref, RegistryOptions opts);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // GETs /v2/<repo>/manifests/<ref> with the Accept header for all known
  // manifest types. When `ref` is a digest, the body must hash to it.
  // Errors name the reference and registry: "manifest for
  // oci://localhost:5000/os:v1: not found (HTTP 404) at localhost:5000".
  Expected<FetchedManifest> GetManifest(const std::string& ref);

  // Streams blob `digest` (of `size` bytes, -1 if unknown) into `sink`,
  // resuming after interruptions, and checks the digest at the end; a
  // mismatch is an Error ("blob sha256:...: digest mismatch: ...").
  Status GetBlob(const std::string& digest, int64_t size, const BlobSink& sink);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace elemental::oci
