// cloud-config text → CloudConfig, and the bootstrap format check. See
// cloudinit.hpp and README.md for what is supported.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <set>

#include "cloudinit/cloudinit.hpp"
#include "cloudinit/codec.hpp"
#include "oci/digest.hpp"

namespace elemental::cloudinit {
namespace {

const char* KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Scalar: return "a string";
    case YAML::NodeType::Null: return "null";
    default: return "an undefined value";
  }
}

// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!"; only plain
// scalars are read as YAML 1.1 numbers, as PyYAML (cloud-init) does.
bool IsPlain(const YAML::Node& n) { return n.Tag() == "?" || n.Tag() == "tag:yaml.org,2002:int"; }
bool IsBinary(const YAML::Node& n) { return n.Tag() == "tag:yaml.org,2002:binary"; }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

Error At(const std::string& where, const std::string& msg) { return Error(where + ": " + msg); }

Expected<std::string> Scalar(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return At(where, std::string("expected a string, got ") + KindName(n));
  return n.Scalar();
}

// cloud-init's spellings (it lower-cases the value first).
Expected<Encoding> ParseEncoding(const std::string& raw, const std::string& where) {
  const std::string e = Lower(Trim(raw));
  if (e.empty() || e == "text/plain") return Encoding::kText;
  if (e == "b64" || e == "base64") return Encoding::kBase64;
  if (e == "gz" || e == "gzip") return Encoding::kGzip;
  if (e == "gz+b64" || e == "gz+base64" || e == "gzip+b64" || e == "gzip+base64") {
    return Encoding::kGzipBase64;
  }
  return At(where, "unknown encoding '" + raw + "'");
}

Expected<uint64_t> ParseDigits(const std::string& s, int base) {
  if (s.empty()) return Error("no digits");
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c == '_') continue;  // YAML 1.1 allows digit separators
    else return Error("bad digit");
    if (d >= base) return Error("bad digit");
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    if (v > 0xffffffffull) return Error("too large");
  }
  return v;
}

// Permissions: a quoted string is octal ("0644", "644", "0o644"), as
// cloud-init reads it; an unquoted number is a YAML 1.1 integer (0644 and
// 0o644 octal, 0x1a4 hex, 420 decimal), as PyYAML hands it to cloud-init.
Expected<uint32_t> ParsePermissions(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return At(where, std::string("expected an octal mode, got ") + KindName(n));
  const std::string raw = n.Scalar();
  std::string s = Lower(Trim(raw));
  auto bad = [&]() { return At(where, "invalid permissions '" + raw + "'"); };
  if (!s.empty() && s[0] == '+') s = s.substr(1);
  Expected<uint64_t> v = Error("");
  if (s.rfind("0o", 0) == 0) {
    v = ParseDigits(s.substr(2), 8);
  } else if (!IsPlain(n)) {
    v = ParseDigits(s, 8);
  } else if (s.rfind("0x", 0) == 0) {
    v = ParseDigits(s.substr(2), 16);
  } else if (s.size() > 1 && s[0] == '0') {
    v = ParseDigits(s.substr(1), 8);
  } else {
    v = ParseDigits(s, 10);
  }
  if (!v) return bad();
  if (*v > 07777) return At(where, "permissions '" + raw + "' out of range (at most 07777)");
  return static_cast<uint32_t>(*v);
}

bool IsOwnerWord(const std::string& s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
                    c == '.' || (c == '$' && i + 1 == s.size());
    if (!ok) return false;
  }
  return true;
}

Expected<bool> ParseBool(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) return At(where, std::string("expected a boolean, got ") + KindName(n));
  const std::string s = Lower(Trim(n.Scalar()));
  if (s == "true" || s == "yes" || s == "on" || s == "1" || s == "y") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0" || s == "n" || s.empty()) return false;
  return At(where, "expected a boolean, got '" + n.Scalar() + "'");
}

// Lexical clean-up of an absolute path ("//", ".", ".."); nullopt-like empty
// result when ".." would climb above "/".
std::string CleanAbsolute(const std::string& p) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string c = p.substr(start, end - start);
    start = end + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (const auto& c : parts) out += "/" + c;
  return out.empty() ? "/" : out;
}

