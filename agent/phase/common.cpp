// Phase and condition reporting shared by the handlers (upstream phase/common.go).
#include "phase/common.hpp"

#include "common/log.hpp"
#include "config/config.hpp"

namespace elemental::phase {

api::Condition MakeCondition(const std::string& type, const std::string& status,
                             const std::string& severity, const std::string& reason,
                             const std::string& message) {
  api::Condition c;
  c.type = type;
  c.status = status;
  c.severity = severity;
  c.reason = reason;
  // Condition messages leave the host: scrub registered secrets, as logs do.
  c.message = log::Scrub(message);
  return c;
}

void SetPhase(api::Client& client, const std::string& hostname, const std::string& phase) {
  api::HostPatchRequest patch;
  patch.phase = phase;
  auto res = client.PatchHost(patch, hostname);
  if (!res) log::Error("Could not report phase: " + phase + ": " + res.error().message());
}

void UpdateCondition(api::Client& client, const std::string& hostname, api::Condition condition) {
  api::HostPatchRequest patch;
  std::string type = condition.type;
  std::string reason = condition.reason;
  patch.condition = std::move(condition);
  auto res = client.PatchHost(patch, hostname);
  if (!res) {
    log::Error("Could not report condition (conditionType " + type + ", conditionReason " +
               reason + "): " + res.error().message());
  }
}

Status UpdateConditionOrFail(api::Client& client, const std::string& hostname,
                             api::Condition condition) {
  api::HostPatchRequest patch;
  patch.condition = std::move(condition);
  auto res = client.PatchHost(patch, hostname);
  if (!res) return res.error().Wrap("reporting condition");
  return Status::Ok();
}

void WaitReconciliation(AgentContext& ctx, const std::string& why) {
  const auto period = ctx.config.agent.reconciliation;
  if (why.empty()) {
    log::Debug("Waiting " + config::FormatGoDuration(period) + "...");
  } else {
    log::Debug("Waiting '" + config::FormatGoDuration(period) + "' " + why);
  }
  ctx.clock->Sleep(period);
}

}  // namespace elemental::phase
