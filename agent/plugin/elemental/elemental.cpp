// The native OS plugin (see elemental.hpp).
#include "plugin/elemental/elemental.hpp"

#include <chrono>
#include <optional>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "plugin/elemental/oem.hpp"
#include "plugin/yaml_convert.hpp"
#include "slots/record.hpp"
#include "slots/store.hpp"
#include "slots/upgrade.hpp"
#include "slots/boot.hpp"

namespace elemental::plugin::native {
namespace {

constexpr const char* kLabelA = "COS_SYSTEM_A";
constexpr const char* kLabelB = "COS_SYSTEM_B";
constexpr const char* kLabelPersistent = "COS_PERSISTENT";
constexpr const char* kLabelOem = "COS_OEM";

std::string StateDir(const std::string& oem) { return oem + "/" + kOemStateDir; }

// Loads the record of an installed system; a missing record is an error
// naming where it was looked for.
Expected<slots::Loaded> LoadRecord(const std::string& oem) {
  slots::Store store(slots::PosixFileOps(), StateDir(oem));
  auto loaded = store.Load();
  if (!loaded) return loaded.error();
  for (const auto& d : loaded->damaged) log::Warn("slot state record: " + d);
  return loaded;
}

Status SaveRecord(const std::string& oem, slots::Record& record) {
  slots::Store store(slots::PosixFileOps(), StateDir(oem));
  return store.Save(record);
}

std::string Now() { return slots::FormatTime(std::chrono::system_clock::now()); }

}  // namespace

NativePlugin::NativePlugin(NativeOptions opts, std::unique_ptr<DiskWork> disk,
                           std::unique_ptr<ImagePuller> puller,
                           std::unique_ptr<BootstrapApplier> bootstrap,
                           std::unique_ptr<HostnameControl> hostname,
                           std::unique_ptr<CommandRunner> runner)
    : opts_(std::move(opts)),
      disk_(std::move(disk)),
      puller_(std::move(puller)),
      bootstrap_(std::move(bootstrap)),
      hostname_(hostname ? std::move(hostname) : std::make_unique<SystemHostnameControl>()),
      runner_(runner ? std::move(runner) : std::make_unique<ExecCommandRunner>()) {}

Status NativePlugin::Init(const PluginContext& ctx) {
  if (ctx.debug) log::EnableDebug();
  log::Debug("Initializing the native A/B plugin");
  if (ctx.work_dir.empty()) return Error("creating work directory: work directory is not set");
  if (!ctx.config_path.empty()) {
    const std::string dir = fs::DirName(ctx.config_path);
    if (Status st = fs::MkdirAll(dir, 0700); !st) {
      return st.error().Wrap("creating config directory '" + dir + "'");
    }
  }
  if (Status st = fs::MkdirAll(ctx.work_dir, 0700); !st) {
    return st.error().Wrap("creating work directory '" + ctx.work_dir + "'");
  }
  ctx_ = ctx;
  initialized_ = true;
  return Status::Ok();
}

Expected<bool> NativePlugin::LiveMode() const {
  auto live = fs::PathExists(opts_.live_mode_file);
  if (!live) return live.error().Wrap("checking for live mode");
  return *live;
}

Expected<std::string> NativePlugin::OemDir() const {
  if (!initialized_) return Error("native plugin is not initialized");
  auto live = LiveMode();
  if (!live) return live.error();
  const std::string dir = *live ? opts_.staging_dir : opts_.oem_dir;
  if (Status st = fs::MkdirAll(dir, 0700); !st) return st.error();
  return dir;
}

Expected<std::string> NativePlugin::GetHostname() {
  auto name = hostname_->Get();
  if (!name) return name.error().Wrap("getting current hostname");
  return name;
}

Status NativePlugin::InstallCloudInit(const json::Value& cloud_config) {
  auto dir = OemDir();
  if (!dir) return dir.error().Wrap("installing cloud-init config");
  auto yaml = JsonToYaml(cloud_config);
  if (!yaml) return yaml.error().Wrap("unmarshalling cloud init config");
  if (Status st = OemTree(*dir).PutOwn(kOemRegistrationCloudConfig, "#cloud-config\n" + *yaml);
      !st) {
    return st.error().Wrap("writing cloud init config");
  }
  return Status::Ok();
}

Status NativePlugin::InstallHostname(const std::string& hostname) {
  const std::string context = "setting hostname '" + hostname + "'";
  if (hostname.empty()) return Error(context + ": empty host name");
  auto dir = OemDir();
  if (!dir) return dir.error().Wrap(context);
  if (Status st = OemTree(*dir).PutFile("/etc/hostname", hostname + "\n", 0644, 0, 0); !st) {
    return st.error().Wrap(context);
  }
  if (Status st = hostname_->Set(hostname); !st) return st.error().Wrap(context);
  return Status::Ok();
}

Status NativePlugin::InstallFile(const std::string& content, const std::string& path,
                                 uint32_t mode, int uid, int gid) {
  log::Debug("Installing file " + path);
  auto dir = OemDir();
  if (!dir) return dir.error().Wrap("installing file '" + path + "'");
  if (Status st = OemTree(*dir).PutFile(path, content, mode, uid, gid); !st) {
    return st.error().Wrap("installing file '" + path + "'");
  }
  return Status::Ok();
}

Expected<Partitions> NativePlugin::PrepareDisk(const InstallInput& in) {
  if (!in.no_format) {
    auto existing = disk_->Existing(in);
    if (!existing) return existing.error().Wrap("looking at the install disk");
    if (*existing) {
      // A disk that Reset left: its record exists and names no active slot.
      bool after_reset = false;
      {
        auto oem = disk_->Mount((*existing)->oem, opts_.mount_dir + "/oem");
        if (!oem) return oem.error().Wrap("mounting " + std::string(kLabelOem));
        auto loaded = LoadRecord((*oem)->dir());
        after_reset = loaded && loaded->record && loaded->record->active == slots::Slot::kNone &&
                      !loaded->record->reset_pending;
        if (Status st = (*oem)->Unmount(); !st) return st.error().Wrap("unmounting COS_OEM");
      }
      if (after_reset) {
        log::Info("The disk was reset: keeping its partitions, " + std::string(kLabelOem) +
                  " and " + kLabelPersistent + "; writing the slots");
        for (auto [device, label] :
             {std::pair{(*existing)->system_a, kLabelA}, {(*existing)->system_b, kLabelB}}) {
          if (Status st = disk_->Format(device, label); !st) {
            return st.error().Wrap(std::string("formatting ") + label);
          }
        }
        return **existing;
      }
    }
  }
  log::Info("Preparing the disk");
  auto parts = disk_->Prepare(in);
  if (!parts) return parts.error().Wrap("preparing the disk");
  if (in.no_format) {
    // noFormat keeps the partitions and what COS_OEM / COS_PERSISTENT hold;
    // the slots hold the OS and start empty.
    for (auto [device, label] :
         {std::pair{parts->system_a, kLabelA}, {parts->system_b, kLabelB}}) {
      if (Status st = disk_->Format(device, label); !st) {
        return st.error().Wrap(std::string("formatting ") + label);
      }
    }
  }
  return parts;
}

Status NativePlugin::Install(const json::Value& input) {
  auto in = ParseInstallInput(input);
  if (!in) return in.error();
  auto live = LiveMode();
  if (!live) return live.error();
  if (!*live) {
    // As upstream: a reset that repurposes the host must not reinstall it.
    log::Info("Not running from live media. Assuming system is already installed. Nothing to do.");
    return Status::Ok();
  }
  if (in->system_uri.empty()) return Error("install config: systemUri is empty: no OS image to install");

  auto parts = PrepareDisk(*in);
  if (!parts) return parts.error();

  log::Info("Installing " + in->system_uri + " into " + kLabelA + " (" + parts->system_a + ")");
  auto system = disk_->Mount(parts->system_a, opts_.mount_dir + "/system");
  if (!system) return system.error().Wrap("mounting " + std::string(kLabelA));
  auto digest = puller_->Pull(in->system_uri, (*system)->dir(), [](const std::string& line) {
    log::Info(line);
  });
  if (!digest) return digest.error().Wrap("installing " + in->system_uri + " into slot A");
  if (Status st = (*system)->Unmount(); !st) return st.error().Wrap("unmounting slot A");

  log::Info("Writing " + std::string(kLabelOem) + " (" + parts->oem + ")");
  auto oem = disk_->Mount(parts->oem, opts_.mount_dir + "/oem");
  if (!oem) return oem.error().Wrap("mounting " + std::string(kLabelOem));
  const std::string oem_dir = (*oem)->dir();
  auto staged = fs::PathExists(opts_.staging_dir);
  if (!staged) return staged.error();
  if (*staged) {
    if (Status st = CopyTree(opts_.staging_dir, oem_dir); !st) {
      return st.error().Wrap("copying the registration's files onto " + std::string(kLabelOem));
    }
  }
  for (size_t i = 0; i < in->config_urls.size(); ++i) {
    const std::string& url = in->config_urls[i];
    if (url.find("://") != std::string::npos) {
      return Error("install config: configUrls[" + std::to_string(i) + "] '" + url +
                   "': only local files are supported");
    }
    auto text = fs::ReadFile(url, {.what = "cloud-config", .max_bytes = 1 << 20});
    if (!text) return text.error().Wrap("install config: configUrls[" + std::to_string(i) + "]");
    if (Status st = OemTree(oem_dir).PutOwn(
            "elemental/cloud-config/config-url-" + std::to_string(i) + ".yaml", *text);
        !st) {
      return st;
    }
  }
  // With noFormat the disk may hold a record: keep its failed correlationIDs.
  std::optional<slots::Record> previous;
  if (auto loaded = LoadRecord(oem_dir); loaded && loaded->record) previous = loaded->record;
  slots::SlotInfo a;
  a.image = in->system_uri;
  a.digest = *digest;
  a.installed_at = Now();
  slots::Record record = slots::InstallRecord(a, previous ? &*previous : nullptr);
  if (Status st = SaveRecord(oem_dir, record); !st) {
    return st.error().Wrap("writing the slot state record");
  }
  if (Status st = (*oem)->Unmount(); !st) return st.error().Wrap("unmounting COS_OEM");
  log::Info("Installed " + in->system_uri + " (" + *digest + ") into slot A");
  return Status::Ok();
}

Status NativePlugin::Bootstrap(const std::string& format, const std::string& config) {
  if (format == "ignition") {
    return Error("using bootstrapping format 'ignition': the native plugin applies cloud-config "
                 "only (write_files, runcmd)");
  }
  if (format != "cloud-config") {
    return Error("using bootstrapping format '" + format + "': unsupported bootstrap format");
  }
  if (Status st = bootstrap_->Validate(config); !st) {
    return st.error().Wrap("checking the cloud-config bootstrap");
  }
  auto dir = OemDir();
  if (!dir) return dir.error().Wrap("storing the bootstrap");
  OemTree tree(*dir);
  auto exists = fs::PathExists(tree.Path(kOemBootstrapCloudConfig));
  if (!exists) return exists.error();
  if (*exists) return Error("applying cloud-config bootstrap: bootstrap already applied");
  if (Status st = tree.PutOwn(kOemBootstrapCloudConfig, config); !st) {
    return st.error().Wrap("writing bootstrap config");
  }
  log::Info("Bootstrap stored; it is applied when the agent starts after the reboot");
  return Status::Ok();
}

Status NativePlugin::OnRunStart() {
  auto live = LiveMode();
  if (!live || *live) return Status::Ok();
  OemTree tree(opts_.oem_dir);
  const std::string path = tree.Path(kOemBootstrapCloudConfig);
  auto exists = fs::PathExists(path);
  if (!exists) return exists.error();
  if (!*exists) return Status::Ok();
  auto config = fs::ReadFile(path, {.what = "bootstrap cloud-config", .max_bytes = 16 << 20});
  if (!config) return config.error();
  log::Info("Applying the cloud-config bootstrap");
  if (Status st = bootstrap_->Apply(*config, fs::DirName(path)); !st) {
    return st.error().Wrap("applying the cloud-config bootstrap");
  }
  return Status::Ok();
}

Status NativePlugin::OnApiReached() {
  auto exists = fs::PathExists(opts_.booted_slot_file);
  if (!exists) return exists.error();
  if (!*exists) return Status::Ok();  // not booted by the boot image: nothing to confirm
  auto text = fs::ReadFile(opts_.booted_slot_file, {.max_bytes = 64});
  if (!text) return text.error();
  std::string name = *text;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  slots::Slot booted = name == "A" ? slots::Slot::kA : name == "B" ? slots::Slot::kB
                                                                   : slots::Slot::kNone;
  if (booted == slots::Slot::kNone) {
    return Error("'" + opts_.booted_slot_file + "' names no slot: '" + name + "'");
  }
  auto loaded = LoadRecord(opts_.oem_dir);
  if (!loaded) return loaded.error();
  if (!loaded->record) return Status::Ok();
  auto marked = slots::MarkGood(*loaded->record, booted);
  if (!marked) return marked.error();
  if (!*marked) return Status::Ok();
  if (Status st = SaveRecord(opts_.oem_dir, **marked); !st) return st;
  log::Info(std::string("Slot ") + slots::SlotName(booted) + " marked good");
  return Status::Ok();
}

Expected<bool> NativePlugin::ReconcileOsVersion(const json::Value& input) {
  auto in = ParseOsVersionInput(input);
  if (!in) return in.error();
  if (in->image_uri.empty()) {
    log::Info("No imageURI to upgrade to was defined. Nothing to do.");
    return false;
  }
  log::Debug("Calculated osVersion hash: " + in->correlation_id);
  auto loaded = LoadRecord(opts_.oem_dir);
  if (!loaded) return loaded.error().Wrap("reading the slot state record");
  if (!loaded->record) {
    return Error("no slot state record in '" + StateDir(opts_.oem_dir) +
                 "': the system is not installed by the native plugin");
  }
  slots::Record record = *loaded->record;
  auto plan = slots::PlanUpgrade(record, {in->image_uri, in->correlation_id});
  if (!plan) return plan.error();
  switch (plan->kind) {
    case slots::PlanKind::kNothingToDo:
      log::Info(plan->message);
      return false;
    case slots::PlanKind::kTrying:
      // Written, but this system has not booted it yet.
      log::Info(plan->message);
      return true;
    case slots::PlanKind::kFailedBefore:
      if (record.last_rollback && !record.last_rollback->reported) {
        slots::Record reported = slots::MarkRollbackReported(record);
        if (Status st = SaveRecord(opts_.oem_dir, reported); !st) {
          log::Warn("recording the rollback as reported: " + st.error().message());
        }
      }
      return Error(plan->message);
    case slots::PlanKind::kBusy:
      return Error(plan->message);
    case slots::PlanKind::kWriteSlot:
      break;
  }
  const slots::Slot target = plan->slot;
  const std::string label = target == slots::Slot::kA ? kLabelA : kLabelB;
  auto parts = disk_->Find();
  if (!parts) return parts.error().Wrap("finding the slots");
  const std::string device = target == slots::Slot::kA ? parts->system_a : parts->system_b;
  log::Info("Upgrading to " + in->image_uri + " in slot " + slots::SlotName(target) + " (" +
            device + ")");
  auto before = slots::RecordBeforeWrite(record, target);
  if (!before) return before.error();
  if (Status st = SaveRecord(opts_.oem_dir, *before); !st) {
    return st.error().Wrap("writing the slot state record");
  }
  if (Status st = disk_->Format(device, label); !st) return st.error().Wrap("wiping " + label);
  auto mounted = disk_->Mount(device, opts_.mount_dir + "/upgrade");
  if (!mounted) return mounted.error().Wrap("mounting " + label);
  auto digest = puller_->Pull(in->image_uri, (*mounted)->dir(),
                              [](const std::string& line) { log::Info(line); });
  if (!digest) return digest.error().Wrap("pulling " + in->image_uri + " into " + label);
  if (Status st = (*mounted)->Unmount(); !st) return st.error().Wrap("unmounting " + label);
  slots::SlotInfo info;
  info.image = in->image_uri;
  info.digest = *digest;
  info.correlation_id = in->correlation_id;
  info.installed_at = Now();
  auto after = slots::RecordAfterWrite(*before, target, info, opts_.boot_tries);
  if (!after) return after.error();
  if (Status st = SaveRecord(opts_.oem_dir, *after); !st) {
    return st.error().Wrap("writing the slot state record");
  }
  log::Info("Slot " + std::string(slots::SlotName(target)) + " holds " + in->image_uri +
            "; it is tried at the next boot (" + std::to_string(opts_.boot_tries) + " boots)");
  return true;
}

Status NativePlugin::TriggerReset() {
  auto loaded = LoadRecord(opts_.oem_dir);
  if (!loaded) return loaded.error().Wrap("reading the slot state record");
  slots::Record record = loaded->record ? *loaded->record : slots::Record{};
  slots::Record flagged = slots::RequestReset(record, false, false);
  if (Status st = SaveRecord(opts_.oem_dir, flagged); !st) {
    return st.error().Wrap("writing the reset flag");
  }
  log::Info("Reset pending: the boot image resets this host at the next boot");
  return Status::Ok();
}

Status NativePlugin::OnResetTriggered() { return Reboot(); }

Status NativePlugin::Reset(const json::Value& input) {
  auto in = ParseResetInput(input);
  if (!in) return in.error();
  if (!initialized_) return Error("native plugin is not initialized");
  auto parts = disk_->Find();
  if (!parts) return parts.error().Wrap("finding the partitions to reset");

  // What re-registration needs: the agent config and the identity, taken
  // from COS_OEM's file tree (the running copy of the config wins).
  struct Kept {
    std::string path, content;
  };
  std::vector<Kept> kept;
  const std::string key_path = ctx_.work_dir + "/private.key";
  {
    auto oem = disk_->Mount(parts->oem, opts_.mount_dir + "/oem");
    if (!oem) return oem.error().Wrap("mounting COS_OEM");
    for (const std::string& p : {ctx_.config_path, key_path}) {
      if (p.empty()) continue;
      auto text = fs::ReadFile((*oem)->dir() + "/" + kOemFilesDir + p);
      if (!text && p == ctx_.config_path) text = fs::ReadFile(p);
      if (text) kept.push_back({p, *text});
    }
    if (!in->reset_oem) {
      // The next install starts from the registration again: drop what the
      // old host left (host name, bootstrap with its join token, cloud-config).
      slots::Record cleared;
      if (auto loaded = LoadRecord((*oem)->dir()); loaded && loaded->record) {
        cleared.failed_correlation_ids = loaded->record->failed_correlation_ids;
      }
      for (const char* rel : {kOemBootstrapCloudConfig, kOemRegistrationCloudConfig}) {
        std::remove(((*oem)->dir() + "/" + rel).c_str());
      }
      if (Status st = SaveRecord((*oem)->dir(), cleared); !st) {
        return st.error().Wrap("clearing the slot state record");
      }
    }
    if (Status st = (*oem)->Unmount(); !st) return st;
  }
  for (auto [device, label] : {std::pair{parts->system_a, kLabelA}, {parts->system_b, kLabelB}}) {
    log::Info("Wiping " + std::string(label));
    if (Status st = disk_->Format(device, label); !st) {
      return st.error().Wrap(std::string("wiping ") + label);
    }
  }
  if (in->reset_persistent) {
    log::Info("Wiping COS_PERSISTENT");
    if (Status st = disk_->Format(parts->persistent, kLabelPersistent); !st) return st;
  }
  if (in->reset_oem) {
    log::Info("Wiping COS_OEM");
    if (Status st = disk_->Format(parts->oem, kLabelOem); !st) return st;
    auto oem = disk_->Mount(parts->oem, opts_.mount_dir + "/oem");
    if (!oem) return oem.error().Wrap("mounting COS_OEM");
    for (const auto& k : kept) {
      if (Status st = OemTree((*oem)->dir()).PutFile(k.path, k.content, 0600, 0, 0); !st) return st;
    }
    slots::Record empty;
    if (Status st = SaveRecord((*oem)->dir(), empty); !st) return st;
    if (Status st = (*oem)->Unmount(); !st) return st;
  }
  // register --install follows in live mode: stage what it needs.
  for (const auto& k : kept) {
    if (Status st = OemTree(opts_.staging_dir).PutFile(k.path, k.content, 0600, 0, 0); !st) {
      return st.error().Wrap("keeping '" + k.path + "' for re-registration");
    }
  }
  log::Info("Reset done; the host can be registered and installed again");
  return Status::Ok();
}

Status NativePlugin::PowerOff() {
  if (Status st = runner_->Run({"poweroff", "-f"}); !st) return st.error().Wrap("powering off system");
  return Status::Ok();
}

Status NativePlugin::Reboot() {
  if (Status st = runner_->Run({"reboot", "-f"}); !st) return st.error().Wrap("rebooting system");
  return Status::Ok();
}

}  // namespace elemental::plugin::native
