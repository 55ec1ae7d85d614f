// JSON → YAML, written by hand so the output is exact: yaml-cpp's emitter
// writes literal blocks without chomping indicators (a string without a final
// newline would read back with one) and passes control characters through
// unescaped.
#include "plugin/yaml_convert.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string_view>
#include <vector>

namespace elemental::plugin {
namespace {

constexpr int kIndent = 4;

std::string Pad(int n) { return std::string(static_cast<size_t>(n), ' '); }

// Decodes UTF-8; false when the bytes are not valid UTF-8 (overlong forms,
// surrogates and values past U+10FFFF included).
bool DecodeUtf8(std::string_view s, std::vector<uint32_t>& out) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; len = 2; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; len = 3; }
    else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; len = 4; }
    else return false;
    if (i + len > s.size()) return false;
    for (size_t j = 1; j < len; ++j) {
      const auto cc = static_cast<unsigned char>(s[i + j]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    out.push_back(cp);
    i += len;
  }
  return true;
}

// YAML's printable set, minus the characters YAML 1.1 treats as line breaks
// (NEL, LS, PS) and the byte order mark: those are always escaped.
bool Printable(uint32_t cp) {
  if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff) return false;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// Words and shapes a YAML 1.1 or 1.2 reader would not take as a string:
// null, booleans (YAML 1.1's yes/no/on/off/y/n too), numbers in any base,
// sexagesimals, timestamps, infinities, NaN, the merge and value keys.
bool LooksLikeNonString(const std::string& s) {
  static const std::set<std::string> kWords = {
      "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
      "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
      "off", "Off", "OFF", "<<", "=", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
      "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN"};
  if (kWords.count(s) != 0) return true;
  // Starts with a digit (after a sign or a dot) and uses only number-ish
  // characters: over-quotes a little ("12abc"), never under-quotes.
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i < s.size() && s[i] == '.') ++i;
  if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  for (char c : s) {
    if (std::string_view("0123456789abcdefABCDEFxXoO._:+-tTzZ ").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Whether a string may be written as a plain scalar in block context.
bool PlainSafe(const std::string& s, const std::vector<uint32_t>& cps, bool top_level) {
  if (s.empty() || LooksLikeNonString(s)) return false;
  for (uint32_t cp : cps) {
    if (!Printable(cp)) return false;  // also rules out tab and line breaks
  }
  if (s.front() == ' ' || s.back() == ' ') return false;
  // Indicators may not start a plain scalar; "-x" is fine, "- x" is not.
  if (std::string_view("?:,[]{}#&*!|>'\"%@`").find(s[0]) != std::string_view::npos) return false;
  if (s[0] == '-' && (s.size() == 1 || s[1] == ' ')) return false;
  if (top_level && (s.rfind("---", 0) == 0 || s.rfind("...", 0) == 0)) return false;
  if (s.back() == ':') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  return true;
}

// A literal block is exact when everything is printable (tabs allowed) and
// the first line starts with a visible character: readers infer the block's
// indentation from the first non-empty line.
bool LiteralSafe(const std::string& s, const std::vector<uint32_t>& cps) {
  if (s.find('\n') == std::string::npos) return false;
  if (s[0] == ' ' || s[0] == '\t' || s[0] == '\n') return false;
  for (uint32_t cp : cps) {
    if (cp != '\n' && cp != '\t' && !Printable(cp)) return false;
  }
  return true;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

std::string DoubleQuoted(const std::vector<uint32_t>& cps) {
  std::string out = "\"";
  char buf[12];
  for (uint32_t cp : cps) {
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0: out += "\\0"; break;
      default:
        if (Printable(cp)) {
          AppendUtf8(out, cp);
        } else if (cp <= 0xff) {
          std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
          out += buf;
        } else if (cp <= 0xffff) {
          std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
          out += buf;
        } else {
          std::snprintf(buf, sizeof(buf), "\\U%08x", cp);
          out += buf;
        }
    }
  }
  return out + "\"";
}

// A literal block: "|" clips to one final newline, "|-" strips it, "|+"
// keeps them all. Non-empty lines are indented to `indent`, empty lines stay
// empty (no trailing blanks).
std::string Literal(const std::string& s, int indent) {
  size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  std::string out = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  const std::string_view body(s.data(), s.size() - trailing);
  size_t start = 0;
  for (;;) {
    const size_t nl = body.find('\n', start);
    const std::string_view line = body.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty()) out += Pad(indent) + std::string(line);
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  for (size_t i = 1; i < trailing; ++i) out += '\n';
  return out;
}

std::string FormatNumber(double n) {
  char buf[40];
  if (!std::isfinite(n)) return n != n ? ".nan" : (n > 0 ? ".inf" : "-.inf");
  if (std::floor(n) == n && std::fabs(n) < 9007199254740992.0) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
    return buf;
  }
  // The shortest form that reads back to the same double.
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*g", prec, n);
    if (std::strtod(buf, nullptr) == n) break;
  }
  std::string s = buf;
  // YAML 1.1 wants a dot in an exponent float ("1.0e+20", not "1e+20").
  const size_t e = s.find('e');
  if (e != std::string::npos && s.find('.') == std::string::npos) s.insert(e, ".0");
  return s;
}

