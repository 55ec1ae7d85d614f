// The kernel command line keys the boot image reads (all optional):
//
//   elemental.registration.uri=URL    registration URL (overrides the baked config's)
//   elemental.registration.token=TOK  registration token (overrides the baked config's)
//   elemental.config.url=URL          http(s) URL of a whole agent config (YAML), fetched
//                                     after DHCP; it replaces the baked config
//   elemental.debug                   debug logging
//   elemental.shell                   a shell on the console before anything else
//
// Values may be double-quoted ("a b"). Other kernel parameters are ignored;
// an unknown `elemental.` key is a warning (a typo must be visible).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace elemental::boot {

struct BootParams {
  std::string registration_uri;
  std::string registration_token;
  std::string config_url;
  bool debug = false;
  bool shell = false;
  std::vector<std::string> warnings;  // for the boot log
};

// Errors name the key: "kernel command line: elemental.config.url: not an
// http(s) URL: 'ftp://x'", "...: elemental.registration.uri needs a value".
Expected<BootParams> ParseCmdline(std::string_view cmdline);

}  // namespace elemental::boot
