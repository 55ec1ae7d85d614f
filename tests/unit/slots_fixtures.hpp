// Records shared by the slots_* tests: an installed system and the steps of
// an upgrade A -> B.
#pragma once

#include <chrono>
#include <string>

#include "slots/boot.hpp"
#include "slots/record.hpp"
#include "slots/upgrade.hpp"

namespace elemental::slots::testing {

inline SlotInfo Image(const std::string& tag, const std::string& cid) {
  SlotInfo s;
  s.image = "oci://registry.example:5000/os/base:" + tag;
  s.digest = "sha256:" + std::string(64, tag.empty() ? '0' : tag.back());
  s.correlation_id = cid;
  s.installed_at = "2026-12-01T10:00:00Z";
  return s;
}

// Fixed time for rollbacks: 2026-12-01T11:25:00Z.
inline std::chrono::system_clock::time_point Now() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1796124300));
}

// A installed with v1, active and good; B empty.
inline Record Installed() { return InstallRecord(Image("v1", "cid-v1")); }

// Installed(), then v2 written to B and on trial with `tries` boots left.
inline Record TryingB(int64_t tries = kDefaultBootTries) {
  Record r = RecordBeforeWrite(Installed(), Slot::kB).value();
  r = RecordAfterWrite(r, Slot::kB, Image("v2", "cid-v2"), kDefaultBootTries).value();
  r.pending_try->tries_left = tries;  // 0 is not plannable, but is what the boots leave
  return r;
}

// TryingB(), then marked good on B: B active, A the good fallback.
inline Record OnB() { return MarkGood(TryingB(), Slot::kB).value().value(); }

}  // namespace elemental::slots::testing
