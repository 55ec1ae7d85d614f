// The record's JSON form: round trips, strict decoding with errors naming the
// field, the version rule and unknown keys kept across a rewrite.
#include "slots/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/fs.hpp"
#include "slots_fixtures.hpp"

namespace elemental::slots {
namespace {

json::Value Doc(const std::string& text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v) << text;
  return v ? *v : json::Value();
}

TEST(SlotsRecord, RoundTripsEveryField) {
  Record r = testing::TryingB(2);
  r.sequence = 42;
  r.reset_pending = true;
  r.reset_oem = true;
  r.failed_correlation_ids = {"cid-x", "cid-y"};
  r.last_rollback = Rollback{Slot::kB, "oci://r/os:v0", "cid-x", "why", "2026-11-30T01:02:03Z", true};
  auto back = Decode(Encode(r));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, r);
  // Canonical: the same record prints the same bytes.
  EXPECT_EQ(Encode(*back).Dump(), Encode(r).Dump());
}

TEST(SlotsRecord, ExactJsonOfAnInstalledRecord) {
  Record r = testing::Installed();
  r.sequence = 1;
  EXPECT_EQ(Encode(r).Dump(),
            R"({"active":"A","failedCorrelationIDs":[],"formatVersion":1,"resetOem":false,)"
            R"("resetPending":false,"resetPersistent":false,"sequence":1,"slots":{"A":{)"
            R"("correlationID":"cid-v1","digest":"sha256:)" +
                std::string(64, '1') +
                R"(","image":"oci://registry.example:5000/os/base:v1",)"
                R"("installedAt":"2026-12-01T10:00:00Z","state":"good"},"B":{"state":"empty"}}})");
}

TEST(SlotsRecord, StrictDecodingNamesTheField) {
  const std::string base =
      R"("sequence":1,"active":"A","slots":{"A":{"image":"i","state":"good"},"B":{"state":"empty"}})";
  struct Case {
    std::string doc;
    std::string error;
  };
  std::vector<Case> cases = {
      {"[]", "slot state record: expected an object, got array"},
      {"{" + base + "}", "formatVersion: missing"},
      {R"({"formatVersion":"1",)" + base + "}", "formatVersion: expected number, got string"},
      {R"({"formatVersion":1.5,)" + base + "}", "formatVersion: expected an integer >= 1, got 1.5"},
      {R"({"formatVersion":0,)" + base + "}", "formatVersion: expected an integer >= 1, got 0"},
      {R"({"formatVersion":2,)" + base + "}", "formatVersion: 2 is newer than this agent reads (1)"},
      {R"({"formatVersion":1,"sequence":-1,"active":"A","slots":{}})",
       "sequence: expected an integer >= 0, got -1"},
      {R"({"formatVersion":1,"sequence":1,"active":"A"})", "slots: missing"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"state":"good","image":"i"}}})",
       "slots.B: missing"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"image":"i"},"B":{"state":"empty"}}})",
       "slots.A.state: missing"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"image":"i","state":"ok"},"B":{"state":"empty"}}})",
       "slots.A.state: expected one of empty, good, trying, failed, got 'ok'"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"image":7,"state":"good"},"B":{"state":"empty"}}})",
       "slots.A.image: expected string"},
      {R"({"formatVersion":1,"sequence":1,"active":"C","slots":{"A":{"image":"i","state":"good"},"B":{"state":"empty"}}})",
       "active: expected \"A\", \"B\" or null, got 'C'"},
      {R"({"formatVersion":1,"sequence":1,"slots":{"A":{"image":"i","state":"good"},"B":{"state":"empty"}}})",
       "active: missing"},
      {R"({"formatVersion":1,)" + base + R"(,"try":{"slot":"B","triesLeft":1}})", "try.fallback: missing"},
      {R"({"formatVersion":1,)" + base + R"(,"try":{"slot":"B","triesLeft":-1,"fallback":"A"}})",
       "try.triesLeft: expected an integer >= 0, got -1"},
      {R"({"formatVersion":1,)" + base + R"(,"try":{"slot":null,"triesLeft":1,"fallback":"A"}})",
       "try.slot: expected \"A\" or \"B\", got null"},
      {R"({"formatVersion":1,)" + base + R"(,"try":{"slot":"B","triesLeft":1,"fallback":"A"}})",
       "try.slot: slot B is empty, not trying"},
      {R"({"formatVersion":1,)" + base + R"(,"try":{"slot":"A","triesLeft":1,"fallback":"A"}})",
       "try.slot: must not be the active slot (A)"},
      {R"({"formatVersion":1,)" + base + R"(,"resetPending":"yes"})", "resetPending: expected bool"},
      {R"({"formatVersion":1,)" + base + R"(,"failedCorrelationIDs":["a",3]})",
       "failedCorrelationIDs[1]: expected string, got number"},
      {R"({"formatVersion":1,)" + base + R"(,"lastRollback":{"image":"x"}})", "lastRollback.slot: missing"},
      {R"({"formatVersion":1,"sequence":1,"active":"B","slots":{"A":{"image":"i","state":"good"},"B":{"state":"empty"}}})",
       "active: slot B is empty, not good"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"state":"good"},"B":{"state":"empty"}}})",
       "slots.A.image: missing for a slot in state good"},
      {R"({"formatVersion":1,"sequence":1,"active":"A","slots":{"A":{"image":"i","state":"good"},"B":{"image":"j","state":"trying"}}})",
       "slots.B.state: trying without a pending try"},
  };
  for (const auto& tc : cases) {
    auto r = Decode(Doc(tc.doc));
    ASSERT_FALSE(r) << tc.doc;
    EXPECT_EQ(r.error().message(), tc.error) << tc.doc;
  }
}

