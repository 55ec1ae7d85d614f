// Post actions (upstream cmd/agent/common.go handlePost).
#pragma once

#include "api/types.hpp"
#include "plugin/plugin.hpp"

namespace elemental::phase {

// Power off wins over reboot. Calls the plugin's PowerOff or Reboot and logs
// its error (the program exits either way). Returns true when an action was
// requested, meaning the program should exit; false when `post` is empty.
bool HandlePost(plugin::OsPlugin& plugin, const api::PostAction& post);

}  // namespace elemental::phase
