// Tests for the native A/B plugin's logic with fakes: partitions are plain
// directories, pulls write a marker file, the bootstrap applier records what
// it got. The real disk and registry work is tested in tests/native.
#include "plugin/elemental/elemental.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "plugin/elemental/oem.hpp"
#include "slots/store.hpp"
#include "slots/boot.hpp"

namespace elemental::plugin::native {
namespace {

namespace stdfs = std::filesystem;

struct World {
  std::string base;
  std::vector<std::string> calls;
  std::map<std::string, std::string> failing_pulls;  // reference → error
  std::vector<std::string> applied_bootstraps;
  std::vector<std::vector<std::string>> commands;
  std::string hostname = "live";
};

class FakeMounted : public Mounted {
 public:
  explicit FakeMounted(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const override { return dir_; }
  Status Unmount() override { return Status::Ok(); }

 private:
  std::string dir_;
};

class FakeDisk : public DiskWork {
 public:
  explicit FakeDisk(World& w) : w_(w) {}
  Partitions Parts() const {
    const std::string p = w_.base + "/parts/";
    return {"/dev/fake", p + "COS_GRUB", p + "COS_OEM", p + "COS_SYSTEM_A", p + "COS_SYSTEM_B",
            p + "COS_PERSISTENT"};
  }
  Expected<Partitions> Prepare(const InstallInput& in) override {
    w_.calls.push_back("prepare " + in.device + (in.no_format ? " noFormat" : ""));
    Partitions p = Parts();
    if (in.no_format) {
      if (!stdfs::exists(p.oem)) return Error("noFormat: no COS_OEM partition");
      return p;
    }
    for (const auto& d : {p.grub, p.oem, p.system_a, p.system_b, p.persistent}) {
      stdfs::remove_all(d);
      stdfs::create_directories(d);
    }
    return p;
  }
  Expected<std::optional<Partitions>> Existing(const InstallInput& /*in*/) override {
    w_.calls.push_back("existing");
    if (!stdfs::exists(Parts().oem)) return std::optional<Partitions>();
    return std::optional<Partitions>(Parts());
  }
  Expected<Partitions> Find() override {
    if (!stdfs::exists(Parts().oem)) return Error("no COS_OEM partition");
    return Parts();
  }
  Status Format(const std::string& device, const std::string& label) override {
    w_.calls.push_back("format " + label);
    stdfs::remove_all(device);
    stdfs::create_directories(device);
    return Status::Ok();
  }
  Expected<std::unique_ptr<Mounted>> Mount(const std::string& device,
                                           const std::string& /*dir*/) override {
    return std::unique_ptr<Mounted>(std::make_unique<FakeMounted>(device));
  }

 private:
  World& w_;
};

class FakePuller : public ImagePuller {
 public:
  explicit FakePuller(World& w) : w_(w) {}
  Expected<std::string> Pull(const std::string& ref, const std::string& dir,
                             const std::function<void(const std::string&)>& progress) override {
    w_.calls.push_back("pull " + ref);
    if (auto it = w_.failing_pulls.find(ref); it != w_.failing_pulls.end()) {
      return Error(it->second);
    }
    progress("pulling layer 1/1: 1/1 MB");
    if (Status st = fs::WriteFileDurable(dir + "/image", ref + "\n", 0644); !st) return st.error();
    return std::string("sha256:") + std::string(64 - ref.size() % 10, 'a');
  }

 private:
  World& w_;
};

class FakeBootstrap : public BootstrapApplier {
 public:
  explicit FakeBootstrap(World& w) : w_(w) {}
  Status Validate(const std::string& config) override {
    if (config.find("bad:") != std::string::npos) return Error("write_files[0]: bad entry");
    return Status::Ok();
  }
  Status Apply(const std::string& config, const std::string& /*state_dir*/) override {
    w_.applied_bootstraps.push_back(config);
    return Status::Ok();
  }

 private:
  World& w_;
};

class FakeHostname : public HostnameControl {
 public:
  explicit FakeHostname(World& w) : w_(w) {}
  Expected<std::string> Get() override { return w_.hostname; }
  Status Set(const std::string& h) override {
    w_.hostname = h;
    return Status::Ok();
  }