class Writer {
 public:
  Status Node(const json::Value& v, int indent, const std::string& path, bool top_level);

  std::string out;

 private:
  // A scalar as it follows "key: " or "- " (or starts the document); block
  // scalars end with their own newline, the others get one appended.
  Status ScalarLine(const json::Value& v, int indent, const std::string& path, bool top_level);
  Status Key(const std::string& key, const std::string& path);
  Status Map(const json::Object& obj, int indent, const std::string& path, bool inline_first);
  Status Seq(const json::Array& arr, int indent, const std::string& path, bool inline_first);
  // What follows "key:" or "-": " scalar\n", " {}\n", or a nested block.
  Status After(const json::Value& v, int indent, int child_indent, const std::string& path,
               bool in_seq);
};

Error NotUtf8(const std::string& path) {
  return Error((path.empty() ? std::string("string") : path + ": string") + " is not valid UTF-8");
}

Status Writer::ScalarLine(const json::Value& v, int indent, const std::string& path,
                          bool top_level) {
  switch (v.type()) {
    case json::Type::kNull: out += "null\n"; return Status::Ok();
    case json::Type::kBool: out += v.as_bool() ? "true\n" : "false\n"; return Status::Ok();
    case json::Type::kNumber: out += FormatNumber(v.as_number()) + "\n"; return Status::Ok();
    case json::Type::kString: {
      const std::string& s = v.as_string();
      std::vector<uint32_t> cps;
      if (!DecodeUtf8(s, cps)) return NotUtf8(path);
      if (LiteralSafe(s, cps)) {
        out += Literal(s, indent);
      } else if (PlainSafe(s, cps, top_level)) {
        out += s + "\n";
      } else {
        out += DoubleQuoted(cps) + "\n";
      }
      return Status::Ok();
    }
    default: return Error("not a scalar");
  }
}

Status Writer::Key(const std::string& key, const std::string& path) {
  std::vector<uint32_t> cps;
  if (!DecodeUtf8(key, cps)) return NotUtf8(path.empty() ? "key" : path + " key");
  out += PlainSafe(key, cps, false) ? key : DoubleQuoted(cps);
  out += ':';
  return Status::Ok();
}

Status Writer::After(const json::Value& v, int indent, int child_indent, const std::string& path,
                     bool in_seq) {
  if (v.is_object() && !v.as_object().empty()) {
    if (in_seq) {
      out += ' ';
      return Map(v.as_object(), child_indent, path, true);
    }
    out += '\n';
    return Map(v.as_object(), child_indent, path, false);
  }
  if (v.is_array() && !v.as_array().empty()) {
    if (in_seq) {
      out += ' ';
      return Seq(v.as_array(), child_indent, path, true);
    }
    out += '\n';
    return Seq(v.as_array(), child_indent, path, false);
  }
  if (v.is_object()) { out += " {}\n"; return Status::Ok(); }
  if (v.is_array()) { out += " []\n"; return Status::Ok(); }
  out += ' ';
  // Block scalar content must be deeper than the node that owns it.
  return ScalarLine(v, indent + kIndent, path, false);
}

Status Writer::Map(const json::Object& obj, int indent, const std::string& path,
                   bool inline_first) {
  bool first = true;
  for (const auto& [key, value] : obj) {
    if (!(first && inline_first)) out += Pad(indent);
    first = false;
    const std::string child = path.empty() ? key : path + "." + key;
    if (Status st = Key(key, child); !st) return st;
    // Sequences under a key are indented (yaml.v3 style), maps too.
    if (Status st = After(value, indent, indent + kIndent, child, false); !st) return st;
  }
  return Status::Ok();
}

Status Writer::Seq(const json::Array& arr, int indent, const std::string& path, bool inline_first) {
  for (size_t i = 0; i < arr.size(); ++i) {
    if (!(i == 0 && inline_first)) out += Pad(indent);
    out += '-';
    const std::string child = path + "[" + std::to_string(i) + "]";
    // A map or sequence inside an item starts on the dash's line and
    // continues two columns in, under its first entry.
    if (Status st = After(arr[i], indent, indent + 2, child, true); !st) return st;
  }
  return Status::Ok();
}

Status Writer::Node(const json::Value& v, int indent, const std::string& path, bool top_level) {
  if (v.is_object()) {
    if (v.as_object().empty()) { out += "{}\n"; return Status::Ok(); }
    return Map(v.as_object(), indent, path, false);
  }
  if (v.is_array()) {
    if (v.as_array().empty()) { out += "[]\n"; return Status::Ok(); }
    return Seq(v.as_array(), indent, path, false);
  }
  return ScalarLine(v, indent + kIndent, path, top_level);
}

}  // namespace

Expected<std::string> JsonToYaml(const json::Value& value) {
  Writer w;
  if (Status st = w.Node(value, 0, "", true); !st) return st.error();
  return std::move(w.out);
}

}  // namespace elemental::plugin
