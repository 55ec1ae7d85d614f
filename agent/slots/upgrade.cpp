// Upgrade planning and the records of install, reset and rollback reports.
#include "slots/upgrade.hpp"

namespace elemental::slots {
namespace {

Status CheckTarget(const Record& record, Slot target) {
  if (target == Slot::kNone) return Error("no slot given");
  if (target == record.active) {
    return Error(std::string("slot ") + SlotName(target) + " is the active slot and is never written");
  }
  return Status::Ok();
}

}  // namespace

const char* PlanKindName(PlanKind k) {
  switch (k) {
    case PlanKind::kNothingToDo: return "nothingToDo";
    case PlanKind::kTrying: return "trying";
    case PlanKind::kFailedBefore: return "failedBefore";
    case PlanKind::kBusy: return "busy";
    case PlanKind::kWriteSlot: return "writeSlot";
  }
  return "";
}

Expected<UpgradePlan> PlanUpgrade(const Record& record, const Desired& desired) {
  if (desired.image.empty()) return Error("planning upgrade: no image given");
  if (desired.correlation_id.empty()) return Error("planning upgrade: no correlationID given");
  if (record.active == Slot::kNone) {
    return Error("planning upgrade to " + desired.image + ": the system is not installed");
  }
  UpgradePlan plan;
  Slot active = record.active;
  Slot inactive = Other(active);
  const SlotInfo& on_active = record.slot(active);
  const SlotInfo& on_inactive = record.slot(inactive);
  if (on_active.correlation_id == desired.correlation_id) {
    plan.kind = PlanKind::kNothingToDo;
    plan.slot = active;
    plan.message = "image " + desired.image + " is on the active slot " + SlotName(active);
    return plan;
  }
  if (on_inactive.correlation_id == desired.correlation_id) {
    if (on_inactive.state == SlotState::kGood) {
      plan.kind = PlanKind::kNothingToDo;
      plan.slot = inactive;
      plan.message = "image " + desired.image + " is on the inactive slot " + SlotName(inactive);
      return plan;
    }
    if (on_inactive.state == SlotState::kTrying) {
      plan.kind = PlanKind::kTrying;
      plan.slot = inactive;
      plan.message = "image " + desired.image + " is on trial on slot " + SlotName(inactive);
      return plan;
    }
  }
  if (record.HasFailed(desired.correlation_id)) {
    plan.kind = PlanKind::kFailedBefore;
    plan.message = "image " + desired.image + " (correlationID " + desired.correlation_id +
                   ") failed to boot before and was rolled back; not retrying it";
    const auto& rb = record.last_rollback;
    if (rb && rb->correlation_id == desired.correlation_id) {
      plan.slot = rb->slot;
      plan.message += " (slot " + std::string(SlotName(rb->slot)) + ", " + rb->time + ")";
    }
    return plan;
  }
  if (record.pending_try) {
    plan.kind = PlanKind::kBusy;
    plan.slot = record.pending_try->slot;
    plan.message = "cannot upgrade to " + desired.image + " now: image " +
                   record.slot(record.pending_try->slot).image + " is on trial on slot " +
                   SlotName(record.pending_try->slot);
    return plan;
  }
  plan.kind = PlanKind::kWriteSlot;
  plan.slot = inactive;
  plan.message = "writing image " + desired.image + " into the inactive slot " + SlotName(inactive);
  return plan;
}

Expected<Record> RecordBeforeWrite(const Record& record, Slot target) {
  if (auto st = CheckTarget(record, target); !st) return st.error().Wrap("preparing slot write");
  Record next = record;
  if (next.pending_try && next.pending_try->slot == target) next.pending_try.reset();
  next.slot(target) = SlotInfo{};
  return next;
}

Expected<Record> RecordAfterWrite(const Record& record, Slot target, const SlotInfo& written,
                                  int64_t boot_tries) {
  if (auto st = CheckTarget(record, target); !st) return st.error().Wrap("recording slot write");
  if (boot_tries < 1) {
    return Error("recording slot write: boot tries must be at least 1, got " + std::to_string(boot_tries));
  }
  if (written.image.empty()) return Error("recording slot write: no image");
  if (record.active == Slot::kNone) return Error("recording slot write: the system is not installed");
  Record next = record;
  SlotInfo info = written;
  info.state = SlotState::kTrying;
  next.slot(target) = info;
  next.pending_try = PendingTry{target, boot_tries, record.active};
  return next;
}

Record InstallRecord(const SlotInfo& a, const Record* previous) {
  Record r;
  r.a = a;
  r.a.state = SlotState::kGood;
  r.active = Slot::kA;
  if (previous != nullptr) r.failed_correlation_ids = previous->failed_correlation_ids;
  return r;
}

Record RebuildRecord(Slot booted, std::chrono::system_clock::time_point now) {
  Record r;
  if (booted == Slot::kNone) return r;
  SlotInfo& s = r.slot(booted);
  s.image = kUnknownImage;
  s.installed_at = FormatTime(now);
  s.state = SlotState::kGood;
  r.active = booted;
  return r;
}

Record RequestReset(const Record& record, bool reset_persistent, bool reset_oem) {
  Record next = record;
  next.reset_pending = true;
  next.reset_persistent = reset_persistent;
  next.reset_oem = reset_oem;
  return next;
}

Record MarkRollbackReported(const Record& record) {
  Record next = record;
  if (next.last_rollback) next.last_rollback->reported = true;
  return next;
}

}  // namespace elemental::slots
