// The `run` reconcile loop (upstream cmd/agent/run.go), as a testable function.
#pragma once

#include <optional>

#include "phase/context.hpp"

namespace elemental::phase {

struct RunOptions {
  // Stop after this many loop passes (tests). Unset: run until a step ends
  // the program (production).
  std::optional<int> max_iterations;
};

enum class RunResult {
  kResetTriggered,  // reset was triggered; `elemental-agent reset` comes next
  kPostAction,      // a step asked for reboot/power off and it was handed to the plugin
  kStopped,         // RunOptions::max_iterations passes done
};

// Every pass: PATCH phase Running and read the host back (on error: log,
// wait, retry). Then, in this order:
//  1. needsReset → TriggerReset; success ends the loop (kResetTriggered),
//     failure waits and retries. Reset comes first so a host stuck in
//     another phase (e.g. a failed bootstrap) can always be reset.
//  2. !bootstrapped or inPlaceUpgrade == "pending" → ReconcileOsVersion; a
//     requested reboot ends the loop (kPostAction), an error waits.
//  3. bootstrapReady && !bootstrapped → Bootstrap; a requested reboot ends
//     the loop, an error waits.
// then waits agent.reconciliation on ctx.clock.
RunResult Run(AgentContext& ctx, const RunOptions& opts = {});

}  // namespace elemental::phase
