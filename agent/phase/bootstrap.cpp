// Applying the CAPI bootstrap config, as upstream phase/bootstrap.go.
#include "phase/bootstrap.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "phase/common.hpp"

namespace elemental::phase {
namespace {

Expected<api::PostAction> DoBootstrap(AgentContext& ctx) {
  const std::string sentinel = fs::UnderRoot(ctx.root, kBootstrapSentinelFile);
  struct stat st {};
  if (::stat(sentinel.c_str(), &st) == 0) {
    log::Info("Found file: " + std::string(kBootstrapSentinelFile) + ". System is bootstrapped.");
    api::HostPatchRequest patch;
    patch.bootstrapped = true;
    patch.condition =
        MakeCondition(api::kBootstrapReady, api::kStatusTrue, api::kSeverityInfo, "", "");
    if (auto res = ctx.client->PatchHost(patch, ctx.hostname); !res) {
      return res.error().Wrap("patching bootstrapped status").Wrap("updating bootstrapped status");
    }
    log::Info("Bootstrap config applied successfully");
    return api::PostAction{};
  }
  const int err = errno;
  if (err != ENOENT) {
    return ErrnoError("reading file '" + std::string(kBootstrapSentinelFile) + "'", err);
  }

  log::Debug("Fetching bootstrap config");
  auto bootstrap = ctx.client->GetBootstrap(ctx.hostname);
  if (!bootstrap) return bootstrap.error().Wrap("fetching bootstrap config");
  log::Info("Applying bootstrap config");
  if (auto s = ctx.plugin->Bootstrap(bootstrap->format, bootstrap->config); !s) {
    return s.error().Wrap("applying bootstrap config");
  }
  UpdateCondition(*ctx.client, ctx.hostname,
                  MakeCondition(api::kBootstrapReady, api::kStatusFalse, api::kSeverityInfo,
                                api::kWaitingForBootstrapReason,
                                "Waiting for bootstrap to be executed"));
  log::Info("System is rebooting to execute the bootstrap configuration...");
  api::PostAction post;
  post.reboot = true;
  return post;
}

}  // namespace

Expected<api::PostAction> Bootstrap(AgentContext& ctx) {
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseBootstrapping);
  auto post = DoBootstrap(ctx);
  if (!post) {
    UpdateCondition(*ctx.client, ctx.hostname,
                    MakeCondition(api::kBootstrapReady, api::kStatusFalse, api::kSeverityError,
                                  api::kBootstrapFailedReason, post.error().message()));
  }
  return post;
}

}  // namespace elemental::phase
