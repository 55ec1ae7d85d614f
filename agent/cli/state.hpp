// The commands on the A/B slot state record. Neither needs a config or a
// registration, so both are dispatched before the other commands' argument
// parsing:
//   elemental-agent state [--state-dir DIR]          prints the record (and
//       the disk layout) as YAML (agent/slots/render.hpp)
//   elemental-agent boot-decision [--state-dir DIR]  what the boot image does
//       now: runs slots::DecideBoot, writes the record it asks for (one boot
//       try less, a rollback, a repair) and prints the decision as YAML:
//         action: boot|install|reset
//         slot: A|B|none
//         rolledBack: true|false
//         recordDamaged: true|false
//         message: "..."
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "slots/file_ops.hpp"
#include "slots/render.hpp"

namespace elemental::cli {

// The first command word of argv (without argv[0]) when it is "state" or
// "boot-decision", else "". Global flags (--config PATH, --debug) may come
// before it.
std::string SlotCommand(const std::vector<std::string>& args);

// Runs `state`: reads the record from --state-dir (default
// slots::kDefaultStateDir) through `ops` and appends the YAML to `out`, or a
// message to `err`. `layout` is printed when given (the disk code has it).
// Returns 0 (also with no record: "installed: false"), 1 when the record
// cannot be read (both copies damaged, I/O error), 2 on a usage error.
int StateMain(const std::vector<std::string>& args, slots::FileOps& ops,
              const std::optional<std::vector<slots::LayoutEntry>>& layout, std::string& out,
              std::string& err);

// Runs `boot-decision` at time `now`. Returns 0 with the decision on `out`
// (also when writing the record failed: the decision then falls back as
// BootDecision::if_write_fails says, and `err` says why), 1 when no decision
// can be printed, 2 on a usage error.
int BootDecisionMain(const std::vector<std::string>& args, slots::FileOps& ops,
                     std::chrono::system_clock::time_point now, std::string& out,
                     std::string& err);

}  // namespace elemental::cli
