// Tests for the dummy OS plugin: every call, the files it leaves and their
// content. The host name and the power commands go to fakes, the fixed
// system paths under a temp root: nothing here touches the machine.
#include "plugin/dummy.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/fs.hpp"

namespace elemental::plugin {
namespace {

class FakeHostname : public HostnameControl {
 public:
  Expected<std::string> Get() override {
    if (!get_error.empty()) return Error(get_error);
    return current;
  }
  Status Set(const std::string& hostname) override {
    set_calls.push_back(hostname);
    if (!set_error.empty()) return Error(set_error);
    current = hostname;
    return Status::Ok();
  }
  std::string current = "fake-host";
  std::string get_error;
  std::string set_error;
  std::vector<std::string> set_calls;
};

class FakeRunner : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    if (!error.empty()) return Error(error);
    return Status::Ok();
  }
  std::string error;
  std::vector<std::vector<std::string>> calls;
};

std::string Slurp(const std::string& path) {
  auto s = fs::ReadFile(path);
  EXPECT_TRUE(s) << s.error().message();
  return s ? *s : "";
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

uint32_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

json::Value J(const std::string& text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : json::Value();
}

class DummyPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/elemental-dummy-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ + "/root";
    work_dir_ = tmp_ + "/var/lib/elemental/agent";
    config_path_ = tmp_ + "/etc/elemental/agent/config.yaml";
    auto hostname = std::make_unique<FakeHostname>();
    auto runner = std::make_unique<FakeRunner>();
    hostname_ = hostname.get();
    runner_ = runner.get();
    plugin_ = std::make_unique<DummyPlugin>(root_, std::move(hostname), std::move(runner));
  }
  void TearDown() override {
    plugin_.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }
  void InitPlugin() {
    Status st = plugin_->Init(PluginContext{work_dir_, config_path_, false});
    ASSERT_TRUE(st) << st.error().message();
  }
  std::string Work(const std::string& name) const { return work_dir_ + "/" + name; }

  std::string tmp_, root_, work_dir_, config_path_;
  FakeHostname* hostname_ = nullptr;
  FakeRunner* runner_ = nullptr;
  std::unique_ptr<DummyPlugin> plugin_;
};

TEST_F(DummyPluginTest, InitCreatesConfigAndWorkDirectories) {
  EXPECT_FALSE(Exists(work_dir_));
  InitPlugin();
  EXPECT_TRUE(Exists(work_dir_));
  EXPECT_EQ(Mode(work_dir_), 0700u);
  EXPECT_TRUE(Exists(tmp_ + "/etc/elemental/agent"));
  EXPECT_FALSE(Exists(config_path_));  // only its directory
  // Init again is fine: the directories exist.
  EXPECT_TRUE(plugin_->Init(PluginContext{work_dir_, config_path_, false}));
}

TEST_F(DummyPluginTest, InitFailsWhenWorkDirIsAFile) {
  ASSERT_TRUE(fs::WriteFileDurable(tmp_ + "/file", "x", 0600));
  Status st = plugin_->Init(PluginContext{tmp_ + "/file", config_path_, false});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "creating work directory '" + tmp_ + "/file': creating directory '" +
                                      tmp_ + "/file': path exists but it's not a directory");
}

