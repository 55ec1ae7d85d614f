// The agent config file: YAML parsing over upstream's defaults, writing, and
// Go duration syntax.
//
// Parsing mirrors what upstream gets from viper + mapstructure (weakly typed
// decoding into config.Config):
//   - keys match case-insensitively (viper lowercases every key), so the
//     documented `insecureSkipTLSVerify` spelling works like the yaml tag
//     `insecureSkipTlsVerify`;
//   - a missing or null value keeps the default;
//   - durations are Go duration strings or plain numbers of nanoseconds;
//   - booleans are YAML booleans or anything strconv.ParseBool takes, plus a
//     number (non-zero is true) and the YAML 1.1 words yes/no/on/off;
//   - unknown keys are ignored.
// yaml-cpp throws; every exception is caught here and turned into an Error
// naming the file, the 1-based line and column, and the key path.
#include "config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <set>
#include <vector>

#include "common/fs.hpp"
#include "common/yaml_text.hpp"

namespace elemental::config {
namespace {

// ---------------------------------------------------------------------------
// Decoding.

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const char* KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Null: return "null";
    default: return "an undefined value";
  }
}

// A plain scalar was written without quotes (yaml-cpp tags those "?"; quoted
// ones get "!"). Only plain scalars may be numbers.
bool IsPlain(const YAML::Node& n) { return n.Tag() == "?"; }

class Decoder {
 public:
  explicit Decoder(const std::string& source) : source_(source) {}

  // "<source>:<line>:<col>: <path>: <message>", 1-based like compilers.
  Error At(const YAML::Mark& mark, const std::string& path, const std::string& msg) const {
    std::string where = source_;
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    return Error(where + ": " + (path.empty() ? "" : path + ": ") + msg);
  }

  using Field = std::function<Status(const YAML::Node& value, const std::string& path)>;

  // Walks a mapping, calling the handler of each known key (matched
  // case-insensitively); unknown keys are ignored, a key given twice is an
  // error (yaml.v3, which viper uses, refuses those too).
  Status Map(const YAML::Node& node, const std::string& path,
             const std::vector<std::pair<std::string, Field>>& fields) const {
    if (node.IsNull()) return Status::Ok();
    if (!node.IsMap()) {
      return At(node.Mark(), path, std::string("expected a mapping, got ") + KindName(node));
    }
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) continue;  // complex keys are never ours
      const std::string& key = kv.first.Scalar();
      if (!seen.insert(key).second) {
        return At(kv.first.Mark(), path, "key '" + key + "' is given more than once");
      }
      const std::string lower = Lower(key);
      for (const auto& [name, handler] : fields) {
        if (Lower(name) != lower) continue;
        const std::string child = path.empty() ? name : path + "." + name;
        if (kv.second.IsNull()) break;  // null keeps the default
        if (Status st = handler(kv.second, child); !st) return st;
        break;
      }
    }
    return Status::Ok();
  }

  Status String(const YAML::Node& n, const std::string& path, std::string& out) const {
    if (!n.IsScalar()) {
      return At(n.Mark(), path, std::string("expected a string, got ") + KindName(n));
    }
    out = n.Scalar();
    return Status::Ok();
  }

  Status Bool(const YAML::Node& n, const std::string& path, bool& out) const {
    if (!n.IsScalar()) {
      return At(n.Mark(), path, std::string("expected a boolean, got ") + KindName(n));
    }
    const std::string& s = n.Scalar();
    // strconv.ParseBool's spellings, then YAML 1.1's words.
    static const std::set<std::string> kTrue = {"1", "t", "T", "true", "True", "TRUE",
                                                "yes", "Yes", "YES", "on", "On", "ON"};
    static const std::set<std::string> kFalse = {"0", "f", "F", "false", "False", "FALSE",
                                                 "no", "No", "NO", "off", "Off", "OFF", ""};
    if (kTrue.count(s) != 0) { out = true; return Status::Ok(); }
    if (kFalse.count(s) != 0) { out = false; return Status::Ok(); }
    // mapstructure's weak decoding: a number is true when non-zero.
    if (IsPlain(n)) {
      char* end = nullptr;
      errno = 0;
      const double d = std::strtod(s.c_str(), &end);
      if (errno == 0 && end != s.c_str() && *end == '\0' && std::isfinite(d)) {
        out = d != 0;
        return Status::Ok();
      }
    }
    return At(n.Mark(), path, "expected a boolean, got \"" + s + "\"");
  }

  Status Duration(const YAML::Node& n, const std::string& path, std::chrono::nanoseconds& out) const {
    if (!n.IsScalar()) {
      return At(n.Mark(), path,
                std::string("expected a duration (\"10s\", \"1m\" or nanoseconds), got ") +
                    KindName(n));
    }
    const std::string& s = n.Scalar();
    // An integer is nanoseconds (viper hands YAML ints to time.Duration as is).
    if (IsPlain(n) && !s.empty()) {
      size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
      bool digits = i < s.size();
      for (size_t j = i; j < s.size(); ++j) digits = digits && s[j] >= '0' && s[j] <= '9';
      if (digits) {
        errno = 0;
        char* end = nullptr;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (errno == ERANGE) return At(n.Mark(), path, "duration " + s + "ns is out of range");
        out = std::chrono::nanoseconds(v);
        return Status::Ok();
      }
    }
    auto d = ParseGoDuration(s);
    if (d) {
      out = *d;
      return Status::Ok();
    }
    // A plain float ("1.5e10") is truncated to whole nanoseconds, as
    // mapstructure does with a YAML float.
    if (IsPlain(n)) {
      errno = 0;
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      if (errno == 0 && end != s.c_str() && *end == '\0' && std::isfinite(v) &&
          v > -9.2233720368547758e18 && v < 9.2233720368547758e18) {
        out = std::chrono::nanoseconds(static_cast<int64_t>(v));
        return Status::Ok();
      }
    }
    return At(n.Mark(), path, d.error().message());
  }

 private:
  const std::string& source_;
};

