// Building a ready-to-run agent from the config file (upstream
// cmd/agent/root.go InitAgent): config, work directory, OS plugin, identity,
// the HTTP transport and API client, and the current host name.
#pragma once

#include <memory>
#include <string>

#include "api/client.hpp"
#include "common/expected.hpp"
#include "config/config.hpp"
#include "http/http.hpp"
#include "identity/identity.hpp"
#include "phase/context.hpp"
#include "plugin/plugin.hpp"

namespace elemental::cli {

// Everything the phase handlers need, owned; `ctx` points into the rest.
struct Agent {
  std::unique_ptr<plugin::OsPlugin> plugin;
  std::unique_ptr<identity::Identity> identity;
  std::unique_ptr<http::Transport> transport;
  std::unique_ptr<api::Client> client;
  phase::AgentContext ctx;
};

// Loads the config at `config_path` ("reading config: ..."), enables debug
// logging when `debug_flag` or agent.debug, checks the registration URI and
// CA cert, creates agent.workDir (0700), loads and initializes the plugin,
// loads or creates the identity, builds the API client and asks the plugin
// for the current host name. Errors read as a chain, e.g.
// "initializing Elemental API client: using 'http' scheme ...".
Expected<std::unique_ptr<Agent>> InitAgent(const std::string& config_path, bool debug_flag);

// Only http and https; http only with `insecure_allow_http`. The error names
// the URI and the setting that would allow it.
Status CheckRegistrationUri(const std::string& uri, bool insecure_allow_http);

// registration.caCert as PEM text: returned as is when it is PEM ("-----BEGIN"
// after leading blanks) or empty; otherwise read as a file path, as upstream
// tls.GetCACert ("reading CACert file '<path>': ...").
Expected<std::string> LoadCaCert(const std::string& ca_cert);

// The TLS/transport options from the config, after the checks above.
// Errors: "initializing Elemental API client: ...".
Expected<http::TransportOptions> TransportOptionsFromConfig(const config::Config& cfg);

// Creates `path` and missing parents with mode 0700 when it does not exist;
// fails when it exists and is not a directory (upstream utils.CreateDirectory).
Status CreateDirectory(const std::string& path);

}  // namespace elemental::cli
