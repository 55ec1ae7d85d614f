// Planning record changes for install, upgrade, reset and rollback reporting:
// pure functions from a record (and what the cluster asks for) to the next
// record. The plugin writes the records with Store::Save and does the disk
// work in between.
//
// Upgrade, in order:
//   1. plan = PlanUpgrade(record, {image, correlationID})
//      kNothingToDo / kTrying → no work, no reboot; kFailedBefore → report
//      OSVersionReady False with plan.message; kBusy → retry later;
//      kWriteSlot → go on with plan.slot (never the active one):
//   2. Save(RecordBeforeWrite(record, plan.slot))   the slot is now "empty"
//   3. write the image into plan.slot
//   4. Save(RecordAfterWrite(record', plan.slot, info, tries))   "try next"
//   5. reboot; the boot image's DecideBoot counts the tries.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/expected.hpp"
#include "slots/record.hpp"

namespace elemental::slots {

// Boots a new slot gets before it is abandoned, unless configured otherwise.
constexpr int64_t kDefaultBootTries = 3;

struct Desired {
  std::string image;           // OCI reference
  std::string correlation_id;  // SHA-256 of the osVersion JSON
};

enum class PlanKind {
  kNothingToDo,   // a good slot already holds it (active, or the inactive one)
  kTrying,        // it is the slot on trial now: wait for MarkGood
  kFailedBefore,  // its correlationID failed before: not retried
  kBusy,          // another image is on trial: plan again after MarkGood/rollback
  kWriteSlot,     // write it into `slot`, the inactive slot
};
// "nothingToDo", "trying", "failedBefore", "busy", "writeSlot".
const char* PlanKindName(PlanKind k);

struct UpgradePlan {
  PlanKind kind = PlanKind::kNothingToDo;
  // kWriteSlot: the slot to write; kNothingToDo / kTrying: the slot holding it.
  Slot slot = Slot::kNone;
  // Why, in a sentence naming the image; for kFailedBefore this is the
  // OSVersionReady False message.
  std::string message;
};

// Decides what an osVersion request needs. Errors: empty image or
// correlationID; a record without an active slot ("not installed").
Expected<UpgradePlan> PlanUpgrade(const Record& record, const Desired& desired);

// The record to save before `target` is overwritten: its old contents are
// about to be destroyed, so it is recorded as empty first (a power cut during
// the write then leaves no slot claiming an image it no longer holds).
// Errors: `target` is the active slot or kNone.
Expected<Record> RecordBeforeWrite(const Record& record, Slot target);

// The record after `target` received `written` (image, digest,
// correlationID, installedAt; its state is ignored): the slot is "trying"
// with `boot_tries` boots left (>= 1), falling back to the active slot.
// Errors: `target` is the active slot or kNone; boot_tries < 1; empty image.
Expected<Record> RecordAfterWrite(const Record& record, Slot target, const SlotInfo& written,
                                  int64_t boot_tries = kDefaultBootTries);

// A fresh record after an install into slot A: A good and active, B empty,
// nothing pending. `a` is the installed image (its state is ignored). The
// failed correlationIDs of `previous` (when the disk had a record) are kept.
Record InstallRecord(const SlotInfo& a, const Record* previous = nullptr);

// A new record after both copies were lost (DecideBoot booted A with
// record_damaged): `booted` is good and active, its image unknown
// (kUnknownImage, no correlationID, so the cluster's next osVersion goes to
// the other slot and the record heals), the other slot empty. Save it from
// `run` once the booted system reached the API, as MarkGood would.
constexpr const char* kUnknownImage = "unknown (slot state record was lost)";
Record RebuildRecord(Slot booted, std::chrono::system_clock::time_point now);

// The record with a reset requested (the boot image acts on it). `record`
// may be a default Record when the disk has none.
Record RequestReset(const Record& record, bool reset_persistent, bool reset_oem);

// The record once the last rollback has been reported to the cluster.
Record MarkRollbackReported(const Record& record);

}  // namespace elemental::slots
