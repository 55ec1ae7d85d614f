// Phase handler tests, mirroring upstream internal/agent/phase/*_test.go:
// every handler's success and failure paths, with the exact PATCHes
// (phases, conditions, flags) and plugin calls in order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "phase/bootstrap.hpp"
#include "phase/common.hpp"
#include "phase/install.hpp"
#include "phase/osversion.hpp"
#include "phase/post.hpp"
#include "phase/register.hpp"
#include "phase/reset.hpp"
#include "phase/run.hpp"
#include "phase_fakes.hpp"

namespace elemental::phase {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::MatchesRegex;
using testing::FakeClient;
using testing::FakeClock;
using testing::FakePlugin;
using testing::Journal;
using namespace std::chrono_literals;

constexpr const char* kHost = "test-host";
constexpr const char* kConfigPath = "/etc/just/for/test/config.yaml";
constexpr const char* kSleep = "Sleep 1000ns";  // ConfigFixture's reconciliation

// Upstream's phase ConfigFixture.
config::Config ConfigFixture() {
  config::Config c;
  c.registration.uri = "https://test.test/elemental/v1/namespaces/test/registrations/test";
  c.registration.ca_cert = "just a CA cert";
  c.registration.token = "just a test token";
  c.agent.work_dir = "/test/var/lib/elemental/agent";
  c.agent.hostname.use_existing = true;
  c.agent.hostname.prefix = "test-";
  c.agent.debug = true;
  c.agent.no_smbios = true;
  c.agent.os_plugin = "/a/mocked/plugin.so";
  c.agent.reconciliation = 1us;
  c.agent.post_install = {true, true};  // reboot is ignored when powerOff is set
  c.agent.post_reset = {false, true};
  return c;
}

json::Value InstallFixture() {
  return json::Parse(R"({"firmware":"test firmware","device":"test device","noFormat":true,
    "configUrls":["test config url 1","test config url 2"],"systemUri":"test system uri",
    "debug":true,"poweroff":true,"reboot":true})")
      .value();
}

json::Value ResetFixture() {
  return json::Parse(R"({"enabled":true,"resetPersistent":true,"resetOem":true,
    "configUrls":["test config url 1","test config url 2"],"systemUri":"test system uri",
    "debug":true})")
      .value();
}

json::Value CloudConfigFixture() {
  return json::Parse(R"({"users":[{"name":"root","passwd":"root"}]})").value();
}

json::Value OsVersionFixture() { return json::Parse(R"({"foo":"bar","bar":"foo"})").value(); }

// The registration differs from ConfigFixture where Register must switch to it.
api::RegistrationResponse RegistrationFixture() {
  api::RegistrationResponse r;
  r.host_labels = {{"test-label", "test"}};
  r.host_annotations = {{"test-annotation", "test"}};
  r.cloud_config = CloudConfigFixture();
  r.elemental.install = InstallFixture();
  r.elemental.reset = ResetFixture();
  r.elemental.registration = ConfigFixture().registration;
  r.elemental.registration.token = "a fresh registration token";
  r.elemental.agent = ConfigFixture().agent;
  r.elemental.agent.work_dir = "/registered/var/lib/elemental/agent";
  r.elemental.agent.reconciliation = 2us;
  return r;
}

std::string Patch(const std::string& body) { return std::string("PatchHost ") + kHost + " " + body; }
std::string PhaseLine(const std::string& phase) { return Patch("phase=" + phase); }
std::string Cond(const std::string& type, const std::string& status, const std::string& severity,
                 const std::string& reason, const std::string& message) {
  return Patch("condition=" + type + "/" + status + "/" + severity + "/" + reason + "/\"" +
               message + "\"");
}
std::string Dump(const json::Value& v) { return v.Dump(); }

class PhaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/phase_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    client_.default_registration = RegistrationFixture();
    ctx_.config = ConfigFixture();
    ctx_.config_path = kConfigPath;
    ctx_.hostname = kHost;
    ctx_.client = &client_;
    ctx_.plugin = &plugin_;
    ctx_.identity = &identity_;
    ctx_.clock = &clock_;
    ctx_.root = root_;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  void WriteSentinel() {
    std::filesystem::create_directories(root_ + "/run/cluster-api");
    std::ofstream(root_ + "/run/cluster-api/bootstrap-success.complete") << "anything";
  }

  Journal journal_;
  FakeClient client_{journal_};
  FakePlugin plugin_{journal_};
  FakeClock clock_{journal_};
  identity::Identity identity_;
  AgentContext ctx_;
  std::string root_;
};

