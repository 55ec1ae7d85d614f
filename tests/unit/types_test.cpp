// API types: the exact JSON upstream's Go structs produce, and strict
// decoders whose errors name the field path.
#include "api/types.hpp"

#include <gtest/gtest.h>

namespace elemental::api {
namespace {

json::Value MustParse(const std::string& text) {
  auto v = json::Parse(text);
  EXPECT_TRUE(v.has_value()) << text;
  return v.has_value() ? *v : json::Value();
}

TEST(TypesTest, EmptyPatchIsEmptyObject) {
  EXPECT_EQ(ToJson(HostPatchRequest{}).Dump(), "{}");
}

TEST(TypesTest, PatchWithEverything) {
  HostPatchRequest p;
  p.annotations = {{"a", "1"}};
  p.labels = {{"l", "2"}};
  p.bootstrapped = true;
  p.installed = true;
  p.reset = false;  // set, so sent even though false
  p.in_place_update = kInPlaceUpdateDone;
  p.phase = kPhaseRunning;
  Condition c;
  c.type = kRegistrationReady;
  c.status = kStatusFalse;
  c.severity = kSeverityError;
  c.reason = kRegistrationFailedReason;
  c.message = "it broke";
  p.condition = c;
  EXPECT_EQ(ToJson(p).Dump(),
            R"({"annotations":{"a":"1"},"bootstrapped":true,)"
            R"("condition":{"lastTransitionTime":null,"message":"it broke","reason":"RegistrationFailed",)"
            R"("severity":"Error","status":"False","type":"RegistrationReady"},)"
            R"("inPlaceUpdate":"done","installed":true,"labels":{"l":"2"},"phase":"Running","reset":false})");
}

TEST(TypesTest, ConditionOmitsEmptyOptionalFieldsLikeGo) {
  Condition c;
  c.type = kInstallationReady;
  c.status = kStatusTrue;
  // severity, reason, message: omitempty; lastTransitionTime: zero metav1.Time → null.
  EXPECT_EQ(ToJson(c).Dump(), R"({"lastTransitionTime":null,"status":"True","type":"InstallationReady"})");
  c.last_transition_time = "2024-01-02T03:04:05Z";
  EXPECT_EQ(ToJson(c).Dump(),
            R"({"lastTransitionTime":"2024-01-02T03:04:05Z","status":"True","type":"InstallationReady"})");
  auto back = ConditionFromJson(ToJson(c));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->last_transition_time, c.last_transition_time);
  EXPECT_EQ(back->type, c.type);
  EXPECT_EQ(back->status, c.status);
}

TEST(TypesTest, CreateRequestOmitsEmpty) {
  HostCreateRequest r;
  EXPECT_EQ(ToJson(r).Dump(), "{}");
  r.name = "h1";
  r.pub_key = "-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n";
  r.labels = {{"k", "v"}};
  EXPECT_EQ(ToJson(r).Dump(),
            R"({"labels":{"k":"v"},"name":"h1","pubKey":"-----BEGIN PUBLIC KEY-----\nX\n-----END PUBLIC KEY-----\n"})");
}

TEST(TypesTest, AgentAndRegistrationRoundTrip) {
  Agent a;
  a.work_dir = "/var/lib/elemental/agent";
  a.hostname = {true, "m-"};
  a.no_smbios = true;
  a.debug = true;
  a.os_plugin = "/usr/lib/elemental/plugins/dummy.so";
  a.reconciliation = std::chrono::seconds(10);
  a.insecure_allow_http = true;
  a.insecure_skip_tls_verify = true;
  a.use_system_cert_pool = true;
  a.post_install = {true, false};
  a.post_reset = {false, true};
  json::Value j = ToJson(a);
  EXPECT_EQ(j.Dump(),
            R"({"debug":true,"hostname":{"prefix":"m-","useExisting":true},"insecureAllowHttp":true,)"
            R"("insecureSkipTlsVerify":true,"noSmbios":true,"osPlugin":"/usr/lib/elemental/plugins/dummy.so",)"
            R"("postInstall":{"powerOff":true},"postReset":{"reboot":true},"reconciliation":10000000000,)"
            R"("useSystemCertPool":true,"workDir":"/var/lib/elemental/agent"})");
  auto back = AgentFromJson(j);
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(ToJson(*back), j);

  // Go always writes the nested structs, even when empty.
  EXPECT_EQ(ToJson(Agent{}).Dump(), R"({"hostname":{},"postInstall":{},"postReset":{}})");

  Registration r;
  r.uri = "https://x/elemental/v1/namespaces/default/registrations/r";
  r.ca_cert = "-----BEGIN CERTIFICATE-----\n...";
  r.token = "tok";
  r.token_duration = std::chrono::hours(1);
  json::Value rj = ToJson(r);
  EXPECT_EQ(rj.Dump(),
            R"({"caCert":"-----BEGIN CERTIFICATE-----\n...","token":"tok","tokenDuration":3600000000000,)"
            R"("uri":"https://x/elemental/v1/namespaces/default/registrations/r"})");
  auto rback = RegistrationFromJson(rj);
  ASSERT_TRUE(rback.has_value());
  EXPECT_EQ(rback->uri, r.uri);
  EXPECT_EQ(rback->ca_cert, r.ca_cert);
  EXPECT_EQ(rback->token, r.token);
  EXPECT_EQ(rback->token_duration, r.token_duration);
  EXPECT_EQ(ToJson(Registration{}).Dump(), "{}");
}

TEST(TypesTest, RegistrationResponseFull) {
  auto v = MustParse(R"({
    "hostLabels": {"team": "a"},
    "hostAnnotations": {"note": "b"},
    "unknownTopLevel": [1, 2, 3],
    "config": {
      "cloudConfig": {"users": [{"name": "root"}]},
      "elemental": {
        "install": {"device": "/dev/vda", "debug": true},
        "reset": {"resetPersistent": true},
        "registration": {"uri": "https://h/r", "caCert": "CA", "token": "T", "tokenDuration": 0},
        "agent": {"workDir": "/w", "hostname": {"useExisting": true, "prefix": "p-"},
                  "reconciliation": 30000000000, "osPlugin": "/p.so", "debug": true,
                  "postInstall": {"reboot": true}, "postReset": {"powerOff": true},
                  "insecureAllowHttp": true, "futureField": "x"}
      }
    }
  })");
  auto r = RegistrationResponseFromJson(v);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->host_labels, (StringMap{{"team", "a"}}));
  EXPECT_EQ(r->host_annotations, (StringMap{{"note", "b"}}));
  EXPECT_EQ(r->cloud_config.Dump(), R"({"users":[{"name":"root"}]})");
  EXPECT_EQ(r->elemental.install.Dump(), R"({"debug":true,"device":"/dev/vda"})");
  EXPECT_EQ(r->elemental.reset.Dump(), R"({"resetPersistent":true})");
  EXPECT_EQ(r->elemental.registration.uri, "https://h/r");
  EXPECT_EQ(r->elemental.registration.ca_cert, "CA");
  EXPECT_EQ(r->elemental.registration.token, "T");
  const Agent& a = r->elemental.agent;
  EXPECT_EQ(a.work_dir, "/w");
  EXPECT_TRUE(a.hostname.use_existing);
  EXPECT_EQ(a.hostname.prefix, "p-");
  EXPECT_EQ(a.reconciliation, std::chrono::seconds(30));
  EXPECT_EQ(a.os_plugin, "/p.so");
  EXPECT_TRUE(a.debug);
  EXPECT_TRUE(a.post_install.reboot);
  EXPECT_FALSE(a.post_install.power_off);
  EXPECT_TRUE(a.post_reset.power_off);
  EXPECT_TRUE(a.insecure_allow_http);
  EXPECT_FALSE(a.insecure_skip_tls_verify);
}

