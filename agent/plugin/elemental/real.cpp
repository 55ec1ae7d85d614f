// The native plugin's real parts (see real.hpp).
#include "plugin/elemental/real.hpp"

#include <sys/stat.h>

#include <optional>

#include "cloudinit/cloudinit.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "disk/format.hpp"
#include "disk/layout.hpp"
#include "disk/loop.hpp"
#include "disk/select.hpp"
#include "disk/sysfs.hpp"
#include "oci/progress.hpp"
#include "oci/pull.hpp"
#include "oci/registries_config.hpp"

namespace elemental::plugin::native {
namespace {

class RealMounted final : public Mounted {
 public:
  RealMounted(disk::Mounter& mounter, std::string dir) : mounter_(mounter), dir_(std::move(dir)) {}
  ~RealMounted() override {
    if (mounted_) (void)Unmount();
  }
  const std::string& dir() const override { return dir_; }
  Status Unmount() override {
    if (!mounted_) return Status::Ok();
    mounted_ = false;
    return mounter_.Unmount(dir_);
  }

 private:
  disk::Mounter& mounter_;
  std::string dir_;
  bool mounted_ = true;
};

Partitions FromLayout(const disk::DiskLayout& layout) {
  Partitions p;
  p.disk = layout.disk;
  auto node = [&](const char* label) {
    const disk::LayoutPartition* part = layout.Find(label);
    return part != nullptr ? part->node : std::string();
  };
  p.grub = node(disk::kLabelEsp);
  p.oem = node(disk::kLabelOem);
  p.system_a = node(disk::kLabelSystemA);
  p.system_b = node(disk::kLabelSystemB);
  p.persistent = node(disk::kLabelPersistent);
  return p;
}

class RealDisk final : public DiskWork {
 public:
  Expected<Partitions> Prepare(const InstallInput& in) override {
    disk::PartitionSizes sizes = Sizes(in);
    auto chosen = Target(in);
    if (!chosen) return chosen.error();
    const std::string target = *chosen;
    log::Info("Install disk: " + target);
    if (in.no_format) {
      auto layout = disk::OpenLayout(target);
      if (!layout) return layout.error().Wrap("noFormat");
      return FromLayout(*layout);
    }
    auto layout = disk::CreateLayout(target, sizes);
    if (!layout) return layout.error();
    for (const auto& p : layout->partitions) {
      log::Info("  " + p.label + " " + p.node + " " + std::to_string(p.size_bytes >> 20) + " MiB " +
                disk::FsTypeName(p.fs));
    }
    if (Status st2 = disk::FormatLayout(runner_, tools_, *layout); !st2) return st2.error();
    return FromLayout(*layout);
  }

  Expected<std::optional<Partitions>> Existing(const InstallInput& in) override {
    auto target = Target(in);
    if (!target) return target.error();
    auto layout = disk::OpenLayout(*target);
    if (!layout) {
      log::Debug("no layout on '" + *target + "': " + layout.error().message());
      return std::optional<Partitions>();
    }
    Partitions p = FromLayout(*layout);
    for (const std::string* node : {&p.grub, &p.oem, &p.system_a, &p.system_b, &p.persistent}) {
      if (node->empty()) return std::optional<Partitions>();
    }
    return std::optional<Partitions>(p);
  }

  Expected<Partitions> Find() override {
    Partitions p;
    struct Want {
      const char* label;
      std::string* out;
    };
    for (Want w : {Want{disk::kLabelEsp, &p.grub}, Want{disk::kLabelOem, &p.oem},
                   Want{disk::kLabelSystemA, &p.system_a}, Want{disk::kLabelSystemB, &p.system_b},
                   Want{disk::kLabelPersistent, &p.persistent}}) {
      auto node = disk::FindPartitionByLabel(disk::SystemPaths{}, w.label);
      if (!node) return node.error();
      *w.out = *node;
    }
    return p;
  }

