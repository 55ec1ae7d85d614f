// The boot decision over every state of the record, table-driven, and the
// "mark good" step; then whole upgrade lifecycles through the real store.
#include "slots/boot.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "slots/upgrade.hpp"
#include "slots_fault_file_ops.hpp"
#include "slots_fixtures.hpp"

namespace elemental::slots {
namespace {

using testing::Installed;
using testing::Now;
using testing::OnB;
using testing::TryingB;

Expected<Loaded> Have(const Record& r, std::vector<std::string> damaged = {}) {
  return Loaded{r, std::move(damaged)};
}

Record WithTries(Record r, int64_t n) {
  r.pending_try->tries_left = n;
  return r;
}

Record RolledBack() {
  Record r = TryingB(0);
  r.b.state = SlotState::kFailed;
  r.pending_try.reset();
  r.failed_correlation_ids = {"cid-v2"};
  r.last_rollback = Rollback{Slot::kB,
                             "oci://registry.example:5000/os/base:v2",
                             "cid-v2",
                             "image oci://registry.example:5000/os/base:v2 on slot B did not reach "
                             "the Elemental API within its boot tries; rolled back to slot A "
                             "(oci://registry.example:5000/os/base:v1)",
                             "2026-12-01T11:25:00Z",
                             false};
  return r;
}

struct BootCase {
  std::string name;
  Expected<Loaded> input;
  BootAction action;
  Slot slot;
  std::optional<Record> write;
  Slot if_write_fails;
  bool rolled_back;
  bool damaged;
  std::string message;
};

TEST(SlotsBoot, DecisionTable) {
  std::vector<BootCase> cases = {
      {"fresh disk, no record", Loaded{}, BootAction::kInstall, Slot::kNone, std::nullopt,
       Slot::kNone, false, false, "no slot state record: installing"},
      {"installed, stable on A", Have(Installed()), BootAction::kBoot, Slot::kA, std::nullopt,
       Slot::kA, false, false, "booting active slot A (oci://registry.example:5000/os/base:v1)"},
      {"first boot after upgrade (3 tries)", Have(TryingB(3)), BootAction::kBoot, Slot::kB,
       WithTries(TryingB(3), 2), Slot::kA, false, false,
       "trying slot B (oci://registry.example:5000/os/base:v2), 2 boot(s) left after this one"},
      {"tries left (1)", Have(TryingB(1)), BootAction::kBoot, Slot::kB, WithTries(TryingB(), 0),
       Slot::kA, false, false,
       "trying slot B (oci://registry.example:5000/os/base:v2), 0 boot(s) left after this one"},
      {"tries exhausted", Have(TryingB(0)), BootAction::kBoot, Slot::kA, RolledBack(), Slot::kA,
       true, false,
       "rollback: image oci://registry.example:5000/os/base:v2 on slot B did not reach the "
       "Elemental API within its boot tries; rolled back to slot A "
       "(oci://registry.example:5000/os/base:v1)"},
      {"after rollback, stable on A", Have(RolledBack()), BootAction::kBoot, Slot::kA, std::nullopt,
       Slot::kA, false, false, "booting active slot A (oci://registry.example:5000/os/base:v1)"},
      {"marked good on B", Have(OnB()), BootAction::kBoot, Slot::kB, std::nullopt, Slot::kB, false,
       false, "booting active slot B (oci://registry.example:5000/os/base:v2)"},
      {"reset pending", Have(RequestReset(Installed(), false, true)), BootAction::kReset,
       Slot::kNone, std::nullopt, Slot::kNone, false, false, "reset pending"},
      {"reset pending wins over a try", Have(RequestReset(TryingB(2), true, true)),
       BootAction::kReset, Slot::kNone, std::nullopt, Slot::kNone, false, false, "reset pending"},
      {"reset requested before any install", Have(RequestReset(Record{}, false, false)),
       BootAction::kReset, Slot::kNone, std::nullopt, Slot::kNone, false, false, "reset pending"},
      {"record without an active slot", Have(Record{}), BootAction::kInstall, Slot::kNone,
       std::nullopt, Slot::kNone, false, false,
       "slot state record has no active slot: installing"},
      {"one copy corrupted: boot and repair", Have(OnB(), {"slot-record.1: checksum mismatch"}),
       BootAction::kBoot, Slot::kB, OnB(), Slot::kB, false, false,
       "booting active slot B (oci://registry.example:5000/os/base:v2); rewriting the damaged "
       "copy (slot-record.1: checksum mismatch)"},
      {"one copy corrupted during a try", Have(TryingB(2), {"slot-record.0: bad header"}),
       BootAction::kBoot, Slot::kB, WithTries(TryingB(), 1), Slot::kA, false, false,
       "trying slot B (oci://registry.example:5000/os/base:v2), 1 boot(s) left after this one"},
      {"both copies damaged",
       Expected<Loaded>(Error("both copies of the slot state record in '/oem' are damaged",
                              kRecordDamaged)),
       BootAction::kBoot, Slot::kA, std::nullopt, Slot::kA, false, true,
       "slot state record unreadable (both copies of the slot state record in '/oem' are "
       "damaged); booting slot A without writing anything"},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    BootDecision d = DecideBoot(tc.input, Now());
    EXPECT_EQ(d.action, tc.action) << BootActionName(d.action);
    EXPECT_EQ(d.slot, tc.slot) << SlotName(d.slot);
    EXPECT_EQ(d.if_write_fails, tc.if_write_fails) << SlotName(d.if_write_fails);
    EXPECT_EQ(d.rolled_back, tc.rolled_back);
    EXPECT_EQ(d.record_damaged, tc.damaged);
    EXPECT_EQ(d.message, tc.message);
    ASSERT_EQ(d.write.has_value(), tc.write.has_value());
    if (d.write) {
      EXPECT_EQ(*d.write, *tc.write) << Encode(*d.write).Dump() << "\n" << Encode(*tc.write).Dump();
      EXPECT_TRUE(Validate(*d.write));
    }
  }
}

TEST(SlotsBoot, MarkGood) {
  // On the try slot: it becomes active and good, A stays good as fallback.
  auto good = MarkGood(TryingB(1), Slot::kB);
  ASSERT_TRUE(good);
  ASSERT_TRUE(good->has_value());
  const Record& r = **good;
  EXPECT_EQ(r.active, Slot::kB);
  EXPECT_EQ(r.b.state, SlotState::kGood);
  EXPECT_EQ(r.a.state, SlotState::kGood);
  EXPECT_EQ(r.a, Installed().a);
  EXPECT_FALSE(r.pending_try);
  EXPECT_TRUE(Validate(r));
  // Already active, nothing pending: nothing to write.
  auto same = MarkGood(OnB(), Slot::kB);
  ASSERT_TRUE(same);
  EXPECT_FALSE(same->has_value());
  // Running from the fallback after a rollback: nothing to write either.
  auto after_rb = MarkGood(RolledBack(), Slot::kA);
  ASSERT_TRUE(after_rb);
  EXPECT_FALSE(after_rb->has_value());
  // Running from the fallback while a try is pending (booted outside
  // DecideBoot): A is active, so that is fine and the try stays.
  auto fb = MarkGood(TryingB(2), Slot::kA);
  ASSERT_TRUE(fb);
  EXPECT_FALSE(fb->has_value());
  // A slot that is neither active nor on trial.
  auto bad = MarkGood(RolledBack(), Slot::kB);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "marking slot B good: it is neither the active slot (A) nor the slot on trial");
  EXPECT_FALSE(MarkGood(Record{}, Slot::kNone));
}

// Writes what the decision says, as the boot image would.
Slot Boot(Store& store) {
  BootDecision d = DecideBoot(store.Load(), Now());
  EXPECT_EQ(d.action, BootAction::kBoot);
  if (d.write) EXPECT_TRUE(store.Save(*d.write));
  return d.slot;
}

TEST(SlotsBoot, UpgradeNeverReachesTheApiThenRollsBackAndIsNotRetried) {
  testing::FaultFileOps ops;
  Store store(ops, "/oem/elemental/state");
  Record r = Installed();
  ASSERT_TRUE(store.Save(r));
  Desired v2{"oci://registry.example:5000/os/base:v2", "cid-v2"};
  auto plan = PlanUpgrade(store.Load()->record.value(), v2);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->kind, PlanKind::kWriteSlot);
  Record before = RecordBeforeWrite(store.Load()->record.value(), plan->slot).value();
  ASSERT_TRUE(store.Save(before));
  Record after = RecordAfterWrite(before, plan->slot, testing::Image("v2", "cid-v2"), 2).value();
  ASSERT_TRUE(store.Save(after));
  // Two boots of B that never reach the API, then back to A.
  EXPECT_EQ(Boot(store), Slot::kB);
  EXPECT_EQ(Boot(store), Slot::kB);
  EXPECT_EQ(Boot(store), Slot::kA);
  EXPECT_EQ(Boot(store), Slot::kA);
  Record now = store.Load()->record.value();
  EXPECT_EQ(now.active, Slot::kA);
  EXPECT_EQ(now.b.state, SlotState::kFailed);
  ASSERT_TRUE(now.last_rollback);
  EXPECT_FALSE(now.last_rollback->reported);
  EXPECT_TRUE(MarkRollbackReported(now).last_rollback->reported);
  // The agent on A reaches the API: A is active, nothing changes.
  EXPECT_FALSE(MarkGood(now, Slot::kA).value().has_value());
  // The cluster still asks for v2: not retried, the message names it.
  auto again = PlanUpgrade(now, v2);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->kind, PlanKind::kFailedBefore);
  EXPECT_EQ(again->message,
            "image oci://registry.example:5000/os/base:v2 (correlationID cid-v2) failed to boot "
            "before and was rolled back; not retrying it (slot B, 2026-12-01T11:25:00Z)");
  // A new request (v3) goes to B again.
  auto v3 = PlanUpgrade(now, {"oci://registry.example:5000/os/base:v3", "cid-v3"});
  ASSERT_TRUE(v3);
  EXPECT_EQ(v3->kind, PlanKind::kWriteSlot);
  EXPECT_EQ(v3->slot, Slot::kB);
}

