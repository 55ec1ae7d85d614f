// Registration (upstream phase/register.go): create the ElementalHost, then
// finalize it on this host (hostname, agent config, private key).
#pragma once

#include "common/expected.hpp"
#include "phase/context.hpp"

namespace elemental::phase {

// Registers this host, retrying forever (every agent.reconciliation) until
// it succeeds: GET registration, pick a hostname, PATCH with an empty body
// (success means the host already exists with our key: skip creation), else
// POST the new host. Then sets ctx.hostname to the registered name and
// ctx.config to config::FromRegistration(registration), and reports phase
// Registering (after the fact: there is no remote host before).
Status Register(AgentContext& ctx);

// Phase Finalizing Registration: installs the hostname, the agent config
// (at ctx.config_path, 0640) and the private key (<workDir>/private.key,
// 0640) through the plugin. On failure reports RegistrationReady False and
// returns "finalizing registration: ...". Then reports RegistrationReady
// True, retrying forever, and InstallationReady False/WaitingForInstallation.
Status FinalizeRegistration(AgentContext& ctx);

}  // namespace elemental::phase