  Status Format(const std::string& device, const std::string& label) override {
    return disk::MakeFilesystem(runner_, tools_, disk::FsType::kExt4, device, label);
  }

  Expected<std::unique_ptr<Mounted>> Mount(const std::string& device,
                                           const std::string& dir) override {
    if (Status st = fs::MkdirAll(dir, 0700); !st) return st.error();
    if (Status st = mounter_.Mount(device, dir, "ext4", false); !st) return st.error();
    return std::unique_ptr<Mounted>(std::make_unique<RealMounted>(mounter_, dir));
  }

 private:
  static disk::PartitionSizes Sizes(const InstallInput& in) {
    disk::PartitionSizes sizes;
    sizes.esp_mib = in.partitions.grub_mib;
    sizes.oem_mib = in.partitions.oem_mib;
    sizes.system_mib = in.partitions.system_mib;
    sizes.persistent_min_mib = in.partitions.persistent_mib;
    return sizes;
  }

  // The install disk's node, chosen once; an image file is attached to a
  // loop device that stays attached while this object lives.
  Expected<std::string> Target(const InstallInput& in) {
    if (!target_.empty()) return target_;
    auto chosen = disk::ChooseInstallDisk(in.device, disk::MinimumDiskBytes(Sizes(in)));
    if (!chosen) return chosen.error();
    std::string target = *chosen;
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      // An image file: attach it so the partitions get device nodes.
      auto loop = disk::LoopDevice::Attach(target);
      if (!loop) return loop.error();
      log::Info("Installing onto image file '" + target + "' through " + loop->path());
      target = loop->path();
      loop_.emplace(std::move(*loop));
    }
    target_ = target;
    return target_;
  }

  std::string target_;
  disk::ExecProcessRunner runner_;
  disk::FormatTools tools_{kToolsDir};
  disk::SyscallMounter mounter_;
  std::optional<disk::LoopDevice> loop_;  // held while the plugin works on an image file
};

class OciPuller final : public ImagePuller {
 public:
  Expected<std::string> Pull(const std::string& reference, const std::string& dir,
                             const std::function<void(const std::string&)>& progress) override {
    oci::PullOptions opts;
    auto exists = fs::PathExists(oci::kDefaultRegistriesConfigPath);
    if (!exists) return exists.error();
    if (*exists) {
      auto config = oci::LoadRegistriesConfig(oci::kDefaultRegistriesConfigPath);
      if (!config) return config.error();
      opts.registry.registries = std::move(*config);
    }
    oci::ProgressReporter reporter(progress, SystemClock());
    opts.progress = [&](const oci::Progress& p) { reporter.Update(p); };
    auto result = oci::Pull(reference, dir, opts);
    if (!result) return result.error();
    return result->manifest_digest;
  }
};

class CloudConfigBootstrap final : public BootstrapApplier {
 public:
  Status Validate(const std::string& config) override {
    auto parsed = cloudinit::Parse(config);
    if (!parsed) return parsed.error();
    return Status::Ok();
  }
  Status Apply(const std::string& config, const std::string& state_dir) override {
    auto parsed = cloudinit::Parse(config);
    if (!parsed) return parsed.error();
    auto result = cloudinit::Apply(*parsed, "/", state_dir, runner_);
    if (!result) return result.error();
    if (result->already_applied) {
      log::Debug("The bootstrap was applied before");
    } else {
      log::Info("Bootstrap applied: " + std::to_string(result->files_written) + " files, " +
                std::to_string(result->commands_run) + " commands");
    }
    return Status::Ok();
  }

 private:
  cloudinit::ExecProcessRunner runner_;
};

}  // namespace

std::unique_ptr<OsPlugin> MakeNativePlugin() {
  return std::make_unique<NativePlugin>(NativeOptions{}, std::make_unique<RealDisk>(),
                                        std::make_unique<OciPuller>(),
                                        std::make_unique<CloudConfigBootstrap>(), nullptr, nullptr);
}

}  // namespace elemental::plugin::native