// ---------------------------------------------------------------- common

TEST_F(PhaseTest, SetPhaseIsBestEffort) {
  client_.FailPatch(testing::AnyPatch(), "network down");
  SetPhase(client_, kHost, api::kPhaseRunning);  // must not fail nor retry
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Running")));
}

TEST_F(PhaseTest, UpdateConditionOrFailWrapsTheError) {
  client_.FailPatch(testing::AnyPatch(), "network down");
  auto st = UpdateConditionOrFail(client_, kHost,
                                  MakeCondition(api::kResetReady, "True", "Info", "", ""));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "reporting condition: network down");
  EXPECT_THAT(journal_, ElementsAre(Cond("ResetReady", "True", "Info", "", "")));
}

// ---------------------------------------------------------------- register

TEST_F(PhaseTest, RegisterRetriesUntilTheHostIsCreated) {
  ctx_.hostname = "before-registration";
  client_.registration_results.push_back(Error("test get registration fail"));
  client_.FailPatch(testing::EmptyPatch(), "test not found", 2);
  client_.create_results.push_back(Error("test create host fail"));

  ASSERT_TRUE(Register(ctx_));

  EXPECT_THAT(journal_, ElementsAreArray({
                            std::string("GetRegistration"),
                            std::string(kSleep),
                            std::string("GetRegistration"),
                            std::string("GetHostname"),
                            Patch("{}"),
                            std::string("CreateHost test-host"),
                            std::string(kSleep),
                            std::string("GetRegistration"),
                            std::string("GetHostname"),
                            Patch("{}"),
                            std::string("CreateHost test-host"),
                            PhaseLine("Registering"),
                        }));
  ASSERT_EQ(client_.creates.size(), 2u);
  const api::HostCreateRequest& req = client_.creates.back();
  EXPECT_EQ(req.name, "test-host");
  EXPECT_EQ(req.annotations, (api::StringMap{{"test-annotation", "test"}}));
  EXPECT_EQ(req.labels, (api::StringMap{{"test-label", "test"}}));
  EXPECT_EQ(req.pub_key, identity_.MarshalPublicPem());
  EXPECT_THAT(clock_.sleeps, ElementsAre(1us, 1us));  // the config in use before registering

  // The context now describes the registered host.
  EXPECT_EQ(ctx_.hostname, "test-host");
  const config::Config want = config::FromRegistration(RegistrationFixture());
  EXPECT_EQ(config::ToYaml(ctx_.config), config::ToYaml(want));
  EXPECT_EQ(ctx_.config.registration.token, "a fresh registration token");
  EXPECT_EQ(ctx_.config.agent.work_dir, "/registered/var/lib/elemental/agent");
}

TEST_F(PhaseTest, RegisterDoesNotCreateTheHostTwice) {
  // An authenticated empty PATCH succeeds: the host exists with our key.
  ASSERT_TRUE(Register(ctx_));
  EXPECT_THAT(journal_, ElementsAre("GetRegistration", "GetHostname", Patch("{}"),
                                    PhaseLine("Registering")));
  EXPECT_TRUE(client_.creates.empty());
  EXPECT_EQ(ctx_.hostname, "test-host");
}

