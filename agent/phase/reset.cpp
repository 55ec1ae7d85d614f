// Triggering and performing a host reset, as upstream phase/reset.go.
#include "phase/reset.hpp"

#include <optional>

#include "common/log.hpp"
#include "phase/common.hpp"

namespace elemental::phase {

Status TriggerReset(AgentContext& ctx) {
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseTriggeringReset);
  if (auto st = ctx.plugin->TriggerReset(); !st) {
    Error err = st.error().Wrap("triggering reset");
    UpdateCondition(*ctx.client, ctx.hostname,
                    MakeCondition(api::kResetReady, api::kStatusFalse, api::kSeverityError,
                                  api::kResetFailedReason, err.message()));
    return err;
  }
  UpdateCondition(*ctx.client, ctx.hostname,
                  MakeCondition(api::kResetReady, api::kStatusFalse, api::kSeverityInfo,
                                api::kWaitingForResetReason,
                                "Reset was triggered successfully. Waiting for host to reset."));
  return Status::Ok();
}

void Reset(AgentContext& ctx) {
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseResetting);

  std::optional<Error> failure;
  bool already_reset = false;
  for (;;) {
    if (failure) {
      log::Error("resetting: " + failure->message());
      UpdateCondition(*ctx.client, ctx.hostname,
                      MakeCondition(api::kResetReady, api::kStatusFalse, api::kSeverityError,
                                    api::kResetFailedReason, failure->message()));
      failure.reset();
      // The user may fix the reset instructions meanwhile.
      WaitReconciliation(ctx, "on reset error for reset instructions to mutate");
    }
    // Mark the host for deletion on every attempt (the server may count them);
    // a finalizer keeps it until we report `reset: true`.
    log::Debug("Marking ElementalHost for deletion: " + ctx.hostname);
    if (auto st = ctx.client->DeleteHost(ctx.hostname); !st) {
      failure = st.error().Wrap("marking host for deletion");
      continue;
    }
    if (!already_reset) {
      log::Debug("Fetching remote registration");
      auto registration = ctx.client->GetRegistration();
      if (!registration) {
        failure = registration.error().Wrap("getting remote Registration");
        continue;
      }
      log::Debug("Resetting...");
      if (auto st = ctx.plugin->Reset(registration->elemental.reset); !st) {
        failure = st.error().Wrap("resetting host");
        continue;
      }
      already_reset = true;
    }
    log::Debug("Patching ElementalHost as reset");
    api::HostPatchRequest patch;
    patch.reset = true;
    patch.condition = MakeCondition(api::kResetReady, api::kStatusTrue, api::kSeverityInfo, "", "");
    if (auto res = ctx.client->PatchHost(patch, ctx.hostname); !res) {
      failure = res.error().Wrap("patching host with reset successful");
      continue;
    }
    return;
  }
}

}  // namespace elemental::phase
