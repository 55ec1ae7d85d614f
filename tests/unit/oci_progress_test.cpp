// ProgressReporter with a fake clock: line pacing, layer ends, rates, formats.
#include "oci/progress.hpp"

#include <gtest/gtest.h>

namespace elemental::oci {
namespace {

class FakeClock : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return now; }
  void Sleep(std::chrono::nanoseconds d) override {
    now += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  std::chrono::system_clock::time_point now{};
};

Progress P(size_t layer, int64_t done, int64_t total,
           const std::string& digest = "sha256:abcdef1234567890abcdef") {
  return Progress{layer, 5, digest, done, total};
}

TEST(OciProgressTest, Formats) {
  EXPECT_EQ(FormatProgressLong(P(2, 120000000, 300000000), 45.2e6),
            "layer 3/5 sha256:abcdef123456: 120.0/300.0 MB (45.2 MB/s)");
  EXPECT_EQ(FormatProgressLong(P(0, 1500000, -1), -1), "layer 1/5 sha256:abcdef123456: 1.5 MB");
  EXPECT_EQ(FormatProgressShort(P(2, 120400000, 300000000)), "pulling layer 3/5: 120/300 MB");
  EXPECT_EQ(FormatProgressShort(P(4, 999999, 0)), "pulling layer 5/5: 0 MB");
}

TEST(OciProgressTest, AtMostOneLinePerIntervalPlusEachLayerEnd) {
  FakeClock clock;
  std::vector<std::string> lines;
  ProgressReporter rep([&](const std::string& l) { lines.push_back(l); }, clock);
  const int64_t total = 100000000;
  // Layer 1: 1 MB every 100 ms, 100 chunks = 10 s.
  for (int i = 1; i <= 100; ++i) {
    clock.Sleep(std::chrono::milliseconds(100));
    rep.Update(P(0, i * 1000000LL, total));
  }
  // Lines at 2.1 s, 4.2 s, 6.3 s, 8.4 s (first chunk at 0.1 s starts the
  // layer) and at the end.
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "layer 1/5 sha256:abcdef123456: 21.0/100.0 MB (10.0 MB/s)");
  EXPECT_EQ(lines[1], "layer 1/5 sha256:abcdef123456: 41.0/100.0 MB (10.0 MB/s)");
  EXPECT_EQ(lines[4], "layer 1/5 sha256:abcdef123456: 100.0/100.0 MB (10.0 MB/s)");
  // Updates after the end of a layer add nothing.
  rep.Update(P(0, total, total));
  EXPECT_EQ(lines.size(), 5u);
  // Layer 2 is small and fast: only its end line, with its own rate.
  clock.Sleep(std::chrono::milliseconds(10));
  rep.Update(P(1, 1000, 3000000, "sha256:0123456789abcdef"));
  clock.Sleep(std::chrono::milliseconds(500));
  rep.Update(P(1, 3000000, 3000000, "sha256:0123456789abcdef"));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[5], "layer 2/5 sha256:0123456789ab: 3.0/3.0 MB (6.0 MB/s)");
}

TEST(OciProgressTest, ShortStyleForConditions) {
  FakeClock clock;
  std::vector<std::string> lines;
  ProgressReporter rep([&](const std::string& l) { lines.push_back(l); }, clock,
                       ProgressReporter::Style::kShort, std::chrono::seconds(10));
  rep.Update(P(2, 1000000, 300000000));
  clock.Sleep(std::chrono::seconds(9));
  rep.Update(P(2, 100000000, 300000000));
  EXPECT_TRUE(lines.empty());
  clock.Sleep(std::chrono::seconds(1));
  rep.Update(P(2, 120000000, 300000000));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "pulling layer 3/5: 120/300 MB");
}

}  // namespace
}  // namespace elemental::oci
