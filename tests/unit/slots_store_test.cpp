// The two-copy record store: format of a copy, reading with damaged copies,
// the real POSIX file layer in a temp dir, and crash safety: a power cut at
// every step of several kinds of update, with every way un-synced data can
// end up, always reads back exactly the old or exactly the new record.
#include "slots/store.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "slots/boot.hpp"
#include "slots/upgrade.hpp"
#include "slots_fault_file_ops.hpp"
#include "slots_fixtures.hpp"

namespace elemental::slots {
namespace {

using testing::CutMode;
using testing::FaultFileOps;

constexpr const char* kDir = "/oem/elemental/state";
const std::string kCopy0 = std::string(kDir) + "/slot-record.0";
const std::string kCopy1 = std::string(kDir) + "/slot-record.1";

TEST(SlotsStore, Crc32KnownVector) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(SlotsStore, CopyRoundTripAndHeader) {
  Record r = testing::Installed();
  r.sequence = 9;
  std::string c = EncodeCopy(r);
  EXPECT_EQ(c.rfind("elemental-slot-record crc32=", 0), 0u) << c;
  auto back = DecodeCopy(c);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, r);
}

TEST(SlotsStore, CopyDamageIsDetected) {
  std::string c = EncodeCopy(testing::Installed());
  struct Case {
    std::string name;
    std::string content;
    std::string error;
  };
  std::string flipped = c;
  flipped[c.size() - 10] ^= 0x01;
  std::string bad_crc = c;
  bad_crc.replace(bad_crc.find("crc32=") + 6, 8, "00000000");
  std::vector<Case> cases = {
      {"empty", "", "bad header: no line break"},
      {"torn", c.substr(0, c.size() / 2), "length mismatch"},
      {"flipped bit", flipped, "checksum mismatch"},
      {"bad crc", bad_crc, "checksum mismatch"},
      {"extra byte", c + "x", "length mismatch"},
      {"other file", "hello\nworld\n", "bad header"},
  };
  for (const auto& tc : cases) {
    auto r = DecodeCopy(tc.content);
    ASSERT_FALSE(r) << tc.name;
    EXPECT_NE(r.error().message().find(tc.error), std::string::npos)
        << tc.name << ": " << r.error().message();
  }
}

TEST(SlotsStore, LoadWithoutRecordIsEmpty) {
  FaultFileOps ops;
  Store store(ops, kDir);
  auto l = store.Load();
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_FALSE(l->record.has_value());
  EXPECT_TRUE(l->damaged.empty());
}

TEST(SlotsStore, SaveWritesBothCopiesAndBumpsSequence) {
  FaultFileOps ops;
  Store store(ops, kDir);
  Record r = testing::Installed();
  ASSERT_TRUE(store.Save(r));
  EXPECT_EQ(r.sequence, 1u);
  EXPECT_EQ(ops.Get(kCopy0), ops.Get(kCopy1));
  Record next = testing::TryingB();
  ASSERT_TRUE(store.Save(next));
  EXPECT_EQ(next.sequence, 2u);
  auto l = store.Load();
  ASSERT_TRUE(l);
  EXPECT_EQ(*l->record, next);
  EXPECT_TRUE(l->damaged.empty());
  // No temporary file is left behind.
  EXPECT_EQ(ops.Paths(), (std::vector<std::string>{kCopy0, kCopy1}));
}

TEST(SlotsStore, OneDamagedCopyIsToleratedAndRepairedBySave) {
  for (const std::string& bad : {kCopy0, kCopy1}) {
    FaultFileOps ops;
    Store store(ops, kDir);
    Record r = testing::Installed();
    ASSERT_TRUE(store.Save(r));
    std::string c = ops.Get(bad);
    c[c.size() - 5] ^= 0x40;
    ops.SetFile(bad, c);
    auto l = store.Load();
    ASSERT_TRUE(l) << l.error().message();
    EXPECT_EQ(*l->record, r);
    ASSERT_EQ(l->damaged.size(), 1u);
    EXPECT_NE(l->damaged[0].find("checksum mismatch"), std::string::npos) << l->damaged[0];
    EXPECT_NE(l->damaged[0].find(fs::DirName(bad) == kDir ? bad.substr(bad.rfind('/') + 1) : ""),
              std::string::npos);
    Record again = *l->record;
    ASSERT_TRUE(store.Save(again));
    auto l2 = store.Load();
    ASSERT_TRUE(l2);
    EXPECT_TRUE(l2->damaged.empty());
    EXPECT_EQ(*l2->record, again);
  }
}

TEST(SlotsStore, BothCopiesDamagedIsAClearError) {
  FaultFileOps ops;
  Store store(ops, kDir);
  ops.SetFile(kCopy0, "garbage");
  std::string c = EncodeCopy(testing::Installed());
  size_t header = c.find('\n') + 1;
  ops.SetFile(kCopy1, c.substr(0, header + 10));
  auto l = store.Load();
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), kRecordDamaged);
  EXPECT_EQ(l.error().message(),
            "both copies of the slot state record in '/oem/elemental/state' are damaged: "
            "slot-record.0: bad header: no line break; slot-record.1: length mismatch: header says " +
                c.substr(c.find("length=") + 7, c.find('\n') - c.find("length=") - 7) +
                " bytes, found 10");
}

