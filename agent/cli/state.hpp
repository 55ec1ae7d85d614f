// `elemental-agent state [--state-dir DIR]`: prints the A/B slot state record
// as YAML (agent/slots/render.hpp). It needs no config and no registration,
// so it is dispatched before the other commands' argument parsing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "slots/file_ops.hpp"
#include "slots/render.hpp"

namespace elemental::cli {

// True when the first command word of argv (without argv[0]) is "state".
// Global flags (--config PATH, --debug) may come before it.
bool IsStateCommand(const std::vector<std::string>& args);

// Runs `state`: reads the record from --state-dir (default
// slots::kDefaultStateDir) through `ops` and appends the YAML to `out`, or a
// message to `err`. `layout` is printed when given (the disk code has it).
// Returns 0 (also with no record: "installed: false"), 1 when the record
// cannot be read (both copies damaged, I/O error), 2 on a usage error.
int StateMain(const std::vector<std::string>& args, slots::FileOps& ops,
              const std::optional<std::vector<slots::LayoutEntry>>& layout, std::string& out,
              std::string& err);

}  // namespace elemental::cli
