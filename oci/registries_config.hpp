// Registry mirrors and per-host settings, read from a registries.yaml in the
// format Rancher, k3s and RKE2 operators already write:
//
//   mirrors:
//     docker.io:                      # the registry as written in references
//       endpoint:                     # tried in order, then docker.io itself
//         - "https://mirror.example:5000"
//         - "http://10.0.0.5:5000"     # http:// = plain HTTP for this endpoint
//       rewrite:                      # optional, applied to the repository
//         "^library/(.*)": "cache/$1"  # for mirror endpoints only
//     "*":                            # any registry without its own entry
//       endpoint: ["https://cache.example"]
//   configs:
//     "mirror.example:5000":          # host[:port] of an endpoint or registry
//       auth: {username: u, password: p}   # or auth: <base64 user:pass>
//       tls: {ca_file: /etc/ssl/mirror-ca.pem, insecure_skip_verify: false}
//
// Parsing is pure; errors name the file, line, column and key path.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.hpp"

namespace elemental::oci {

// Read when it exists, by `elemental-agent pull` and the native plugin.
inline constexpr const char* kDefaultRegistriesConfigPath = "/etc/elemental/agent/registries.yaml";

struct MirrorConfig {
  // Endpoint bases as written, normalised to "scheme://host[:port][/path]"
  // (no scheme means https; a trailing "/" or "/v2" is dropped).
  std::vector<std::string> endpoints;
  // (ECMAScript regex, replacement with $1...) pairs; the first that matches
  // the repository rewrites it.
  std::vector<std::pair<std::string, std::string>> rewrites;
};

struct HostConfig {
  std::string username;
  std::string password;
  std::string auth;  // base64 "user:pass", as in a Docker config.json
  std::string ca_file;
  bool insecure_skip_verify = false;
};

struct RegistriesConfig {
  std::map<std::string, MirrorConfig> mirrors;  // by registry ("docker.io", "*")
  std::map<std::string, HostConfig> configs;    // by host[:port]
};

// Parses registries.yaml text; `source` names it in errors
// ("<source>:3:7: mirrors.docker.io.endpoint[0]: ...").
Expected<RegistriesConfig> ParseRegistriesConfig(const std::string& text,
                                                 const std::string& source);

// Reads and parses the file at `path`.
Expected<RegistriesConfig> LoadRegistriesConfig(const std::string& path);

// Splits an endpoint base into scheme, host[:port] and path ("" or "/x").
struct EndpointUrl {
  std::string scheme;
  std::string host;
  std::string path;
};
Expected<EndpointUrl> ParseEndpointUrl(const std::string& text);

}  // namespace elemental::oci