TEST(SlotsStore, NewerCopyWinsAndNewerFormatIsDamage) {
  FaultFileOps ops;
  Store store(ops, kDir);
  Record older = testing::Installed();
  older.sequence = 4;
  Record newer = testing::TryingB();
  newer.sequence = 5;
  ops.SetFile(kCopy0, EncodeCopy(newer));
  ops.SetFile(kCopy1, EncodeCopy(older));
  auto l = store.Load();
  ASSERT_TRUE(l);
  EXPECT_EQ(*l->record, newer);
  // A copy from a future format is not taken for this one.
  json::Value doc = Encode(newer);
  doc.Set("formatVersion", 2);
  std::string body = doc.Dump() + "\n";
  char header[96];
  std::snprintf(header, sizeof(header), "elemental-slot-record crc32=%08x length=%zu\n", Crc32(body),
                body.size());
  ops.SetFile(kCopy0, header + body);
  auto l2 = store.Load();
  ASSERT_TRUE(l2);
  EXPECT_EQ(*l2->record, older);
  ASSERT_EQ(l2->damaged.size(), 1u);
  EXPECT_EQ(l2->damaged[0], "slot-record.0: formatVersion: 2 is newer than this agent reads (1)");
}

TEST(SlotsStore, SaveRefusesAnInvalidRecord) {
  FaultFileOps ops;
  Store store(ops, kDir);
  Record r = testing::Installed();
  r.a.state = SlotState::kEmpty;
  auto st = store.Save(r);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "refusing to write the slot state record: active: slot A is empty, not good");
  EXPECT_EQ(ops.steps(), 0);
}

TEST(SlotsStore, ReadErrorOtherThanMissingIsReported) {
  FaultFileOps ops;
  Store store(ops, kDir);
  ops.CutPowerAt(1);
  Record r = testing::Installed();
  ASSERT_FALSE(store.Save(r));
  auto l = store.Load();
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), EIO);
}

TEST(SlotsStore, PosixFileOpsInATempDir) {
  char tmpl[] = "/tmp/elemental-slots-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/oem/elemental/state";
  Store store(PosixFileOps(), dir);
  auto empty = store.Load();
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_FALSE(empty->record);
  Record r = testing::Installed();
  ASSERT_TRUE(store.Save(r)) << "save";
  Record t = testing::TryingB();
  ASSERT_TRUE(store.Save(t));
  auto l = store.Load();
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(*l->record, t);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
    EXPECT_EQ(static_cast<int>(e.status().permissions()), 0600) << e.path();
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"slot-record.0", "slot-record.1"}));
  // A damaged copy on the real file system.
  auto c = fs::ReadFile(dir + "/slot-record.0");
  ASSERT_TRUE(c);
  ASSERT_TRUE(fs::WriteFileDurable(dir + "/slot-record.0", c->substr(0, 30), 0600));
  auto l2 = store.Load();
  ASSERT_TRUE(l2);
  EXPECT_EQ(*l2->record, t);
  EXPECT_EQ(l2->damaged.size(), 1u);
  std::filesystem::remove_all(tmpl);
}

// ---- crash safety -------------------------------------------------------

// What a read may give before/after an update: a record, no record at all,
// or "both copies damaged".
struct Outcome {
  enum Kind { kRecord, kNone, kDamaged } kind = kNone;
  Record record;
  bool operator==(const Outcome& o) const {
    return kind == o.kind && (kind != kRecord || record == o.record);
  }
};

Outcome Read(FaultFileOps& ops) {
  Store store(ops, kDir);
  auto l = store.Load();
  if (!l) {
    EXPECT_EQ(l.error().code(), kRecordDamaged) << l.error().message();
    return {Outcome::kDamaged, {}};
  }
  if (!l->record) return {Outcome::kNone, {}};
  return {Outcome::kRecord, *l->record};
}

