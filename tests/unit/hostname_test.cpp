// Host name selection: prefix + random UUIDv4, or prefix + current name.
#include "phase/hostname.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "phase_fakes.hpp"

namespace elemental::phase {
namespace {

using ::testing::ElementsAre;
using ::testing::MatchesRegex;

constexpr const char* kUuidRegex =
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

TEST(HostnameTest, RandomIsPrefixPlusUuidV4) {
  testing::Journal journal;
  testing::FakePlugin plugin(journal);
  auto name = FormatHostname({false, "m-"}, plugin);
  ASSERT_TRUE(name);
  EXPECT_THAT(*name, MatchesRegex(std::string("m-") + kUuidRegex));
  EXPECT_TRUE(journal.empty());  // the current host name is not asked for
}

TEST(HostnameTest, RandomWithoutPrefix) {
  testing::Journal journal;
  testing::FakePlugin plugin(journal);
  auto name = FormatHostname({false, ""}, plugin);
  ASSERT_TRUE(name);
  EXPECT_THAT(*name, MatchesRegex(kUuidRegex));
}

TEST(HostnameTest, RandomNamesDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto uuid = NewRandomUuid();
    ASSERT_TRUE(uuid);
    ASSERT_THAT(*uuid, MatchesRegex(kUuidRegex));
    seen.insert(*uuid);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(HostnameTest, UseExistingIsPrefixPlusCurrentName) {
  testing::Journal journal;
  testing::FakePlugin plugin(journal);
  plugin.default_hostname = "node1";
  auto name = FormatHostname({true, "test-"}, plugin);
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "test-node1");
  EXPECT_THAT(journal, ElementsAre("GetHostname"));
}

TEST(HostnameTest, UseExistingWithoutPrefix) {
  testing::Journal journal;
  testing::FakePlugin plugin(journal);
  plugin.default_hostname = "node1";
  auto name = FormatHostname({true, ""}, plugin);
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, "node1");
}

TEST(HostnameTest, UseExistingError) {
  testing::Journal journal;
  testing::FakePlugin plugin(journal);
  plugin.hostname_results.push_back(Error("boom"));
  auto name = FormatHostname({true, "test-"}, plugin);
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().message(), "setting current hostname: getting current hostname: boom");
}

}  // namespace
}  // namespace elemental::phase