TEST_F(DummyPluginTest, CallsBeforeInitFail) {
  Status st = plugin_->Install(J("{}"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "dummy plugin is not initialized");
  EXPECT_FALSE(plugin_->TriggerReset());
  EXPECT_FALSE(plugin_->Reset(J("{}")));
  EXPECT_FALSE(plugin_->InstallCloudInit(J("{}")));
  EXPECT_FALSE(plugin_->ReconcileOsVersion(J("{}")));
}

TEST_F(DummyPluginTest, InstallCloudInitWritesCloudConfig) {
  InitPlugin();
  ASSERT_TRUE(plugin_->InstallCloudInit(J(R"({"users":[{"name":"root","passwd":"root"}]})")));
  // Upstream's _testdata/cloud-init.yaml.
  EXPECT_EQ(Slurp(Work("cloud-init.yaml")), "#cloud-config\nusers:\n    - name: root\n      passwd: root\n");
  EXPECT_EQ(Mode(Work("cloud-init.yaml")), 0600u);
}

TEST_F(DummyPluginTest, InstallWritesInstallYaml) {
  InitPlugin();
  ASSERT_TRUE(plugin_->Install(J(R"({"foo":{"bar":{"foobar":"barfoo"}}})")));
  EXPECT_EQ(Slurp(Work("install.yaml")), "foo:\n    bar:\n        foobar: barfoo\n");
  // A second install replaces the file.
  ASSERT_TRUE(plugin_->Install(J(R"({"device":"/dev/vda","debug":true})")));
  EXPECT_EQ(Slurp(Work("install.yaml")), "debug: true\ndevice: /dev/vda\n");
  // An absent input is YAML null, as upstream marshals a nil map.
  ASSERT_TRUE(plugin_->Install(json::Value()));
  EXPECT_EQ(Slurp(Work("install.yaml")), "null\n");
}

TEST_F(DummyPluginTest, InstallRejectsInvalidUtf8) {
  InitPlugin();
  json::Object obj;
  obj["device"] = std::string("\xff");
  Status st = plugin_->Install(json::Value(obj));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "unmarshalling install config: device: string is not valid UTF-8");
  EXPECT_FALSE(Exists(Work("install.yaml")));
}

TEST_F(DummyPluginTest, ReconcileOsVersionWritesFileAndNeverReboots) {
  InitPlugin();
  auto reboot = plugin_->ReconcileOsVersion(
      J(R"({"osVersion":{"imageUri":"oci://reg/os:v2","upgradeRecovery":false}})"));
  ASSERT_TRUE(reboot) << reboot.error().message();
  EXPECT_FALSE(*reboot);
  EXPECT_EQ(Slurp(Work("os-version.yaml")),
            "osVersion:\n    imageUri: oci://reg/os:v2\n    upgradeRecovery: false\n");
}

TEST_F(DummyPluginTest, TriggerResetWritesSentinel) {
  InitPlugin();
  ASSERT_TRUE(plugin_->TriggerReset());
  EXPECT_EQ(Slurp(Work("reset.needed")), "1\n");
}

TEST_F(DummyPluginTest, ResetFailsWhileSentinelExists) {
  InitPlugin();
  ASSERT_TRUE(plugin_->TriggerReset());
  Status st = plugin_->Reset(J(R"({"foo":{"bar":{"foobar":"barfoo"}}})"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "unmanaged OS reset sentinel file still exists");
  // Like upstream, reset.yaml is written before the check.
  EXPECT_EQ(Slurp(Work("reset.yaml")), "foo:\n    bar:\n        foobar: barfoo\n");

  // The external automation removes the sentinel: the reset succeeds.
  ASSERT_EQ(::unlink(Work("reset.needed").c_str()), 0);
  ASSERT_TRUE(plugin_->Reset(J(R"({"resetOem":true})")));
  EXPECT_EQ(Slurp(Work("reset.yaml")), "resetOem: true\n");
}

TEST_F(DummyPluginTest, BootstrapCloudConfig) {
  ASSERT_TRUE(plugin_->Bootstrap("cloud-config", "foo\n"));
  const std::string path = root_ + "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg";
  EXPECT_EQ(Slurp(path), "foo\n");
  EXPECT_EQ(Mode(path), 0600u);
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  EXPECT_EQ(Mode(root_ + "/etc/cloud/cloud.cfg.d"), 0755u & ~umask_now);
  // Only the file itself in the directory: no temp files left behind.
  EXPECT_EQ(ListDir(root_ + "/etc/cloud/cloud.cfg.d"),
            std::vector<std::string>{"elemental-capi-bootstrap.cfg"});

  Status again = plugin_->Bootstrap("cloud-config", "other\n");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "applying cloud-config bootstrap: bootstrap already applied");
  EXPECT_EQ(Slurp(path), "foo\n");
}

TEST_F(DummyPluginTest, BootstrapIgnition) {
  ASSERT_TRUE(plugin_->Bootstrap("ignition", "{\"ignition\":{\"version\":\"3.2.0\"}}"));
  const std::string path = root_ + "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf";
  EXPECT_EQ(Slurp(path), "{\"ignition\":{\"version\":\"3.2.0\"}}");
  EXPECT_FALSE(Exists(root_ + "/etc/cloud"));

  Status again = plugin_->Bootstrap("ignition", "x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message(), "applying ignition bootstrap: bootstrap already applied");
}

TEST_F(DummyPluginTest, BootstrapRejectsUnknownFormat) {
  Status st = plugin_->Bootstrap("unknown", "x");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "using bootstrapping format 'unknown': unsupported bootstrap format");
  EXPECT_FALSE(Exists(root_ + "/etc"));
  EXPECT_FALSE(Exists(root_ + "/usr"));
}

TEST_F(DummyPluginTest, InstallFileCreatesParentsAndUsesMode) {
  const std::string path = tmp_ + "/any/location/should/be/fine";
  ASSERT_TRUE(plugin_->InstallFile("Just a test file\n", path, 0640, 0, 0));
  EXPECT_EQ(Slurp(path), "Just a test file\n");
  EXPECT_EQ(Mode(path), 0640u);
  EXPECT_EQ(Mode(tmp_ + "/any/location"), 0700u);

  // Overwrite with a private key: new content, new mode.
  ASSERT_TRUE(plugin_->InstallFile("-----BEGIN PRIVATE KEY-----\n", path, 0600, 0, 0));
  EXPECT_EQ(Slurp(path), "-----BEGIN PRIVATE KEY-----\n");
  EXPECT_EQ(Mode(path), 0600u);
  // Mode 0 means private.
  ASSERT_TRUE(plugin_->InstallFile("x", path, 0, 0, 0));
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(ListDir(tmp_ + "/any/location/should/be"), std::vector<std::string>{"fine"});
}

TEST_F(DummyPluginTest, InstallFileReportsThePath) {
  ASSERT_TRUE(fs::WriteFileDurable(tmp_ + "/blocker", "x", 0600));
  Status st = plugin_->InstallFile("x", tmp_ + "/blocker/file", 0600, 0, 0);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message().rfind("writing file '" + tmp_ + "/blocker/file': ", 0), 0u)
      << st.error().message();
}

TEST_F(DummyPluginTest, InstallHostnameSetsKernelNameAndEtcHostname) {
  ASSERT_TRUE(fs::WriteFileDurable(root_ + "/etc/hostname", "old\n", 0644));
  ASSERT_TRUE(plugin_->InstallHostname("m-1234"));
  EXPECT_EQ(hostname_->set_calls, std::vector<std::string>{"m-1234"});
  EXPECT_EQ(Slurp(root_ + "/etc/hostname"), "m-1234\n");
  EXPECT_EQ(Mode(root_ + "/etc/hostname"), 0644u);
  auto name = plugin_->GetHostname();
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "m-1234");
}

