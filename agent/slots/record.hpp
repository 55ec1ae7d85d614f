// The slot state record: what is in the A/B OS slots, which one boots, and
// the bookkeeping of upgrade tries, rollbacks and resets. Plain data plus its
// JSON form; the on-disk format is described in agent/slots/README.md.
//
// This module (elemental_slots) knows nothing of disks, HTTP or the Elemental
// API: the native OS plugin and the boot image call it with records and get
// records back; Store (store.hpp) keeps one on COS_OEM.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::slots {

// The record format this code writes, and the newest it reads. Readers refuse
// a larger version (see README.md, "Compatibility").
constexpr int64_t kFormatVersion = 1;

// At most this many correlationIDs are remembered as failed; the oldest is
// dropped first.
constexpr size_t kMaxFailedCorrelationIds = 32;

enum class Slot { kNone, kA, kB };
// "A", "B"; "" for kNone.
const char* SlotName(Slot s);
// The other slot of the pair (A ↔ B); kNone for kNone.
Slot Other(Slot s);

enum class SlotState {
  kEmpty,   // nothing usable (never written, or being written now)
  kGood,    // booted and reached the API (or installed)
  kTrying,  // written by an upgrade, on trial under a boot count
  kFailed,  // its trial ran out of boots; rolled back
};
// "empty", "good", "trying", "failed".
const char* SlotStateName(SlotState s);

struct SlotInfo {
  std::string image;           // OCI reference as the cluster gave it
  std::string digest;          // manifest digest, "sha256:..."
  std::string correlation_id;  // of the osVersion (or install) request that wrote it
  std::string installed_at;    // RFC 3339, UTC ("2026-12-01T11:25:00Z")
  SlotState state = SlotState::kEmpty;
  json::Object extra;          // keys this version does not know, kept on rewrite

  bool operator==(const SlotInfo&) const = default;
};

// An upgraded slot on trial: booted while tries are left, then abandoned
// for `fallback` (the slot that was active when the upgrade was planned).
struct PendingTry {
  Slot slot = Slot::kNone;
  int64_t tries_left = 0;
  Slot fallback = Slot::kNone;

  bool operator==(const PendingTry&) const = default;
};

// The last time a try ran out of boots.
struct Rollback {
  Slot slot = Slot::kNone;     // the slot that failed
  std::string image;
  std::string correlation_id;
  std::string reason;
  std::string time;            // RFC 3339, UTC
  bool reported = false;       // told to the cluster (OSVersionReady False)

  bool operator==(const Rollback&) const = default;
};

struct Record {
  int64_t format_version = kFormatVersion;
  // Set by Store::Save (one more than the copy it replaces); the newest valid
  // copy on disk wins.
  uint64_t sequence = 0;
  SlotInfo a;
  SlotInfo b;
  // The slot that boots when no try is pending; always a good slot. During a
  // try it is the fallback.
  Slot active = Slot::kNone;
  std::optional<PendingTry> pending_try;
  // Reset requested: the boot image resets instead of booting.
  bool reset_pending = false;
  bool reset_persistent = false;  // wipe COS_PERSISTENT too
  bool reset_oem = false;         // wipe COS_OEM too (the agent config is kept)
  std::optional<Rollback> last_rollback;
  // correlationIDs whose try failed, oldest first, never retried.
  std::vector<std::string> failed_correlation_ids;
  json::Object extra;  // top-level keys this version does not know, kept on rewrite

  SlotInfo& slot(Slot s) { return s == Slot::kB ? b : a; }
  const SlotInfo& slot(Slot s) const { return s == Slot::kB ? b : a; }
  bool HasFailed(const std::string& correlation_id) const;

  bool operator==(const Record&) const = default;
};

// The record as a JSON document (keys sorted: the same record always gives
// the same bytes). Never fails.
json::Value Encode(const Record& r);

// Decodes and checks a record. Strict: a missing required key, a wrong type,
// an unknown enum word or an inconsistent record is an Error naming the field
// ("slots.B.state: expected one of empty, good, trying, failed, got 'ok'",
// "try.fallback: must be the active slot (A), got B"). A formatVersion newer
// than kFormatVersion is an Error saying so. Unknown keys are kept in `extra`.
Expected<Record> Decode(const json::Value& doc);

// Checks the invariants Decode enforces (used before writing, too):
// active slot good; a try names a trying slot other than the active one,
// with fallback == active and tries_left >= 0; non-empty slots have an image.
Status Validate(const Record& r);

// RFC 3339 in UTC with seconds ("2026-12-01T11:25:00Z"). Never fails.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace elemental::slots
