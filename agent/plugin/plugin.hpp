// The OS plugin interface: everything the agent does to the host's OS.
//
// Upstream loads plugins as Go .so files; a static binary cannot, so plugins
// are compiled in and chosen by the `agent.osPlugin` config value (see
// registry.hpp). The calls and their meaning follow upstream's
// pkg/agent/osplugin. Schemaless inputs arrive as JSON values exactly as the
// API sent them. Plugins know files and disks, never HTTP.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::plugin {

struct PluginContext {
  std::string work_dir;     // agent.workDir
  std::string config_path;  // the --config path in use
  bool debug = false;
};

class OsPlugin {
 public:
  virtual ~OsPlugin() = default;

  virtual Status Init(const PluginContext& ctx) = 0;
  // The current host name of the system.
  virtual Expected<std::string> GetHostname() = 0;
  // Installs the registration's cloudConfig (a JSON object) for the next boot.
  virtual Status InstallCloudInit(const json::Value& cloud_config) = 0;
  // Persists the registered host name.
  virtual Status InstallHostname(const std::string& hostname) = 0;
  // Writes a file (agent config, private key) so it survives installation.
  virtual Status InstallFile(const std::string& content, const std::string& path,
                             uint32_t mode, int uid, int gid) = 0;
  // Installs the OS with the registration's `elemental.install` input.
  virtual Status Install(const json::Value& input) = 0;
  // Applies CAPI bootstrap data (`format` is "cloud-config" or "ignition").
  virtual Status Bootstrap(const std::string& format, const std::string& config) = 0;
  // Reconciles `osVersionManagement`; returns true when a reboot is needed.
  virtual Expected<bool> ReconcileOsVersion(const json::Value& input) = 0;
  // Prepares the system for a reset (the reset itself runs later).
  virtual Status TriggerReset() = 0;
  // Resets the host with the registration's `elemental.reset` input.
  virtual Status Reset(const json::Value& input) = 0;
  virtual Status PowerOff() = 0;
  virtual Status Reboot() = 0;

  // Not in upstream's interface (its OS toolkit does these outside the
  // agent): `run` calls OnRunStart once before its loop (the native plugin
  // applies a pending bootstrap there) and OnApiReached after its first
  // successful call to the API (the native plugin marks the booted slot good).
  // After `run` has triggered a reset and reported it, OnResetTriggered lets
  // the plugin act (the native plugin reboots into the boot image, which does
  // the reset; upstream's plugin schedules `shutdown -r +1` instead).
  virtual Status OnRunStart() { return Status::Ok(); }
  virtual Status OnApiReached() { return Status::Ok(); }
  virtual Status OnResetTriggered() { return Status::Ok(); }
};

}  // namespace elemental::plugin
