// Tests for logging: levels and secret scrubbing.
#include "common/log.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace elemental::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSink([this](Level l, const std::string& line) { lines.push_back(line); });
  }
  void TearDown() override {
    ResetSink();
    EnableDebug(false);
  }
  std::vector<std::string> lines;
};

TEST_F(LogTest, ScrubsRegisteredSecrets) {
  AddSecret("eyJhbGciOiJFZERTQSJ9.secret-token-value");
  Info("token is eyJhbGciOiJFZERTQSJ9.secret-token-value here, again eyJhbGciOiJFZERTQSJ9.secret-token-value");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "token is [REDACTED] here, again [REDACTED]");
  EXPECT_EQ(Scrub("x eyJhbGciOiJFZERTQSJ9.secret-token-value"), "x [REDACTED]");
}

TEST_F(LogTest, IgnoresShortSecrets) {
  AddSecret("abc");
  Info("abc def");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "abc def");
}

TEST_F(LogTest, DebugOnlyWhenEnabled) {
  Debug("hidden");
  EXPECT_TRUE(lines.empty());
  EnableDebug();
  Debug("shown");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "shown");
}

}  // namespace
}  // namespace elemental::log
