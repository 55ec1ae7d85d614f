// JSON encoding and decoding of the Elemental API types.
//
// Encoders follow Go's encoding/json with upstream's struct tags: fields
// tagged `omitempty` are left out when empty, nested structs (hostname,
// postInstall, postReset) are always written. Decoders are strict about
// types and lenient about presence: a missing or null field keeps its zero
// value, unknown fields are ignored, and a wrong type is an Error naming the
// whole field path, e.g.
//   "registration response: config.elemental.agent.reconciliation: expected integer, got string"
#include "api/types.hpp"

#include <cmath>

namespace elemental::api {
namespace {

// Decoding context: what is being decoded ("host response") and helpers that
// produce errors with the field path.
class Decoder {
 public:
  explicit Decoder(std::string what) : what_(std::move(what)) {}

  Error TypeError(const std::string& path, const char* want, const json::Value& got) const {
    std::string where = path.empty() ? "" : path + ": ";
    return Error(what_ + ": " + where + "expected " + want + ", got " + json::TypeName(got.type()));
  }

  // Checks that `v` is an object (null is accepted only when allow_null).
  Status Object(const json::Value& v, const std::string& path, bool allow_null) const {
    if (v.is_object() || (allow_null && v.is_null())) return Status::Ok();
    return TypeError(path, "object", v);
  }

  Status Str(const json::Value& obj, const std::string& path, const std::string& key,
             std::string& out) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_string()) return TypeError(Join(path, key), "string", *v);
    out = v->as_string();
    return Status::Ok();
  }

  Status Bool(const json::Value& obj, const std::string& path, const std::string& key,
              bool& out) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_bool()) return TypeError(Join(path, key), "bool", *v);
    out = v->as_bool();
    return Status::Ok();
  }

  // Go's time.Duration in JSON: an integer number of nanoseconds.
  Status Duration(const json::Value& obj, const std::string& path, const std::string& key,
                  std::chrono::nanoseconds& out) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    if (!v->is_number()) return TypeError(Join(path, key), "integer", *v);
    double d = v->as_number();
    if (std::floor(d) != d || std::fabs(d) > 9.2e18) {
      return Error(what_ + ": " + Join(path, key) + ": expected integer nanoseconds, got " +
                   json::Value(d).Dump());
    }
    out = std::chrono::nanoseconds(static_cast<int64_t>(d));
    return Status::Ok();
  }

  Status StrMap(const json::Value& obj, const std::string& path, const std::string& key,
                StringMap& out) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) return Status::Ok();
    std::string p = Join(path, key);
    if (!v->is_object()) return TypeError(p, "object of strings", *v);
    StringMap m;
    for (const auto& [k, e] : v->as_object()) {
      if (!e.is_string()) return TypeError(p + "." + k, "string", e);
      m[k] = e.as_string();
    }
    out = std::move(m);
    return Status::Ok();
  }

  // A schemaless map (Go map[string]runtime.RawExtension): an object or null.
  Status RawMap(const json::Value& obj, const std::string& path, const std::string& key,
                json::Value& out) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) {
      out = json::Value();
      return Status::Ok();
    }
    if (!v->is_object()) return TypeError(Join(path, key), "object", *v);
    out = *v;
    return Status::Ok();
  }

  // The member `key` as an object (or nullptr when missing/null).
  Expected<const json::Value*> Child(const json::Value& obj, const std::string& path,
                                     const std::string& key) const {
    const json::Value* v = obj.Find(key);
    if (v == nullptr || v->is_null()) return static_cast<const json::Value*>(nullptr);
    if (!v->is_object()) return TypeError(Join(path, key), "object", *v);
    return v;
  }

  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

 private:
  std::string what_;
};

#define ELEMENTAL_TRY(expr)            \
  do {                                 \
    if (Status st_ = (expr); !st_) {   \
      return st_.error();              \
    }                                  \
  } while (0)

Status DecodeCondition(const Decoder& d, const json::Value& v, const std::string& path,
                       Condition& out) {
  ELEMENTAL_TRY(d.Object(v, path, false));
  ELEMENTAL_TRY(d.Str(v, path, "type", out.type));
  ELEMENTAL_TRY(d.Str(v, path, "status", out.status));
  ELEMENTAL_TRY(d.Str(v, path, "severity", out.severity));
  ELEMENTAL_TRY(d.Str(v, path, "reason", out.reason));
  ELEMENTAL_TRY(d.Str(v, path, "message", out.message));
  ELEMENTAL_TRY(d.Str(v, path, "lastTransitionTime", out.last_transition_time));
  return Status::Ok();
}

Status DecodeRegistration(const Decoder& d, const json::Value& v, const std::string& path,
                          Registration& out) {
  ELEMENTAL_TRY(d.Object(v, path, false));
  ELEMENTAL_TRY(d.Str(v, path, "uri", out.uri));
  ELEMENTAL_TRY(d.Str(v, path, "caCert", out.ca_cert));
  ELEMENTAL_TRY(d.Str(v, path, "token", out.token));
  ELEMENTAL_TRY(d.Duration(v, path, "tokenDuration", out.token_duration));
  return Status::Ok();
}