TEST_F(PhaseTest, RegisterWithRandomHostname) {
  auto reg = RegistrationFixture();
  reg.elemental.agent.hostname = {false, "m-"};
  client_.default_registration = reg;
  client_.FailPatch(testing::EmptyPatch(), "test not found");

  ASSERT_TRUE(Register(ctx_));
  ASSERT_EQ(client_.creates.size(), 1u);
  EXPECT_THAT(client_.creates[0].name,
              MatchesRegex("m-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(ctx_.hostname, client_.creates[0].name);
  EXPECT_THAT(journal_, ::testing::Not(::testing::Contains("GetHostname")));
}

TEST_F(PhaseTest, RegisterRetriesWhenTheHostnameCannotBePicked) {
  plugin_.hostname_results.push_back(Error("no hostname"));
  ASSERT_TRUE(Register(ctx_));
  EXPECT_THAT(journal_, ElementsAre("GetRegistration", "GetHostname", kSleep, "GetRegistration",
                                    "GetHostname", Patch("{}"), PhaseLine("Registering")));
}

TEST_F(PhaseTest, FinalizeRegistrationInstallsHostnameConfigAndKey) {
  ASSERT_TRUE(FinalizeRegistration(ctx_));
  EXPECT_THAT(journal_,
              ElementsAre(PhaseLine("Finalizing Registration"), "InstallHostname test-host",
                          "InstallFile /etc/just/for/test/config.yaml 0640 0:0",
                          "InstallFile /test/var/lib/elemental/agent/private.key 0640 0:0",
                          Cond("RegistrationReady", "True", "Info", "", ""),
                          Cond("InstallationReady", "False", "Info", "WaitingForInstallation",
                               "Host is registered successfully. Waiting for installation.")));
  ASSERT_EQ(plugin_.files.size(), 2u);
  EXPECT_EQ(plugin_.files[0].content, config::ToYaml(ctx_.config));
  EXPECT_EQ(plugin_.files[1].content, identity_.MarshalPrivatePem());
}

TEST_F(PhaseTest, RegisterThenFinalizeUsesTheRegistrationConfig) {
  ASSERT_TRUE(Register(ctx_));
  journal_.clear();
  ASSERT_TRUE(FinalizeRegistration(ctx_));
  ASSERT_EQ(plugin_.files.size(), 2u);
  EXPECT_EQ(plugin_.files[0].path, kConfigPath);
  EXPECT_EQ(plugin_.files[0].content,
            config::ToYaml(config::FromRegistration(RegistrationFixture())));
  EXPECT_EQ(plugin_.files[1].path, "/registered/var/lib/elemental/agent/private.key");
}

struct FinalizeFailureCase {
  const char* name;
  friend void PrintTo(const FinalizeFailureCase& c, std::ostream* os) { *os << c.name; }
  int fail_hostname;  // 1 = InstallHostname fails
  int fail_file;      // n = the n-th InstallFile fails
  const char* message;
};

class FinalizeFailureTest : public PhaseTest,
                            public ::testing::WithParamInterface<FinalizeFailureCase> {};

TEST_P(FinalizeFailureTest, ReportsRegistrationFailed) {
  const auto& tc = GetParam();
  if (tc.fail_hostname) plugin_.install_hostname_results.push_back(Error("boom"));
  for (int i = 1; i < tc.fail_file; ++i) plugin_.install_file_results.push_back(Status::Ok());
  if (tc.fail_file) plugin_.install_file_results.push_back(Error("boom"));

  auto st = FinalizeRegistration(ctx_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), std::string("finalizing registration: ") + tc.message);
  EXPECT_EQ(journal_.front(), PhaseLine("Finalizing Registration"));
  EXPECT_EQ(journal_.back(),
            Cond("RegistrationReady", "False", "Error", "RegistrationFailed", tc.message));
  EXPECT_EQ(std::count_if(journal_.begin(), journal_.end(),
                          [](const std::string& l) { return l.rfind("PatchHost", 0) == 0; }),
            2);
}

INSTANTIATE_TEST_SUITE_P(
    Steps, FinalizeFailureTest,
    ::testing::Values(
        FinalizeFailureCase{"Hostname", 1, 0, "persisting hostname 'test-host': boom"},
        FinalizeFailureCase{"Config", 0, 1,
                            "persisting agent config file '/etc/just/for/test/config.yaml': boom"},
        FinalizeFailureCase{
            "PrivateKey", 0, 2,
            "persisting private key file '/test/var/lib/elemental/agent/private.key': boom"}),
    [](const auto& info) { return info.param.name; });

TEST_F(PhaseTest, FinalizeRegistrationRetriesTheReadyCondition) {
  client_.FailPatch(testing::ConditionPatch("RegistrationReady", "True"),
                    "test update condition error", 2);
  ASSERT_TRUE(FinalizeRegistration(ctx_));
  EXPECT_THAT(journal_,
              ElementsAre(PhaseLine("Finalizing Registration"), "InstallHostname test-host",
                          "InstallFile /etc/just/for/test/config.yaml 0640 0:0",
                          "InstallFile /test/var/lib/elemental/agent/private.key 0640 0:0",
                          Cond("RegistrationReady", "True", "Info", "", ""), kSleep,
                          Cond("RegistrationReady", "True", "Info", "", ""), kSleep,
                          Cond("RegistrationReady", "True", "Info", "", ""),
                          Cond("InstallationReady", "False", "Info", "WaitingForInstallation",
                               "Host is registered successfully. Waiting for installation.")));
}

TEST_F(PhaseTest, FinalizeRegistrationIgnoresAFailedWaitingCondition) {
  client_.FailPatch(testing::ConditionPatch("InstallationReady", "False"), "network down");
  EXPECT_TRUE(FinalizeRegistration(ctx_));
  EXPECT_TRUE(clock_.sleeps.empty());
}

// ---------------------------------------------------------------- install

TEST_F(PhaseTest, InstallRecoversFromEveryStep) {
  client_.registration_results.push_back(Error("get registration test error"));
  plugin_.install_cloud_init_results.push_back(Error("cloud init test failed"));
  plugin_.install_results.push_back(Error("install test fail"));
  client_.FailPatch(testing::FieldPatch("installed"), "patch host test fail");

  Install(ctx_);

  const std::string cloud = "InstallCloudInit " + Dump(CloudConfigFixture());
  const std::string install = "Install " + Dump(InstallFixture());
  EXPECT_THAT(
      journal_,
      ElementsAreArray({
          PhaseLine("Installing"),
          std::string("GetRegistration"),
          Cond("InstallationReady", "False", "Error", "InstallationFailed",
               "getting remote Registration: get registration test error"),
          std::string(kSleep),
          std::string("GetRegistration"),
          cloud,
          Cond("InstallationReady", "False", "Error", "CloudConfigInstallationFailed",
               "installing cloud config: cloud init test failed"),
          std::string(kSleep),
          std::string("GetRegistration"),
          cloud,
          install,
          Cond("InstallationReady", "False", "Error", "InstallationFailed",
               "installing host: install test fail"),
          std::string(kSleep),
          std::string("GetRegistration"),
          install,  // the cloud config is not applied twice
          Patch("installed=true condition=InstallationReady/True/Info//\"\""),
          Cond("InstallationReady", "False", "Error", "InstallationFailed",
               "patching host with installation successful: patch host test fail"),
          std::string(kSleep),
          // Installed: no registration fetch, no second install.
          Patch("installed=true condition=InstallationReady/True/Info//\"\""),
      }));
  EXPECT_THAT(clock_.sleeps, ElementsAre(1us, 1us, 1us, 1us));
  ASSERT_EQ(plugin_.installs.size(), 2u);
  EXPECT_EQ(plugin_.installs.back(), InstallFixture());
  EXPECT_EQ(plugin_.cloud_configs.back(), CloudConfigFixture());
}

TEST_F(PhaseTest, InstallFirstTime) {
  Install(ctx_);
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Installing"), "GetRegistration",
                                    "InstallCloudInit " + Dump(CloudConfigFixture()),
                                    "Install " + Dump(InstallFixture()),
                                    Patch("installed=true condition=InstallationReady/True/Info//\"\"")));
}