Status DecodePostAction(const Decoder& d, const YAML::Node& n, const std::string& path,
                        api::PostAction& p) {
  return d.Map(n, path, {
      {"powerOff", [&](const YAML::Node& v, const std::string& k) { return d.Bool(v, k, p.power_off); }},
      {"reboot", [&](const YAML::Node& v, const std::string& k) { return d.Bool(v, k, p.reboot); }},
  });
}

Status DecodeRegistration(const Decoder& d, const YAML::Node& n, api::Registration& r) {
  return d.Map(n, "registration", {
      {"uri", [&](const YAML::Node& v, const std::string& k) { return d.String(v, k, r.uri); }},
      {"caCert", [&](const YAML::Node& v, const std::string& k) { return d.String(v, k, r.ca_cert); }},
      {"token", [&](const YAML::Node& v, const std::string& k) { return d.String(v, k, r.token); }},
      {"tokenDuration",
       [&](const YAML::Node& v, const std::string& k) { return d.Duration(v, k, r.token_duration); }},
  });
}

Status DecodeAgent(const Decoder& d, const YAML::Node& n, api::Agent& a) {
  using N = const YAML::Node&;
  using K = const std::string&;
  return d.Map(n, "agent", {
      {"workDir", [&](N v, K k) { return d.String(v, k, a.work_dir); }},
      {"hostname",
       [&](N v, K k) {
         return d.Map(v, k, {
             {"useExisting", [&](N v2, K k2) { return d.Bool(v2, k2, a.hostname.use_existing); }},
             {"prefix", [&](N v2, K k2) { return d.String(v2, k2, a.hostname.prefix); }},
         });
       }},
      {"noSmbios", [&](N v, K k) { return d.Bool(v, k, a.no_smbios); }},
      {"debug", [&](N v, K k) { return d.Bool(v, k, a.debug); }},
      {"osPlugin", [&](N v, K k) { return d.String(v, k, a.os_plugin); }},
      {"reconciliation", [&](N v, K k) { return d.Duration(v, k, a.reconciliation); }},
      {"insecureAllowHttp", [&](N v, K k) { return d.Bool(v, k, a.insecure_allow_http); }},
      {"insecureSkipTlsVerify", [&](N v, K k) { return d.Bool(v, k, a.insecure_skip_tls_verify); }},
      {"useSystemCertPool", [&](N v, K k) { return d.Bool(v, k, a.use_system_cert_pool); }},
      {"postInstall", [&](N v, K k) { return DecodePostAction(d, v, k, a.post_install); }},
      {"postReset", [&](N v, K k) { return DecodePostAction(d, v, k, a.post_reset); }},
  });
}

// ---------------------------------------------------------------------------
// Writing. The layout follows gopkg.in/yaml.v3 (what upstream writes): struct
// field order, four-space indentation, omitempty, durations as Go strings.
// Strings are quoted by common/yaml_text, the rules the plugins' YAML dumps
// use too.

