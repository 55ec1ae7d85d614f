// JSON → YAML, written by hand so the output is exact (see
// common/yaml_text.hpp for why not yaml-cpp's emitter): the layout here, the
// scalar rules in yaml_text.
#include "plugin/yaml_convert.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/yaml_text.hpp"

namespace elemental::plugin {
namespace {

constexpr int kIndent = 4;

std::string Pad(int n) { return std::string(static_cast<size_t>(n), ' '); }

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
      if (!yaml_text::IsValidUtf8(s)) return NotUtf8(path);
      out += yaml_text::Scalar(s, indent, top_level);
      return Status::Ok();
    }
    default: return Error("not a scalar");
  }
}

Status Writer::Key(const std::string& key, const std::string& path) {
  if (!yaml_text::IsValidUtf8(key)) return NotUtf8(path.empty() ? "key" : path + " key");
  out += yaml_text::Inline(key);
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
