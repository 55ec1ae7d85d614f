// Choosing the OS plugin from the `agent.osPlugin` config value.
//
// Upstream dlopen()s the Go plugin at that path. A static binary cannot load
// shared objects, so the plugins are compiled in and the value only selects
// one, by its file name (the part after the last '/'); the directory is
// ignored and nothing is read from disk:
//
//   .../elemental.so   the native A/B plugin (the default,
//                      /usr/lib/elemental/plugins/elemental.so)
//   .../dummy.so       the dummy plugin (see dummy.hpp)
//
// Any other file name is an error. Existing configs keep working unchanged.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "plugin/plugin.hpp"

namespace elemental::plugin {

// The file names LoadPlugin knows, in the order they are listed in errors.
std::vector<std::string> KnownPlugins();

// Returns a new, not yet initialized plugin for `os_plugin`. Errors:
//   "plugin 'elemental.so' (native A/B) is not available in this build yet"
//   "unknown OS plugin '/x/foo.so': known plugins are elemental.so, dummy.so
//    (selected by file name)"
Expected<std::unique_ptr<OsPlugin>> LoadPlugin(const std::string& os_plugin);

}  // namespace elemental::plugin
