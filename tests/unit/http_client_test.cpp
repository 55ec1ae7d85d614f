// The API client against a recording fake Transport: exact requests as
// upstream's client.go sends them, fresh host JWTs, status handling, and
// decoding of bad bodies. Secrets never reach error messages or logs.
#include "api/http_client.hpp"

#include <sodium.h>

#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/log.hpp"

namespace elemental::api {
namespace {

constexpr const char* kUri = "https://mgmt.example.com/elemental/v1/namespaces/default/registrations/my-reg";
constexpr const char* kRegToken = "registration-token-abcdef123456";

class FakeTransport final : public http::Transport {
 public:
  Expected<http::Response> Do(const http::Request& req) override {
    requests.push_back(req);
    if (responses.empty()) return Error("fake transport: no response queued");
    auto r = std::move(responses.front());
    responses.pop_front();
    return r;
  }
  void Queue(int status, std::string body) {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    responses.emplace_back(std::move(r));
  }
  void QueueError(const std::string& msg) { responses.emplace_back(Error(msg)); }

  std::vector<http::Request> requests;
  std::deque<Expected<http::Response>> responses;
};

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return now; }
  void Sleep(std::chrono::nanoseconds d) override { now += std::chrono::duration_cast<std::chrono::system_clock::duration>(d); }
  std::chrono::system_clock::time_point now{std::chrono::seconds(1700000000)};
};

// Header value by exact name; "" (and a test failure when must) if missing.
std::string Header(const http::Request& r, const std::string& name) {
  std::string value;
  int count = 0;
  for (const auto& [n, v] : r.headers) {
    if (n == name) {
      value = v;
      ++count;
    }
  }
  EXPECT_LE(count, 1) << "header " << name << " appears " << count << " times";
  return value;
}

bool HasHeader(const http::Request& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return true;
  }
  return false;
}

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto id = identity::Identity::Generate();
    ASSERT_TRUE(id.has_value());
    id_ = *id;
    client_ = NewHttpClient({kUri, kRegToken, "9.8.7"}, transport_, id_, clock_);
  }

  // Checks a Bearer JWT: signature by our key, sub, aud, iss, times.
  void ExpectHostJwt(const http::Request& r, const std::string& host) {
    std::string auth = Header(r, "Authorization");
    ASSERT_EQ(auth.rfind("Bearer ", 0), 0u) << "Authorization must be a Bearer token";
    std::string jwt = auth.substr(7);
    size_t d1 = jwt.find('.');
    size_t d2 = jwt.rfind('.');
    ASSERT_NE(d1, d2);
    auto header = identity::Base64UrlDecode(jwt.substr(0, d1));
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(*header, R"({"alg":"EdDSA","typ":"JWT"})");
    auto payload = identity::Base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1));
    ASSERT_TRUE(payload.has_value());
    auto claims = json::Parse(*payload);
    ASSERT_TRUE(claims.has_value());
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now.time_since_epoch()).count();
    json::Object want;
    want["iat"] = json::Value(now);
    want["nbf"] = json::Value(now - 2);
    want["exp"] = json::Value(now + 60);
    want["iss"] = "elemental-agent/9.8.7";
    want["sub"] = json::Value(host);
    want["aud"] = json::Array{json::Value(kUri)};
    EXPECT_EQ(*claims, json::Value(want)) << claims->Dump();
    auto sig = identity::Base64UrlDecode(jwt.substr(d2 + 1));
    ASSERT_TRUE(sig.has_value());
    ASSERT_EQ(sig->size(), 64u);
    std::string input = jwt.substr(0, d2);
    EXPECT_EQ(crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                          reinterpret_cast<const unsigned char*>(input.data()),
                                          input.size(), id_.public_key().data()),
              0);
  }

  FakeTransport transport_;
  FakeClock clock_;
  identity::Identity id_;
  std::unique_ptr<Client> client_;
};

