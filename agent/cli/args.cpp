// Hand-written argument parsing and the help texts.
#include "cli/args.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "config/config.hpp"

namespace elemental::cli {
namespace {

struct CommandInfo {
  Command command;
  const char* name;
  const char* short_help;
  const char* long_help;
};

constexpr CommandInfo kCommands[] = {
    {Command::kRegister, "register",
     "Registers this Elemental host to the remote CAPI management cluster",
     "Registers this Elemental host to the remote CAPI management cluster"},
    {Command::kInstall, "install", "Installs the OS on this Elemental host",
     "Installs the OS on this Elemental host"},
    {Command::kRun, "run", "Operates this Elemental host according to the remote CAPI conditions",
     "Operates this Elemental host according to the remote CAPI conditions:\n\n"
     "This is the normal running operation of an Elemental host.\n"
     "This command will reconcile the remote ElementalHost resource describing this host."},
    {Command::kReset, "reset", "Resets this Elemental host", "Resets this Elemental host"},
    {Command::kVersion, "version", "Returns the version of the elemental-agent",
     "Returns the version of the elemental-agent"},
    {Command::kPull, "pull", "Pulls an OCI image and writes its root filesystem into a directory",
     "Pulls an OCI image from a registry and writes its root filesystem into a directory"},
    {Command::kState, "state", "Prints the A/B slot state record and the disk layout as YAML",
     "Prints the A/B slot state record (and the disk layout) as YAML"},
    {Command::kBootDecision, "boot-decision",
     "Decides which slot the boot image boots and records the boot try",
     "Decides what the boot image does now (boot a slot, install, reset), writes the\n"
     "slot state record's new boot count or rollback, and prints the decision as YAML"},
    {Command::kBoot, "boot", "Runs the boot image's early boot (as its init, PID 1)",
     "Runs the boot image's early boot as PID 1: mounts, modules, DHCP, agent config,\n"
     "then installs, resets or boots the chosen A/B slot (switch_root)"},
    {Command::kHelp, "help", "Help about any command", "Help about any command"},
};

// The string-valued flags of `pull`.
constexpr const char* kPullFlags[] = {"--to", "--insecure-registry", "--ca-file", "--auth-file",
                                      "--platform", "--registries-config"};

const CommandInfo* FindCommand(std::string_view name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const CommandInfo* Info(Command command) {
  for (const auto& c : kCommands) {
    if (c.command == command) return &c;
  }
  return nullptr;
}

// Go's strconv.ParseBool, which cobra uses for `--flag=value`.
Expected<bool> ParseBool(const std::string& flag, const std::string& v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") return false;
  return Error("invalid argument \"" + v + "\" for \"" + flag + "\" flag: expected a boolean");
}

constexpr const char* kGlobalFlags =
    "      --config string   Config file (default \"/etc/elemental/agent/config.yaml\")\n"
    "      --debug           Enables debug logging\n";

}  // namespace

const char* CommandName(Command command) {
  const CommandInfo* info = Info(command);
  return info ? info->name : "";
}

Expected<Args> ParseArgs(const std::vector<std::string>& args) {
  Args out;
  out.config_path = config::kDefaultConfigPath;
  bool install_seen = false;
  bool topic_seen = false;
  std::string pull_flag_seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 1 && a[0] == '-') {
      std::string name = a;
      std::string value;
      bool has_value = false;
      if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        has_value = true;
      }
      if (name == "--config") {
        if (!has_value) {
          if (i + 1 >= args.size()) return Error("flag needs an argument: --config");
          value = args[++i];
        }
        if (value.empty()) return Error("flag needs an argument: --config");
        out.config_path = value;
      } else if (name == "--debug") {
        auto b = has_value ? ParseBool("debug", value) : Expected<bool>(true);
        if (!b) return b.error();
        out.debug = *b;
      } else if (name == "--install") {
        auto b = has_value ? ParseBool("install", value) : Expected<bool>(true);
        if (!b) return b.error();
        out.install = *b;
        install_seen = true;
      } else if (std::find(std::begin(kPullFlags), std::end(kPullFlags), name) !=
                 std::end(kPullFlags)) {
        if (!has_value) {
          if (i + 1 >= args.size()) return Error("flag needs an argument: " + name);
          value = args[++i];
        }
        if (value.empty()) return Error("flag needs an argument: " + name);
        pull_flag_seen = name;
        if (name == "--to") out.pull_to = value;
        if (name == "--insecure-registry") out.insecure_registries.push_back(value);
        if (name == "--ca-file") out.ca_file = value;
        if (name == "--auth-file") out.auth_file = value;
        if (name == "--platform") out.platform = value;
        if (name == "--registries-config") out.registries_config = value;
      } else if ((name == "--help" || name == "-h") && !has_value) {
        out.help = true;
      } else if (a.rfind("--", 0) == 0) {
        return Error("unknown flag: " + name);
      } else {
        return Error("unknown shorthand flag: '" + a.substr(1, 1) + "' in " + a);
      }
      continue;
    }
    // A positional argument: the command, or the topic of `help`.
    if (out.command == Command::kNone) {
      const CommandInfo* c = FindCommand(a);
      if (c == nullptr) return Error("unknown command \"" + a + "\" for \"elemental-agent\"");
      out.command = c->command;
      continue;
    }
    if (out.command == Command::kHelp && !topic_seen) {
      const CommandInfo* c = FindCommand(a);
      if (c == nullptr) return Error("unknown help topic \"" + a + "\"");
      out.help_topic = c->command;
      topic_seen = true;
      continue;
    }
    if (out.command == Command::kPull && out.pull_ref.empty()) {
      out.pull_ref = a;
      continue;
    }
    return Error("unexpected argument \"" + a + "\" for \"elemental-agent " +
                 CommandName(out.command) + "\"");
  }
  // --install is a flag of `register` only.
  if (install_seen && out.command != Command::kRegister &&
      !(out.command == Command::kHelp || out.help)) {
    return Error("unknown flag: --install");
  }
  bool helping = out.command == Command::kHelp || out.help;
  if (!pull_flag_seen.empty() && out.command != Command::kPull && !helping) {
    return Error("unknown flag: " + pull_flag_seen);
  }
  if (out.command == Command::kPull && !helping) {
    if (out.pull_ref.empty()) return Error("pull needs an image reference");
    if (out.pull_to.empty()) return Error("required flag(s) \"to\" not set");
  }
  if (out.command == Command::kHelp) {
    out.help = true;
  } else if (out.help) {
    out.help_topic = out.command;
  }
  return out;
}

