// YAML scalar text, written by hand so the output is exact: yaml-cpp's
// emitter writes literal blocks without chomping indicators (a string
// without a final newline would read back with one) and passes control
// characters through unescaped. See yaml_text.hpp for the rules.
#include "common/yaml_text.hpp"

#include <cstdint>
#include <cstdio>
#include <set>
#include <vector>

namespace elemental::yaml_text {
namespace {

// A byte that is not part of valid UTF-8, kept as is (see Decode).
constexpr uint32_t kRawByte = 0x80000000u;

// Decodes UTF-8 into code points. A byte that does not start a valid
// sequence (overlong forms, surrogates and values past U+10FFFF included) is
// stored as kRawByte | byte and decoding goes on after it. Returns whether
// all of `s` was valid.
bool Decode(std::string_view s, std::vector<uint32_t>& out) {
  bool valid = true;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t len = 0;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c & 0xe0) == 0xc0) { cp = c & 0x1f; len = 2; }
    else if ((c & 0xf0) == 0xe0) { cp = c & 0x0f; len = 3; }
    else if ((c & 0xf8) == 0xf0) { cp = c & 0x07; len = 4; }
    bool ok = len != 0 && i + len <= s.size();
    for (size_t j = 1; ok && j < len; ++j) {
      const auto cc = static_cast<unsigned char>(s[i + j]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= kMin[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) {
      valid = false;
      out.push_back(kRawByte | c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return valid;
}

// YAML's printable set, minus the characters YAML 1.1 treats as line breaks
// (NEL, LS, PS) and the byte order mark: those are always escaped.
bool Printable(uint32_t cp) {
  if (cp == 0x85 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff) return false;
  return (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// Whether a string may be written as a plain scalar in block context.
bool PlainSafe(std::string_view s, const std::vector<uint32_t>& cps, bool top_level) {
  if (s.empty() || LooksLikeNonString(s)) return false;
  for (uint32_t cp : cps) {
    if (!Printable(cp)) return false;  // also rules out tab and line breaks
  }
  if (s.front() == ' ' || s.back() == ' ') return false;
  // Indicators may not start a plain scalar; "-x" is fine, "- x" is not.
  if (std::string_view("?:,[]{}#&*!|>'\"%@`").find(s[0]) != std::string_view::npos) return false;
  if (s[0] == '-' && (s.size() == 1 || s[1] == ' ')) return false;
  if (top_level && (s.substr(0, 3) == "---" || s.substr(0, 3) == "...")) return false;
  if (s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return false;
  return true;
}

// A literal block is exact when everything is printable (tabs allowed) and
// the first line starts with a visible character: readers infer the block's
// indentation from the first non-empty line.
bool LiteralSafe(std::string_view s, const std::vector<uint32_t>& cps) {
  if (s.find('\n') == std::string_view::npos) return false;
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
    if ((cp & kRawByte) != 0) {  // not UTF-8: no escape would be exact
      out += static_cast<char>(cp & 0xff);
      continue;
    }
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case 0: out += "\\0"; break;
      default:
        // (\x85 and \u, never \N \L \P: yaml-cpp 0.7 decodes "\N" to a
        // lone 0x85 byte.)
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
std::string Literal(std::string_view s, int indent) {
  size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  std::string out = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
  const std::string_view body = s.substr(0, s.size() - trailing);
  const std::string pad(static_cast<size_t>(indent), ' ');
  size_t start = 0;
  for (;;) {
    const size_t nl = body.find('\n', start);
    const std::string_view line = body.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty()) {
      out += pad;
      out += line;
    }
    out += '\n';
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  for (size_t i = 1; i < trailing; ++i) out += '\n';
  return out;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  std::vector<uint32_t> cps;
  return Decode(s, cps);
}

bool LooksLikeNonString(std::string_view s) {
  static const std::set<std::string_view> kWords = {
      "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
      "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
      "off", "Off", "OFF", "<<", "=", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
      "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN"};
  if (kWords.count(s) != 0) return true;
  // Numbers, timestamps, sexagesimals: starts with a digit (after a sign or
  // a dot) and uses only number-ish characters.
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

std::string Inline(std::string_view s, bool top_level) {
  std::vector<uint32_t> cps;
  Decode(s, cps);
  return PlainSafe(s, cps, top_level) ? std::string(s) : DoubleQuoted(cps);
}

std::string Scalar(std::string_view s, int indent, bool top_level) {
  std::vector<uint32_t> cps;
  Decode(s, cps);
  if (LiteralSafe(s, cps)) return Literal(s, indent);
  return (PlainSafe(s, cps, top_level) ? std::string(s) : DoubleQuoted(cps)) + "\n";
}

}  // namespace elemental::yaml_text
