// The distribution API v2 client: manifests and blobs, streamed.
//
// Authentication follows the registry's challenge: anonymous first; on a 401
// with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` a token is
// fetched (with Basic credentials when the auth file has some) and the
// request repeated; on a Basic challenge the auth file's credentials are
// sent. Redirects are followed (credentials stay with the registry host).
// A 401 on a request sent with a Bearer token (it expired during a long
// pull) fetches a fresh token once for that request; a second 401 fails.
// Connection errors, 5xx and 429 are retried with exponential backoff; an
// interrupted blob resumes with a Range request. Every manifest and blob is
// hashed as it streams and checked against its digest. The libcurl use is
// inside registry.cpp; no curl type appears here.
//
// Mirrors (RegistryOptions::registries, a registries.yaml): each request
// tries the mirror endpoints in order, then the registry itself. A mirror
// that fails (connection error or 5xx after its retries, 404, 401/403) is
// skipped with a warning; one that cannot be reached at all is not asked
// again during this pull. A blob interrupted on one endpoint resumes with a
// Range request on the next; digests are checked whatever served the bytes.
//
// Proxies: RegistryOptions::proxy, by default from the environment
// (https_proxy/HTTPS_PROXY for https://, http_proxy/HTTP_PROXY for http://,
// all_proxy/ALL_PROXY otherwise, no_proxy/NO_PROXY exceptions). The choice is
// made here and given to libcurl explicitly, so libcurl never reads the
// environment itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "oci/manifest.hpp"
#include "oci/reference.hpp"
#include "oci/registries_config.hpp"

namespace elemental::oci {

struct ProxySettings {
  std::string http;      // proxy URL for http:// requests, "" = none
  std::string https;     // for https:// requests
  std::string all;       // for either when the one above is empty
  std::string no_proxy;  // comma-separated: "*", host, .domain, host:port, IP
};

// Reads the proxy variables through `getenv`, the lowercase spelling first
// (as curl and wget do), then the uppercase one.
using GetEnv = std::function<const char*(const char*)>;
ProxySettings ProxyFromEnvironment(const GetEnv& getenv);

// The proxy URL for a request with `scheme` ("http"/"https") to `host`
// (host[:port]); "" when it goes direct (no proxy set or `no_proxy` matches).
std::string ProxyFor(const ProxySettings& proxy, const std::string& scheme,
                     const std::string& host);

// A proxy URL without its user:password part, for logs.
std::string RedactProxy(const std::string& url);

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
  // Proxies; unset: ProxyFromEnvironment(::getenv) when the Registry is made.
  std::optional<ProxySettings> proxy;
  // Mirrors and per-host auth/TLS (registries.yaml); empty: none.
  RegistriesConfig registries;
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