 private:
  World& w_;
};

class FakeRunner : public CommandRunner {
 public:
  explicit FakeRunner(World& w) : w_(w) {}
  Status Run(const std::vector<std::string>& argv) override {
    w_.commands.push_back(argv);
    return Status::Ok();
  }

 private:
  World& w_;
};

class NativePluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/native-plugin-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    w.base = tmpl;
    opts.live_mode_file = w.base + "/run/live_mode";
    opts.staging_dir = w.base + "/run/oem-staging";
    opts.oem_dir = w.base + "/parts/COS_OEM";  // the installed system mounts it here
    opts.mount_dir = w.base + "/mnt";
    opts.booted_slot_file = w.base + "/run/booted-slot";
    stdfs::create_directories(w.base + "/run");
    plugin = MakePlugin();
    PluginContext ctx;
    ctx.work_dir = work_dir = w.base + "/var/lib/elemental/agent";
    ctx.config_path = config_path = w.base + "/etc/elemental/agent/config.yaml";
    ASSERT_TRUE(plugin->Init(ctx));
  }
  void TearDown() override { stdfs::remove_all(w.base); }

  std::unique_ptr<NativePlugin> MakePlugin() {
    return std::make_unique<NativePlugin>(
        opts, std::make_unique<FakeDisk>(w), std::make_unique<FakePuller>(w),
        std::make_unique<FakeBootstrap>(w), std::make_unique<FakeHostname>(w),
        std::make_unique<FakeRunner>(w));
  }
  void SetLive(bool live) {
    if (live) {
      ASSERT_TRUE(fs::WriteFileDurable(opts.live_mode_file, "", 0644));
    } else {
      stdfs::remove(opts.live_mode_file);
    }
  }
  void Boot(const char* slot) {
    ASSERT_TRUE(fs::WriteFileDurable(opts.booted_slot_file, std::string(slot) + "\n", 0644));
  }
  slots::Record Record() {
    slots::Store store(slots::PosixFileOps(), opts.oem_dir + "/elemental/state");
    auto loaded = store.Load();
    EXPECT_TRUE(loaded) << loaded.error().message();
    EXPECT_TRUE(loaded->record.has_value());
    return loaded && loaded->record ? *loaded->record : slots::Record{};
  }
  // What the boot image does at a boot: decide, write, and say which slot booted.
  slots::Slot BootNow() {
    slots::Store store(slots::PosixFileOps(), opts.oem_dir + "/elemental/state");
    auto decision = slots::DecideBoot(store.Load(), std::chrono::system_clock::now());
    if (decision.write) {
      EXPECT_TRUE(store.Save(*decision.write));
    }
    if (decision.action == slots::BootAction::kBoot) Boot(slots::SlotName(decision.slot));
    return decision.slot;
  }
  std::string SlotImage(const char* label) {
    auto s = fs::ReadFile(w.base + "/parts/" + label + "/image");
    return s ? *s : "";
  }
  json::Value OsVersion(const std::string& image) {
    json::Object os;
    os["imageUri"] = image;
    json::Object top;
    top["osVersion"] = json::Value(os);
    return json::Value(top);
  }
  void Install() {
    SetLive(true);
    ASSERT_TRUE(plugin->InstallHostname("m-host1"));
    ASSERT_TRUE(plugin->InstallFile("agent: {}\n", config_path, 0640, 0, 0));
    ASSERT_TRUE(plugin->InstallFile("KEY", work_dir + "/private.key", 0600, 0, 0));
    json::Object install;
    install["systemUri"] = "oci://registry.test/os:v1";
    install["device"] = "/dev/sda";
    ASSERT_TRUE(plugin->Install(json::Value(install)));
    SetLive(false);
    Boot("A");
  }