class YamlWriter {
 public:
  // Each Field/Section call appends one line (or block) at the current depth.
  void String(const char* key, const std::string& v) {
    if (v.empty()) return;  // omitempty
    Key(key);
    out_ += ' ';
    out_ += yaml_text::Scalar(v, depth_ * 4 + 4);
  }
  void Bool(const char* key, bool v) {
    if (!v) return;  // omitempty
    Key(key);
    out_ += " true\n";
  }
  void Duration(const char* key, std::chrono::nanoseconds v) {
    if (v.count() == 0) return;  // omitempty
    Key(key);
    out_ += " " + FormatGoDuration(v) + "\n";
  }
  // A nested mapping; written as `key: {}` when everything in it is empty,
  // omitted entirely when `omit_empty` (yaml.v3's omitempty on structs).
  void Section(const char* key, bool omit_empty, const std::function<void(YamlWriter&)>& body) {
    YamlWriter inner;
    inner.depth_ = depth_ + 1;
    body(inner);
    if (inner.out_.empty()) {
      if (omit_empty) return;
      Key(key);
      out_ += " {}\n";
      return;
    }
    Key(key);
    out_ += "\n" + inner.out_;
  }
  const std::string& str() const { return out_; }

 private:
  void Key(const char* key) { out_ += std::string(depth_ * 4, ' ') + key + ":"; }

  std::string out_;
  int depth_ = 0;
};

void WritePostAction(YamlWriter& w, const api::PostAction& p) {
  w.Bool("powerOff", p.power_off);
  w.Bool("reboot", p.reboot);
}

// Go's quote() in package time: non-printable and non-ASCII bytes as \xNN.
std::string GoQuote(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x80 || c < ' ') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace

Config DefaultConfig() {
  Config c;
  c.agent.work_dir = kDefaultWorkDir;
  c.agent.reconciliation = kDefaultReconciliation;
  c.agent.os_plugin = kDefaultOsPlugin;
  return c;
}

Expected<Config> Parse(std::string_view yaml_text, const std::string& source) {
  Config cfg = DefaultConfig();
  Decoder d(source);
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsNull()) return cfg;  // an empty file: all defaults
    if (!root.IsMap()) {
      return d.At(root.Mark(), "", std::string("expected a mapping at the top level, got ") +
                                        KindName(root));
    }
    Status st = d.Map(root, "", {
        {"registration",
         [&](const YAML::Node& v, const std::string&) { return DecodeRegistration(d, v, cfg.registration); }},
        {"agent", [&](const YAML::Node& v, const std::string&) { return DecodeAgent(d, v, cfg.agent); }},
    });
    if (!st) return st.error();
  } catch (const YAML::Exception& e) {
    return d.At(e.mark, "", e.msg);
  } catch (const std::exception& e) {
    return Error(source + ": " + e.what());
  }
  return cfg;
}

Expected<Config> Load(const std::string& path) {
  auto text = fs::ReadFile(path, {.what = "config file"});
  if (!text) return text.error();
  return Parse(*text, path);
}

Config FromRegistration(const api::RegistrationResponse& reg) {
  Config c;
  c.registration = reg.elemental.registration;
  c.agent = reg.elemental.agent;
  return c;
}

std::string ToYaml(const Config& cfg) {
  YamlWriter w;
  const api::Registration& r = cfg.registration;
  const api::Agent& a = cfg.agent;
  // The two top-level fields have no omitempty upstream: always written.
  w.Section("registration", false, [&](YamlWriter& s) {
    s.String("uri", r.uri);
    s.String("caCert", r.ca_cert);
    s.Duration("tokenDuration", r.token_duration);
    s.String("token", r.token);
  });
  w.Section("agent", false, [&](YamlWriter& s) {
    s.String("workDir", a.work_dir);
    s.Section("hostname", true, [&](YamlWriter& h) {
      h.Bool("useExisting", a.hostname.use_existing);
      h.String("prefix", a.hostname.prefix);
    });
    s.Bool("noSmbios", a.no_smbios);
    s.Bool("debug", a.debug);
    s.String("osPlugin", a.os_plugin);
    s.Duration("reconciliation", a.reconciliation);
    s.Bool("insecureAllowHttp", a.insecure_allow_http);
    s.Bool("insecureSkipTlsVerify", a.insecure_skip_tls_verify);
    s.Bool("useSystemCertPool", a.use_system_cert_pool);
    s.Section("postInstall", true, [&](YamlWriter& p) { WritePostAction(p, a.post_install); });
    s.Section("postReset", true, [&](YamlWriter& p) { WritePostAction(p, a.post_reset); });
  });
  return w.str();
}