// ---------------------------------------------------------------- bootstrap

TEST_F(PhaseTest, BootstrapAppliesConfigAndRebootsWithoutSentinel) {
  client_.default_bootstrap = {"foo", "bar"};
  auto post = Bootstrap(ctx_);
  ASSERT_TRUE(post);
  EXPECT_TRUE(post->reboot);
  EXPECT_FALSE(post->power_off);
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Bootstrapping"), "GetBootstrap test-host",
                                    "Bootstrap foo bar",
                                    Cond("BootstrapReady", "False", "Info", "WaitingForBootstrap",
                                         "Waiting for bootstrap to be executed")));
}

TEST_F(PhaseTest, BootstrapMarksHostBootstrappedWithSentinel) {
  WriteSentinel();
  auto post = Bootstrap(ctx_);
  ASSERT_TRUE(post);
  EXPECT_FALSE(post->reboot);
  EXPECT_FALSE(post->power_off);
  EXPECT_THAT(journal_,
              ElementsAre(PhaseLine("Bootstrapping"),
                          Patch("bootstrapped=true condition=BootstrapReady/True/Info//\"\"")));
}

struct BootstrapFailureCase {
  const char* name;
  friend void PrintTo(const BootstrapFailureCase& c, std::ostream* os) { *os << c.name; }
  bool sentinel;
  void (*setup)(FakeClient&, FakePlugin&, const std::string& root);
  const char* message;
  std::vector<std::string> calls;  // between the phase and the failure condition
};