TEST_F(HttpClientTest, GetRegistration) {
  transport_.Queue(200, R"({"hostLabels":{"a":"b"},"config":{"elemental":{"agent":{"reconciliation":5000000000}}}})");
  auto reg = client_->GetRegistration();
  ASSERT_TRUE(reg.has_value()) << reg.error().message();
  EXPECT_EQ(reg->host_labels.at("a"), "b");
  EXPECT_EQ(reg->elemental.agent.reconciliation, std::chrono::seconds(5));

  ASSERT_EQ(transport_.requests.size(), 1u);
  const auto& r = transport_.requests[0];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, kUri);
  EXPECT_EQ(Header(r, "User-Agent"), "elemental-agent/9.8.7");
  EXPECT_EQ(Header(r, "Registration-Authorization"), std::string("Bearer ") + kRegToken);
  EXPECT_FALSE(HasHeader(r, "Authorization"));
  EXPECT_FALSE(HasHeader(r, "Content-Type"));
  EXPECT_TRUE(r.body.empty());
}

TEST_F(HttpClientTest, CreateHost) {
  transport_.Queue(201, "");
  HostCreateRequest host;
  host.name = "new-host";
  host.labels = {{"l", "v"}};
  host.pub_key = id_.MarshalPublicPem();
  ASSERT_TRUE(client_->CreateHost(host));
  ASSERT_EQ(transport_.requests.size(), 1u);
  const auto& r = transport_.requests[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, std::string(kUri) + "/hosts");
  EXPECT_EQ(Header(r, "User-Agent"), "elemental-agent/9.8.7");
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_EQ(Header(r, "Registration-Authorization"), std::string("Bearer ") + kRegToken);
  ExpectHostJwt(r, "new-host");
  auto body = json::Parse(r.body);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(*body, ToJson(host));
}

TEST_F(HttpClientTest, CreateHostConflict) {
  transport_.Queue(409, R"({"error":"host already exists"})");
  HostCreateRequest host;
  host.name = "dup";
  Status st = client_->CreateHost(host);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), 409);
  const std::string& msg = st.error().message();
  EXPECT_EQ(msg.rfind("creating new host returned code '409'", 0), 0u) << msg;
  EXPECT_NE(msg.find(std::string("POST ") + kUri + "/hosts"), std::string::npos) << msg;
  EXPECT_NE(msg.find("host already exists"), std::string::npos) << msg;
}

TEST_F(HttpClientTest, PatchHost) {
  transport_.Queue(200, R"({"name":"h1","installed":true,"inPlaceUpgrade":"pending",
                            "osVersionManagement":{"osVersion":{"imageUri":"oci://r/os:v1"}}})");
  HostPatchRequest patch;
  patch.phase = kPhaseRunning;
  auto h = client_->PatchHost(patch, "h1");
  ASSERT_TRUE(h.has_value()) << h.error().message();
  EXPECT_TRUE(h->installed);
  EXPECT_EQ(h->in_place_upgrade, "pending");
  EXPECT_TRUE(h->os_version_management.is_object());
  const auto& r = transport_.requests.at(0);
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.url, std::string(kUri) + "/hosts/h1");
  EXPECT_EQ(r.body, R"({"phase":"Running"})");
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(HasHeader(r, "Registration-Authorization"));
  ExpectHostJwt(r, "h1");
}

TEST_F(HttpClientTest, EmptyPatchSendsEmptyObject) {
  transport_.Queue(200, "{}");
  ASSERT_TRUE(client_->PatchHost({}, "h1").has_value());
  EXPECT_EQ(transport_.requests.at(0).body, "{}");
}

