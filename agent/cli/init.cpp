// InitAgent and the checks it makes before the agent talks to anyone.
#include "cli/init.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "api/http_client.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "http/curl_transport.hpp"
#include "plugin/registry.hpp"

#ifndef ELEMENTAL_VERSION
#define ELEMENTAL_VERSION "0.0.0-dev"
#endif

namespace elemental::cli {
namespace {

constexpr const char* kInvalidScheme = "invalid scheme, use 'https' instead";

}  // namespace

Status CheckRegistrationUri(const std::string& uri, bool insecure_allow_http) {
  const size_t sep = uri.find("://");
  if (uri.empty()) return Error("registration URI is not set (registration.uri)");
  if (sep == std::string::npos || sep == 0) {
    return Error("parsing registration URI '" + uri + "': missing scheme");
  }
  std::string scheme = uri.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "http" && scheme != "https") {
    return Error("unknown scheme '" + uri.substr(0, sep) + "' in registration URI '" + uri +
                 "': " + kInvalidScheme);
  }
  if (scheme == "http" && !insecure_allow_http) {
    return Error("using '" + uri.substr(0, sep) + "' scheme in registration URI '" + uri +
                 "': " + kInvalidScheme + " (or set agent.insecureAllowHttp: true)");
  }
  return Status::Ok();
}

Expected<std::string> LoadCaCert(const std::string& ca_cert) {
  const size_t first = ca_cert.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  if (ca_cert.compare(first, 10, "-----BEGIN") == 0) return ca_cert;
  return fs::ReadFile(ca_cert, {.what = "CACert file"});
}

Expected<http::TransportOptions> TransportOptionsFromConfig(const config::Config& cfg) {
  if (auto st = CheckRegistrationUri(cfg.registration.uri, cfg.agent.insecure_allow_http); !st) {
    return st.error().Wrap("initializing Elemental API client");
  }
  auto ca = LoadCaCert(cfg.registration.ca_cert);
  if (!ca) {
    return ca.error().Wrap("reading CA Cert from configuration").Wrap(
        "initializing Elemental API client");
  }
  http::TransportOptions opts;
  opts.tls.ca_pem = std::move(*ca);
  opts.tls.use_system_cert_pool = cfg.agent.use_system_cert_pool;
  opts.tls.insecure_skip_verify = cfg.agent.insecure_skip_tls_verify;
  return opts;
}

Status CreateDirectory(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Error("path exists but it's not a directory");
    return Status::Ok();
  }
  if (errno != ENOENT) return ErrnoError("reading path '" + path + "'", errno);
  log::Debug("Directory '" + path + "' does not exist. Creating now.");
  // stat("") is ENOENT too; there is nothing to create (an empty workDir is
  // reported later, by the plugin and the identity).
  if (path.empty()) return Status::Ok();
  return fs::MkdirAll(path, 0700);
}

Expected<std::unique_ptr<Agent>> InitAgent(const std::string& config_path, bool debug_flag) {
  auto conf = config::Load(config_path);
  if (!conf) {
    Error err = conf.error();
    if (err.message().find(config_path) == std::string::npos) err = err.Wrap(config_path);
    return err.Wrap("reading config");
  }
  log::Info("Using config file: " + config_path);
  log::AddSecret(conf->registration.token);
  if (debug_flag || conf->agent.debug) {
    log::EnableDebug();
    log::Debug("Debug logging enabled");
  }
  // Checked before anything is written to disk.
  auto transport_opts = TransportOptionsFromConfig(*conf);
  if (!transport_opts) return transport_opts.error();

  auto agent = std::make_unique<Agent>();
  const std::string& work_dir = conf->agent.work_dir;
  if (auto st = CreateDirectory(work_dir); !st) {
    return st.error().Wrap("creating work directory '" + work_dir + "'");
  }

  log::Info("Loading Plugin: " + conf->agent.os_plugin);
  auto plugin = plugin::LoadPlugin(conf->agent.os_plugin);
  if (!plugin) return plugin.error().Wrap("loading plugin '" + conf->agent.os_plugin + "'");
  agent->plugin = std::move(*plugin);
  log::Info("Initializing Plugin");
  plugin::PluginContext pctx;
  pctx.work_dir = work_dir;
  pctx.config_path = config_path;
  pctx.debug = conf->agent.debug || debug_flag;
  if (auto st = agent->plugin->Init(pctx); !st) return st.error().Wrap("initializing plugin");

  auto id = identity::Identity::LoadOrCreate(work_dir);
  if (!id) return id.error().Wrap("initializing identity");
  agent->identity = std::make_unique<identity::Identity>(std::move(*id));
  log::AddSecret(agent->identity->MarshalPrivatePem());

  log::Debug("Initializing Client");
  if (transport_opts->tls.insecure_skip_verify) {
    log::Warn("TLS certificate verification is disabled (agent.insecureSkipTlsVerify)");
  }
  auto transport = http::NewCurlTransport(*transport_opts);
  if (!transport) {
    return transport.error().Wrap("configuring TLS client").Wrap(
        "initializing Elemental API client");
  }
  agent->transport = std::move(*transport);
  api::ClientOptions copts;
  copts.registration_uri = conf->registration.uri;
  copts.registration_token = conf->registration.token;
  copts.version = ELEMENTAL_VERSION;
  agent->client = api::NewHttpClient(copts, *agent->transport, *agent->identity, SystemClock());

  auto hostname = agent->plugin->GetHostname();
  if (!hostname) return hostname.error().Wrap("getting current hostname");

  phase::AgentContext& ctx = agent->ctx;
  ctx.config = std::move(*conf);
  ctx.config_path = config_path;
  ctx.hostname = std::move(*hostname);
  ctx.client = agent->client.get();
  ctx.plugin = agent->plugin.get();
  ctx.identity = agent->identity.get();
  ctx.clock = &SystemClock();
  ctx.root = "/";
  return std::move(agent);
}

}  // namespace elemental::cli