  World w;
  std::string work_dir, config_path;
  NativeOptions opts;
  std::unique_ptr<NativePlugin> plugin;
};

TEST_F(NativePluginTest, InstallWritesSlotAAndOem) {
  Install();
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v1\n");
  EXPECT_EQ(SlotImage("COS_SYSTEM_B"), "");
  const std::string files = opts.oem_dir + "/" + kOemFilesDir;
  EXPECT_EQ(*fs::ReadFile(files + "/etc/hostname"), "m-host1\n");
  EXPECT_EQ(*fs::ReadFile(files + work_dir + "/private.key"), "KEY");
  EXPECT_EQ(*fs::ReadFile(files + config_path), "agent: {}\n");
  struct stat st {};
  ASSERT_EQ(::stat((files + work_dir + "/private.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  slots::Record r = Record();
  EXPECT_EQ(r.active, slots::Slot::kA);
  EXPECT_EQ(r.a.image, "oci://registry.test/os:v1");
  EXPECT_EQ(r.a.state, slots::SlotState::kGood);
  EXPECT_EQ(w.hostname, "m-host1");
}

TEST_F(NativePluginTest, InstallOutsideLiveModeDoesNothing) {
  json::Object install;
  install["systemUri"] = "oci://registry.test/os:v1";
  ASSERT_TRUE(plugin->Install(json::Value(install)));
  EXPECT_TRUE(w.calls.empty());
}

TEST_F(NativePluginTest, InstallErrors) {
  SetLive(true);
  auto st = plugin->Install(json::Value(json::Object{}));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("systemUri is empty"), std::string::npos);
  json::Object bad;
  bad["noFormat"] = "yes";
  st = plugin->Install(json::Value(bad));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("noFormat"), std::string::npos) << st.error().message();
  json::Object failing;
  failing["systemUri"] = "oci://registry.test/missing:v1";
  w.failing_pulls["oci://registry.test/missing:v1"] = "manifest v1: not found (HTTP 404)";
  st = plugin->Install(json::Value(failing));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("not found (HTTP 404)"), std::string::npos);
  EXPECT_NE(st.error().message().find("slot A"), std::string::npos) << st.error().message();
}

TEST_F(NativePluginTest, UpgradeAToBThenBToAThenAlreadyPresent) {
  Install();
  auto reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:v2"));
  ASSERT_TRUE(reboot) << reboot.error().message();
  EXPECT_TRUE(*reboot);
  EXPECT_EQ(SlotImage("COS_SYSTEM_B"), "oci://registry.test/os:v2\n");
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v1\n");  // never the active slot
  slots::Record r = Record();
  ASSERT_TRUE(r.pending_try.has_value());
  EXPECT_EQ(r.pending_try->slot, slots::Slot::kB);
  EXPECT_EQ(r.pending_try->tries_left, 3);

  EXPECT_EQ(BootNow(), slots::Slot::kB);
  ASSERT_TRUE(plugin->OnApiReached());
  r = Record();
  EXPECT_EQ(r.active, slots::Slot::kB);
  EXPECT_FALSE(r.pending_try.has_value());

  // B → A
  reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:v3"));
  ASSERT_TRUE(reboot) << reboot.error().message();
  EXPECT_TRUE(*reboot);
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v3\n");
  EXPECT_EQ(BootNow(), slots::Slot::kA);
  ASSERT_TRUE(plugin->OnApiReached());
  EXPECT_EQ(Record().active, slots::Slot::kA);

  // The same request again, and the one still on B: no work, no reboot.
  const size_t pulls = w.calls.size();
  reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:v3"));
  ASSERT_TRUE(reboot);
  EXPECT_FALSE(*reboot);
  reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:v2"));
  ASSERT_TRUE(reboot);
  EXPECT_FALSE(*reboot);
  EXPECT_EQ(w.calls.size(), pulls);
}

TEST_F(NativePluginTest, BrokenImageRollsBackAndIsNotRetried) {
  Install();
  auto reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:broken"));
  ASSERT_TRUE(reboot && *reboot);
  // The new slot never reaches the API: three tries, then the fallback.
  EXPECT_EQ(BootNow(), slots::Slot::kB);
  EXPECT_EQ(BootNow(), slots::Slot::kB);
  EXPECT_EQ(BootNow(), slots::Slot::kB);
  EXPECT_EQ(BootNow(), slots::Slot::kA);
  ASSERT_TRUE(plugin->OnApiReached());
  slots::Record r = Record();
  EXPECT_EQ(r.active, slots::Slot::kA);
  ASSERT_TRUE(r.last_rollback.has_value());
  EXPECT_FALSE(r.last_rollback->reported);

  const size_t calls = w.calls.size();
  for (int i = 0; i < 2; ++i) {
    auto again = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:broken"));
    ASSERT_FALSE(again);
    EXPECT_NE(again.error().message().find("oci://registry.test/os:broken"), std::string::npos)
        << again.error().message();
  }
  EXPECT_EQ(w.calls.size(), calls);  // no pull, no format: no retry loop
  EXPECT_TRUE(Record().last_rollback->reported);
}

TEST_F(NativePluginTest, FailedPullLeavesActiveSlotBootable) {
  Install();
  w.failing_pulls["oci://registry.test/os:v2"] = "blob sha256:x: digest mismatch";
  auto reboot = plugin->ReconcileOsVersion(OsVersion("oci://registry.test/os:v2"));
  ASSERT_FALSE(reboot);
  EXPECT_NE(reboot.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_EQ(BootNow(), slots::Slot::kA);
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v1\n");
  slots::Record r = Record();
  EXPECT_EQ(r.b.state, slots::SlotState::kEmpty);
  EXPECT_FALSE(r.pending_try.has_value());
}

TEST_F(NativePluginTest, BootstrapIsStoredAndAppliedAtRunStart) {
  Install();
  ASSERT_FALSE(plugin->Bootstrap("ignition", "{}"));
  auto bad = plugin->Bootstrap("cloud-config", "bad: true");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("write_files[0]"), std::string::npos);
  ASSERT_TRUE(plugin->Bootstrap("cloud-config", "#cloud-config\nruncmd: [echo hi]\n"));
  auto twice = plugin->Bootstrap("cloud-config", "#cloud-config\n");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message().find("already applied"), std::string::npos);
  EXPECT_TRUE(w.applied_bootstraps.empty());
  ASSERT_TRUE(plugin->OnRunStart());
  ASSERT_EQ(w.applied_bootstraps.size(), 1u);
  EXPECT_EQ(w.applied_bootstraps[0], "#cloud-config\nruncmd: [echo hi]\n");
}

