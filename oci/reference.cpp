// Parsing and normalising image references (see reference.hpp).
#include "oci/reference.hpp"

#include <cctype>

namespace elemental::oci {
namespace {

constexpr char kDockerHub[] = "docker.io";

bool IsHexLower(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A path component of a repository: runs of lowercase alphanumerics joined
// by exactly one separator, which is '.', '_', '__' or a run of '-', as the
// distribution spec's grammar says.
bool ValidComponent(const std::string& c) {
  auto alnum = [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); };
  const size_t n = c.size();
  if (n == 0 || !alnum(c[0])) return false;
  size_t i = 0;
  while (true) {
    while (i < n && alnum(c[i])) ++i;
    if (i == n) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < n && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < n && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == n || !alnum(c[i])) return false;
  }
}

bool ValidTag(const std::string& t) {
  if (t.empty() || t.size() > 128) return false;
  if (!(std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_')) return false;
  for (char ch : t) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) {
      return false;
    }
  }
  return true;
}

bool AllDigits(const std::string& s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// A registry is host[:port]: the host is DNS labels (letters, digits, '-'
// inside) joined by '.', or an IPv6 address in brackets; the port is
// 1-65535. Anything else would end up in request URLs.
bool ValidRegistry(const std::string& r) {
  std::string host = r;
  std::string port;
  bool has_port = false;
  if (!r.empty() && r[0] == '[') {
    auto close = r.find(']');
    if (close == std::string::npos) return false;
    host = r.substr(1, close - 1);
    std::string after = r.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return false;
      has_port = true;
      port = after.substr(1);
    }
    if (host.find(':') == std::string::npos) return false;
    for (char c : host) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
  } else {
    if (auto colon = r.find(':'); colon != std::string::npos) {
      host = r.substr(0, colon);
      has_port = true;
      port = r.substr(colon + 1);
    }
    size_t start = 0;
    while (true) {
      auto end = host.find('.', start);
      std::string label = host.substr(start, end == std::string::npos ? std::string::npos
                                                                     : end - start);
      auto alnum = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; };
      if (label.empty() || !alnum(label.front()) || !alnum(label.back())) return false;
      for (char ch : label) {
        if (!alnum(ch) && ch != '-') return false;
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  if (has_port) {
    if (!AllDigits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
      return false;
    }
  }
  return true;
}

// The first path component is a registry when it looks like a host: it has
// a '.' or a ':' or is "localhost".
bool LooksLikeRegistry(const std::string& c) {
  return c.find('.') != std::string::npos || c.find(':') != std::string::npos || c == "localhost";
}

}  // namespace

std::string Reference::Endpoint() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

std::string Reference::String() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

Expected<Reference> ParseReference(const std::string& text) {
  auto fail = [&](const std::string& why) {
    return Unexpected(Error("invalid image reference '" + text + "': " + why));
  };
  std::string rest = text;
  if (rest.rfind("oci://", 0) == 0) rest = rest.substr(6);
  if (rest.empty()) return fail("empty");

  Reference ref;
  if (auto at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (ref.digest.rfind("sha256:", 0) != 0) return fail("only sha256 digests are supported");
    std::string hex = ref.digest.substr(7);
    if (hex.size() != 64 || !IsHexLower(hex)) return fail("digest must be sha256:<64 hex digits>");
  }

  std::string name = rest;
  auto slash = rest.find('/');
  if (slash != std::string::npos && LooksLikeRegistry(rest.substr(0, slash))) {
    ref.registry = rest.substr(0, slash);
    name = rest.substr(slash + 1);
    if (!ValidRegistry(ref.registry)) return fail("invalid registry '" + ref.registry + "'");
  } else {
    ref.registry = kDockerHub;
  }
  // A tag follows the last ':' that comes after the last '/'.
  auto last_slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    ref.tag = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!ValidTag(ref.tag)) return fail("invalid tag '" + ref.tag + "'");
  }
  if (name.empty()) return fail("missing repository");
  size_t start = 0;
  while (true) {
    auto end = name.find('/', start);
    std::string comp = name.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!ValidComponent(comp)) return fail("invalid repository name '" + name + "'");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (ref.registry == "index.docker.io") ref.registry = kDockerHub;
  if (ref.registry == kDockerHub && name.find('/') == std::string::npos) name = "library/" + name;
  ref.repository = name;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace elemental::oci