class BootstrapFailureTest : public PhaseTest,
                             public ::testing::WithParamInterface<BootstrapFailureCase> {};

TEST_P(BootstrapFailureTest, ReportsBootstrapFailed) {
  const auto& tc = GetParam();
  client_.default_bootstrap = {"foo", "bar"};
  if (tc.sentinel) WriteSentinel();
  tc.setup(client_, plugin_, root_);

  auto post = Bootstrap(ctx_);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().message(), tc.message);
  std::vector<std::string> want = {PhaseLine("Bootstrapping")};
  want.insert(want.end(), tc.calls.begin(), tc.calls.end());
  want.push_back(Cond("BootstrapReady", "False", "Error", "BootstrapFailed", tc.message));
  EXPECT_THAT(journal_, ElementsAreArray(want));
}

INSTANTIATE_TEST_SUITE_P(
    Steps, BootstrapFailureTest,
    ::testing::Values(
        BootstrapFailureCase{
            "PluginError", false,
            [](FakeClient&, FakePlugin& p, const std::string&) {
              p.bootstrap_results.push_back(Error("test bootstrap error"));
            },
            "applying bootstrap config: test bootstrap error",
            {"GetBootstrap test-host", "Bootstrap foo bar"}},
        BootstrapFailureCase{
            "NoBootstrapYet", false,
            [](FakeClient& c, FakePlugin&, const std::string&) {
              c.bootstrap_results.push_back(Error("not found", 404));
            },
            "fetching bootstrap config: not found",
            {"GetBootstrap test-host"}},
        BootstrapFailureCase{
            "BootstrappedPatchFails", true,
            [](FakeClient& c, FakePlugin&, const std::string&) {
              c.FailPatch(testing::FieldPatch("bootstrapped"), "boom");
            },
            "updating bootstrapped status: patching bootstrapped status: boom",
            {"PatchHost test-host bootstrapped=true condition=BootstrapReady/True/Info//\"\""}},
        BootstrapFailureCase{
            "SentinelUnreadable", false,
            [](FakeClient&, FakePlugin&, const std::string& root) {
              std::ofstream(root + "/run") << "a file where a directory should be";
            },
            "reading file '/run/cluster-api/bootstrap-success.complete': Not a directory",
            {}}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------- OS version

TEST_F(PhaseTest, OsVersionReconcileNeedsReboot) {
  plugin_.reconcile_results.push_back(true);
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), false);
  ASSERT_TRUE(post);
  EXPECT_TRUE(post->reboot);
  EXPECT_FALSE(post->power_off);
  EXPECT_THAT(journal_,
              ElementsAre("ReconcileOsVersion " + Dump(OsVersionFixture()),
                          PhaseLine("Reconciling OS Version"),
                          Cond("OSVersionReady", "False", "Info", "WaitingForPostReconcileReboot",
                               "Waiting for Host to reboot after OS Version has been reconciled.")));
  ASSERT_EQ(plugin_.os_versions.size(), 1u);
  EXPECT_EQ(plugin_.os_versions[0], OsVersionFixture());
}

TEST_F(PhaseTest, OsVersionReconciledWithoutReboot) {
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), false);
  ASSERT_TRUE(post);
  EXPECT_FALSE(post->reboot);
  EXPECT_FALSE(post->power_off);
  EXPECT_THAT(journal_, ElementsAre("ReconcileOsVersion " + Dump(OsVersionFixture()),
                                    Cond("OSVersionReady", "True", "Info", "", "")));
}

TEST_F(PhaseTest, OsVersionMarksInPlaceUpdateDone) {
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), true);
  ASSERT_TRUE(post);
  EXPECT_FALSE(post->reboot);
  EXPECT_THAT(journal_, ElementsAre("ReconcileOsVersion " + Dump(OsVersionFixture()),
                                    Cond("OSVersionReady", "True", "Info", "", ""),
                                    Patch("inPlaceUpdate=done")));
}

TEST_F(PhaseTest, OsVersionNullManagementReachesThePlugin) {
  ASSERT_TRUE(ReconcileOsVersion(ctx_, json::Value(), false));
  EXPECT_EQ(journal_.front(), "ReconcileOsVersion null");
}

