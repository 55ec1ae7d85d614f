// The boot decision and the "mark good" step: pure functions from a record
// to what to do and the record to write. The boot image calls DecideBoot
// before it mounts a slot; `elemental-agent run` calls MarkGood on the new
// slot once it has reached the Elemental API.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "slots/record.hpp"
#include "slots/store.hpp"

namespace elemental::slots {

enum class BootAction {
  kBoot,     // boot `slot`
  kInstall,  // no installed system: `register --install`
  kReset,    // reset pending: `reset`, then `register --install`
};
// "boot", "install", "reset".
const char* BootActionName(BootAction a);

struct BootDecision {
  BootAction action = BootAction::kInstall;
  Slot slot = Slot::kNone;  // kBoot: the slot to boot
  // Write this (Store::Save) before booting; nullopt: nothing changed.
  std::optional<Record> write;
  // When writing `write` fails, boot this slot instead and write nothing: a
  // try slot is never booted without its count going down first.
  Slot if_write_fails = Slot::kNone;
  // A try ran out of boots just now; `write` holds the rollback.
  bool rolled_back = false;
  // Both record copies are damaged: see DecideBoot.
  bool record_damaged = false;
  // One line for the boot log saying why.
  std::string message;
};

// Decides what the boot image does, from what Store::Load returned:
//   - no record (fresh disk)                 → kInstall
//   - reset pending                          → kReset (wins over a try)
//   - try pending, tries left > 0            → boot the try slot; write the
//                                              record with one try less
//   - try pending, no tries left             → roll back: boot the fallback,
//                                              write the try slot failed, its
//                                              correlationID failed and
//                                              lastRollback (time = now)
//   - no try, an active slot                 → boot it, nothing to write
//                                              (unless one copy is damaged:
//                                              then write the record back to
//                                              repair it)
//   - a record without an active slot        → kInstall (install never
//                                              finished)
//   - both copies damaged (code kRecordDamaged), or unreadable for another
//     reason                                 → the safe fallback: boot slot A
//     (every install writes A, so it is the one slot known to hold a system),
//     write nothing (the damaged copies stay for inspection), never install or
//     wipe (that would destroy COS_PERSISTENT); record_damaged is set. The next
//     Save (an upgrade, a reinstall) writes a fresh record.
BootDecision DecideBoot(const Expected<Loaded>& loaded, std::chrono::system_clock::time_point now);

// The record after `elemental-agent run`, booted from `booted`, reached the
// API. With a try pending on `booted`: the try slot becomes active and good,
// the previous one stays good as the fallback, the try is cleared. Nothing
// to write (nullopt) when `booted` is already the active slot and no try is
// pending on it. Errors: `booted` is neither the active nor the try slot (for
// example a try that was rolled back: the agent runs from the fallback then,
// which is active, so that is fine; this catches a boot outside DecideBoot).
Expected<std::optional<Record>> MarkGood(const Record& record, Slot booted);

}  // namespace elemental::slots