TEST_F(NativePluginTest, TriggerResetThenResetKeepsConfigAndKey) {
  Install();
  ASSERT_TRUE(plugin->Bootstrap("cloud-config", "#cloud-config\n"));
  ASSERT_TRUE(plugin->TriggerReset());
  EXPECT_TRUE(Record().reset_pending);
  ASSERT_TRUE(plugin->OnResetTriggered());
  ASSERT_EQ(w.commands.size(), 1u);
  EXPECT_EQ(w.commands[0], (std::vector<std::string>{"reboot", "-f"}));
  {
    slots::Store store(slots::PosixFileOps(), opts.oem_dir + "/elemental/state");
    EXPECT_EQ(slots::DecideBoot(store.Load(), std::chrono::system_clock::now()).action,
              slots::BootAction::kReset);
  }
  SetLive(true);
  json::Object reset;
  reset["resetOem"] = true;
  reset["resetPersistent"] = true;
  ASSERT_TRUE(plugin->Reset(json::Value(reset)));
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "");
  EXPECT_FALSE(fs::PathExists(opts.oem_dir + "/" + kOemBootstrapCloudConfig).value());
  EXPECT_FALSE(fs::PathExists(opts.oem_dir + "/" + kOemFilesDir + "/etc/hostname").value());
  const std::string staged = opts.staging_dir + "/" + kOemFilesDir;
  EXPECT_EQ(*fs::ReadFile(staged + work_dir + "/private.key"), "KEY");
  EXPECT_EQ(*fs::ReadFile(staged + config_path), "agent: {}\n");
  std::vector<std::string> formats;
  for (const auto& c : w.calls) {
    if (c.rfind("format ", 0) == 0) formats.push_back(c);
  }
  EXPECT_EQ(formats, (std::vector<std::string>{"format COS_SYSTEM_A", "format COS_SYSTEM_B",
                                               "format COS_PERSISTENT", "format COS_OEM"}));
  slots::Store store(slots::PosixFileOps(), opts.oem_dir + "/elemental/state");
  EXPECT_EQ(slots::DecideBoot(store.Load(), std::chrono::system_clock::now()).action,
            slots::BootAction::kInstall);
}

// After a reset, register --install reuses the disk: the slots are written
// again, COS_PERSISTENT (and COS_OEM) keep what the reset did not wipe, the
// partition table is not rewritten.
class NativePluginReinstallTest : public NativePluginTest,
                                  public ::testing::WithParamInterface<std::pair<bool, bool>> {};

