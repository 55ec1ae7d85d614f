// The normal reconcile loop of an installed host, as upstream cmd/agent/run.go.
#include "phase/run.hpp"

#include "common/log.hpp"
#include "phase/bootstrap.hpp"
#include "phase/common.hpp"
#include "phase/osversion.hpp"
#include "phase/post.hpp"
#include "phase/reset.hpp"

namespace elemental::phase {

RunResult Run(AgentContext& ctx, const RunOptions& opts) {
  if (auto st = ctx.plugin->OnRunStart(); !st) {
    log::Error("preparing the system: " + st.error().message());
  }
  bool api_reached = false;
  log::Info("Entering reconciliation loop");
  for (int pass = 0; !opts.max_iterations || pass < *opts.max_iterations; ++pass) {
    log::Debug("Patching host");
    api::HostPatchRequest running;
    running.phase = api::kPhaseRunning;
    auto host = ctx.client->PatchHost(running, ctx.hostname);
    if (!host) {
      log::Error("Could not patch ElementalHost during normal reconcile: " +
                 host.error().message());
      WaitReconciliation(ctx, "");
      continue;
    }
    if (!api_reached) {
      // Retried on the next pass when it fails: a try slot that is never
      // marked good would be rolled back at the next boot.
      if (auto st = ctx.plugin->OnApiReached(); st) {
        api_reached = true;
      } else {
        log::Error("recording a successful boot: " + st.error().message());
      }
    }

    // Reset first: it must stay possible for hosts stuck in other phases.
    if (host->needs_reset) {
      log::Info("Triggering reset");
      if (auto st = TriggerReset(ctx); !st) {
        log::Error("handling reset trigger: " + st.error().message());
        WaitReconciliation(ctx, "");
        continue;
      }
      log::Info("Reset was triggered successfully. Exiting program.");
      return RunResult::kResetTriggered;
    }

    const bool needs_in_place_update = host->in_place_upgrade == api::kInPlaceUpdatePending;
    if (!host->bootstrapped || needs_in_place_update) {
      log::Info("Reconciling OS Version");
      auto post = ReconcileOsVersion(ctx, host->os_version_management, needs_in_place_update);
      if (!post) {
        log::Error("handling OS reconciliation: " + post.error().message());
        WaitReconciliation(ctx, "");
        continue;
      }
      if (HandlePost(*ctx.plugin, *post)) return RunResult::kPostAction;
    }

    if (host->bootstrap_ready && !host->bootstrapped) {
      log::Info("Handling bootstrap application");
      auto post = Bootstrap(ctx);
      if (!post) {
        log::Error("handling bootstrap: " + post.error().message());
        WaitReconciliation(ctx, "");
        continue;
      }
      if (HandlePost(*ctx.plugin, *post)) return RunResult::kPostAction;
    }

    WaitReconciliation(ctx, "");
  }
  return RunResult::kStopped;
}

}  // namespace elemental::phase