TEST_F(PhaseTest, OsVersionPluginError) {
  plugin_.reconcile_results.push_back(Error("image not found"));
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), true);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().message(), "reconciling osVersion: image not found");
  EXPECT_THAT(journal_,
              ElementsAre("ReconcileOsVersion " + Dump(OsVersionFixture()),
                          Cond("OSVersionReady", "False", "Error", "OSVersionReconciliationFailed",
                               "reconciling osVersion: image not found")));
}

TEST_F(PhaseTest, OsVersionReadyConditionError) {
  client_.FailPatch(testing::ConditionPatch("OSVersionReady", "True"), "boom");
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), true);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().message(), "updating OSVersionReady=true condition: reporting condition: boom");
  EXPECT_EQ(journal_.size(), 2u);  // no inPlaceUpdate patch
}

TEST_F(PhaseTest, OsVersionInPlaceDoneLabelError) {
  client_.FailPatch(testing::FieldPatch("inPlaceUpdate"), "boom");
  auto post = ReconcileOsVersion(ctx_, OsVersionFixture(), true);
  ASSERT_FALSE(post);
  EXPECT_EQ(post.error().message(), "updating InPlaceUpgrade done label: boom");
}

// ---------------------------------------------------------------- reset

TEST_F(PhaseTest, TriggerReset) {
  ASSERT_TRUE(TriggerReset(ctx_));
  EXPECT_THAT(journal_,
              ElementsAre(PhaseLine("Triggering Reset"), "TriggerReset",
                          Cond("ResetReady", "False", "Info", "WaitingForReset",
                               "Reset was triggered successfully. Waiting for host to reset.")));
}

TEST_F(PhaseTest, TriggerResetError) {
  plugin_.trigger_reset_results.push_back(Error("test trigger reset error"));
  auto st = TriggerReset(ctx_);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "triggering reset: test trigger reset error");
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Triggering Reset"), "TriggerReset",
                                    Cond("ResetReady", "False", "Error", "ResetFailed",
                                         "triggering reset: test trigger reset error")));
}

TEST_F(PhaseTest, ResetRecoversFromEveryStep) {
  client_.delete_results.push_back(Error("delete host test error"));
  client_.registration_results.push_back(Error("get registration test error"));
  plugin_.reset_results.push_back(Error("reset test error"));
  client_.FailPatch(testing::FieldPatch("reset"), "patch host test fail");

  Reset(ctx_);

  const std::string reset = "Reset " + Dump(ResetFixture());
  const std::string del = "DeleteHost test-host";
  const std::string reset_ok = Patch("reset=true condition=ResetReady/True/Info//\"\"");
  EXPECT_THAT(journal_,
              ElementsAreArray({
                  PhaseLine("Resetting"),
                  del,
                  Cond("ResetReady", "False", "Error", "ResetFailed",
                       "marking host for deletion: delete host test error"),
                  std::string(kSleep),
                  del,
                  std::string("GetRegistration"),
                  Cond("ResetReady", "False", "Error", "ResetFailed",
                       "getting remote Registration: get registration test error"),
                  std::string(kSleep),
                  del,  // always called
                  std::string("GetRegistration"),
                  reset,
                  Cond("ResetReady", "False", "Error", "ResetFailed",
                       "resetting host: reset test error"),
                  std::string(kSleep),
                  del,
                  std::string("GetRegistration"),
                  reset,
                  reset_ok,
                  Cond("ResetReady", "False", "Error", "ResetFailed",
                       "patching host with reset successful: patch host test fail"),
                  std::string(kSleep),
                  del,  // reset once only
                  reset_ok,
              }));
  EXPECT_EQ(plugin_.resets.back(), ResetFixture());
}

// ---------------------------------------------------------------- post

struct PostCase {
  const char* name;
  friend void PrintTo(const PostCase& c, std::ostream* os) { *os << c.name; }
  api::PostAction post;
  bool fail;
  bool want_exit;
  std::vector<std::string> calls;
};

class PostTest : public PhaseTest, public ::testing::WithParamInterface<PostCase> {};

TEST_P(PostTest, HandlePost) {
  const auto& tc = GetParam();
  if (tc.fail) {
    plugin_.power_off_results.push_back(Error("boom"));
    plugin_.reboot_results.push_back(Error("boom"));
  }
  EXPECT_EQ(HandlePost(plugin_, tc.post), tc.want_exit);
  EXPECT_THAT(journal_, ElementsAreArray(tc.calls));
}