Status ParseWriteFile(const YAML::Node& n, const std::string& where, WriteFile& f,
                      std::vector<std::string>& warnings) {
  if (!n.IsMap()) return At(where, std::string("expected a mapping, got ") + KindName(n));
  YAML::Node content_node;
  bool have_path = false;
  std::set<std::string> seen;
  for (const auto& kv : n) {
    if (!kv.first.IsScalar()) return At(where, "keys must be strings");
    const std::string key = kv.first.Scalar();
    const std::string kw = where + "." + key;
    const YAML::Node& v = kv.second;
    if (!seen.insert(key).second) return At(kw, "given more than once");
    if (key == "path") {
      auto s = Scalar(v, kw);
      if (!s) return s.error();
      f.path = *s;
      have_path = true;
    } else if (key == "content") {
      content_node = v;
    } else if (key == "encoding") {
      if (v.IsNull()) continue;
      auto s = Scalar(v, kw);
      if (!s) return s.error();
      auto e = ParseEncoding(*s, kw);
      if (!e) return e.error();
      f.encoding = *e;
    } else if (key == "permissions") {
      if (v.IsNull()) continue;
      auto m = ParsePermissions(v, kw);
      if (!m) return m.error();
      f.mode = *m;
    } else if (key == "owner") {
      if (v.IsNull()) continue;
      auto s = Scalar(v, kw);
      if (!s) return s.error();
      const std::string owner = Trim(*s);
      const size_t colon = owner.find(':');
      f.owner_user = owner.substr(0, colon);
      f.owner_group = colon == std::string::npos ? "" : owner.substr(colon + 1);
      if (!IsOwnerWord(f.owner_user) ||
          (colon != std::string::npos && !IsOwnerWord(f.owner_group))) {
        return At(kw, "invalid owner '" + *s + "' (expected user, user:group or uid:gid)");
      }
    } else if (key == "append") {
      if (v.IsNull()) continue;
      auto b = ParseBool(v, kw);
      if (!b) return b.error();
      f.append = *b;
    } else if (key == "defer") {
      if (v.IsNull()) continue;
      auto b = ParseBool(v, kw);
      if (!b) return b.error();
      f.defer = *b;
    } else if (key == "source") {
      return At(kw, "fetching content from a URL is not supported, give 'content'");
    } else {
      warnings.push_back(where + ": unsupported key '" + key + "' ignored");
    }
  }
  if (!have_path || f.path.empty()) return At(where + ".path", "missing");
  if (f.path.find('\0') != std::string::npos) return At(where + ".path", "contains a NUL byte");
  if (f.path[0] != '/') return At(where + ".path", "'" + f.path + "' is not absolute");
  const std::string clean = CleanAbsolute(f.path);
  if (clean.empty()) return At(where + ".path", "'" + f.path + "' escapes the root");
  if (clean == "/" || f.path.back() == '/') {
    return At(where + ".path", "'" + f.path + "' names a directory, not a file");
  }

  std::string raw;
  if (content_node.IsDefined() && !content_node.IsNull()) {
    if (!content_node.IsScalar()) {
      return At(where + ".content", std::string("expected a string, got ") + KindName(content_node));
    }
    raw = content_node.Scalar();
    // YAML's !!binary: the bytes are base64 in the document.
    if (IsBinary(content_node)) {
      auto b = Base64Decode(raw);
      if (!b) return b.error().Wrap(where + ".content (!!binary)");
      raw = std::move(*b);
    }
  }
  switch (f.encoding) {
    case Encoding::kText:
      f.content = std::move(raw);
      break;
    case Encoding::kBase64: {
      auto b = Base64Decode(raw);
      if (!b) return b.error().Wrap(where + ".content");
      f.content = std::move(*b);
      break;
    }
    case Encoding::kGzip: {
      auto g = Gunzip(raw);
      if (!g) return g.error().Wrap(where + ".content");
      f.content = std::move(*g);
      break;
    }
    case Encoding::kGzipBase64: {
      auto b = Base64Decode(raw);
      if (!b) return b.error().Wrap(where + ".content");
      auto g = Gunzip(*b);
      if (!g) return g.error().Wrap(where + ".content");
      f.content = std::move(*g);
      break;
    }
  }
  return Status::Ok();
}

