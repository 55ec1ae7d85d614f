// The dummy OS plugin (`osPlugin: .../dummy.so`), with upstream's semantics
// (internal/agent/plugin/dummy, doc/PLUGIN_DUMMY.md): it manages nothing
// itself and leaves files for external automation (e.g. systemd path units):
//
//   Init                 creates the config file's directory and the work dir
//   InstallCloudInit     <workDir>/cloud-init.yaml = "#cloud-config\n" + YAML
//   Install              <workDir>/install.yaml (the install input as YAML)
//   ReconcileOsVersion   <workDir>/os-version.yaml; never asks for a reboot
//   TriggerReset         <workDir>/reset.needed = "1\n"
//   Reset                <workDir>/reset.yaml; fails while reset.needed exists
//   Bootstrap            cloud-config → /etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg
//                        ignition → /usr/local/bin/ignition/data/elemental-capi-bootstrap.conf
//                        (fails when the file already exists)
//   InstallFile          writes the file (parents created)
//   InstallHostname      sethostname(2) and /etc/hostname (what
//                        `hostnamectl set-hostname` does upstream)
//   GetHostname          gethostname(2)
//   PowerOff / Reboot    runs `poweroff -f` / `reboot -f`
//
// (upstream's doc calls the sentinel `needs.reset`; its code, which we follow,
// writes `reset.needed`.)
//
// Files are written durably (temp file, fsync, rename) since a reboot often
// follows. Paths received as arguments (workDir, the config path, InstallFile
// targets) are used as given; the plugin's own fixed paths (/etc/...,
// /usr/local/...) are taken under `root`, which is "" in the agent (the
// process root; the integration tests chroot instead) and a temp dir in tests.
#pragma once

#include <memory>
#include <string>

#include "plugin/plugin.hpp"
#include "plugin/system.hpp"

namespace elemental::plugin {

inline constexpr const char* kDummyCloudInitFile = "cloud-init.yaml";
inline constexpr const char* kDummyInstallFile = "install.yaml";
inline constexpr const char* kDummyOsVersionFile = "os-version.yaml";
inline constexpr const char* kDummyResetFile = "reset.yaml";
inline constexpr const char* kDummyResetNeededFile = "reset.needed";
inline constexpr const char* kDummyBootstrapCloudInitPath =
    "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg";
inline constexpr const char* kDummyBootstrapIgnitionPath =
    "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf";
inline constexpr const char* kEtcHostnamePath = "/etc/hostname";

class DummyPlugin final : public OsPlugin {
 public:
  // `root` prefixes the fixed absolute paths ("" = "/"). Null `hostname` or
  // `runner` select the real implementations (SystemHostnameControl,
  // ExecCommandRunner).
  explicit DummyPlugin(std::string root = "", std::unique_ptr<HostnameControl> hostname = nullptr,
                       std::unique_ptr<CommandRunner> runner = nullptr);

  // Errors: "creating config directory '...': ..." / "creating work
  // directory '...': ...". Every other call fails with "dummy plugin is not
  // initialized" until Init succeeded (upstream would write to "/install.yaml").
  Status Init(const PluginContext& ctx) override;
  Expected<std::string> GetHostname() override;
  Status InstallCloudInit(const json::Value& cloud_config) override;
  Status InstallHostname(const std::string& hostname) override;
  // Upstream ignores mode and owner here; we apply `mode` (0600 when 0) so a
  // private key is never world-readable. Owner (uid/gid) is left as is.
  Status InstallFile(const std::string& content, const std::string& path, uint32_t mode, int uid,
                     int gid) override;
  Status Install(const json::Value& input) override;
  // Errors: "applying <format> bootstrap: bootstrap already applied",
  // "using bootstrapping format '<format>': unsupported bootstrap format".
  Status Bootstrap(const std::string& format, const std::string& config) override;
  Expected<bool> ReconcileOsVersion(const json::Value& input) override;
  Status TriggerReset() override;
  // Error while reset.needed exists: "unmanaged OS reset sentinel file still
  // exists" (reset.yaml is written first, as upstream does).
  Status Reset(const json::Value& input) override;
  Status PowerOff() override;
  Status Reboot() override;

 private:
  Status CheckInit() const;
  std::string WorkFile(const char* name) const { return work_dir_ + "/" + name; }
  // Writes `input` as YAML (with `header` in front) to a work dir file.
  Status DumpYaml(const json::Value& input, const char* file, const std::string& header,
                  const std::string& what);

  std::string root_;
  std::unique_ptr<HostnameControl> hostname_;
  std::unique_ptr<CommandRunner> runner_;
  std::string work_dir_;
  bool initialized_ = false;
};

}  // namespace elemental::plugin
