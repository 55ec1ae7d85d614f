// The dummy OS plugin: dumps the agent's inputs into files. See dummy.hpp.
#include "plugin/dummy.hpp"

#include "common/fs.hpp"
#include "common/log.hpp"
#include "plugin/yaml_convert.hpp"

namespace elemental::plugin {
namespace {

// The dumps may carry secrets (cloud-init passwords, bootstrap tokens), so
// they are readable by root only; upstream leaves them at 0777 & umask.
constexpr uint32_t kPrivateFileMode = 0600;
constexpr uint32_t kEtcHostnameMode = 0644;
// Directories the plugin makes for system tools (/etc/cloud/cloud.cfg.d ...).
constexpr uint32_t kSystemDirMode = 0755;
// Directories for the agent itself (upstream's utils.CreateDirectory).
constexpr uint32_t kAgentDirMode = 0700;

}  // namespace

DummyPlugin::DummyPlugin(std::string root, std::unique_ptr<HostnameControl> hostname,
                         std::unique_ptr<CommandRunner> runner)
    : root_(std::move(root)),
      hostname_(hostname ? std::move(hostname) : std::make_unique<SystemHostnameControl>()),
      runner_(runner ? std::move(runner) : std::make_unique<ExecCommandRunner>()) {}

Status DummyPlugin::CheckInit() const {
  if (!initialized_) return Error("dummy plugin is not initialized");
  return Status::Ok();
}

Status DummyPlugin::Init(const PluginContext& ctx) {
  if (ctx.debug) log::EnableDebug();
  log::Debug("Initializing the dummy plugin");
  if (ctx.work_dir.empty()) return Error("creating work directory: work directory is not set");
  if (!ctx.config_path.empty()) {
    const std::string dir = fs::DirName(ctx.config_path);
    if (Status st = fs::MkdirAll(dir, kAgentDirMode); !st) {
      return st.error().Wrap("creating config directory '" + dir + "'");
    }
  }
  if (Status st = fs::MkdirAll(ctx.work_dir, kAgentDirMode); !st) {
    return st.error().Wrap("creating work directory '" + ctx.work_dir + "'");
  }
  work_dir_ = ctx.work_dir;
  while (work_dir_.size() > 1 && work_dir_.back() == '/') work_dir_.pop_back();
  initialized_ = true;
  return Status::Ok();
}

Expected<std::string> DummyPlugin::GetHostname() {
  auto name = hostname_->Get();
  if (!name) return name.error().Wrap("getting current hostname");
  return name;
}

Status DummyPlugin::DumpYaml(const json::Value& input, const char* file, const std::string& header,
                             const std::string& what) {
  if (Status st = CheckInit(); !st) return st;
  const std::string path = WorkFile(file);
  log::Debug("Writing " + what + " to file: " + path);
  auto yaml = JsonToYaml(input);
  if (!yaml) return yaml.error().Wrap("unmarshalling " + what);
  if (Status st = fs::WriteFileDurable(path, header + *yaml, kPrivateFileMode); !st) {
    return st.error().Wrap("writing " + what);
  }
  return Status::Ok();
}

Status DummyPlugin::InstallCloudInit(const json::Value& cloud_config) {
  return DumpYaml(cloud_config, kDummyCloudInitFile, "#cloud-config\n", "cloud init config");
}

Status DummyPlugin::InstallHostname(const std::string& hostname) {
  log::Debug("Setting hostname " + hostname);
  const std::string context = "setting hostname '" + hostname + "'";
  if (hostname.empty()) return Error(context + ": empty host name");
  // The static name first, so the name survives a reboot even if the kernel
  // refuses the transient one.
  const std::string etc_hostname = fs::UnderRoot(root_, kEtcHostnamePath);
  if (Status st = fs::WriteFileDurable(etc_hostname, hostname + "\n", kEtcHostnameMode); !st) {
    return st.error().Wrap(context);
  }
  if (Status st = hostname_->Set(hostname); !st) return st.error().Wrap(context);
  return Status::Ok();
}

Status DummyPlugin::InstallFile(const std::string& content, const std::string& path, uint32_t mode,
                                int /*uid*/, int /*gid*/) {
  log::Debug("Writing file " + path);
  if (Status st = fs::WriteFileDurable(path, content, mode != 0 ? mode : kPrivateFileMode); !st) {
    return st.error().Wrap("writing file '" + path + "'");
  }
  return Status::Ok();
}

Status DummyPlugin::Install(const json::Value& input) {
  return DumpYaml(input, kDummyInstallFile, "", "install config");
}

Status DummyPlugin::Bootstrap(const std::string& format, const std::string& config) {
  const char* target = nullptr;
  if (format == "cloud-config") {
    target = kDummyBootstrapCloudInitPath;
  } else if (format == "ignition") {
    target = kDummyBootstrapIgnitionPath;
  } else {
    return Error("using bootstrapping format '" + format + "': unsupported bootstrap format");
  }
  const std::string path = fs::UnderRoot(root_, target);
  auto exists = fs::PathExists(path);
  if (!exists) return exists.error().Wrap("applying " + format + " bootstrap");
  if (*exists) return Error("applying " + format + " bootstrap: bootstrap already applied");
  if (Status st = fs::MkdirAll(fs::DirName(path), kSystemDirMode); !st) return st;
  if (Status st = fs::WriteFileDurable(path, config, kPrivateFileMode); !st) {
    return st.error().Wrap("writing bootstrap file '" + path + "'");
  }
  return Status::Ok();
}

Expected<bool> DummyPlugin::ReconcileOsVersion(const json::Value& input) {
  if (Status st = DumpYaml(input, kDummyOsVersionFile, "", "OS Version config"); !st) {
    return st.error();
  }
  return false;  // the dummy plugin never needs a reboot
}

Status DummyPlugin::TriggerReset() {
  if (Status st = CheckInit(); !st) return st;
  const std::string sentinel = WorkFile(kDummyResetNeededFile);
  log::Info("Creating reset sentinel file: " + sentinel);
  if (Status st = fs::WriteFileDurable(sentinel, "1\n", kPrivateFileMode); !st) {
    return st.error().Wrap("writing reset sentinel file");
  }
  return Status::Ok();
}

Status DummyPlugin::Reset(const json::Value& input) {
  if (Status st = DumpYaml(input, kDummyResetFile, "", "reset config"); !st) return st;
  const std::string sentinel = WorkFile(kDummyResetNeededFile);
  log::Info("Verifying reset sentinel file '" + sentinel + "' has been deleted");
  auto exists = fs::PathExists(sentinel);
  if (!exists) return exists.error();
  if (*exists) return Error("unmanaged OS reset sentinel file still exists");
  return Status::Ok();
}

Status DummyPlugin::PowerOff() {
  if (Status st = runner_->Run({"poweroff", "-f"}); !st) {
    return st.error().Wrap("powering off system");
  }
  return Status::Ok();
}

Status DummyPlugin::Reboot() {
  if (Status st = runner_->Run({"reboot", "-f"}); !st) {
    return st.error().Wrap("rebooting system");
  }
  return Status::Ok();
}

}  // namespace elemental::plugin
