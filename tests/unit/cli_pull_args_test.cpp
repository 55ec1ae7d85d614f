// `elemental-agent pull` argument parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/args.hpp"

namespace elemental::cli {
namespace {

using ::testing::HasSubstr;

TEST(PullArgs, AllFlags) {
  auto a = ParseArgs({"pull", "oci://127.0.0.1:5000/os:v1", "--to", "/mnt/a",
                      "--insecure-registry", "127.0.0.1:5000", "--insecure-registry=reg.local",
                      "--ca-file", "/ca.pem", "--auth-file=/cfg.json", "--platform",
                      "linux/arm64/v8", "--debug", "--registries-config", "/r.yaml"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->command, Command::kPull);
  EXPECT_EQ(a->pull_ref, "oci://127.0.0.1:5000/os:v1");
  EXPECT_EQ(a->pull_to, "/mnt/a");
  EXPECT_EQ(a->insecure_registries, (std::vector<std::string>{"127.0.0.1:5000", "reg.local"}));
  EXPECT_EQ(a->ca_file, "/ca.pem");
  EXPECT_EQ(a->auth_file, "/cfg.json");
  EXPECT_EQ(a->platform, "linux/arm64/v8");
  EXPECT_EQ(a->registries_config, "/r.yaml");
  EXPECT_TRUE(a->debug);
}

TEST(PullArgs, Defaults) {
  auto a = ParseArgs({"--to=/t", "pull", "alpine"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->pull_ref, "alpine");
  EXPECT_EQ(a->platform, "linux/amd64");
  EXPECT_TRUE(a->insecure_registries.empty());
  EXPECT_EQ(a->registries_config, "");
}

TEST(PullArgs, Errors) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  for (const auto& c : std::vector<Case>{
           {{"pull", "--to", "/t"}, "pull needs an image reference"},
           {{"pull", "alpine"}, "required flag(s) \"to\" not set"},
           {{"pull", "alpine", "--to"}, "flag needs an argument: --to"},
           {{"pull", "a", "b", "--to", "/t"}, "unexpected argument \"b\""},
           {{"run", "--to", "/t"}, "unknown flag: --to"},
           {{"register", "--platform", "linux/amd64"}, "unknown flag: --platform"},
       }) {
    auto a = ParseArgs(c.args);
    ASSERT_FALSE(a) << c.error;
    EXPECT_THAT(a.error().message(), HasSubstr(c.error));
  }
}

TEST(PullArgs, Help) {
  auto a = ParseArgs({"pull", "--help"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_TRUE(a->help);
  EXPECT_EQ(a->help_topic, Command::kPull);
  EXPECT_THAT(Usage(Command::kPull), HasSubstr("--insecure-registry"));
  EXPECT_THAT(Usage(Command::kNone), HasSubstr("pull"));
}

}  // namespace
}  // namespace elemental::cli
