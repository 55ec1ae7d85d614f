// Upgrade planning (A->B, B->A, already present, failed before, busy) and
// the records of install, before/after a slot write, reset.
#include "slots/upgrade.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "slots/boot.hpp"
#include "slots_fixtures.hpp"

namespace elemental::slots {
namespace {

using testing::Image;
using testing::Installed;
using testing::OnB;
using testing::TryingB;

const std::string kV1 = "oci://registry.example:5000/os/base:v1";
const std::string kV2 = "oci://registry.example:5000/os/base:v2";
const std::string kV3 = "oci://registry.example:5000/os/base:v3";

Record FailedOnB() {
  Expected<Loaded> l = Loaded{TryingB(0), {}};
  return *DecideBoot(l, testing::Now()).write;
}

TEST(SlotsUpgrade, PlanTable) {
  struct Case {
    std::string name;
    Record record;
    Desired desired;
    PlanKind kind;
    Slot slot;
    std::string message;
  };
  std::vector<Case> cases = {
      {"A -> B", Installed(), {kV2, "cid-v2"}, PlanKind::kWriteSlot, Slot::kB,
       "writing image " + kV2 + " into the inactive slot B"},
      {"B -> A", OnB(), {kV3, "cid-v3"}, PlanKind::kWriteSlot, Slot::kA,
       "writing image " + kV3 + " into the inactive slot A"},
      {"already on the active slot", Installed(), {kV1, "cid-v1"}, PlanKind::kNothingToDo, Slot::kA,
       "image " + kV1 + " is on the active slot A"},
      {"already on the active slot B", OnB(), {kV2, "cid-v2"}, PlanKind::kNothingToDo, Slot::kB,
       "image " + kV2 + " is on the active slot B"},
      {"on the good inactive slot", OnB(), {kV1, "cid-v1"}, PlanKind::kNothingToDo, Slot::kA,
       "image " + kV1 + " is on the inactive slot A"},
      {"on trial now", TryingB(2), {kV2, "cid-v2"}, PlanKind::kTrying, Slot::kB,
       "image " + kV2 + " is on trial on slot B"},
      {"another image on trial", TryingB(2), {kV3, "cid-v3"}, PlanKind::kBusy, Slot::kB,
       "cannot upgrade to " + kV3 + " now: image " + kV2 + " is on trial on slot B"},
      {"failed before", FailedOnB(), {kV2, "cid-v2"}, PlanKind::kFailedBefore, Slot::kB,
       "image " + kV2 +
           " (correlationID cid-v2) failed to boot before and was rolled back; not retrying it "
           "(slot B, 2026-12-01T11:25:00Z)"},
      {"same image, new correlationID after a failure", FailedOnB(), {kV2, "cid-v2-bis"},
       PlanKind::kWriteSlot, Slot::kB, "writing image " + kV2 + " into the inactive slot B"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto plan = PlanUpgrade(tc.record, tc.desired);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->kind, tc.kind) << PlanKindName(plan->kind);
    EXPECT_EQ(plan->slot, tc.slot) << SlotName(plan->slot);
    EXPECT_EQ(plan->message, tc.message);
    // The plan never points a write at the active slot.
    if (plan->kind == PlanKind::kWriteSlot) EXPECT_NE(plan->slot, tc.record.active);
  }
}

TEST(SlotsUpgrade, PlanErrors) {
  EXPECT_EQ(PlanUpgrade(Installed(), {"", "c"}).error().message(), "planning upgrade: no image given");
  EXPECT_EQ(PlanUpgrade(Installed(), {kV2, ""}).error().message(),
            "planning upgrade: no correlationID given");
  EXPECT_EQ(PlanUpgrade(Record{}, {kV2, "c"}).error().message(),
            "planning upgrade to " + kV2 + ": the system is not installed");
}

TEST(SlotsUpgrade, RecordsAroundASlotWrite) {
  // Before writing B, B is empty: a cut mid-write leaves nothing claiming v0.
  Record on_b = OnB();
  auto before = RecordBeforeWrite(on_b, Slot::kA);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->a, SlotInfo{});
  EXPECT_EQ(before->b, on_b.b);
  EXPECT_EQ(before->active, Slot::kB);
  EXPECT_TRUE(Validate(*before));
  auto after = RecordAfterWrite(*before, Slot::kA, Image("v3", "cid-v3"), 5);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->a.state, SlotState::kTrying);
  EXPECT_EQ(after->a.image, kV3);
  EXPECT_EQ(after->pending_try, (PendingTry{Slot::kA, 5, Slot::kB}));
  EXPECT_TRUE(Validate(*after));
  // Default: three boots.
  EXPECT_EQ(RecordAfterWrite(*before, Slot::kA, Image("v3", "c")).value().pending_try->tries_left, 3);
  // Never the active slot.
  EXPECT_EQ(RecordBeforeWrite(on_b, Slot::kB).error().message(),
            "preparing slot write: slot B is the active slot and is never written");
  EXPECT_EQ(RecordAfterWrite(on_b, Slot::kB, Image("v3", "c")).error().message(),
            "recording slot write: slot B is the active slot and is never written");
  EXPECT_EQ(RecordAfterWrite(*before, Slot::kA, Image("v3", "c"), 0).error().message(),
            "recording slot write: boot tries must be at least 1, got 0");
  EXPECT_FALSE(RecordAfterWrite(*before, Slot::kNone, Image("v3", "c")));
  EXPECT_FALSE(RecordAfterWrite(*before, Slot::kA, SlotInfo{}));
}

