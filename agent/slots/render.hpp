// `elemental-agent state`: the record (and the disk layout, when the caller
// has one) as YAML for people and scripts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "slots/store.hpp"

namespace elemental::slots {

// One partition of the layout, as the disk code found it.
struct LayoutEntry {
  std::string label;    // PARTLABEL, "COS_OEM"
  std::string device;   // "/dev/vda2"
  uint64_t size = 0;    // bytes
  std::string fs;       // "ext4", "vfat"
};

// Renders what Store::Load returned as a YAML document:
//   installed: true|false          (false: no record)
//   formatVersion, sequence
//   layout: [...]                  (only when `layout` is given)
//   slots: {A: {...}, B: {...}}    state, active, image, digest,
//                                  correlationID, installedAt, and
//                                  bootTriesLeft on the slot on trial
//   pendingTry, resetPending (+ resetPersistent/resetOem when pending),
//   lastRollback, failedCorrelationIDs, damagedCopies
// The same input always gives the same bytes (tested against a golden file).
// Strings are quoted where a YAML reader would otherwise misread them.
std::string RenderState(const Loaded& loaded, const std::optional<std::vector<LayoutEntry>>& layout);

}  // namespace elemental::slots
