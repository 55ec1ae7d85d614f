// The `state` and `boot-decision` commands: their flags, the record printed
// as YAML, the boot decision applied and printed.
#include "cli/state.hpp"

#include "cli/args.hpp"
#include "slots/boot.hpp"
#include "slots/store.hpp"

namespace elemental::cli {
namespace {

// Flags shared by both commands. Returns the state dir, or nullopt after
// writing usage/help to out/err with `rc` set.
std::optional<std::string> ParseSlotFlags(const std::vector<std::string>& args,
                                          const std::string& command, Command help,
                                          std::string& out, std::string& err, int& rc) {
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
          rc = 2;
          return std::nullopt;
        }
        value = args[++i];
      }
      if (value.empty()) {
        err += "Error: flag needs an argument: " + name + "\n";
        rc = 2;
        return std::nullopt;
      }
      if (name == "--state-dir") dir = value;  // --config is accepted and not needed
    } else if (name == "--debug") {
      // Accepted as everywhere; these commands log nothing.
    } else if (name == "-h" || name == "--help") {
      out += Usage(help);
      rc = 0;
      return std::nullopt;
    } else if (a == command && !seen_command) {
      seen_command = true;
    } else if (a.size() > 1 && a[0] == '-') {
      err += "Error: unknown flag: " + name + "\nRun 'elemental-agent --help' for usage.\n";
      rc = 2;
      return std::nullopt;
    } else {
      err += "Error: unexpected argument \"" + a + "\" for \"elemental-agent " + command + "\"\n";
      rc = 2;
      return std::nullopt;
    }
  }
  return dir;
}

// A double-quoted YAML scalar.
std::string Quoted(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      q += '\\';
      q += c;
    } else if (c == '\n') {
      q += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      q += ' ';
    } else {
      q += c;
    }
  }
  return q + "\"";
}

}  // namespace

std::string SlotCommand(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config") {
      ++i;  // its value
      continue;
    }
    if (a.size() > 1 && a[0] == '-') continue;
    return a == "state" || a == "boot-decision" ? a : "";
  }
  return "";
}

int StateMain(const std::vector<std::string>& args, slots::FileOps& ops,
              const std::optional<std::vector<slots::LayoutEntry>>& layout, std::string& out,
              std::string& err) {
  int rc = 0;
  auto dir = ParseSlotFlags(args, "state", Command::kState, out, err, rc);
  if (!dir) return rc;
  slots::Store store(ops, *dir);
  auto loaded = store.Load();
  if (!loaded) {
    err += "Error: " + loaded.error().message() + "\n";
    return 1;
  }
  out += slots::RenderState(*loaded, layout);
  return 0;
}

int BootDecisionMain(const std::vector<std::string>& args, slots::FileOps& ops,
                     std::chrono::system_clock::time_point now, std::string& out,
                     std::string& err) {
  int rc = 0;
  auto dir = ParseSlotFlags(args, "boot-decision", Command::kBootDecision, out, err, rc);
  if (!dir) return rc;
  slots::Store store(ops, *dir);
  slots::BootDecision d = slots::DecideBoot(store.Load(), now);
  if (d.write) {
    slots::Record record = *d.write;
    if (Status st = store.Save(record); !st) {
      err += "Warning: writing the slot state record in '" + *dir +
             "': " + st.error().message() + "\n";
      if (d.if_write_fails != slots::Slot::kNone) {
        d.slot = d.if_write_fails;
        d.rolled_back = false;
        d.message += "; the record could not be written, so slot " +
                     std::string(slots::SlotName(d.slot)) + " boots instead";
      }
    }
  }
  out += std::string("action: ") + slots::BootActionName(d.action) + "\n";
  out += std::string("slot: ") +
         (d.slot == slots::Slot::kNone ? "none" : slots::SlotName(d.slot)) + "\n";
  out += std::string("rolledBack: ") + (d.rolled_back ? "true" : "false") + "\n";
  out += std::string("recordDamaged: ") + (d.record_damaged ? "true" : "false") + "\n";
  out += "message: " + Quoted(d.message) + "\n";
  return 0;
}

}  // namespace elemental::cli
