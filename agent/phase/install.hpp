// Installation (upstream phase/install.go).
#pragma once

#include "phase/context.hpp"

namespace elemental::phase {

// Phase Installing, then retries forever (every agent.reconciliation) until
// the host is installed: GET registration, plugin InstallCloudInit with
// `cloudConfig` (once it succeeded, not again), plugin Install with
// `elemental.install` (likewise once), PATCH `installed: true` with
// InstallationReady True. Each failed attempt reports InstallationReady
// False/Error with reason CloudConfigInstallationFailed or
// InstallationFailed and the error as message. The post-install action is
// the caller's (see post.hpp).
void Install(AgentContext& ctx);

}  // namespace elemental::phase