// A port of Go's time.ParseDuration (src/time/format.go), including its
// unsigned arithmetic and overflow checks, so the same strings are accepted
// and give the same values.
Expected<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  const std::string_view orig = text;
  std::string_view s = text;
  auto invalid = [&] { return Error("time: invalid duration " + GoQuote(orig)); };
  constexpr uint64_t kTop = uint64_t{1} << 63;

  uint64_t d = 0;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  while (!s.empty()) {
    uint64_t v = 0;
    uint64_t f = 0;
    double scale = 1;
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalid();
    // Leading integer.
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > kTop / 10) return invalid();
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kTop) return invalid();
    }
    const bool pre = i != 0;
    s.remove_prefix(i);
    // Fraction: stops accumulating precision on overflow, never fails.
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      size_t j = 0;
      bool overflow = false;
      for (; j < s.size() && s[j] >= '0' && s[j] <= '9'; ++j) {
        if (overflow) continue;
        if (f > (kTop - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[j] - '0');
        if (y > kTop) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j != 0;
      s.remove_prefix(j);
    }
    if (!pre && !post) return invalid();
    // Unit: everything up to the next digit or dot.
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) return Error("time: missing unit in duration " + GoQuote(orig));
    const std::string_view unit_name = s.substr(0, u);
    s.remove_prefix(u);
    uint64_t unit = 0;
    if (unit_name == "ns") unit = 1;
    else if (unit_name == "us" || unit_name == "\xc2\xb5s" || unit_name == "\xce\xbcs") unit = 1000;
    else if (unit_name == "ms") unit = 1000000;
    else if (unit_name == "s") unit = 1000000000;
    else if (unit_name == "m") unit = 60ULL * 1000000000;
    else if (unit_name == "h") unit = 3600ULL * 1000000000;
    else {
      return Error("time: unknown unit " + GoQuote(unit_name) + " in duration " + GoQuote(orig));
    }
    if (v > kTop / unit) return invalid();
    v *= unit;
    if (f > 0) {
      // float64 keeps nanosecond accuracy for fractions of hours.
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kTop) return invalid();
    }
    d += v;  // may wrap exactly like Go's uint64 does
    if (d > kTop) return invalid();
  }
  if (neg) return std::chrono::nanoseconds(static_cast<int64_t>(0 - d));
  if (d > kTop - 1) return invalid();
  return std::chrono::nanoseconds(static_cast<int64_t>(d));
}

// A port of Go's time.Duration.String().
std::string FormatGoDuration(std::chrono::nanoseconds dur) {
  char buf[32];
  int w = sizeof(buf);
  const int64_t d = dur.count();
  uint64_t u = static_cast<uint64_t>(d);
  const bool neg = d < 0;
  if (neg) u = 0 - u;

  // Writes the fraction u / 10^prec without trailing zeros (and without the
  // dot when it is zero); leaves the integer part in u.
  auto frac = [&](int prec) {
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      const uint64_t digit = u % 10;
      print = print || digit != 0;
      if (print) buf[--w] = static_cast<char>('0' + digit);
      u /= 10;
    }
    if (print) buf[--w] = '.';
  };
  auto integer = [&](uint64_t v) {
    if (v == 0) {
      buf[--w] = '0';
      return;
    }
    while (v > 0) {
      buf[--w] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };

  constexpr uint64_t kSecond = 1000000000;
  if (u < kSecond) {
    // Below a second: the largest sub-second unit, like "1.2ms".
    int prec = 0;
    buf[--w] = 's';
    if (u == 0) {
      buf[--w] = '0';
      return std::string(buf + w, sizeof(buf) - w);
    } else if (u < 1000) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < 1000000) {
      prec = 3;
      buf[--w] = '\xb5';  // U+00B5 'µ' is 0xC2 0xB5
      buf[--w] = '\xc2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    frac(prec);
    integer(u);
  } else {
    buf[--w] = 's';
    frac(9);
    integer(u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      integer(u % 60);
      u /= 60;
      // Hours are the largest unit: days differ in length.
      if (u > 0) {
        buf[--w] = 'h';
        integer(u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  return std::string(buf + w, sizeof(buf) - w);
}

}  // namespace elemental::config
