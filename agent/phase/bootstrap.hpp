// CAPI bootstrap (upstream phase/bootstrap.go).
#pragma once

#include "api/types.hpp"
#include "common/expected.hpp"
#include "phase/context.hpp"

namespace elemental::phase {

// The CAPI sentinel file: present once the bootstrap config ran.
inline constexpr const char* kBootstrapSentinelFile = "/run/cluster-api/bootstrap-success.complete";

// Phase Bootstrapping. Usually runs twice per host:
//  - sentinel file (under ctx.root) missing: GET the bootstrap config, hand
//    {format, config} to the plugin, report BootstrapReady False/
//    WaitingForBootstrap and return {reboot: true} (cloud-init and ignition
//    run at boot);
//  - sentinel present (after that reboot): PATCH `bootstrapped: true` with
//    BootstrapReady True and return {} (before any later reboot: /run is a
//    tmpfs).
// On error reports BootstrapReady False/BootstrapFailed with the error.
Expected<api::PostAction> Bootstrap(AgentContext& ctx);

}  // namespace elemental::phase