TEST(SlotsRecord, UnknownKeysSurviveARewrite) {
  // A newer agent added fields without changing the format version; an older
  // one rewriting the record (after a rollback to its slot) keeps them.
  auto r = Decode(Doc(
      R"({"formatVersion":1,"sequence":3,"active":"A","bootloader":{"x":1},)"
      R"("slots":{"A":{"image":"i","state":"good","sizeBytes":12},"B":{"state":"empty"}}})"));
  ASSERT_TRUE(r) << r.error().message();
  Record next = *r;
  next.reset_pending = true;
  json::Value out = Encode(next);
  ASSERT_NE(out.Find("bootloader"), nullptr);
  EXPECT_EQ(out.Find("bootloader")->Dump(), R"({"x":1})");
  EXPECT_EQ(out.Find("slots")->Find("A")->Find("sizeBytes")->Dump(), "12");
}

TEST(SlotsRecord, NamesAndTime) {
  EXPECT_STREQ(SlotName(Slot::kA), "A");
  EXPECT_STREQ(SlotName(Slot::kNone), "");
  EXPECT_EQ(Other(Slot::kA), Slot::kB);
  EXPECT_EQ(Other(Slot::kB), Slot::kA);
  EXPECT_EQ(Other(Slot::kNone), Slot::kNone);
  EXPECT_STREQ(SlotStateName(SlotState::kFailed), "failed");
  EXPECT_EQ(FormatTime(testing::Now()), "2026-12-01T11:25:00Z");
}

}  // namespace
}  // namespace elemental::slots

namespace elemental::slots {
namespace {

TEST(SlotsRecord, ReadmeExampleDecodes) {
  auto readme = fs::ReadFile(std::string(ELEMENTAL_TEST_DATA_DIR) + "/../../../agent/slots/README.md");
  ASSERT_TRUE(readme) << readme.error().message();
  size_t start = readme->find("```json\n");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  size_t end = readme->find("```", start);
  auto doc = json::Parse(readme->substr(start, end - start));
  ASSERT_TRUE(doc) << doc.error().message();
  auto r = Decode(*doc);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->sequence, 12u);
  EXPECT_EQ(r->pending_try, (PendingTry{Slot::kB, 2, Slot::kA}));
  EXPECT_TRUE(r->HasFailed("5e1c-v2"));
  EXPECT_TRUE(r->last_rollback->reported);
  // And it is the canonical form, keys sorted.
  EXPECT_EQ(Decode(Encode(*r)).value(), *r);
}

}  // namespace
}  // namespace elemental::slots
