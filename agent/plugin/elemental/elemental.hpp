// The native OS plugin (`osPlugin: .../elemental.so`): installs an OS
// delivered as an OCI image onto A/B disk slots, upgrades into the inactive
// slot with a boot count, applies CAPI cloud-config bootstrap itself, and
// resets the disk — without an external OS toolkit.
//
//   Install           live mode only (as upstream): choose the disk, GPT,
//                     filesystems, pull `systemUri` straight into COS_SYSTEM_A,
//                     copy the staged OEM tree onto COS_OEM, mark A active.
//                     On a disk that Reset left (its record has no active
//                     slot) the partition table, COS_OEM and COS_PERSISTENT
//                     are kept: only the slots are written, so a reset
//                     without resetPersistent keeps the user's data
//   InstallFile /     kept in the OEM tree (see oem.hpp): on COS_OEM when the
//   InstallHostname / system is installed, in a tmpfs staging dir in live
//   InstallCloudInit  mode until Install copies it over
//   ReconcileOsVersion  correlationID = SHA-256 of the request JSON; already
//                     on a good slot → no work; failed before → an error
//                     naming the image (OSVersionReady False); otherwise pull
//                     into the inactive slot, mark it "try next", reboot
//   Bootstrap         stores the cloud-config on COS_OEM (ignition refused);
//                     `run` applies it once at its next start (OnRunStart)
//   OnApiReached      marks the booted slot good (ends a try)
//   TriggerReset      sets reset-pending in the slot record; the boot image
//                     acts on it
//   Reset             wipes the slots (COS_PERSISTENT / COS_OEM when asked),
//                     keeps the agent config and key for re-registration
//
// Disk work goes through DiskWork and image pulls through ImagePuller so the
// plugin's logic is tested with fakes; the real ones use agent/disk and oci/.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "plugin/elemental/inputs.hpp"
#include "plugin/plugin.hpp"
#include "plugin/system.hpp"

namespace elemental::plugin::native {

// Device paths of the COS_* partitions of the installed disk.
struct Partitions {
  std::string disk;
  std::string grub, oem, system_a, system_b, persistent;
};

// A mounted filesystem; unmounts when destroyed.
class Mounted {
 public:
  virtual ~Mounted() = default;
  virtual const std::string& dir() const = 0;
  // Unmounts now (syncing), reporting failures the destructor would swallow.
  virtual Status Unmount() = 0;
};

class DiskWork {
 public:
  virtual ~DiskWork() = default;
  // Chooses the disk and writes the GPT and every filesystem (or, with
  // noFormat, finds the existing partitions).
  virtual Expected<Partitions> Prepare(const InstallInput& in) = 0;
  // The COS_* partitions already on the disk Prepare would choose; nullopt
  // when that disk holds no complete layout (a blank or foreign disk).
  virtual Expected<std::optional<Partitions>> Existing(const InstallInput& in) = 0;
  // Finds the COS_* partitions by label.
  virtual Expected<Partitions> Find() = 0;
  // Makes a fresh ext4 filesystem labelled `label` on `device`.
  virtual Status Format(const std::string& device, const std::string& label) = 0;
  virtual Expected<std::unique_ptr<Mounted>> Mount(const std::string& device,
                                                   const std::string& dir) = 0;
};

class ImagePuller {
 public:
  virtual ~ImagePuller() = default;
  // Writes the image's root filesystem into `dir`; returns the manifest digest.
  // `progress` gets short lines ("pulling layer 2/5: 120/300 MB").
  virtual Expected<std::string> Pull(const std::string& reference, const std::string& dir,
                                     const std::function<void(const std::string&)>& progress) = 0;
};

// Runs a cloud-config's write_files/runcmd on the running system (the
// bootstrap). Returns Ok when it was applied or had been applied before.
class BootstrapApplier {
 public:
  virtual ~BootstrapApplier() = default;
  virtual Status Validate(const std::string& cloud_config) = 0;
  virtual Status Apply(const std::string& cloud_config, const std::string& state_dir) = 0;
};

struct NativeOptions {
  // Exists while the boot image runs (live mode): Install works only then.
  std::string live_mode_file = "/run/elemental/live_mode";
  // The OEM tree before the disk exists.
  std::string staging_dir = "/run/elemental/oem";
  // Where the installed system has COS_OEM mounted.
  std::string oem_dir = "/oem";
  // Where the plugin mounts partitions it works on.
  std::string mount_dir = "/run/elemental/mnt";
  // Which slot this system booted from ("A"/"B"), written by the boot image.
  std::string booted_slot_file = "/run/elemental/booted-slot";
  int64_t boot_tries = 3;
};

class NativePlugin final : public OsPlugin {
 public:
  NativePlugin(NativeOptions opts, std::unique_ptr<DiskWork> disk,
               std::unique_ptr<ImagePuller> puller, std::unique_ptr<BootstrapApplier> bootstrap,
               std::unique_ptr<HostnameControl> hostname, std::unique_ptr<CommandRunner> runner);

  Status Init(const PluginContext& ctx) override;
  Expected<std::string> GetHostname() override;
  Status InstallCloudInit(const json::Value& cloud_config) override;
  Status InstallHostname(const std::string& hostname) override;
  Status InstallFile(const std::string& content, const std::string& path, uint32_t mode, int uid,
                     int gid) override;
  Status Install(const json::Value& input) override;
  Status Bootstrap(const std::string& format, const std::string& config) override;
  Expected<bool> ReconcileOsVersion(const json::Value& input) override;
  Status TriggerReset() override;
  Status Reset(const json::Value& input) override;
  Status PowerOff() override;
  Status Reboot() override;
  Status OnRunStart() override;
  Status OnApiReached() override;
  Status OnResetTriggered() override;

 private:
  Expected<bool> LiveMode() const;
  // The partitions to install into: the disk Reset left (slots formatted,
  // the rest kept), or a freshly partitioned and formatted one.
  Expected<Partitions> PrepareDisk(const InstallInput& in);
  // The OEM tree to write to: staging in live mode, COS_OEM otherwise.
  Expected<std::string> OemDir() const;

  NativeOptions opts_;
  std::unique_ptr<DiskWork> disk_;
  std::unique_ptr<ImagePuller> puller_;
  std::unique_ptr<BootstrapApplier> bootstrap_;
  std::unique_ptr<HostnameControl> hostname_;
  std::unique_ptr<CommandRunner> runner_;
  PluginContext ctx_;
  bool initialized_ = false;
};

}  // namespace elemental::plugin::native