TEST(SlotsUpgrade, RewritingAFailedSlotForANewImage) {
  Record failed = FailedOnB();
  auto plan = PlanUpgrade(failed, {kV3, "cid-v3"});
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->kind, PlanKind::kWriteSlot);
  Record before = RecordBeforeWrite(failed, plan->slot).value();
  Record after = RecordAfterWrite(before, plan->slot, Image("v3", "cid-v3")).value();
  EXPECT_EQ(after.b.state, SlotState::kTrying);
  // The failed correlationID and the rollback are remembered.
  EXPECT_TRUE(after.HasFailed("cid-v2"));
  ASSERT_TRUE(after.last_rollback);
  EXPECT_EQ(after.last_rollback->correlation_id, "cid-v2");
}

TEST(SlotsUpgrade, InstallAndReset) {
  Record r = InstallRecord(Image("v1", "cid-v1"));
  EXPECT_EQ(r.active, Slot::kA);
  EXPECT_EQ(r.a.state, SlotState::kGood);
  EXPECT_EQ(r.b, SlotInfo{});
  EXPECT_TRUE(Validate(r));
  Record failed = FailedOnB();
  Record again = InstallRecord(Image("v4", "cid-v4"), &failed);
  EXPECT_EQ(again.failed_correlation_ids, failed.failed_correlation_ids);
  EXPECT_FALSE(again.last_rollback);
  Record reset = RequestReset(OnB(), true, false);
  EXPECT_TRUE(reset.reset_pending);
  EXPECT_TRUE(reset.reset_persistent);
  EXPECT_FALSE(reset.reset_oem);
  EXPECT_EQ(reset.b, OnB().b);
}

TEST(SlotsUpgrade, FailedSetIsBounded) {
  Record r = Installed();
  for (size_t i = 0; i < kMaxFailedCorrelationIds + 5; ++i) {
    Record before = RecordBeforeWrite(r, Slot::kB).value();
    Record t = RecordAfterWrite(before, Slot::kB, Image("x", "cid-" + std::to_string(i)), 1).value();
    t.pending_try->tries_left = 0;
    Expected<Loaded> l = Loaded{t, {}};
    r = *DecideBoot(l, testing::Now()).write;
  }
  ASSERT_EQ(r.failed_correlation_ids.size(), kMaxFailedCorrelationIds);
  EXPECT_EQ(r.failed_correlation_ids.front(), "cid-5");
  EXPECT_EQ(r.failed_correlation_ids.back(), "cid-" + std::to_string(kMaxFailedCorrelationIds + 4));
}

}  // namespace
}  // namespace elemental::slots

namespace elemental::slots {
namespace {

TEST(SlotsUpgrade, RebuildAfterBothCopiesWereLost) {
  Record r = RebuildRecord(Slot::kA, testing::Now());
  EXPECT_TRUE(Validate(r));
  EXPECT_EQ(r.active, Slot::kA);
  EXPECT_EQ(r.a.image, kUnknownImage);
  EXPECT_EQ(r.a.installed_at, "2026-12-01T11:25:00Z");
  EXPECT_EQ(r.b, SlotInfo{});
  // The cluster's image is not known to be anywhere: it goes to B.
  auto plan = PlanUpgrade(r, {"oci://registry.example:5000/os/base:v1", "cid-v1"});
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->kind, PlanKind::kWriteSlot);
  EXPECT_EQ(plan->slot, Slot::kB);
  EXPECT_EQ(RebuildRecord(Slot::kNone, testing::Now()).active, Slot::kNone);
}

}  // namespace
}  // namespace elemental::slots