INSTANTIATE_TEST_SUITE_P(
    Actions, PostTest,
    ::testing::Values(PostCase{"Nothing", {false, false}, false, false, {}},
                      PostCase{"Reboot", {false, true}, false, true, {"Reboot"}},
                      PostCase{"PowerOff", {true, false}, false, true, {"PowerOff"}},
                      PostCase{"PowerOffWinsOverReboot", {true, true}, false, true, {"PowerOff"}},
                      PostCase{"RebootErrorStillExits", {false, true}, true, true, {"Reboot"}},
                      PostCase{"PowerOffErrorStillExits", {true, false}, true, true,
                               {"PowerOff"}}),
    [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------- run

api::HostResponse Host(bool needs_reset, bool bootstrap_ready, bool bootstrapped,
                       const std::string& in_place = "") {
  api::HostResponse h;
  h.name = kHost;
  h.needs_reset = needs_reset;
  h.bootstrap_ready = bootstrap_ready;
  h.bootstrapped = bootstrapped;
  h.in_place_upgrade = in_place;
  h.os_version_management = OsVersionFixture();
  return h;
}

struct RunCase {
  const char* name;
  friend void PrintTo(const RunCase& c, std::ostream* os) { *os << c.name; }
  api::HostResponse host;
  bool sentinel;
  void (*setup)(FakeClient&, FakePlugin&);
  std::vector<std::string> calls;  // after the Running patch
  RunResult result;
};

class RunTest : public PhaseTest, public ::testing::WithParamInterface<RunCase> {};

TEST_P(RunTest, OnePass) {
  const auto& tc = GetParam();
  client_.ReturnHost(testing::PhasePatch(api::kPhaseRunning), tc.host);
  client_.default_bootstrap = {"foo", "bar"};
  if (tc.sentinel) WriteSentinel();
  if (tc.setup) tc.setup(client_, plugin_);

  RunOptions opts;
  opts.max_iterations = 1;
  EXPECT_EQ(phase::Run(ctx_, opts), tc.result);

  std::vector<std::string> want = {PhaseLine("Running")};
  want.insert(want.end(), tc.calls.begin(), tc.calls.end());
  EXPECT_THAT(journal_, ElementsAreArray(want));
}

const std::string kOsVersion = "ReconcileOsVersion {\"bar\":\"foo\",\"foo\":\"bar\"}";
const std::string kOsReady = Cond("OSVersionReady", "True", "Info", "", "");
const std::string kTriggered = Cond("ResetReady", "False", "Info", "WaitingForReset",
                                    "Reset was triggered successfully. Waiting for host to reset.");

INSTANTIATE_TEST_SUITE_P(
    Steps, RunTest,
    ::testing::Values(
        RunCase{"IdleBootstrappedHost", Host(false, false, true), false, nullptr, {kSleep},
                RunResult::kStopped},
        RunCase{"InPlaceUpdateAlreadyDone", Host(false, false, true, "done"), false, nullptr,
                {kSleep}, RunResult::kStopped},
        RunCase{"ResetComesFirstAndEndsTheLoop",
                Host(true, true, false, "pending"),
                false,
                nullptr,
                {PhaseLine("Triggering Reset"), "TriggerReset", kTriggered},
                RunResult::kResetTriggered},
        RunCase{"ResetTriggerErrorWaits",
                Host(true, false, true),
                false,
                [](FakeClient&, FakePlugin& p) {
                  p.trigger_reset_results.push_back(Error("busy"));
                },
                {PhaseLine("Triggering Reset"), "TriggerReset",
                 Cond("ResetReady", "False", "Error", "ResetFailed", "triggering reset: busy"),
                 kSleep},
                RunResult::kStopped},
        RunCase{"NotBootstrappedReconcilesOsVersion", Host(false, false, false), false, nullptr,
                {kOsVersion, kOsReady, kSleep}, RunResult::kStopped},
        RunCase{"OsVersionRebootEndsTheLoop",
                Host(false, true, false),
                false,
                [](FakeClient&, FakePlugin& p) { p.reconcile_results.push_back(true); },
                {kOsVersion, PhaseLine("Reconciling OS Version"),
                 Cond("OSVersionReady", "False", "Info", "WaitingForPostReconcileReboot",
                      "Waiting for Host to reboot after OS Version has been reconciled."),
                 "Reboot"},
                RunResult::kPostAction},
        RunCase{"OsVersionErrorSkipsBootstrap",
                Host(false, true, false),
                false,
                [](FakeClient&, FakePlugin& p) { p.reconcile_results.push_back(Error("boom")); },
                {kOsVersion,
                 Cond("OSVersionReady", "False", "Error", "OSVersionReconciliationFailed",
                      "reconciling osVersion: boom"),
                 kSleep},
                RunResult::kStopped},
        RunCase{"InPlaceUpdatePendingOnBootstrappedHost", Host(false, true, true, "pending"),
                false, nullptr, {kOsVersion, kOsReady, Patch("inPlaceUpdate=done"), kSleep},
                RunResult::kStopped},
        RunCase{"BootstrapReadyAppliesBootstrapAndReboots",
                Host(false, true, false),
                false,
                nullptr,
                {kOsVersion, kOsReady, PhaseLine("Bootstrapping"), "GetBootstrap test-host",
                 "Bootstrap foo bar",
                 Cond("BootstrapReady", "False", "Info", "WaitingForBootstrap",
                      "Waiting for bootstrap to be executed"),
                 "Reboot"},
                RunResult::kPostAction},
        RunCase{"SentinelMarksHostBootstrapped",
                Host(false, true, false),
                true,
                nullptr,
                {kOsVersion, kOsReady, PhaseLine("Bootstrapping"),
                 Patch("bootstrapped=true condition=BootstrapReady/True/Info//\"\""), kSleep},
                RunResult::kStopped},
        RunCase{"BootstrapErrorWaits",
                Host(false, true, false),
                false,
                [](FakeClient& c, FakePlugin&) {
                  c.bootstrap_results.push_back(Error("not found", 404));
                },
                {kOsVersion, kOsReady, PhaseLine("Bootstrapping"), "GetBootstrap test-host",
                 Cond("BootstrapReady", "False", "Error", "BootstrapFailed",
                      "fetching bootstrap config: not found"),
                 kSleep},
                RunResult::kStopped},
        RunCase{"RunningPatchErrorWaits",
                Host(true, true, false),
                false,
                [](FakeClient& c, FakePlugin&) {
                  // Fails before the scripted host is handed out.
                  c.patch_script.push_front({testing::PhasePatch(api::kPhaseRunning),
                                             Expected<api::HostResponse>(Error("network down"))});
                },
                {kSleep},
                RunResult::kStopped}),
    [](const auto& info) { return info.param.name; });

TEST_F(PhaseTest, RunLoopsUntilAStepEndsIt) {
  client_.FailPatch(testing::PhasePatch(api::kPhaseRunning), "network down");
  client_.ReturnHost(testing::PhasePatch(api::kPhaseRunning), Host(false, false, true));
  client_.ReturnHost(testing::PhasePatch(api::kPhaseRunning), Host(true, false, true));
  RunOptions opts;
  opts.max_iterations = 10;
  EXPECT_EQ(phase::Run(ctx_, opts), RunResult::kResetTriggered);
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Running"), kSleep, PhaseLine("Running"), kSleep,
                                    PhaseLine("Running"), PhaseLine("Triggering Reset"),
                                    "TriggerReset", kTriggered));
  EXPECT_THAT(clock_.sleeps, ElementsAre(1us, 1us));
}

TEST_F(PhaseTest, RunUnboundedEndsOnReboot) {
  client_.ReturnHost(testing::PhasePatch(api::kPhaseRunning), Host(false, false, true));
  client_.ReturnHost(testing::PhasePatch(api::kPhaseRunning), Host(false, false, true, "pending"));
  plugin_.reconcile_results.push_back(true);
  EXPECT_EQ(phase::Run(ctx_), RunResult::kPostAction);
  EXPECT_EQ(journal_.back(), "Reboot");
  EXPECT_EQ(clock_.sleeps.size(), 1u);
}

TEST_F(PhaseTest, RunStopsAfterMaxIterations) {
  client_.default_host = Host(false, false, true);
  RunOptions opts;
  opts.max_iterations = 3;
  EXPECT_EQ(phase::Run(ctx_, opts), RunResult::kStopped);
  EXPECT_THAT(journal_, ElementsAre(PhaseLine("Running"), kSleep, PhaseLine("Running"), kSleep,
                                    PhaseLine("Running"), kSleep));
}

}  // namespace
}  // namespace elemental::phase