std::string Usage(Command command) {
  const CommandInfo* info = Info(command);
  if (info == nullptr || command == Command::kHelp) {
    std::string s =
        "elemental-agent takes care of the entire lifecycle of an Elemental host,\n"
        "first boot registration, installation, CAPI bootstrapping, upgrades, and reset.\n"
        "\n"
        "Usage:\n"
        "  elemental-agent [--config PATH] [--debug] <command> [flags]\n"
        "\n"
        "Commands:\n";
    // As cobra: names padded to the longest one (at least 11), then a space.
    size_t width = 11;
    for (const auto& c : kCommands) width = std::max(width, std::string_view(c.name).size());
    for (const auto& c : kCommands) {
      std::string name = c.name;
      name.resize(width + 1, ' ');
      s += "  " + name + c.short_help + "\n";
    }
    s += "\nFlags:\n";
    s += kGlobalFlags;
    s += "  -h, --help            Shows this help\n";
    s += "\nUse \"elemental-agent <command> --help\" for more information about a command.\n";
    return s;
  }
  std::string s = std::string(info->long_help) + "\n\nUsage:\n  elemental-agent " + info->name;
  if (command == Command::kRegister) {
    s += " [--install] [flags]\n";
  } else if (command == Command::kPull) {
    s += " REF --to DIR [flags]\n";
  } else {
    s += " [flags]\n";
  }
  s += "\nFlags:\n";
  if (command == Command::kRegister) {
    s += "      --install         Automatically installs the system after registration\n";
  }
  if (command == Command::kState || command == Command::kBootDecision) {
    s += "      --state-dir string   Directory of the slot state record (default \"/oem/elemental/state\")\n";
  }
  if (command == Command::kPull) {
    s += "      --to string                 Directory to write the root filesystem into\n"
         "      --insecure-registry string  Registry (host[:port]) to reach over plain HTTP\n"
         "      --ca-file string            PEM CA bundle for HTTPS registries\n"
         "      --auth-file string          Docker config.json with registry credentials\n"
         "      --platform string           Platform to pick from an index (default "
         "\"linux/amd64\")\n"
         "      --registries-config string  Mirrors and registry settings, registries.yaml format\n"
         "                                  (default /etc/elemental/agent/registries.yaml if it "
         "exists)\n";
  }
  s += "  -h, --help            Shows this help\n";
  s += "\nGlobal Flags:\n";
  s += kGlobalFlags;
  return s;
}

}  // namespace elemental::cli
