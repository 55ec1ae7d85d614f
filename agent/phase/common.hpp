// Helpers shared by the phase handlers (upstream phase/common.go): reporting
// the host phase and conditions, and waiting between attempts.
#pragma once

#include <string>

#include "api/client.hpp"
#include "api/types.hpp"
#include "common/expected.hpp"
#include "phase/context.hpp"

namespace elemental::phase {

// Builds a condition; last_transition_time is left empty (set by the server).
api::Condition MakeCondition(const std::string& type, const std::string& status,
                             const std::string& severity, const std::string& reason,
                             const std::string& message);

// Best effort: PATCHes `phase` and logs a failure. A failed phase report is
// expected to recover at the next one.
void SetPhase(api::Client& client, const std::string& hostname, const std::string& phase);

// Best effort: PATCHes the condition and logs a failure. Used for conditions
// that report a failure: if the failure was a network error, reporting it
// will likely fail too, and the controller reconciles True conditions anyway.
void UpdateCondition(api::Client& client, const std::string& hostname, api::Condition condition);

// PATCHes the condition; returns "reporting condition: <error>" on failure.
// Used for True conditions, which callers retry.
Status UpdateConditionOrFail(api::Client& client, const std::string& hostname,
                             api::Condition condition);

// Logs (debug) what we wait for and sleeps ctx.config.agent.reconciliation
// on ctx.clock.
void WaitReconciliation(AgentContext& ctx, const std::string& why);

}  // namespace elemental::phase
