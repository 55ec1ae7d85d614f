// Reset (upstream phase/reset.go): trigger from `run`, perform from `reset`.
#pragma once

#include "common/expected.hpp"
#include "phase/context.hpp"

namespace elemental::phase {

// Phase Triggering Reset, plugin TriggerReset. On error reports ResetReady
// False/Error/ResetFailed and returns "triggering reset: ..."; on success
// reports ResetReady False/WaitingForReset. The agent exits afterwards.
Status TriggerReset(AgentContext& ctx);

// Phase Resetting, then retries forever (every agent.reconciliation): DELETE
// the host (every attempt), GET registration and plugin Reset with
// `elemental.reset` (until it succeeded once), PATCH `reset: true` with
// ResetReady True. Failed attempts report ResetReady False/Error/ResetFailed
// with the error. The post-reset action is the caller's (see post.hpp).
void Reset(AgentContext& ctx);

}  // namespace elemental::phase
