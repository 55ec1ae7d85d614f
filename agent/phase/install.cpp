// The install loop, as upstream phase/install.go.
#include "phase/install.hpp"

#include <optional>

#include "common/log.hpp"
#include "phase/common.hpp"

namespace elemental::phase {

void Install(AgentContext& ctx) {
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseInstalling);

  bool cloud_config_applied = false;
  bool installed = false;
  std::optional<Error> failure;
  std::string failure_reason = api::kInstallationFailedReason;
  for (;;) {
    if (failure) {
      log::Error("installing host: " + failure->message());
      UpdateCondition(*ctx.client, ctx.hostname,
                      MakeCondition(api::kInstallationReady, api::kStatusFalse,
                                    api::kSeverityError, failure_reason, failure->message()));
      failure.reset();
      failure_reason = api::kInstallationFailedReason;
      // The user may fix the installation instructions meanwhile.
      WaitReconciliation(ctx, "on installation error for installation instructions to mutate");
    }

    std::optional<api::RegistrationResponse> registration;
    if (!cloud_config_applied || !installed) {
      log::Debug("Fetching remote registration");
      auto reg = ctx.client->GetRegistration();
      if (!reg) {
        failure = reg.error().Wrap("getting remote Registration");
        continue;
      }
      registration = std::move(*reg);
    }
    if (!cloud_config_applied) {
      if (auto st = ctx.plugin->InstallCloudInit(registration->cloud_config); !st) {
        failure = st.error().Wrap("installing cloud config");
        failure_reason = api::kCloudConfigInstallationFailedReason;
        continue;
      }
      cloud_config_applied = true;
    }
    if (!installed) {
      if (auto st = ctx.plugin->Install(registration->elemental.install); !st) {
        failure = st.error().Wrap("installing host");
        continue;
      }
      installed = true;
    }
    api::HostPatchRequest patch;
    patch.installed = true;
    patch.condition =
        MakeCondition(api::kInstallationReady, api::kStatusTrue, api::kSeverityInfo, "", "");
    if (auto res = ctx.client->PatchHost(patch, ctx.hostname); !res) {
      failure = res.error().Wrap("patching host with installation successful");
      continue;
    }
    return;
  }
}

}  // namespace elemental::phase
