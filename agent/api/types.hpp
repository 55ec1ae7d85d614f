// The Elemental API's data types, with upstream's JSON field names.
//
// See shared/spec/elemental-openapi.yaml. Schemaless fields (install, reset,
// cloudConfig, osVersionManagement) stay json::Value. Durations are
// std::chrono::nanoseconds; on the wire they are integer nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::api {

using StringMap = std::map<std::string, std::string>;

// Phases (ElementalHost.status.phase), exact strings.
inline constexpr const char* kPhaseRegistering = "Registering";
inline constexpr const char* kPhaseFinalizingRegistration = "Finalizing Registration";
inline constexpr const char* kPhaseInstalling = "Installing";
inline constexpr const char* kPhaseBootstrapping = "Bootstrapping";
inline constexpr const char* kPhaseRunning = "Running";
inline constexpr const char* kPhaseTriggeringReset = "Triggering Reset";
inline constexpr const char* kPhaseResetting = "Resetting";
inline constexpr const char* kPhaseOsVersionReconcile = "Reconciling OS Version";

// Condition types.
inline constexpr const char* kRegistrationReady = "RegistrationReady";
inline constexpr const char* kInstallationReady = "InstallationReady";
inline constexpr const char* kBootstrapReady = "BootstrapReady";
inline constexpr const char* kResetReady = "ResetReady";
inline constexpr const char* kOsVersionReady = "OSVersionReady";

// Condition reasons.
inline constexpr const char* kRegistrationFailedReason = "RegistrationFailed";
inline constexpr const char* kWaitingForInstallationReason = "WaitingForInstallation";
inline constexpr const char* kCloudConfigInstallationFailedReason = "CloudConfigInstallationFailed";
inline constexpr const char* kInstallationFailedReason = "InstallationFailed";
inline constexpr const char* kWaitingForBootstrapReason = "WaitingForBootstrap";
inline constexpr const char* kBootstrapFailedReason = "BootstrapFailed";
inline constexpr const char* kWaitingForResetReason = "WaitingForReset";
inline constexpr const char* kResetFailedReason = "ResetFailed";
inline constexpr const char* kOsVersionReconciliationFailedReason = "OSVersionReconciliationFailed";
inline constexpr const char* kWaitingForPostReconcileRebootReason = "WaitingForPostReconcileReboot";

// Condition status and severity strings.
inline constexpr const char* kStatusTrue = "True";
inline constexpr const char* kStatusFalse = "False";
inline constexpr const char* kSeverityError = "Error";
inline constexpr const char* kSeverityWarning = "Warning";
inline constexpr const char* kSeverityInfo = "Info";

// Host labels kept by the server.
inline constexpr const char* kLabelInstalled = "elementalhost.infrastructure.cluster.x-k8s.io/installed";
inline constexpr const char* kLabelBootstrapped = "elementalhost.infrastructure.cluster.x-k8s.io/bootstrapped";
inline constexpr const char* kLabelNeedsReset = "elementalhost.infrastructure.cluster.x-k8s.io/needs-reset";
inline constexpr const char* kLabelReset = "elementalhost.infrastructure.cluster.x-k8s.io/reset";
inline constexpr const char* kLabelInPlaceUpdate = "elementalhost.infrastructure.cluster.x-k8s.io/in-place-update";
inline constexpr const char* kInPlaceUpdatePending = "pending";
inline constexpr const char* kInPlaceUpdateDone = "done";

struct Condition {
  std::string type;
  std::string status;    // "True" / "False"
  std::string severity;  // "Error" / "Warning" / "Info" (upstream sends "Info" on True)
  std::string reason;
  std::string message;
  std::string last_transition_time;  // RFC 3339, may be empty
};

// Registration (the `registration:` block of the agent config).
struct Registration {
  std::string uri;
  std::string ca_cert;  // PEM text (or a file path, as upstream accepts)
  std::string token;
  std::chrono::nanoseconds token_duration{0};
};

struct PostAction {
  bool power_off = false;
  bool reboot = false;
};

struct Hostname {
  bool use_existing = false;
  std::string prefix;
};

// Agent (the `agent:` block of the agent config). Defaults are applied by the
// config loader, not here: a zero value means "not set".
struct Agent {
  std::string work_dir;
  Hostname hostname;
  bool no_smbios = false;
  bool debug = false;
  std::string os_plugin;
  std::chrono::nanoseconds reconciliation{0};
  bool insecure_allow_http = false;
  bool insecure_skip_tls_verify = false;
  bool use_system_cert_pool = false;
  PostAction post_install;
  PostAction post_reset;
};

struct Elemental {
  json::Value install;  // schemaless, null when absent
  json::Value reset;    // schemaless, null when absent
  Registration registration;
  Agent agent;
};

struct RegistrationResponse {
  StringMap host_labels;
  StringMap host_annotations;
  json::Value cloud_config;  // schemaless, null when absent
  Elemental elemental;
};

struct HostCreateRequest {
  std::string name;
  StringMap annotations;
  StringMap labels;
  std::string pub_key;  // PEM "PUBLIC KEY"
};

// Every field is omitted from the JSON unless set (maps: unless non-empty).
struct HostPatchRequest {
  StringMap annotations;
  StringMap labels;
  std::optional<bool> bootstrapped;
  std::optional<bool> installed;
  std::optional<bool> reset;
  std::optional<std::string> in_place_update;
  std::optional<Condition> condition;
  std::optional<std::string> phase;
};

struct HostResponse {
  std::string name;
  StringMap annotations;
  StringMap labels;
  bool bootstrap_ready = false;
  bool bootstrapped = false;
  bool installed = false;
  bool needs_reset = false;
  std::string in_place_upgrade;       // "inPlaceUpgrade" in the response
  json::Value os_version_management;  // object or null
};

struct BootstrapResponse {
  std::string format;
  std::string config;
};

// JSON encoding/decoding. Decoders reject wrong types with an Error naming
// the field; unknown fields are ignored.
json::Value ToJson(const HostCreateRequest& r);
json::Value ToJson(const HostPatchRequest& r);
json::Value ToJson(const Condition& c);
json::Value ToJson(const Registration& r);
json::Value ToJson(const Agent& a);
Expected<Condition> ConditionFromJson(const json::Value& v);
Expected<Registration> RegistrationFromJson(const json::Value& v);
Expected<Agent> AgentFromJson(const json::Value& v);
Expected<RegistrationResponse> RegistrationResponseFromJson(const json::Value& v);
Expected<HostResponse> HostResponseFromJson(const json::Value& v);
Expected<BootstrapResponse> BootstrapResponseFromJson(const json::Value& v);

}  // namespace elemental::api