Status DecodePostAction(const Decoder& d, const json::Value& v, const std::string& path,
                        const std::string& key, PostAction& out) {
  auto child = d.Child(v, path, key);
  if (!child) return child.error();
  if (*child == nullptr) return Status::Ok();
  std::string p = Decoder::Join(path, key);
  ELEMENTAL_TRY(d.Bool(**child, p, "powerOff", out.power_off));
  ELEMENTAL_TRY(d.Bool(**child, p, "reboot", out.reboot));
  return Status::Ok();
}

Status DecodeAgent(const Decoder& d, const json::Value& v, const std::string& path, Agent& out) {
  ELEMENTAL_TRY(d.Object(v, path, false));
  ELEMENTAL_TRY(d.Str(v, path, "workDir", out.work_dir));
  auto hostname = d.Child(v, path, "hostname");
  if (!hostname) return hostname.error();
  if (*hostname != nullptr) {
    std::string p = Decoder::Join(path, "hostname");
    ELEMENTAL_TRY(d.Bool(**hostname, p, "useExisting", out.hostname.use_existing));
    ELEMENTAL_TRY(d.Str(**hostname, p, "prefix", out.hostname.prefix));
  }
  ELEMENTAL_TRY(d.Bool(v, path, "noSmbios", out.no_smbios));
  ELEMENTAL_TRY(d.Bool(v, path, "debug", out.debug));
  ELEMENTAL_TRY(d.Str(v, path, "osPlugin", out.os_plugin));
  ELEMENTAL_TRY(d.Duration(v, path, "reconciliation", out.reconciliation));
  ELEMENTAL_TRY(d.Bool(v, path, "insecureAllowHttp", out.insecure_allow_http));
  ELEMENTAL_TRY(d.Bool(v, path, "insecureSkipTlsVerify", out.insecure_skip_tls_verify));
  ELEMENTAL_TRY(d.Bool(v, path, "useSystemCertPool", out.use_system_cert_pool));
  ELEMENTAL_TRY(DecodePostAction(d, v, path, "postInstall", out.post_install));
  ELEMENTAL_TRY(DecodePostAction(d, v, path, "postReset", out.post_reset));
  return Status::Ok();
}

json::Value PostActionToJson(const PostAction& p) {
  json::Object o;
  if (p.power_off) o["powerOff"] = true;
  if (p.reboot) o["reboot"] = true;
  return json::Value(std::move(o));
}

json::Value StringMapToJson(const StringMap& m) {
  json::Object o;
  for (const auto& [k, v] : m) o[k] = json::Value(v);
  return json::Value(std::move(o));
}

json::Value DurationToJson(std::chrono::nanoseconds d) {
  return json::Value(static_cast<int64_t>(d.count()));
}

}  // namespace

json::Value ToJson(const HostCreateRequest& r) {
  json::Object o;
  if (!r.name.empty()) o["name"] = json::Value(r.name);
  if (!r.annotations.empty()) o["annotations"] = StringMapToJson(r.annotations);
  if (!r.labels.empty()) o["labels"] = StringMapToJson(r.labels);
  if (!r.pub_key.empty()) o["pubKey"] = json::Value(r.pub_key);
  return json::Value(std::move(o));
}

json::Value ToJson(const HostPatchRequest& r) {
  json::Object o;
  if (!r.annotations.empty()) o["annotations"] = StringMapToJson(r.annotations);
  if (!r.labels.empty()) o["labels"] = StringMapToJson(r.labels);
  if (r.bootstrapped) o["bootstrapped"] = *r.bootstrapped;
  if (r.installed) o["installed"] = *r.installed;
  if (r.reset) o["reset"] = *r.reset;
  if (r.in_place_update) o["inPlaceUpdate"] = json::Value(*r.in_place_update);
  if (r.condition) o["condition"] = ToJson(*r.condition);
  if (r.phase) o["phase"] = json::Value(*r.phase);
  return json::Value(std::move(o));
}

// As Go marshals CAPI's clusterv1.Condition: type and status always;
// severity, reason and message only when non-empty; lastTransitionTime is
// not omitempty and a zero metav1.Time marshals as null, which is what the
// upstream agent sends (it never sets the time; the server does).
json::Value ToJson(const Condition& c) {
  json::Object o;
  o["type"] = json::Value(c.type);
  o["status"] = json::Value(c.status);
  if (!c.severity.empty()) o["severity"] = json::Value(c.severity);
  o["lastTransitionTime"] =
      c.last_transition_time.empty() ? json::Value() : json::Value(c.last_transition_time);
  if (!c.reason.empty()) o["reason"] = json::Value(c.reason);
  if (!c.message.empty()) o["message"] = json::Value(c.message);
  return json::Value(std::move(o));
}

json::Value ToJson(const Registration& r) {
  json::Object o;
  if (!r.uri.empty()) o["uri"] = json::Value(r.uri);
  if (!r.ca_cert.empty()) o["caCert"] = json::Value(r.ca_cert);
  if (r.token_duration.count() != 0) o["tokenDuration"] = DurationToJson(r.token_duration);
  if (!r.token.empty()) o["token"] = json::Value(r.token);
  return json::Value(std::move(o));
}