TEST(SlotsBoot, UpgradeMarkedGoodStaysOnTheNewSlot) {
  testing::FaultFileOps ops;
  Store store(ops, "/oem/elemental/state");
  Record r = TryingB(3);
  ASSERT_TRUE(store.Save(r));
  EXPECT_EQ(Boot(store), Slot::kB);
  auto good = MarkGood(store.Load()->record.value(), Slot::kB);
  ASSERT_TRUE(good && good->has_value());
  ASSERT_TRUE(store.Save(**good));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Boot(store), Slot::kB);
  Record now = store.Load()->record.value();
  EXPECT_EQ(now.active, Slot::kB);
  EXPECT_FALSE(now.pending_try);
  EXPECT_FALSE(now.last_rollback);
}

TEST(SlotsBoot, PowerCutsWhileCountingNeverGiveAnExtraTry) {
  // A new slot that never reaches the API, with the power cut during the
  // boot image's save at a different step every other boot: the try slot
  // never boots more than `tries` times. Each boot follows a durable count;
  // a cut after the count became durable uses a try up without a boot (as
  // a cut during that boot would). Then the system is back on A for good.
  const testing::CutMode modes[] = {testing::CutMode::kLoseUnsynced, testing::CutMode::kKeepUnsynced,
                                    testing::CutMode::kTornUnsynced};
  for (int64_t tries = 1; tries <= 3; ++tries) {
    for (testing::CutMode mode : modes) {
      SCOPED_TRACE(std::to_string(tries) + " tries, unsynced data " + testing::CutModeName(mode));
      testing::FaultFileOps ops;
      Store store(ops, "/oem/elemental/state");
      Record r = TryingB(tries);
      ASSERT_TRUE(store.Save(r));
      int b_boots = 0;
      int a_boots = 0;
      int cuts = 0;
      int used_by_cuts = 0;
      for (int attempt = 0; attempt < 200 && a_boots < 3; ++attempt) {
        ops.ResetSteps();
        // Cut at steps 1..13 in turn (13: past the end, the save completes).
        ops.CutPowerAt(attempt % 2 == 0 ? attempt / 2 % 12 + 1 : 0);
        auto before = store.Load();
        ASSERT_TRUE(before);
        BootDecision d = DecideBoot(before, Now());
        ASSERT_EQ(d.action, BootAction::kBoot);
        if (d.write && !store.Save(*d.write)) {
          ASSERT_TRUE(ops.down());
          ops.PowerCut(mode);
          ++cuts;
          auto after = store.Load();
          ASSERT_TRUE(after);
          ASSERT_TRUE(*after->record == *before->record || *after->record == *d.write);
          if (d.slot == Slot::kB && *after->record != *before->record) ++used_by_cuts;
          continue;  // nothing booted; the machine starts again
        }
        ops.CutPowerAt(0);
        (d.slot == Slot::kB ? b_boots : a_boots)++;
      }
      EXPECT_GT(cuts, 0);
      EXPECT_LE(b_boots, tries);
      EXPECT_EQ(b_boots + used_by_cuts, tries);
      EXPECT_EQ(a_boots, 3);
      auto l = store.Load();
      ASSERT_TRUE(l);
      EXPECT_EQ(l->record->b.state, SlotState::kFailed);
      EXPECT_TRUE(l->record->HasFailed("cid-v2"));
      EXPECT_FALSE(l->record->pending_try);
    }
  }
}

}  // namespace
}  // namespace elemental::slots