TEST_P(NativePluginReinstallTest, ResetThenInstallKeepsWhatResetKept) {
  const auto [reset_persistent, reset_oem] = GetParam();
  Install();
  ASSERT_TRUE(fs::WriteFileDurable(w.base + "/parts/COS_PERSISTENT/data", "user data", 0644));
  ASSERT_TRUE(fs::WriteFileDurable(opts.oem_dir + "/user-oem-file", "oem", 0644));
  ASSERT_TRUE(plugin->TriggerReset());
  SetLive(true);
  json::Object reset;
  reset["resetOem"] = reset_oem;
  reset["resetPersistent"] = reset_persistent;
  ASSERT_TRUE(plugin->Reset(json::Value(reset)));
  w.calls.clear();

  // register --install in the same live boot.
  ASSERT_TRUE(plugin->InstallHostname("m-host2"));
  json::Object install;
  install["systemUri"] = "oci://registry.test/os:v2";
  install["device"] = "/dev/sda";
  ASSERT_TRUE(plugin->Install(json::Value(install)));
  EXPECT_EQ(w.calls, (std::vector<std::string>{"existing", "format COS_SYSTEM_A",
                                               "format COS_SYSTEM_B",
                                               "pull oci://registry.test/os:v2"}));
  EXPECT_EQ(fs::PathExists(w.base + "/parts/COS_PERSISTENT/data").value(), !reset_persistent);
  EXPECT_EQ(fs::PathExists(opts.oem_dir + "/user-oem-file").value(), !reset_oem);
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v2\n");
  const std::string files = opts.oem_dir + "/" + kOemFilesDir;
  EXPECT_EQ(*fs::ReadFile(files + "/etc/hostname"), "m-host2\n");
  EXPECT_EQ(*fs::ReadFile(files + work_dir + "/private.key"), "KEY");
  EXPECT_EQ(*fs::ReadFile(files + config_path), "agent: {}\n");
  slots::Record r = Record();
  EXPECT_EQ(r.active, slots::Slot::kA);
  EXPECT_FALSE(r.reset_pending);
}

INSTANTIATE_TEST_SUITE_P(ResetFlags, NativePluginReinstallTest,
                         ::testing::Values(std::pair{false, false}, std::pair{true, false},
                                           std::pair{false, true}, std::pair{true, true}));

TEST_F(NativePluginTest, InstallOnAnInstalledDiskStartsOver) {
  Install();
  ASSERT_TRUE(fs::WriteFileDurable(w.base + "/parts/COS_PERSISTENT/data", "old", 0644));
  w.calls.clear();
  SetLive(true);
  json::Object install;
  install["systemUri"] = "oci://registry.test/os:v1";
  install["device"] = "/dev/sda";
  ASSERT_TRUE(plugin->Install(json::Value(install)));
  // Its record has an active slot: not a reset disk, so everything is new.
  EXPECT_EQ(w.calls, (std::vector<std::string>{"existing", "prepare /dev/sda",
                                               "pull oci://registry.test/os:v1"}));
  EXPECT_FALSE(fs::PathExists(w.base + "/parts/COS_PERSISTENT/data").value());
}

TEST_F(NativePluginTest, NoFormatKeepsDataAndWritesTheSlots) {
  Install();
  ASSERT_TRUE(fs::WriteFileDurable(w.base + "/parts/COS_PERSISTENT/data", "old", 0644));
  ASSERT_TRUE(fs::WriteFileDurable(w.base + "/parts/COS_SYSTEM_A/stale", "old os", 0644));
  w.calls.clear();
  SetLive(true);
  json::Object install;
  install["systemUri"] = "oci://registry.test/os:v2";
  install["device"] = "/dev/sda";
  install["noFormat"] = true;
  ASSERT_TRUE(plugin->Install(json::Value(install)));
  EXPECT_EQ(w.calls, (std::vector<std::string>{"prepare /dev/sda noFormat", "format COS_SYSTEM_A",
                                               "format COS_SYSTEM_B",
                                               "pull oci://registry.test/os:v2"}));
  EXPECT_TRUE(fs::PathExists(w.base + "/parts/COS_PERSISTENT/data").value());
  EXPECT_FALSE(fs::PathExists(w.base + "/parts/COS_SYSTEM_A/stale").value());
  EXPECT_EQ(SlotImage("COS_SYSTEM_A"), "oci://registry.test/os:v2\n");
  EXPECT_EQ(Record().active, slots::Slot::kA);
}

}  // namespace
}  // namespace elemental::plugin::native
