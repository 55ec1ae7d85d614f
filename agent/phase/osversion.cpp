// OS version reconcile, as upstream phase/upgrade.go.
#include "phase/osversion.hpp"

#include "phase/common.hpp"

namespace elemental::phase {

Expected<api::PostAction> ReconcileOsVersion(AgentContext& ctx,
                                             const json::Value& os_version_management,
                                             bool needs_in_place_update) {
  auto reboot = ctx.plugin->ReconcileOsVersion(os_version_management);
  if (!reboot) {
    Error err = reboot.error().Wrap("reconciling osVersion");
    UpdateCondition(*ctx.client, ctx.hostname,
                    MakeCondition(api::kOsVersionReady, api::kStatusFalse, api::kSeverityError,
                                  api::kOsVersionReconciliationFailedReason, err.message()));
    return err;
  }
  if (*reboot) {
    // Only shown when rebooting; otherwise the phase would be transitory noise.
    SetPhase(*ctx.client, ctx.hostname, api::kPhaseOsVersionReconcile);
    UpdateCondition(
        *ctx.client, ctx.hostname,
        MakeCondition(api::kOsVersionReady, api::kStatusFalse, api::kSeverityInfo,
                      api::kWaitingForPostReconcileRebootReason,
                      "Waiting for Host to reboot after OS Version has been reconciled."));
    api::PostAction post;
    post.reboot = true;
    return post;
  }
  // No reboot: nothing is left for the agent to do for this version.
  if (auto st = UpdateConditionOrFail(
          *ctx.client, ctx.hostname,
          MakeCondition(api::kOsVersionReady, api::kStatusTrue, api::kSeverityInfo, "", ""));
      !st) {
    return st.error().Wrap("updating OSVersionReady=true condition");
  }
  if (needs_in_place_update) {
    api::HostPatchRequest patch;
    patch.in_place_update = api::kInPlaceUpdateDone;
    if (auto res = ctx.client->PatchHost(patch, ctx.hostname); !res) {
      return res.error().Wrap("updating InPlaceUpgrade done label");
    }
  }
  return api::PostAction{};
}

}  // namespace elemental::phase
