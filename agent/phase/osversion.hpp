// OS version reconcile (upstream phase/upgrade.go).
#pragma once

#include "api/types.hpp"
#include "common/expected.hpp"
#include "common/json.hpp"
#include "phase/context.hpp"

namespace elemental::phase {

// Hands `os_version_management` (the host's osVersionManagement, null when
// unset) to the plugin.
//  - plugin error: OSVersionReady False/Error/OSVersionReconciliationFailed,
//    returns "reconciling osVersion: ...";
//  - reboot needed: phase Reconciling OS Version, OSVersionReady False/
//    WaitingForPostReconcileReboot, returns {reboot: true};
//  - otherwise OSVersionReady True (an error: "updating OSVersionReady=true
//    condition: ...") and, when `needs_in_place_update`, PATCH
//    inPlaceUpdate "done" ("updating InPlaceUpgrade done label: ...").
Expected<api::PostAction> ReconcileOsVersion(AgentContext& ctx,
                                             const json::Value& os_version_management,
                                             bool needs_in_place_update);

}  // namespace elemental::phase
