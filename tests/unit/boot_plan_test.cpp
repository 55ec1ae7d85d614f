// The early boot's pure pieces: kernel command line, the agent config it
// leads to, the module list, the persistent paths.
#include <gtest/gtest.h>

#include "boot/cmdline.hpp"
#include "boot/plan.hpp"
#include "config/config.hpp"

namespace elemental::boot {
namespace {

TEST(BootCmdline, ReadsTheElementalKeysAndIgnoresTheRest) {
  auto p = ParseCmdline(
      "BOOT_IMAGE=/vmlinuz console=ttyS0 panic=5 elemental.registration.uri=https://m:9090/r "
      "elemental.registration.token=\"tok en\" elemental.debug quiet\n");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_EQ(p->registration_uri, "https://m:9090/r");
  EXPECT_EQ(p->registration_token, "tok en");
  EXPECT_TRUE(p->debug);
  EXPECT_FALSE(p->shell);
  EXPECT_TRUE(p->config_url.empty());
  EXPECT_TRUE(p->warnings.empty());
}

TEST(BootCmdline, ShellConfigUrlAndBooleans) {
  auto p = ParseCmdline("elemental.shell=1 elemental.config.url=http://10.0.2.2:8080/c.yaml "
                        "elemental.debug=false");
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->shell);
  EXPECT_FALSE(p->debug);
  EXPECT_EQ(p->config_url, "http://10.0.2.2:8080/c.yaml");
}

TEST(BootCmdline, ClearErrorsAndWarnings) {
  auto bad_url = ParseCmdline("elemental.config.url=ftp://x/y");
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().message(),
            "kernel command line: elemental.config.url: not an http(s) URL: 'ftp://x/y'");
  auto empty = ParseCmdline("elemental.registration.uri=");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message().find("elemental.registration.uri: needs a value"),
            std::string::npos);
  auto flag = ParseCmdline("elemental.debug=maybe");
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().message().find("expected no value or true/false"), std::string::npos);
  auto bad_token = ParseCmdline("elemental.registration.token=a\x01" "b");
  ASSERT_FALSE(bad_token);
  // The token's value never appears in the error.
  EXPECT_EQ(bad_token.error().message(),
            "kernel command line: elemental.registration.token: control character in the value");
  auto typo = ParseCmdline("elemental.registraton.uri=https://x");
  ASSERT_TRUE(typo);
  ASSERT_EQ(typo->warnings.size(), 1u);
  EXPECT_NE(typo->warnings[0].find("elemental.registraton.uri"), std::string::npos);
  EXPECT_FALSE(ParseCmdline("elemental.config.url=http://" + std::string(9000, 'a')));
}

TEST(BootConfig, CommandLineOverridesTheBakedRegistration) {
  BootParams p;
  p.registration_uri = "https://new:9090/r";
  p.registration_token = "newtok";
  auto yaml = AgentConfigYaml(std::string("registration:\n  uri: https://old/r\n  token: old\n"
                                          "agent:\n  debug: true\n"),
                              std::nullopt, p, "");
  ASSERT_TRUE(yaml) << yaml.error().message();
  auto cfg = config::Parse(*yaml, "out");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->registration.uri, "https://new:9090/r");
  EXPECT_EQ(cfg->registration.token, "newtok");
  EXPECT_TRUE(cfg->agent.debug);
}

TEST(BootConfig, FetchedReplacesBakedAndErrorsNameTheSource) {
  BootParams p;
  auto yaml = AgentConfigYaml(std::string("registration:\n  uri: https://baked/r\n"),
                              std::string("registration:\n  uri: https://fetched/r\n"), p,
                              "http://h/c.yaml");
  ASSERT_TRUE(yaml);
  EXPECT_EQ(config::Parse(*yaml, "x")->registration.uri, "https://fetched/r");
  auto bad = AgentConfigYaml(std::nullopt, std::string("registration: [\n"), p, "http://h/c.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("config from http://h/c.yaml"), std::string::npos)
      << bad.error().message();
  auto none = AgentConfigYaml(std::nullopt, std::nullopt, p, "");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message().find("no agent config"), std::string::npos);
}

TEST(BootModules, ListInOrderWithCommentsAndErrors) {
  auto list = ParseModuleList("# load order\n/lib/modules/6.1/virtio.ko\n\n  /lib/modules/6.1/"
                              "virtio_blk.ko  \n");
  ASSERT_TRUE(list) << list.error().message();
  EXPECT_EQ(*list, (std::vector<std::string>{"/lib/modules/6.1/virtio.ko",
                                             "/lib/modules/6.1/virtio_blk.ko"}));
  auto bad = ParseModuleList("/lib/modules/a.ko\nvirtio.ko\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "module list line 2: 'virtio.ko' is not an absolute path of a .ko file");
  EXPECT_FALSE(ParseModuleList("/lib/../etc/x.ko\n"));
}

TEST(BootPersistent, PathsAreAbsoluteSortedAndKeepTheAgentState) {
  const auto& paths = PersistentPaths();
  ASSERT_FALSE(paths.empty());
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(paths[i][0], '/');
    if (i > 0) EXPECT_LT(paths[i - 1], paths[i]);
  }
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/var/lib/elemental"), paths.end());
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/etc/kubernetes"), paths.end());
}

}  // namespace
}  // namespace elemental::boot

namespace elemental::boot {
namespace {

TEST(BootBootstrap, EarlyPartIsTheFilesWithoutAppendsCommandsOrSentinel) {
  auto cfg = cloudinit::Parse(
      "#cloud-config\n"
      "write_files:\n"
      "- path: /etc/kubernetes/pki/ca.crt\n  permissions: '0640'\n  content: CA\n"
      "- path: /etc/log\n  append: true\n  content: more\n"
      "- path: /etc/rancher/k3s/config.yaml\n  content: 'token: x'\n"
      "runcmd:\n- systemctl start k3s\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_FALSE(cfg->creates_sentinel);
  cloudinit::CloudConfig early = EarlyBootstrapFiles(*cfg);
  ASSERT_EQ(early.write_files.size(), 2u);
  EXPECT_EQ(early.write_files[0].path, "/etc/kubernetes/pki/ca.crt");
  EXPECT_EQ(early.write_files[0].mode, 0640u);
  EXPECT_EQ(early.write_files[1].path, "/etc/rancher/k3s/config.yaml");
  EXPECT_TRUE(early.runcmd.empty());
  EXPECT_TRUE(early.creates_sentinel);  // Apply adds no sentinel for it
  EXPECT_EQ(early.digest, cfg->digest);
}

}  // namespace
}  // namespace elemental::boot