TEST(TypesTest, RegistrationResponseEmptyAndNulls) {
  auto r = RegistrationResponseFromJson(MustParse("{}"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->cloud_config.is_null());
  EXPECT_TRUE(r->elemental.install.is_null());
  EXPECT_TRUE(r->host_labels.empty());
  auto n = RegistrationResponseFromJson(
      MustParse(R"({"hostLabels":null,"config":{"cloudConfig":null,"elemental":{"agent":null}}})"));
  ASSERT_TRUE(n.has_value()) << n.error().message();
}

struct DecodeErrorCase {
  const char* json;
  const char* want;
};

TEST(TypesTest, RegistrationResponseErrorsNameTheField) {
  const std::vector<DecodeErrorCase> cases = {
      {R"([])", "registration response: expected object, got array"},
      {R"("x")", "registration response: expected object, got string"},
      {R"({"hostLabels":{"a":1}})", "registration response: hostLabels.a: expected string, got number"},
      {R"({"hostAnnotations":[]})", "registration response: hostAnnotations: expected object of strings, got array"},
      {R"({"config":"x"})", "registration response: config: expected object, got string"},
      {R"({"config":{"cloudConfig":[1]}})", "registration response: config.cloudConfig: expected object, got array"},
      {R"({"config":{"elemental":{"install":"x"}}})",
       "registration response: config.elemental.install: expected object, got string"},
      {R"({"config":{"elemental":{"agent":{"reconciliation":"10s"}}}})",
       "registration response: config.elemental.agent.reconciliation: expected integer, got string"},
      {R"({"config":{"elemental":{"agent":{"reconciliation":1.5}}}})",
       "registration response: config.elemental.agent.reconciliation: expected integer nanoseconds, got 1.5"},
      {R"({"config":{"elemental":{"agent":{"hostname":{"useExisting":"yes"}}}}})",
       "registration response: config.elemental.agent.hostname.useExisting: expected bool, got string"},
      {R"({"config":{"elemental":{"agent":{"postReset":{"reboot":1}}}}})",
       "registration response: config.elemental.agent.postReset.reboot: expected bool, got number"},
      {R"({"config":{"elemental":{"agent":[]}}})",
       "registration response: config.elemental.agent: expected object, got array"},
      {R"({"config":{"elemental":{"registration":{"token":5}}}})",
       "registration response: config.elemental.registration.token: expected string, got number"},
      {R"({"config":{"elemental":{"registration":{"tokenDuration":true}}}})",
       "registration response: config.elemental.registration.tokenDuration: expected integer, got bool"},
  };
  for (const auto& c : cases) {
    auto r = RegistrationResponseFromJson(MustParse(c.json));
    ASSERT_FALSE(r.has_value()) << c.json;
    EXPECT_EQ(r.error().message(), c.want) << c.json;
  }
}

TEST(TypesTest, HostResponse) {
  auto h = HostResponseFromJson(MustParse(R"({
    "name": "h1", "annotations": {"a": "b"}, "labels": {"x": "y"},
    "bootstrapReady": true, "bootstrapped": false, "installed": true, "needsReset": true,
    "inPlaceUpgrade": "pending",
    "osVersionManagement": {"osVersion": {"imageUri": "oci://r/os:v2"}},
    "extra": 1})"));
  ASSERT_TRUE(h.has_value()) << h.error().message();
  EXPECT_EQ(h->name, "h1");
  EXPECT_EQ(h->annotations, (StringMap{{"a", "b"}}));
  EXPECT_EQ(h->labels, (StringMap{{"x", "y"}}));
  EXPECT_TRUE(h->bootstrap_ready);
  EXPECT_FALSE(h->bootstrapped);
  EXPECT_TRUE(h->installed);
  EXPECT_TRUE(h->needs_reset);
  EXPECT_EQ(h->in_place_upgrade, "pending");
  EXPECT_EQ(h->os_version_management.Dump(), R"({"osVersion":{"imageUri":"oci://r/os:v2"}})");

  // Go omits false/empty fields: a bare object is a valid host.
  auto empty = HostResponseFromJson(MustParse("{}"));
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->installed);
  EXPECT_TRUE(empty->os_version_management.is_null());

  const std::vector<DecodeErrorCase> cases = {
      {R"(null)", "host response: expected object, got null"},
      {R"({"installed":"true"})", "host response: installed: expected bool, got string"},
      {R"({"needsReset":1})", "host response: needsReset: expected bool, got number"},
      {R"({"inPlaceUpgrade":true})", "host response: inPlaceUpgrade: expected string, got bool"},
      {R"({"osVersionManagement":"v2"})", "host response: osVersionManagement: expected object, got string"},
      {R"({"labels":{"a":null}})", "host response: labels.a: expected string, got null"},
  };
  for (const auto& c : cases) {
    auto r = HostResponseFromJson(MustParse(c.json));
    ASSERT_FALSE(r.has_value()) << c.json;
    EXPECT_EQ(r.error().message(), c.want) << c.json;
  }
}

TEST(TypesTest, BootstrapResponse) {
  auto b = BootstrapResponseFromJson(MustParse(R"({"format":"cloud-config","config":"#cloud-config\n"})"));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->format, "cloud-config");
  EXPECT_EQ(b->config, "#cloud-config\n");
  auto bad = BootstrapResponseFromJson(MustParse(R"({"format":"ignition","config":{"a":1}})"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "bootstrap response: config: expected string, got object");
}

TEST(TypesTest, ConditionAndAgentDecoderErrors) {
  auto c = ConditionFromJson(MustParse(R"({"type":"A","status":true})"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().message(), "condition: status: expected string, got bool");
  auto a = AgentFromJson(MustParse(R"({"workDir":1})"));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message(), "agent: workDir: expected string, got number");
  auto r = RegistrationFromJson(MustParse("[]"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "registration: expected object, got array");
}

}  // namespace
}  // namespace elemental::api