std::string Describe(const Outcome& o) {
  if (o.kind == Outcome::kNone) return "no record";
  if (o.kind == Outcome::kDamaged) return "damaged";
  return EncodeCopy(o.record);
}

struct UpdateKind {
  std::string name;
  // Puts the disk into its starting state (no faults armed).
  std::function<void(FaultFileOps&)> setup;
  // The new record, computed from what is on disk before the update.
  std::function<Record(const Outcome& old)> next;
};

void SaveDirect(FaultFileOps& ops, Record r) {
  Store store(ops, kDir);
  ASSERT_TRUE(store.Save(r));
}

void FlipByteIn(FaultFileOps& ops, const std::string& path) {
  std::string c = ops.Get(path);
  c[c.size() - 3] ^= 0x08;
  ops.SetFile(path, c);
}

std::vector<UpdateKind> UpdateKinds() {
  auto installed = [](FaultFileOps& ops) { SaveDirect(ops, testing::Installed()); };
  auto trying = [](FaultFileOps& ops) {
    SaveDirect(ops, testing::Installed());
    SaveDirect(ops, testing::TryingB());
  };
  auto decide = [](const Outcome& old) {
    Expected<Loaded> l = Loaded{old.record, {}};
    return *DecideBoot(l, testing::Now()).write;
  };
  return {
      {"first install on a fresh disk", [](FaultFileOps&) {},
       [](const Outcome&) { return testing::Installed(); }},
      {"upgrade: slot emptied before write", installed,
       [](const Outcome& old) { return RecordBeforeWrite(old.record, Slot::kB).value(); }},
      {"upgrade: try next after write",
       [](FaultFileOps& ops) {
         SaveDirect(ops, testing::Installed());
         SaveDirect(ops, RecordBeforeWrite(testing::Installed(), Slot::kB).value());
       },
       [](const Outcome& old) {
         return RecordAfterWrite(old.record, Slot::kB, testing::Image("v2", "cid-v2"), 3).value();
       }},
      {"boot: count one try", trying, decide},
      {"boot: rollback",
       [](FaultFileOps& ops) {
         SaveDirect(ops, testing::Installed());
         SaveDirect(ops, testing::TryingB(0));
       },
       decide},
      {"run: mark good", trying,
       [](const Outcome& old) { return MarkGood(old.record, Slot::kB).value().value(); }},
      {"reset requested", installed,
       [](const Outcome& old) { return RequestReset(old.record, true, false); }},
      {"copy 0 bit-rotted before the update",
       [](FaultFileOps& ops) {
         SaveDirect(ops, testing::Installed());
         FlipByteIn(ops, kCopy0);
       },
       [](const Outcome& old) { return RecordBeforeWrite(old.record, Slot::kB).value(); }},
      {"copy 1 bit-rotted before the update",
       [](FaultFileOps& ops) {
         SaveDirect(ops, testing::Installed());
         FlipByteIn(ops, kCopy1);
       },
       [](const Outcome& old) { return RecordBeforeWrite(old.record, Slot::kB).value(); }},
      {"copies one sequence apart (an earlier update was cut)",
       [](FaultFileOps& ops) {
         SaveDirect(ops, testing::Installed());
         // Cut the next update after its first copy is complete (6 steps).
         ops.ResetSteps();
         ops.CutPowerAt(7);
         Store store(ops, kDir);
         Record t = testing::TryingB();
         ASSERT_FALSE(store.Save(t));
         ops.PowerCut(CutMode::kLoseUnsynced);
         ASSERT_NE(ops.Get(kCopy0), ops.Get(kCopy1));
       },
       decide},
      {"both copies damaged: reinstall",
       [](FaultFileOps& ops) {
         ops.SetFile(kCopy0, "x");
         ops.SetFile(kCopy1, "y");
       },
       [](const Outcome&) { return testing::Installed(); }},
  };
}

TEST(SlotsStoreCrash, SaveStepsInOrder) {
  // The protocol: the copy not holding the current record first, each one
  // written to a temp file, synced, renamed over, and the directory synced.
  FaultFileOps ops;
  SaveDirect(ops, testing::Installed());
  ops.ResetSteps();
  SaveDirect(ops, testing::TryingB());
  std::vector<std::string> log(ops.log().end() - 12, ops.log().end());
  const std::string d = kDir;
  EXPECT_EQ(log, (std::vector<std::string>{
                     "open " + kCopy1 + ".tmp", "write " + std::to_string(ops.Get(kCopy1).size()),
                     "fsync", "close", "rename " + kCopy1 + ".tmp " + kCopy1, "fsyncdir " + d,
                     "open " + kCopy0 + ".tmp", "write " + std::to_string(ops.Get(kCopy0).size()),
                     "fsync", "close", "rename " + kCopy0 + ".tmp " + kCopy0, "fsyncdir " + d}));
  EXPECT_EQ(ops.steps(), 12);
}

