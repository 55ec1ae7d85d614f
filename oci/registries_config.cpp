// registries.yaml (see registries_config.hpp). yaml-cpp and std::regex throw;
// every exception is caught here and becomes an Error with file and line.
#include "oci/registries_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>

#include "common/fs.hpp"

namespace elemental::oci {
namespace {

class Decoder {
 public:
  explicit Decoder(std::string source) : source_(std::move(source)) {}

  Error At(const YAML::Node& n, const std::string& path, const std::string& msg) const {
    std::string where = source_;
    YAML::Mark m = n.Mark();
    if (!m.is_null()) {
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    }
    return Error(where + ": " + (path.empty() ? "" : path + ": ") + msg);
  }

  Status Str(const YAML::Node& n, const std::string& path, std::string& out) const {
    if (!n.IsScalar()) return At(n, path, "expected a string");
    out = n.Scalar();
    return Status::Ok();
  }

  Status Bool(const YAML::Node& n, const std::string& path, bool& out) const {
    if (!n.IsScalar()) return At(n, path, "expected a boolean");
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
    } else if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
    } else {
      return At(n, path, "expected true or false, got \"" + s + "\"");
    }
    return Status::Ok();
  }

  // Calls `field(key, value, path)` for each entry; unknown keys are errors
  // so a typo ("endpoints") does not silently disable a mirror.
  template <typename F>
  Status Map(const YAML::Node& n, const std::string& path, const std::vector<std::string>& known,
             F field) const {
    if (n.IsNull()) return Status::Ok();
    if (!n.IsMap()) return At(n, path, "expected a mapping");
    for (const auto& kv : n) {
      if (!kv.first.IsScalar()) return At(kv.first, path, "expected a string key");
      const std::string key = kv.first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      if (!known.empty() && std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        return At(kv.first, child, "unknown key (known: " + list + ")");
      }
      if (Status st = field(key, kv.second, child); !st) return st;
    }
    return Status::Ok();
  }

  Status Mirror(const YAML::Node& n, const std::string& path, MirrorConfig& out) const {
    return Map(n, path, {"endpoint", "rewrite"},
               [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Status {
                 if (key == "endpoint") {
                   if (v.IsNull()) return Status::Ok();
                   if (!v.IsSequence()) return At(v, p, "expected a list of URLs");
                   for (size_t i = 0; i < v.size(); ++i) {
                     std::string ep;
                     const std::string ip = p + "[" + std::to_string(i) + "]";
                     if (Status st = Str(v[i], ip, ep); !st) return st;
                     auto url = ParseEndpointUrl(ep);
                     if (!url) return At(v[i], ip, url.error().message());
                     out.endpoints.push_back(url->scheme + "://" + url->host + url->path);
                   }
                   return Status::Ok();
                 }
                 return Map(v, p, {},
                            [&](const std::string& pattern, const YAML::Node& r,
                                const std::string& rp) -> Status {
                              std::string repl;
                              if (Status st = Str(r, rp, repl); !st) return st;
                              try {
                                std::regex re(pattern);
                                (void)re;
                              } catch (const std::regex_error& e) {
                                return At(r, rp, "invalid regular expression: " +
                                                     std::string(e.what()));
                              }
                              out.rewrites.emplace_back(pattern, repl);
                              return Status::Ok();
                            });
               });
  }

  Status Host(const YAML::Node& n, const std::string& path, HostConfig& out) const {
    return Map(n, path, {"auth", "tls"},
               [&](const std::string& key, const YAML::Node& v, const std::string& p) -> Status {
                 if (key == "auth") {
                   return Map(v, p, {"username", "password", "auth"},
                              [&](const std::string& k, const YAML::Node& x,
                                  const std::string& xp) -> Status {
                                if (k == "username") return Str(x, xp, out.username);
                                if (k == "password") return Str(x, xp, out.password);
                                return Str(x, xp, out.auth);
                              });
                 }
                 return Map(v, p, {"ca_file", "insecure_skip_verify"},
                            [&](const std::string& k, const YAML::Node& x,
                                const std::string& xp) -> Status {
                              if (k == "ca_file") return Str(x, xp, out.ca_file);
                              return Bool(x, xp, out.insecure_skip_verify);
                            });
               });
  }

 private:
  std::string source_;
};

}  // namespace

Expected<EndpointUrl> ParseEndpointUrl(const std::string& text) {
  EndpointUrl u;
  std::string rest = text;
  if (auto p = rest.find("://"); p != std::string::npos) {
    u.scheme = rest.substr(0, p);
    rest = rest.substr(p + 3);
    if (u.scheme != "http" && u.scheme != "https") {
      return Error("endpoint '" + text + "': scheme must be http or https");
    }
  } else {
    u.scheme = "https";
  }
  auto slash = rest.find('/');
  u.host = rest.substr(0, slash);
  if (slash != std::string::npos) u.path = rest.substr(slash);
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (u.path.size() >= 3 && u.path.compare(u.path.size() - 3, 3, "/v2") == 0) {
    u.path.resize(u.path.size() - 3);
  }
  if (u.host.empty() || u.host.find_first_of("@?# ") != std::string::npos) {
    return Error("endpoint '" + text + "': expected [http[s]://]host[:port][/path]");
  }
  return u;
}

Expected<RegistriesConfig> ParseRegistriesConfig(const std::string& text,
                                                 const std::string& source) {
  RegistriesConfig cfg;
  Decoder d(source);
  try {
    YAML::Node root = YAML::Load(text);
    Status st = d.Map(root, "", {"mirrors", "configs"},
                      [&](const std::string& key, const YAML::Node& v,
                          const std::string& p) -> Status {
                        if (key == "mirrors") {
                          return d.Map(v, p, {},
                                       [&](const std::string& reg, const YAML::Node& m,
                                           const std::string& mp) {
                                         return d.Mirror(m, mp, cfg.mirrors[reg]);
                                       });
                        }
                        return d.Map(v, p, {},
                                     [&](const std::string& host, const YAML::Node& h,
                                         const std::string& hp) {
                                       return d.Host(h, hp, cfg.configs[host]);
                                     });
                      });
    if (!st) return st.error();
  } catch (const YAML::Exception& e) {
    std::string where = source;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Error(where + ": " + e.msg);
  }
  return cfg;
}

Expected<RegistriesConfig> LoadRegistriesConfig(const std::string& path) {
  auto text = fs::ReadFile(path);
  if (!text) return text.error().Wrap("reading registries config " + path);
  return ParseRegistriesConfig(*text, path);
}

}  // namespace elemental::oci
