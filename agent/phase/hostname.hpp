// Picking the host name to register with (upstream internal/agent/hostname).
#pragma once

#include <string>

#include "api/types.hpp"
#include "common/expected.hpp"
#include "plugin/plugin.hpp"

namespace elemental::phase {

// With conf.use_existing: prefix + the plugin's current host name. Otherwise
// prefix + a random UUIDv4 (lower-case 8-4-4-4-12). Errors read
// "setting current hostname: getting current hostname: ..." or
// "setting random hostname: generating new random UUID: ...".
Expected<std::string> FormatHostname(const api::Hostname& conf, plugin::OsPlugin& plugin);

// A random (version 4, RFC 4122 variant) UUID from getrandom(2), lower case.
Expected<std::string> NewRandomUuid();

}  // namespace elemental::phase