TEST(SlotsStoreCrash, EveryStepOfEveryUpdateLeavesOldOrNew) {
  const CutMode modes[] = {CutMode::kLoseUnsynced, CutMode::kKeepUnsynced, CutMode::kEmptyUnsynced,
                           CutMode::kTornUnsynced, CutMode::kCorruptUnsynced};
  for (const UpdateKind& kind : UpdateKinds()) {
    SCOPED_TRACE(kind.name);
    // A clean run: how many steps the update takes, and its result.
    FaultFileOps clean;
    kind.setup(clean);
    clean.ResetSteps();
    Outcome old = Read(clean);
    Record next = kind.next(old);
    {
      Store store(clean, kDir);
      ASSERT_TRUE(store.Save(next));
    }
    int steps = clean.steps();
    Outcome fresh = Read(clean);
    ASSERT_EQ(fresh.kind, Outcome::kRecord);
    ASSERT_EQ(fresh.record, next);
    ASSERT_GE(steps, 2) << kind.name;

    int saw_old = 0;
    int saw_new = 0;
    for (int cut = 1; cut <= steps; ++cut) {
      for (CutMode mode : modes) {
        SCOPED_TRACE("power cut at step " + std::to_string(cut) + ", unsynced data " +
                     testing::CutModeName(mode));
        FaultFileOps ops;
        kind.setup(ops);
        ops.ResetSteps();
        ASSERT_EQ(Read(ops), old);
        ops.CutPowerAt(cut);
        Record attempt = kind.next(old);
        Store store(ops, kDir);
        Status st = store.Save(attempt);
        ASSERT_FALSE(st);
        EXPECT_NE(st.error().message().find("power cut at step " + std::to_string(cut)),
                  std::string::npos)
            << st.error().message();
        ASSERT_TRUE(ops.down());
        ops.PowerCut(mode);
        Outcome after = Read(ops);
        if (after == old) {
          ++saw_old;
        } else if (after == fresh) {
          ++saw_new;
        } else {
          ADD_FAILURE() << "read back neither the old nor the new record: " << Describe(after)
                        << "\nold: " << Describe(old) << "\nnew: " << Describe(fresh);
        }
        // After the cut the store works again: a new update lands whole.
        Record again = kind.next(old);
        ASSERT_TRUE(store.Save(again));
        Outcome final = Read(ops);
        ASSERT_EQ(final.kind, Outcome::kRecord);
        Record expect = kind.next(old);
        expect.sequence = final.record.sequence;
        EXPECT_EQ(final.record, expect);
        Store s2(ops, kDir);
        EXPECT_TRUE(s2.Load()->damaged.empty());
      }
    }
    // Both outcomes happen: early cuts keep the old record, late ones the new.
    EXPECT_GT(saw_old, 0);
    EXPECT_GT(saw_new, 0);
  }
}

TEST(SlotsStoreCrash, FailedStepLeavesOldOrNewAndNextSaveWorks) {
  for (int err : {EIO, ENOSPC}) {
    for (int step = 1; step <= 12; ++step) {
      SCOPED_TRACE("step " + std::to_string(step) + " errno " + std::to_string(err));
      FaultFileOps ops;
      SaveDirect(ops, testing::Installed());
      ops.ResetSteps();
      Outcome old = Read(ops);
      ops.FailAt(step, err);
      Store store(ops, kDir);
      Record next = testing::TryingB();
      Status st = store.Save(next);
      ASSERT_FALSE(st);
      EXPECT_EQ(st.error().code(), err);
      EXPECT_EQ(st.error().message().rfind("saving the slot state record: writing '", 0), 0u)
          << st.error().message();
      Outcome after = Read(ops);
      Outcome fresh{Outcome::kRecord, next};
      EXPECT_TRUE(after == old || after == fresh) << Describe(after);
      // A temporary file of a failed write is removed.
      EXPECT_FALSE(ops.Has(kCopy0 + ".tmp"));
      EXPECT_FALSE(ops.Has(kCopy1 + ".tmp"));
      Record again = testing::TryingB();
      ASSERT_TRUE(store.Save(again));
      EXPECT_EQ(Read(ops).record, again);
    }
  }
}

}  // namespace
}  // namespace elemental::slots
