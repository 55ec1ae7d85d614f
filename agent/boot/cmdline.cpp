// Kernel command line parsing (see cmdline.hpp).
#include "boot/cmdline.hpp"

namespace elemental::boot {
namespace {

constexpr size_t kMaxValue = 8192;

// Splits like the kernel: spaces separate words, double quotes group.
std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : s) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
      if (any) out.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

bool IsHttpUrl(const std::string& v) {
  return v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
}

}  // namespace

Expected<BootParams> ParseCmdline(std::string_view cmdline) {
  BootParams p;
  for (const std::string& w : Words(cmdline)) {
    if (w.rfind("elemental.", 0) != 0) continue;
    const size_t eq = w.find('=');
    const std::string key = w.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string value = has_value ? w.substr(eq + 1) : std::string();
    auto fail = [&](const std::string& why) {
      return Error("kernel command line: " + key + ": " + why);
    };
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail("control character in the value");
    }
    if (value.size() > kMaxValue) return fail("value longer than " + std::to_string(kMaxValue) + " bytes");
    if (key == "elemental.debug" || key == "elemental.shell") {
      bool on = !has_value || value == "1" || value == "true" || value == "yes";
      if (has_value && !on && value != "0" && value != "false" && value != "no") {
        return fail("expected no value or true/false, got '" + value + "'");
      }
      (key == "elemental.debug" ? p.debug : p.shell) = on;
      continue;
    }
    std::string* target = nullptr;
    if (key == "elemental.registration.uri") target = &p.registration_uri;
    if (key == "elemental.registration.token") target = &p.registration_token;
    if (key == "elemental.config.url") target = &p.config_url;
    if (target == nullptr) {
      p.warnings.push_back("kernel command line: unknown key '" + key + "' ignored");
      continue;
    }
    if (value.empty()) return fail("needs a value (" + key + "=...)");
    if (target != &p.registration_token && !IsHttpUrl(value)) {
      return fail("not an http(s) URL: '" + value + "'");
    }
    *target = value;
  }
  return p;
}

}  // namespace elemental::boot
