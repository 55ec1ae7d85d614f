// Registration and its finalization, as upstream phase/register.go.
#include "phase/register.hpp"

#include <optional>

#include "common/log.hpp"
#include "config/config.hpp"
#include "phase/common.hpp"
#include "phase/hostname.hpp"

namespace elemental::phase {
namespace {

struct Registered {
  std::string hostname;
  api::RegistrationResponse registration;
};

// Tries forever to fetch the registration and register a new ElementalHost.
Registered RegistrationLoop(AgentContext& ctx, const std::string& pub_key) {
  bool registration_error = false;
  for (;;) {
    if (registration_error) WaitReconciliation(ctx, "on registration error to recover");
    registration_error = true;

    log::Debug("Fetching remote registration");
    auto registration = ctx.client->GetRegistration();
    if (!registration) {
      log::Error("getting remote Registration: " + registration.error().message());
      continue;
    }
    // Pick a new hostname on every attempt: a random name may (rarely)
    // collide with an existing host, so a failed creation picks another.
    auto hostname = FormatHostname(registration->elemental.agent.hostname, *ctx.plugin);
    if (!hostname) {
      log::Error("picking new hostname: " + hostname.error().message());
      continue;
    }
    log::Debug("Selected hostname: " + *hostname);
    // An empty PATCH that authenticates means this host already exists with
    // our key: a previous `register` got this far and failed later on.
    if (ctx.client->PatchHost(api::HostPatchRequest{}, *hostname)) {
      log::Info("Found existing ElementalHost: " + *hostname + ". Skipping new registration.");
      return Registered{*hostname, std::move(*registration)};
    }
    log::Debug("Registering new host: " + *hostname);
    api::HostCreateRequest create;
    create.name = *hostname;
    create.annotations = registration->host_annotations;
    create.labels = registration->host_labels;
    create.pub_key = pub_key;
    if (auto st = ctx.client->CreateHost(create); !st) {
      log::Error("registering new ElementalHost: " + st.error().message());
      continue;
    }
    return Registered{*hostname, std::move(*registration)};
  }
}

// Persists what the installed system needs to be this host.
Status Finalize(AgentContext& ctx) {
  const std::string& hostname = ctx.hostname;
  if (auto st = ctx.plugin->InstallHostname(hostname); !st) {
    return st.error().Wrap("persisting hostname '" + hostname + "'");
  }
  const std::string config_yaml = config::ToYaml(ctx.config);
  if (auto st = ctx.plugin->InstallFile(config_yaml, ctx.config_path, 0640, 0, 0); !st) {
    return st.error().Wrap("persisting agent config file '" + ctx.config_path + "'");
  }
  const std::string key_path =
      ctx.config.agent.work_dir + "/" + std::string(identity::kPrivateKeyFile);
  if (auto st = ctx.plugin->InstallFile(ctx.identity->MarshalPrivatePem(), key_path, 0640, 0, 0);
      !st) {
    return st.error().Wrap("persisting private key file '" + key_path + "'");
  }
  return Status::Ok();
}

}  // namespace

Status Register(AgentContext& ctx) {
  const std::string pub_key = ctx.identity->MarshalPublicPem();
  Registered reg = RegistrationLoop(ctx, pub_key);
  log::Info("Successfully registered as '" + reg.hostname + "'");
  ctx.hostname = reg.hostname;
  ctx.config = config::FromRegistration(reg.registration);
  log::AddSecret(ctx.config.registration.token);
  // The phase is set after the fact: before, there was no host to patch.
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseRegistering);
  return Status::Ok();
}

Status FinalizeRegistration(AgentContext& ctx) {
  SetPhase(*ctx.client, ctx.hostname, api::kPhaseFinalizingRegistration);
  if (auto st = Finalize(ctx); !st) {
    UpdateCondition(*ctx.client, ctx.hostname,
                    MakeCondition(api::kRegistrationReady, api::kStatusFalse, api::kSeverityError,
                                  api::kRegistrationFailedReason, st.error().message()));
    return st.error().Wrap("finalizing registration");
  }
  // Retry until reported: if `register` exited here, running it again would
  // register a second host with a new identity (the first one only lived in
  // memory, the system is not installed yet). A network error is recoverable.
  for (;;) {
    auto st = UpdateConditionOrFail(
        *ctx.client, ctx.hostname,
        MakeCondition(api::kRegistrationReady, api::kStatusTrue, api::kSeverityInfo, "", ""));
    if (st) break;
    log::Error("updating RegistrationReady True condition: " + st.error().message());
    WaitReconciliation(ctx, "on update condition error to recover");
  }
  UpdateCondition(*ctx.client, ctx.hostname,
                  MakeCondition(api::kInstallationReady, api::kStatusFalse, api::kSeverityInfo,
                                api::kWaitingForInstallationReason,
                                "Host is registered successfully. Waiting for installation."));
  return Status::Ok();
}

}  // namespace elemental::phase
