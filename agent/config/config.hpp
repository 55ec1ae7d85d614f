// The agent config file (default /etc/elemental/agent/config.yaml).
//
// YAML with upstream's field names: `registration: {uri, caCert, token,
// tokenDuration}` and `agent: {workDir, hostname: {useExisting, prefix},
// postInstall, postReset, noSmbios, debug, osPlugin, reconciliation,
// insecureAllowHttp, insecureSkipTlsVerify, useSystemCertPool}`. Durations
// are Go duration strings ("1m", "1h30m", "10s") or integer nanoseconds.
// Unknown keys are ignored.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "api/types.hpp"
#include "common/expected.hpp"

namespace elemental::config {

inline constexpr const char* kDefaultConfigPath = "/etc/elemental/agent/config.yaml";
inline constexpr const char* kDefaultWorkDir = "/var/lib/elemental/agent";
inline constexpr const char* kDefaultOsPlugin = "/usr/lib/elemental/plugins/elemental.so";
inline constexpr std::chrono::seconds kDefaultReconciliation{10};

struct Config {
  api::Registration registration;
  api::Agent agent;
};

// The config with upstream's defaults (workDir, reconciliation, osPlugin).
Config DefaultConfig();

// Parses YAML text over the defaults. Errors name the source and line:
// "config.yaml:3:5: ...". `source` is used only for messages.
Expected<Config> Parse(std::string_view yaml_text, const std::string& source);

// Reads and parses a file. Errors: "reading config file '<path>': <strerror>"
// (code errno), or Parse's with the path as source.
Expected<Config> Load(const std::string& path);

// The config file the agent writes after registration (upstream
// config.FromAPI): registration and agent taken from the API response.
Config FromRegistration(const api::RegistrationResponse& reg);

// Serializes to YAML with upstream's field names; zero/empty fields are
// omitted; durations are written as Go duration strings ("10s").
std::string ToYaml(const Config& cfg);

// Go duration syntax: "300ms", "1.5h", "2h45m", "-1m" → nanoseconds.
Expected<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);
// Formats like Go's time.Duration.String(): "1m0s", "10s", "1h30m0s", "0s".
std::string FormatGoDuration(std::chrono::nanoseconds d);

}  // namespace elemental::config