json::Value ToJson(const Agent& a) {
  json::Object o;
  if (!a.work_dir.empty()) o["workDir"] = json::Value(a.work_dir);
  json::Object hostname;
  if (a.hostname.use_existing) hostname["useExisting"] = true;
  if (!a.hostname.prefix.empty()) hostname["prefix"] = json::Value(a.hostname.prefix);
  o["hostname"] = json::Value(std::move(hostname));
  if (a.no_smbios) o["noSmbios"] = true;
  if (a.debug) o["debug"] = true;
  if (!a.os_plugin.empty()) o["osPlugin"] = json::Value(a.os_plugin);
  if (a.reconciliation.count() != 0) o["reconciliation"] = DurationToJson(a.reconciliation);
  if (a.insecure_allow_http) o["insecureAllowHttp"] = true;
  if (a.insecure_skip_tls_verify) o["insecureSkipTlsVerify"] = true;
  if (a.use_system_cert_pool) o["useSystemCertPool"] = true;
  o["postInstall"] = PostActionToJson(a.post_install);
  o["postReset"] = PostActionToJson(a.post_reset);
  return json::Value(std::move(o));
}

Expected<Condition> ConditionFromJson(const json::Value& v) {
  Decoder d("condition");
  Condition c;
  ELEMENTAL_TRY(DecodeCondition(d, v, "", c));
  return c;
}

Expected<Registration> RegistrationFromJson(const json::Value& v) {
  Decoder d("registration");
  Registration r;
  ELEMENTAL_TRY(DecodeRegistration(d, v, "", r));
  return r;
}

Expected<Agent> AgentFromJson(const json::Value& v) {
  Decoder d("agent");
  Agent a;
  ELEMENTAL_TRY(DecodeAgent(d, v, "", a));
  return a;
}

Expected<RegistrationResponse> RegistrationResponseFromJson(const json::Value& v) {
  Decoder d("registration response");
  RegistrationResponse r;
  ELEMENTAL_TRY(d.Object(v, "", false));
  ELEMENTAL_TRY(d.StrMap(v, "", "hostLabels", r.host_labels));
  ELEMENTAL_TRY(d.StrMap(v, "", "hostAnnotations", r.host_annotations));
  auto config = d.Child(v, "", "config");
  if (!config) return config.error();
  if (*config == nullptr) return r;
  const json::Value& cfg = **config;
  ELEMENTAL_TRY(d.RawMap(cfg, "config", "cloudConfig", r.cloud_config));
  auto elemental = d.Child(cfg, "config", "elemental");
  if (!elemental) return elemental.error();
  if (*elemental == nullptr) return r;
  const json::Value& el = **elemental;
  const std::string path = "config.elemental";
  ELEMENTAL_TRY(d.RawMap(el, path, "install", r.elemental.install));
  ELEMENTAL_TRY(d.RawMap(el, path, "reset", r.elemental.reset));
  if (const json::Value* reg = el.Find("registration"); reg != nullptr && !reg->is_null()) {
    ELEMENTAL_TRY(DecodeRegistration(d, *reg, path + ".registration", r.elemental.registration));
  }
  if (const json::Value* agent = el.Find("agent"); agent != nullptr && !agent->is_null()) {
    ELEMENTAL_TRY(DecodeAgent(d, *agent, path + ".agent", r.elemental.agent));
  }
  return r;
}

Expected<HostResponse> HostResponseFromJson(const json::Value& v) {
  Decoder d("host response");
  HostResponse h;
  ELEMENTAL_TRY(d.Object(v, "", false));
  ELEMENTAL_TRY(d.Str(v, "", "name", h.name));
  ELEMENTAL_TRY(d.StrMap(v, "", "annotations", h.annotations));
  ELEMENTAL_TRY(d.StrMap(v, "", "labels", h.labels));
  ELEMENTAL_TRY(d.Bool(v, "", "bootstrapReady", h.bootstrap_ready));
  ELEMENTAL_TRY(d.Bool(v, "", "bootstrapped", h.bootstrapped));
  ELEMENTAL_TRY(d.Bool(v, "", "installed", h.installed));
  ELEMENTAL_TRY(d.Bool(v, "", "needsReset", h.needs_reset));
  ELEMENTAL_TRY(d.Str(v, "", "inPlaceUpgrade", h.in_place_upgrade));
  ELEMENTAL_TRY(d.RawMap(v, "", "osVersionManagement", h.os_version_management));
  return h;
}

Expected<BootstrapResponse> BootstrapResponseFromJson(const json::Value& v) {
  Decoder d("bootstrap response");
  BootstrapResponse b;
  ELEMENTAL_TRY(d.Object(v, "", false));
  ELEMENTAL_TRY(d.Str(v, "", "format", b.format));
  ELEMENTAL_TRY(d.Str(v, "", "config", b.config));
  return b;
}

}  // namespace elemental::api