TEST_F(DummyPluginTest, InstallHostnameErrors) {
  hostname_->set_error = "sethostname: Operation not permitted";
  Status st = plugin_->InstallHostname("m-1");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "setting hostname 'm-1': sethostname: Operation not permitted");

  Status empty = plugin_->InstallHostname("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message(), "setting hostname '': empty host name");
  EXPECT_EQ(hostname_->set_calls.size(), 1u);
}

TEST_F(DummyPluginTest, GetHostname) {
  hostname_->current = "just-a-test-hostname";
  auto name = plugin_->GetHostname();
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "just-a-test-hostname");
  hostname_->get_error = "gethostname: boom";
  auto err = plugin_->GetHostname();
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message(), "getting current hostname: gethostname: boom");
}

TEST_F(DummyPluginTest, PowerOffAndRebootRunTheCommands) {
  ASSERT_TRUE(plugin_->PowerOff());
  ASSERT_TRUE(plugin_->Reboot());
  ASSERT_EQ(runner_->calls.size(), 2u);
  EXPECT_EQ(runner_->calls[0], (std::vector<std::string>{"poweroff", "-f"}));
  EXPECT_EQ(runner_->calls[1], (std::vector<std::string>{"reboot", "-f"}));
}

TEST_F(DummyPluginTest, PowerOffAndRebootReportFailures) {
  runner_->error = "running 'x': No such file or directory";
  Status off = plugin_->PowerOff();
  ASSERT_FALSE(off);
  EXPECT_EQ(off.error().message(), "powering off system: running 'x': No such file or directory");
  Status reboot = plugin_->Reboot();
  ASSERT_FALSE(reboot);
  EXPECT_EQ(reboot.error().message(), "rebooting system: running 'x': No such file or directory");
}

}  // namespace
}  // namespace elemental::plugin
