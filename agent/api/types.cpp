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
#include <functional>
#include <initializer_list>
#include <variant>

namespace elemental::api {
namespace {

// Decoding context: what is being decoded ("host response"), and a table
// walk that produces errors with the field path.
class Decoder {
 public:
  // Called with a member's value (never null) and its path, for nested
  // objects.
  using Nested = std::function<Status(const json::Value& value, const std::string& path)>;

  // One member of an object and where it goes: a string, a bool, a Go
  // time.Duration (integer nanoseconds on the wire), a map of strings, a
  // schemaless object (Go map[string]runtime.RawExtension), or a nested
  // object handled by a Nested function.
  using Into = std::variant<std::string*, bool*, std::chrono::nanoseconds*, StringMap*,
                            json::Value*, Nested>;
  struct Field {
    const char* key;
    Into into;
  };

  explicit Decoder(std::string what) : what_(std::move(what)) {}

  // Checks that `v` is an object, then decodes `fields` in order, stopping
  // at the first error. A missing or null member leaves its field as it is,
  // except a schemaless object, which becomes null.
  Status Object(const json::Value& v, const std::string& path,
                std::initializer_list<Field> fields) const {
    if (!v.is_object()) return TypeError(path, "object", v);
    for (const Field& f : fields) {
      const json::Value* m = v.Find(f.key);
      if (m == nullptr || m->is_null()) {
        if (auto* raw = std::get_if<json::Value*>(&f.into)) **raw = json::Value();
        continue;
      }
      if (Status st = Member(*m, Join(path, f.key), f.into); !st) return st;
    }
    return Status::Ok();
  }

 private:
  static std::string Join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  Error TypeError(const std::string& path, const char* want, const json::Value& got) const {
    std::string where = path.empty() ? "" : path + ": ";
    return Error(what_ + ": " + where + "expected " + want + ", got " + json::TypeName(got.type()));
  }

  Status Member(const json::Value& m, const std::string& path, const Into& into) const {
    if (auto* str = std::get_if<std::string*>(&into)) {
      if (!m.is_string()) return TypeError(path, "string", m);
      **str = m.as_string();
    } else if (auto* b = std::get_if<bool*>(&into)) {
      if (!m.is_bool()) return TypeError(path, "bool", m);
      **b = m.as_bool();
    } else if (auto* dur = std::get_if<std::chrono::nanoseconds*>(&into)) {
      if (!m.is_number()) return TypeError(path, "integer", m);
      const double d = m.as_number();
      if (std::floor(d) != d || std::fabs(d) > 9.2e18) {
        return Error(what_ + ": " + path + ": expected integer nanoseconds, got " +
                     json::Value(d).Dump());
      }
      **dur = std::chrono::nanoseconds(static_cast<int64_t>(d));
    } else if (auto* map = std::get_if<StringMap*>(&into)) {
      if (!m.is_object()) return TypeError(path, "object of strings", m);
      StringMap out;
      for (const auto& [k, e] : m.as_object()) {
        if (!e.is_string()) return TypeError(path + "." + k, "string", e);
        out[k] = e.as_string();
      }
      **map = std::move(out);
    } else if (auto* raw = std::get_if<json::Value*>(&into)) {
      if (!m.is_object()) return TypeError(path, "object", m);
      **raw = m;
    } else {
      return std::get<Nested>(into)(m, path);
    }
    return Status::Ok();
  }

  std::string what_;
};

// Short names for the parameter types of the Nested lambdas in the tables.
using V = const json::Value&;
using P = const std::string&;

Status DecodeCondition(const Decoder& d, V v, P path, Condition& out) {
  return d.Object(v, path, {
      {"type", &out.type},
      {"status", &out.status},
      {"severity", &out.severity},
      {"reason", &out.reason},
      {"message", &out.message},
      {"lastTransitionTime", &out.last_transition_time},
  });
}

Status DecodeRegistration(const Decoder& d, V v, P path, Registration& out) {
  return d.Object(v, path, {
      {"uri", &out.uri},
      {"caCert", &out.ca_cert},
      {"token", &out.token},
      {"tokenDuration", &out.token_duration},
  });
}

Status DecodePostAction(const Decoder& d, V v, P path, PostAction& out) {
  return d.Object(v, path, {{"powerOff", &out.power_off}, {"reboot", &out.reboot}});
}

Status DecodeAgent(const Decoder& d, V v, P path, Agent& out) {
  return d.Object(v, path, {
      {"workDir", &out.work_dir},
      {"hostname",
       [&](V h, P p) {
         return d.Object(h, p, {
             {"useExisting", &out.hostname.use_existing},
             {"prefix", &out.hostname.prefix},
         });
       }},
      {"noSmbios", &out.no_smbios},
      {"debug", &out.debug},
      {"osPlugin", &out.os_plugin},
      {"reconciliation", &out.reconciliation},
      {"insecureAllowHttp", &out.insecure_allow_http},
      {"insecureSkipTlsVerify", &out.insecure_skip_tls_verify},
      {"useSystemCertPool", &out.use_system_cert_pool},
      {"postInstall", [&](V post, P p) { return DecodePostAction(d, post, p, out.post_install); }},
      {"postReset", [&](V post, P p) { return DecodePostAction(d, post, p, out.post_reset); }},
  });
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
  Condition c;
  if (Status st = DecodeCondition(Decoder("condition"), v, "", c); !st) return st.error();
  return c;
}

Expected<Registration> RegistrationFromJson(const json::Value& v) {
  Registration r;
  if (Status st = DecodeRegistration(Decoder("registration"), v, "", r); !st) return st.error();
  return r;
}

Expected<Agent> AgentFromJson(const json::Value& v) {
  Agent a;
  if (Status st = DecodeAgent(Decoder("agent"), v, "", a); !st) return st.error();
  return a;
}

Expected<RegistrationResponse> RegistrationResponseFromJson(const json::Value& v) {
  const Decoder d("registration response");
  RegistrationResponse r;
  auto elemental = [&](V el, P path) {
    return d.Object(el, path, {
        {"install", &r.elemental.install},
        {"reset", &r.elemental.reset},
        {"registration",
         [&](V reg, P p) { return DecodeRegistration(d, reg, p, r.elemental.registration); }},
        {"agent", [&](V agent, P p) { return DecodeAgent(d, agent, p, r.elemental.agent); }},
    });
  };
  Status st = d.Object(v, "", {
      {"hostLabels", &r.host_labels},
      {"hostAnnotations", &r.host_annotations},
      {"config",
       [&](V cfg, P path) {
         return d.Object(cfg, path, {{"cloudConfig", &r.cloud_config}, {"elemental", elemental}});
       }},
  });
  if (!st) return st.error();
  return r;
}

Expected<HostResponse> HostResponseFromJson(const json::Value& v) {
  HostResponse h;
  Status st = Decoder("host response").Object(v, "", {
      {"name", &h.name},
      {"annotations", &h.annotations},
      {"labels", &h.labels},
      {"bootstrapReady", &h.bootstrap_ready},
      {"bootstrapped", &h.bootstrapped},
      {"installed", &h.installed},
      {"needsReset", &h.needs_reset},
      {"inPlaceUpgrade", &h.in_place_upgrade},
      {"osVersionManagement", &h.os_version_management},
  });
  if (!st) return st.error();
  return h;
}

Expected<BootstrapResponse> BootstrapResponseFromJson(const json::Value& v) {
  BootstrapResponse b;
  Status st = Decoder("bootstrap response").Object(v, "", {
      {"format", &b.format},
      {"config", &b.config},
  });
  if (!st) return st.error();
  return b;
}

}  // namespace elemental::api
