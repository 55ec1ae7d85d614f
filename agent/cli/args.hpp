// Command line parsing, by hand: global flags, one command, its flags.
//
//   elemental-agent [--config PATH] [--debug] COMMAND [--install]
//   elemental-agent pull REF --to DIR [--insecure-registry HOST]... [--ca-file F]
//                   [--auth-file config.json] [--platform os/arch[/variant]]
//                   [--registries-config registries.yaml]
//   elemental-agent state [--state-dir DIR]      (parsed in cli/state.cpp)
//   elemental-agent boot-decision [--state-dir DIR]   (parsed in cli/state.cpp)
//   elemental-agent boot                        (the boot image's early boot, agent/boot)
//
// Flags may come before or after the command (as with upstream's cobra).
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"

namespace elemental::cli {

enum class Command { kNone, kRegister, kInstall, kRun, kReset, kVersion, kHelp, kPull, kState,
                     kBootDecision, kBoot };

struct Args {
  Command command = Command::kNone;
  std::string config_path;  // --config; default /etc/elemental/agent/config.yaml
  bool debug = false;       // --debug
  bool install = false;     // register --install
  bool help = false;        // -h/--help, or the `help` command
  Command help_topic = Command::kNone;  // `help register`, `register --help`

  // `pull` only: the image reference, the target directory (--to), plain-HTTP
  // registries (--insecure-registry, repeatable), a CA bundle (--ca-file), a
  // Docker config.json (--auth-file) and the platform (--platform, default
  // linux/amd64).
  std::string pull_ref;
  std::string pull_to;
  std::vector<std::string> insecure_registries;
  std::string ca_file;
  std::string auth_file;
  std::string platform = "linux/amd64";
  std::string registries_config;  // --registries-config; "" = the default if present
};

// Parses argv without argv[0]. Errors are usage errors, worded as cobra's:
// `unknown command "x" for "elemental-agent"`, "unknown flag: --x",
// "flag needs an argument: --config".
Expected<Args> ParseArgs(const std::vector<std::string>& args);

// Help text for the program (kNone / kHelp) or for one command.
std::string Usage(Command command);

// The command's name as typed ("register"); "" for kNone.
const char* CommandName(Command command);

}  // namespace elemental::cli