Status ParseCommand(const YAML::Node& n, const std::string& where, Command& c) {
  if (n.IsScalar()) {
    if (Trim(n.Scalar()).empty()) return At(where, "empty command");
    c.shell = true;
    c.argv = {"/bin/sh", "-c", n.Scalar()};
    return Status::Ok();
  }
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      const YAML::Node& a = n[i];
      const std::string aw = where + "[" + std::to_string(i) + "]";
      if (a.IsNull()) return At(aw, "expected a string, got null");
      auto s = Scalar(a, aw);
      if (!s) return s.error();
      c.argv.push_back(*s);
    }
    if (c.argv.empty() || c.argv[0].empty()) return At(where, "empty command");
    return Status::Ok();
  }
  return At(where, std::string("expected a string or a list of strings, got ") + KindName(n));
}

}  // namespace

std::string Command::Display() const {
  if (shell && argv.size() == 3) return argv[2];
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

Expected<CloudConfig> Parse(std::string_view text) {
  CloudConfig cfg;
  cfg.digest = oci::DigestOf(text);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where = "parsing cloud-config";
    if (!e.mark.is_null()) {
      where += ": line " + std::to_string(e.mark.line + 1) + ", column " +
               std::to_string(e.mark.column + 1);
    }
    return Error(where + ": " + e.msg);
  }
  try {
    if (root.IsNull() || !root.IsDefined()) return cfg;
    if (!root.IsMap()) {
      return Error(std::string("parsing cloud-config: expected a mapping at the top level, got ") +
                   KindName(root));
    }
    bool have_files = false, have_cmds = false;
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) return Error("parsing cloud-config: top-level keys must be strings");
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "write_files") {
        if (have_files) return Error("write_files: given more than once");
        have_files = true;
        if (v.IsNull()) continue;
        if (!v.IsSequence()) return At("write_files", std::string("expected a list, got ") + KindName(v));
        for (size_t i = 0; i < v.size(); ++i) {
          WriteFile f;
          if (Status st = ParseWriteFile(v[i], "write_files[" + std::to_string(i) + "]", f,
                                         cfg.warnings);
              !st) {
            return st.error();
          }
          cfg.write_files.push_back(std::move(f));
        }
      } else if (key == "runcmd") {
        if (have_cmds) return Error("runcmd: given more than once");
        have_cmds = true;
        if (v.IsNull()) continue;
        if (!v.IsSequence()) return At("runcmd", std::string("expected a list, got ") + KindName(v));
        for (size_t i = 0; i < v.size(); ++i) {
          Command c;
          if (Status st = ParseCommand(v[i], "runcmd[" + std::to_string(i) + "]", c); !st) {
            return st.error();
          }
          cfg.runcmd.push_back(std::move(c));
        }
      } else {
        cfg.warnings.push_back("unsupported key '" + key +
                               "' ignored (only write_files and runcmd are applied)");
      }
    }
  } catch (const YAML::Exception& e) {
    return Error(std::string("parsing cloud-config: ") + e.what());
  }

  // cloud-init renders "## template: jinja" documents with instance data; the
  // agent has none, so a template expression would reach the host verbatim.
  const std::string_view first_line = text.substr(0, text.find('\n'));
  if (first_line.find("template:") != std::string_view::npos &&
      first_line.find("jinja") != std::string_view::npos &&
      (text.find("{{") != std::string_view::npos || text.find("{%") != std::string_view::npos)) {
    cfg.warnings.push_back(
        "jinja template header present: templates are not rendered, '{{ ... }}' is written as is");
  }

  for (const auto& f : cfg.write_files) {
    if (CleanAbsolute(f.path) == kSentinelPath) cfg.creates_sentinel = true;
  }
  for (const auto& c : cfg.runcmd) {
    for (const auto& a : c.argv) {
      if (a.find(kSentinelPath) != std::string::npos) cfg.creates_sentinel = true;
    }
  }
  return cfg;
}

Status CheckFormat(const std::string& format) {
  if (format == "cloud-config") return Status::Ok();
  const std::string context = "using bootstrapping format '" + format + "'";
  if (format == "ignition") {
    return Error(context + ": ignition is not supported by the elemental plugin, only cloud-config");
  }
  return Error(context + ": unsupported bootstrap format");
}

Expected<CloudConfig> ParseBootstrap(const std::string& format, std::string_view text) {
  if (Status st = CheckFormat(format); !st) return st.error();
  auto cfg = Parse(text);
  if (!cfg) return cfg.error().Wrap("parsing cloud-config bootstrap");
  return cfg;
}

}  // namespace elemental::cloudinit
