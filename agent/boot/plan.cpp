// Pure pieces of the early boot (see plan.hpp).
#include "boot/plan.hpp"

#include "config/config.hpp"

namespace elemental::boot {

Expected<std::string> AgentConfigYaml(const std::optional<std::string>& baked,
                                      const std::optional<std::string>& fetched,
                                      const BootParams& params, const std::string& config_url) {
  config::Config cfg = config::DefaultConfig();
  if (fetched) {
    auto parsed = config::Parse(*fetched, "config from " + config_url);
    if (!parsed) return parsed.error();
    cfg = *parsed;
  } else if (baked) {
    auto parsed = config::Parse(*baked, "baked config");
    if (!parsed) return parsed.error();
    cfg = *parsed;
  }
  if (!params.registration_uri.empty()) cfg.registration.uri = params.registration_uri;
  if (!params.registration_token.empty()) cfg.registration.token = params.registration_token;
  if (cfg.registration.uri.empty()) {
    return Error("no agent config: bake one into the boot image (initrd/build.sh --config) or pass "
                 "elemental.registration.uri= or elemental.config.url= on the kernel command line");
  }
  return config::ToYaml(cfg);
}

Expected<std::vector<std::string>> ParseModuleList(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++line_no;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.pop_back();
    }
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    const bool ko = line.size() > 3 && line.compare(line.size() - 3, 3, ".ko") == 0;
    if (line[0] != '/' || !ko || line.find("/../") != std::string::npos) {
      return Error("module list line " + std::to_string(line_no) + ": '" + line +
                   "' is not an absolute path of a .ko file");
    }
    out.push_back(line);
  }
  return out;
}

cloudinit::CloudConfig EarlyBootstrapFiles(const cloudinit::CloudConfig& config) {
  cloudinit::CloudConfig early;
  for (const auto& f : config.write_files) {
    if (!f.append) early.write_files.push_back(f);
  }
  early.creates_sentinel = true;  // never added here
  early.digest = config.digest;
  return early;
}

const std::vector<std::string>& PersistentPaths() {
  static const std::vector<std::string> kPaths = {
      "/etc/cni",        "/etc/iscsi",        "/etc/kubernetes",   "/etc/rancher",
      "/etc/ssh",        "/home",             "/opt",              "/root",
      "/var/lib/calico", "/var/lib/cni",      "/var/lib/elemental",
      "/var/lib/etcd",   "/var/lib/kubelet",  "/var/lib/longhorn", "/var/lib/rancher",
      "/var/log"};
  return kPaths;
}

}  // namespace elemental::boot
