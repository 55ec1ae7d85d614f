// Boot counting and rollback, as a pure function of the record.
#include "slots/boot.hpp"

#include <algorithm>

namespace elemental::slots {
namespace {

void RememberFailed(Record& r, const std::string& correlation_id) {
  if (correlation_id.empty() || r.HasFailed(correlation_id)) return;
  r.failed_correlation_ids.push_back(correlation_id);
  while (r.failed_correlation_ids.size() > kMaxFailedCorrelationIds) {
    r.failed_correlation_ids.erase(r.failed_correlation_ids.begin());
  }
}

}  // namespace

const char* BootActionName(BootAction a) {
  switch (a) {
    case BootAction::kBoot: return "boot";
    case BootAction::kInstall: return "install";
    case BootAction::kReset: return "reset";
  }
  return "";
}

BootDecision DecideBoot(const Expected<Loaded>& loaded, std::chrono::system_clock::time_point now) {
  BootDecision d;
  if (!loaded) {
    d.action = BootAction::kBoot;
    d.slot = Slot::kA;
    d.if_write_fails = Slot::kA;
    d.record_damaged = true;
    d.message = "slot state record unreadable (" + loaded.error().message() +
                "); booting slot A without writing anything";
    return d;
  }
  if (!loaded->record) {
    d.action = BootAction::kInstall;
    d.message = "no slot state record: installing";
    return d;
  }
  const Record& r = *loaded->record;
  if (r.reset_pending) {
    d.action = BootAction::kReset;
    d.message = "reset pending";
    return d;
  }
  if (r.active == Slot::kNone) {
    d.action = BootAction::kInstall;
    d.message = "slot state record has no active slot: installing";
    return d;
  }
  d.action = BootAction::kBoot;
  d.if_write_fails = r.active;
  if (!r.pending_try) {
    d.slot = r.active;
    d.message = std::string("booting active slot ") + SlotName(r.active) + " (" +
                r.slot(r.active).image + ")";
    if (!loaded->damaged.empty()) {
      // One copy is damaged: rewriting the record repairs it.
      d.write = r;
      d.message += "; rewriting the damaged copy (" + loaded->damaged.front() + ")";
    }
    return d;
  }
  const PendingTry& t = *r.pending_try;
  const SlotInfo& tried = r.slot(t.slot);
  Record next = r;
  if (t.tries_left > 0) {
    next.pending_try->tries_left = t.tries_left - 1;
    d.slot = t.slot;
    d.write = std::move(next);
    d.message = std::string("trying slot ") + SlotName(t.slot) + " (" + tried.image + "), " +
                std::to_string(t.tries_left - 1) + " boot(s) left after this one";
    return d;
  }
  // Out of tries: the new slot never reached the API. Back to the fallback.
  SlotInfo& failed = next.slot(t.slot);
  failed.state = SlotState::kFailed;
  RememberFailed(next, failed.correlation_id);
  Rollback rb;
  rb.slot = t.slot;
  rb.image = failed.image;
  rb.correlation_id = failed.correlation_id;
  rb.reason = "image " + failed.image + " on slot " + SlotName(t.slot) +
              " did not reach the Elemental API within its boot tries; rolled back to slot " +
              SlotName(t.fallback) + " (" + r.slot(t.fallback).image + ")";
  rb.time = FormatTime(now);
  next.last_rollback = rb;
  next.pending_try.reset();
  d.slot = t.fallback;
  d.write = std::move(next);
  d.rolled_back = true;
  d.message = "rollback: " + rb.reason;
  return d;
}

Expected<std::optional<Record>> MarkGood(const Record& record, Slot booted) {
  if (record.pending_try && record.pending_try->slot == booted) {
    Record next = record;
    next.slot(booted).state = SlotState::kGood;
    next.active = booted;
    next.pending_try.reset();
    return std::optional<Record>(std::move(next));
  }
  if (booted != Slot::kNone && booted == record.active) return std::optional<Record>();
  return Error(std::string("marking slot ") + (booted == Slot::kNone ? "(none)" : SlotName(booted)) +
               " good: it is neither the active slot (" +
               (record.active == Slot::kNone ? "none" : SlotName(record.active)) +
               ") nor the slot on trial");
}

}  // namespace elemental::slots
