// The `state` command: its flags, and the record printed as YAML.
#include "cli/state.hpp"

#include "cli/args.hpp"
#include "slots/store.hpp"

namespace elemental::cli {

bool IsStateCommand(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config") {
      ++i;  // its value
      continue;
    }
    if (a.size() > 1 && a[0] == '-') continue;
    return a == "state";
  }
  return false;
}

int StateMain(const std::vector<std::string>& args, slots::FileOps& ops,
              const std::optional<std::vector<slots::LayoutEntry>>& layout, std::string& out,
              std::string& err) {
  std::string dir = slots::kDefaultStateDir;
  bool seen_command = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::string name = a;
    std::string value;
    bool has_value = false;
    if (size_t eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (name == "--state-dir" || name == "--config") {
      if (!has_value) {
        if (i + 1 >= args.size()) {
          err += "Error: flag needs an argument: " + name + "\n";
          return 2;
        }
        value = args[++i];
      }
      if (value.empty()) {
        err += "Error: flag needs an argument: " + name + "\n";
        return 2;
      }
      if (name == "--state-dir") dir = value;  // --config is accepted and not needed
    } else if (name == "--debug") {
      // Accepted as everywhere; `state` logs nothing.
    } else if (name == "-h" || name == "--help") {
      out += Usage(Command::kState);
      return 0;
    } else if (a == "state" && !seen_command) {
      seen_command = true;
    } else if (a.size() > 1 && a[0] == '-') {
      err += "Error: unknown flag: " + name + "\nRun 'elemental-agent --help' for usage.\n";
      return 2;
    } else {
      err += "Error: unexpected argument \"" + a + "\" for \"elemental-agent state\"\n";
      return 2;
    }
  }
  slots::Store store(ops, dir);
  auto loaded = store.Load();
  if (!loaded) {
    err += "Error: " + loaded.error().message() + "\n";
    return 1;
  }
  out += slots::RenderState(*loaded, layout);
  return 0;
}

}  // namespace elemental::cli