TEST_F(HttpClientTest, DeleteHost) {
  transport_.Queue(202, "");
  ASSERT_TRUE(client_->DeleteHost("h2"));
  const auto& r = transport_.requests.at(0);
  EXPECT_EQ(r.method, "DELETE");
  EXPECT_EQ(r.url, std::string(kUri) + "/hosts/h2");
  EXPECT_TRUE(r.body.empty());
  EXPECT_FALSE(HasHeader(r, "Content-Type"));
  EXPECT_FALSE(HasHeader(r, "Registration-Authorization"));
  EXPECT_EQ(Header(r, "User-Agent"), "elemental-agent/9.8.7");
  ExpectHostJwt(r, "h2");

  transport_.Queue(200, "");  // upstream wants exactly 202
  Status st = client_->DeleteHost("h2");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), 200);
  EXPECT_EQ(st.error().message().rfind("deleting host returned code '200'", 0), 0u);
}

TEST_F(HttpClientTest, GetBootstrap) {
  transport_.Queue(200, R"({"format":"cloud-config","config":"#cloud-config\nruncmd: []\n"})");
  auto b = client_->GetBootstrap("h3");
  ASSERT_TRUE(b.has_value()) << b.error().message();
  EXPECT_EQ(b->format, "cloud-config");
  EXPECT_EQ(b->config, "#cloud-config\nruncmd: []\n");
  const auto& r = transport_.requests.at(0);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, std::string(kUri) + "/hosts/h3/bootstrap");
  ExpectHostJwt(r, "h3");

  transport_.Queue(404, "not found");
  auto missing = client_->GetBootstrap("h3");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), 404);
  EXPECT_EQ(missing.error().message().rfind("getting bootstrap returned code '404'", 0), 0u);
}

TEST_F(HttpClientTest, FreshTokenPerRequest) {
  transport_.Queue(200, "{}");
  transport_.Queue(200, "{}");
  ASSERT_TRUE(client_->PatchHost({}, "h1").has_value());
  clock_.now += std::chrono::seconds(90);
  ASSERT_TRUE(client_->PatchHost({}, "h1").has_value());
  ASSERT_EQ(transport_.requests.size(), 2u);
  EXPECT_NE(Header(transport_.requests[0], "Authorization"), Header(transport_.requests[1], "Authorization"));
  ExpectHostJwt(transport_.requests[1], "h1");
}

TEST_F(HttpClientTest, HostNameIsEscapedInPath) {
  transport_.Queue(202, "");
  ASSERT_TRUE(client_->DeleteHost("../x y"));
  EXPECT_EQ(transport_.requests.at(0).url, std::string(kUri) + "/hosts/..%2Fx%20y");
  ExpectHostJwt(transport_.requests.at(0), "../x y");
}

TEST_F(HttpClientTest, StatusErrorsCarryCodeAndScrubbedExcerpt) {
  // A server that echoes the credentials back must not get them into errors.
  transport_.Queue(403, std::string("forbidden: token ") + kRegToken + " is\n\tinvalid \x01\xff" +
                            std::string(1000, 'z'));
  auto reg = client_->GetRegistration();
  ASSERT_FALSE(reg.has_value());
  EXPECT_EQ(reg.error().code(), 403);
  const std::string& msg = reg.error().message();
  EXPECT_EQ(msg.rfind("getting registration returned code '403'", 0), 0u) << msg;
  EXPECT_NE(msg.find(std::string("GET ") + kUri), std::string::npos) << msg;
  EXPECT_EQ(msg.find(kRegToken), std::string::npos) << msg;
  EXPECT_NE(msg.find("forbidden: token [REDACTED] is invalid .."), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 450u) << "excerpt must be length-limited: " << msg;
  for (unsigned char c : msg) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "non-printable byte in error";
}

