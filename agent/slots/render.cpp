// The state as YAML, written by hand so the output is stable byte for byte.
#include "slots/render.hpp"

#include "common/yaml_text.hpp"

namespace elemental::slots {
namespace {

std::string Q(const std::string& s) { return yaml_text::Inline(s); }

std::string Bool(bool b) { return b ? "true" : "false"; }

void RenderList(std::string& out, const std::string& key, const std::vector<std::string>& items) {
  if (items.empty()) {
    out += key + ": []\n";
    return;
  }
  out += key + ":\n";
  for (const auto& i : items) out += "- " + Q(i) + "\n";
}

void RenderSlot(std::string& out, const Record& r, Slot s) {
  const SlotInfo& info = r.slot(s);
  out += std::string("  ") + SlotName(s) + ":\n";
  out += std::string("    state: ") + SlotStateName(info.state) + "\n";
  out += "    active: " + Bool(r.active == s) + "\n";
  if (info.state == SlotState::kEmpty) return;
  out += "    image: " + Q(info.image) + "\n";
  out += "    digest: " + Q(info.digest) + "\n";
  out += "    correlationID: " + Q(info.correlation_id) + "\n";
  out += "    installedAt: " + Q(info.installed_at) + "\n";
  if (r.pending_try && r.pending_try->slot == s) {
    out += "    bootTriesLeft: " + std::to_string(r.pending_try->tries_left) + "\n";
  }
}

}  // namespace

std::string RenderState(const Loaded& loaded, const std::optional<std::vector<LayoutEntry>>& layout) {
  std::string out;
  out += "installed: " + Bool(loaded.record.has_value()) + "\n";
  if (loaded.record) {
    out += "formatVersion: " + std::to_string(loaded.record->format_version) + "\n";
    out += "sequence: " + std::to_string(loaded.record->sequence) + "\n";
  }
  if (layout) {
    if (layout->empty()) out += "layout: []\n";
    else out += "layout:\n";
    for (const auto& p : *layout) {
      out += "- label: " + Q(p.label) + "\n";
      out += "  device: " + Q(p.device) + "\n";
      out += "  size: " + std::to_string(p.size) + "\n";
      out += "  fs: " + Q(p.fs) + "\n";
    }
  }
  if (loaded.record) {
    const Record& r = *loaded.record;
    out += "slots:\n";
    RenderSlot(out, r, Slot::kA);
    RenderSlot(out, r, Slot::kB);
    if (r.pending_try) {
      out += "pendingTry:\n";
      out += std::string("  slot: ") + SlotName(r.pending_try->slot) + "\n";
      out += "  bootTriesLeft: " + std::to_string(r.pending_try->tries_left) + "\n";
      out += std::string("  fallback: ") + SlotName(r.pending_try->fallback) + "\n";
    } else {
      out += "pendingTry: null\n";
    }
    out += "resetPending: " + Bool(r.reset_pending) + "\n";
    if (r.reset_pending) {
      out += "resetPersistent: " + Bool(r.reset_persistent) + "\n";
      out += "resetOem: " + Bool(r.reset_oem) + "\n";
    }
    if (r.last_rollback) {
      const Rollback& rb = *r.last_rollback;
      out += "lastRollback:\n";
      out += std::string("  slot: ") + SlotName(rb.slot) + "\n";
      out += "  image: " + Q(rb.image) + "\n";
      out += "  correlationID: " + Q(rb.correlation_id) + "\n";
      out += "  reason: " + Q(rb.reason) + "\n";
      out += "  time: " + Q(rb.time) + "\n";
      out += "  reported: " + Bool(rb.reported) + "\n";
    } else {
      out += "lastRollback: null\n";
    }
    RenderList(out, "failedCorrelationIDs", r.failed_correlation_ids);
  }
  if (!loaded.damaged.empty()) RenderList(out, "damagedCopies", loaded.damaged);
  return out;
}

}  // namespace elemental::slots
