// The phase handlers: what the agent does in each host phase.
//
// This folder mirrors upstream's internal/agent/phase: register, install,
// bootstrap, OS version reconcile, reset, and the `run` reconcile loop. The
// handlers speak to the management cluster only through api::Client and to
// the host only through plugin::OsPlugin; time goes through Clock and the
// filesystem root is a parameter, so every path can be driven by fakes.
//
// AgentContext is what every handler works on (upstream context.AgentContext).
#pragma once

#include <string>

#include "api/client.hpp"
#include "common/clock.hpp"
#include "config/config.hpp"
#include "identity/identity.hpp"
#include "plugin/plugin.hpp"

namespace elemental::phase {

struct AgentContext {
  // The agent config in use. Register() replaces it with the config built
  // from the registration response (config::FromRegistration).
  config::Config config;
  // The --config path; FinalizeRegistration() installs the new config there.
  std::string config_path;
  // This host's name. Register() sets it to the registered name.
  std::string hostname;
  // Not owned; must outlive the context. Never null when a handler runs.
  api::Client* client = nullptr;
  plugin::OsPlugin* plugin = nullptr;
  identity::Identity* identity = nullptr;
  Clock* clock = nullptr;
  // Filesystem root the agent reads host files under (the bootstrap
  // sentinel, joined with fs::UnderRoot). "/" in production; tests pass a
  // temp dir.
  std::string root = "/";
};

}  // namespace elemental::phase