TEST_F(HttpClientTest, EchoedJwtIsScrubbed) {
  // The fake echoes the request's Authorization header in the body.
  class Echo final : public http::Transport {
   public:
    Expected<http::Response> Do(const http::Request& req) override {
      http::Response r;
      r.status = 401;
      for (const auto& [n, v] : req.headers) {
        if (n == "Authorization") r.body = "bad " + v.substr(7);
      }
      last_jwt = r.body.substr(4);
      return r;
    }
    std::string last_jwt;
  } echo;
  auto client = NewHttpClient({kUri, kRegToken, "1"}, echo, id_, clock_);
  auto h = client->PatchHost({}, "h1");
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().code(), 401);
  ASSERT_GT(echo.last_jwt.size(), 20u);
  EXPECT_EQ(h.error().message().find(echo.last_jwt.substr(0, 20)), std::string::npos) << h.error().message();
  EXPECT_NE(h.error().message().find("bad [REDACTED]"), std::string::npos) << h.error().message();
}

TEST_F(HttpClientTest, TransportErrorIsWrapped) {
  transport_.QueueError(std::string("GET ") + kUri + ": TLS: certificate verify failed (x)");
  auto reg = client_->GetRegistration();
  ASSERT_FALSE(reg.has_value());
  EXPECT_EQ(reg.error().message(),
            std::string("getting registration: GET ") + kUri + ": TLS: certificate verify failed (x)");
}

TEST_F(HttpClientTest, MalformedBodies) {
  transport_.Queue(200, R"({"hostLabels": {"a": "b"},)");
  auto reg = client_->GetRegistration();
  ASSERT_FALSE(reg.has_value());
  EXPECT_EQ(reg.error().message().rfind("decoding registration response: invalid JSON at offset", 0), 0u)
      << reg.error().message();

  transport_.Queue(200, R"({"installed":"yes"})");
  auto h = client_->PatchHost({}, "h1");
  ASSERT_FALSE(h.has_value());
  EXPECT_EQ(h.error().message(), "decoding host response: installed: expected bool, got string");

  transport_.Queue(200, "[1,2]");
  auto b = client_->GetBootstrap("h1");
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().message(), "decoding bootstrap response: expected object, got array");

  transport_.Queue(200, "");
  auto e = client_->GetBootstrap("h1");
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("decoding bootstrap response: invalid JSON"), std::string::npos);

  // Deep nesting and huge documents fail cleanly.
  transport_.Queue(200, std::string(100000, '[') + std::string(100000, ']'));
  auto deep = client_->GetRegistration();
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error().message().rfind("decoding registration response: ", 0), 0u);

  std::string huge = R"({"hostLabels":{)";
  for (int i = 0; i < 20000; ++i) huge += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  huge += R"(},"config":{"elemental":{"agent":{"debug":"no"}}}})";
  transport_.Queue(200, huge);
  auto big = client_->GetRegistration();
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message(),
            "decoding registration response: config.elemental.agent.debug: expected bool, got string");
}

TEST_F(HttpClientTest, LogsNeverShowCredentials) {
  std::vector<std::string> lines;
  log::SetSink([&](log::Level, const std::string& line) { lines.push_back(line); });
  log::EnableDebug(true);
  transport_.Queue(200, "{}");
  transport_.Queue(201, "");
  transport_.Queue(500, "oops");
  (void)client_->GetRegistration();
  HostCreateRequest host;
  host.name = "h9";
  (void)client_->CreateHost(host);
  (void)client_->PatchHost({}, "h9");
  log::EnableDebug(false);
  log::ResetSink();
  ASSERT_FALSE(lines.empty());
  bool saw_status = false;
  for (const auto& line : lines) {
    EXPECT_EQ(line.find(kRegToken), std::string::npos) << line;
    EXPECT_EQ(line.find("Bearer"), std::string::npos) << line;
    EXPECT_EQ(line.find("eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9"), std::string::npos) << line;  // JWT header
    if (line.find(std::string("GET ") + kUri + ": 200") != std::string::npos) saw_status = true;
  }
  EXPECT_TRUE(saw_status) << "debug log shows method, URL and status";
  // The registration token is registered as a secret.
  EXPECT_EQ(log::Scrub(std::string("x ") + kRegToken), "x [REDACTED]");
}

}  // namespace
}  // namespace elemental::api
