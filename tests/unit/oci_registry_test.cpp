// The registry client against an in-process fake HTTP server: auth
// challenges, token refresh, error wording, retries and backoff, Range
// resume, size and digest checks, mirrors, proxies; and an HTTPS server
// (openssl s_server) that redirects to plain HTTP.
#include "oci/registry.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "fake_http_server.hpp"
#include "oci/digest.hpp"

namespace elemental::oci {
namespace {

using elemental::testing::FakeHttpServer;
using elemental::testing::FakeRequest;
using elemental::testing::HttpResponse;
using std::chrono::milliseconds;

const char kManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)"
    "0000000000000000000000000000000000000000000000000000000000000000"
    R"(","size":2},"layers":[]})";

std::string Blob(size_t n) {
  std::mt19937 rng(42);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Options for a plain-HTTP fake: no proxy, recorded sleeps.
RegistryOptions Plain(const FakeHttpServer& srv, std::vector<milliseconds>* sleeps = nullptr) {
  RegistryOptions o;
  o.insecure_registries = {srv.host()};
  o.proxy = ProxySettings{};
  o.backoff = milliseconds(100);
  o.sleep = [sleeps](milliseconds d) {
    if (sleeps != nullptr) sleeps->push_back(d);
  };
  return o;
}

Reference Ref(const std::string& host, const std::string& repo = "r", const std::string& tag = "v1") {
  Reference r;
  r.registry = host;
  r.repository = repo;
  r.tag = tag;
  return r;
}

std::string Base64(const std::string& s) {
  // Only used for short ASCII credentials in these tests.
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8) | uint8_t(s[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += t[(v >> k) & 63];
  }
  if (i + 1 == s.size()) {
    uint32_t v = uint8_t(s[i]) << 16;
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == s.size()) {
    uint32_t v = (uint8_t(s[i]) << 16) | (uint8_t(s[i + 1]) << 8);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// A Bearer registry: tokens from /token for Basic user:pw; each token works
// for `uses` requests.
struct BearerRegistry {
  std::atomic<int> issued{0};
  int uses;
  std::mutex mu;
  std::map<std::string, int> left;
  std::unique_ptr<FakeHttpServer> srv;

  explicit BearerRegistry(int uses_per_token) : uses(uses_per_token) {
    srv = std::make_unique<FakeHttpServer>([this](const FakeRequest& r) {
      if (r.target.rfind("/token", 0) == 0) {
        auto a = r.headers.find("authorization");
        if (a == r.headers.end() || a->second != "Basic " + Base64("user:pw")) {
          return HttpResponse(401, "{}");
        }
        std::string tok = "tok-" + std::to_string(++issued) + "-secretvalue";
        std::lock_guard<std::mutex> lock(mu);
        left[tok] = uses;
        return HttpResponse(200, R"({"token":")" + tok + R"("})");
      }
      auto a = r.headers.find("authorization");
      std::string tok = a == r.headers.end() ? "" : a->second.substr(7);
      {
        std::lock_guard<std::mutex> lock(mu);
        if (left[tok] <= 0) {
          return HttpResponse(401, "{}",
                              {"WWW-Authenticate: Bearer realm=\"http://" + srv->host() +
                               "/token\",service=\"svc\",scope=\"repository:r:pull\""});
        }
        --left[tok];
      }
      return HttpResponse(200, kManifest,
                          {"Content-Type: application/vnd.oci.image.manifest.v1+json"});
    });
  }
};

TEST(OciRegistryTest, BearerChallengeFetchesTokenWithBasicCredentials) {
  BearerRegistry reg(100);
  RegistryOptions o = Plain(*reg.srv);
  o.registries.configs[reg.srv->host()].username = "user";
  o.registries.configs[reg.srv->host()].password = "pw";
  Registry r(Ref(reg.srv->host()), o);
  auto m = r.GetManifest("v1");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->media_type, kOciManifest);
  EXPECT_EQ(m->digest, DigestOf(kManifest));
  auto reqs = reg.srv->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v2/r/manifests/v1");
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);
  EXPECT_EQ(reqs[1].target, "/token?service=svc&scope=repository%3Ar%3Apull");
  EXPECT_EQ(reqs[2].headers["authorization"], "Bearer tok-1-secretvalue");
  EXPECT_NE(reqs[2].headers["accept"].find(kOciIndex), std::string::npos);
}

TEST(OciRegistryTest, ChallengeSpellings) {
  // Scheme in capitals, an unquoted realm, spaces, an escaped quote; no scope
  // (the client asks for pull on its repository).
  std::string realm;
  FakeHttpServer srv([&](const FakeRequest& r) {
    if (r.target.rfind("/token", 0) == 0) return HttpResponse(200, R"({"access_token":"abc12345678"})");
    if (r.headers.count("authorization") == 0) {
      return HttpResponse(401, "", {"Www-Authenticate: BEARER realm=" + realm +
                                    " ,  service=\"reg \\\"x\\\"\""});
    }
    return HttpResponse(200, kManifest);
  });
  realm = "http://" + srv.host() + "/token?a=1";
  Registry r(Ref(srv.host(), "team/os"), Plain(srv));
  auto m = r.GetManifest("v1");
  ASSERT_TRUE(m) << m.error().message();
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].target, "/token?a=1&service=reg%20%22x%22&scope=repository%3Ateam%2Fos%3Apull");
  EXPECT_EQ(reqs[2].headers["authorization"], "Bearer abc12345678");
}

TEST(OciRegistryTest, CredentialsFromDockerConfigJson) {
  BearerRegistry reg(100);
  auto dir = std::filesystem::temp_directory_path() / ("oci_reg_auth_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"auths":{")" << reg.srv->host() << R"(":{"auth":")" << Base64("user:pw") << R"("}}})";
  RegistryOptions o = Plain(*reg.srv);
  o.auth_file = (dir / "config.json").string();
  Registry r(Ref(reg.srv->host()), o);
  auto m = r.GetManifest("v1");
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(reg.issued, 1);
}

TEST(OciRegistryTest, ExpiredTokenIsRefreshedOncePerRequest) {
  BearerRegistry reg(1);  // every token works once: each request needs a new one
  RegistryOptions o = Plain(*reg.srv);
  o.registries.configs[reg.srv->host()].username = "user";
  o.registries.configs[reg.srv->host()].password = "pw";
  Registry r(Ref(reg.srv->host()), o);
  for (int i = 0; i < 3; ++i) {
    auto m = r.GetManifest("v1");
    ASSERT_TRUE(m) << i << ": " << m.error().message();
  }
  EXPECT_EQ(reg.issued, 3);
  // Requests 2 and 3 were first sent with the old token, refused, then repeated.
  auto reqs = reg.srv->requests();
  ASSERT_EQ(reqs.size(), 9u);
  EXPECT_EQ(reqs[3].headers["authorization"], "Bearer tok-1-secretvalue");
  EXPECT_EQ(reqs[4].target.rfind("/token", 0), 0u);
  EXPECT_EQ(reqs[5].headers["authorization"], "Bearer tok-2-secretvalue");
}

TEST(OciRegistryTest, TokenRefusedRightAfterRefreshFails) {
  BearerRegistry reg(0);  // no token ever works
  RegistryOptions o = Plain(*reg.srv);
  o.registries.configs[reg.srv->host()].auth = Base64("user:pw");
  Registry r(Ref(reg.srv->host()), o);
  auto m = r.GetManifest("v1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "manifest v1 for oci://" + reg.srv->host() + "/r:v1 at " +
                                     reg.srv->host() +
                                     ": authentication failed even with a fresh token (HTTP 401)");
  EXPECT_EQ(reg.issued, 1);
}

TEST(OciRegistryTest, UnauthorizedWithoutCredentialsIsClear) {
  BearerRegistry reg(100);
  Registry r(Ref(reg.srv->host()), Plain(*reg.srv));
  auto m = r.GetManifest("v1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "manifest v1 for oci://" + reg.srv->host() + "/r:v1 at " +
                                     reg.srv->host() + ": getting token from http://" +
                                     reg.srv->host() + "/token: HTTP 401 (no credentials for " +
                                     reg.srv->host() + ")");

  FakeHttpServer basic([](const FakeRequest&) {
    return HttpResponse(401, "", {"WWW-Authenticate: Basic realm=\"reg\""});
  });
  Registry r2(Ref(basic.host()), Plain(basic));
  auto m2 = r2.GetManifest("v1");
  ASSERT_FALSE(m2);
  EXPECT_EQ(m2.error().message(), "manifest v1 for oci://" + basic.host() + "/r:v1 at " +
                                      basic.host() +
                                      ": authentication required (HTTP 401) and no credentials "
                                      "for " + basic.host());
  EXPECT_EQ(m2.error().code(), 401);
}

TEST(OciRegistryTest, NotFoundAndForbiddenNameReferenceAndRegistry) {
  FakeHttpServer srv([](const FakeRequest& r) {
    return HttpResponse(r.target.find("/blobs/") != std::string::npos ? 403 : 404, "{}");
  });
  Registry r(Ref(srv.host(), "team/os", "v9"), Plain(srv));
  auto m = r.GetManifest("v9");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "manifest v9 for oci://" + srv.host() + "/team/os:v9 at " +
                                     srv.host() + ": not found (HTTP 404)");
  const std::string d = "sha256:" + std::string(64, 'a');
  Status st = r.GetBlob(d, 1, [](const char*, size_t) { return Status::Ok(); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "blob " + d + " for oci://" + srv.host() + "/team/os:v9 at " +
                                      srv.host() + ": access denied (HTTP 403)");
}

TEST(OciRegistryTest, RetriesOn503And429WithDoublingBackoff) {
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest&) {
    int i = n++;
    if (i == 0 || i == 2) return HttpResponse(503, "busy");
    if (i == 1) return HttpResponse(429, "slow down");
    return HttpResponse(200, kManifest);
  });
  std::vector<milliseconds> sleeps;
  Registry r(Ref(srv.host()), Plain(srv, &sleeps));
  auto m = r.GetManifest("v1");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(sleeps, (std::vector<milliseconds>{milliseconds(100), milliseconds(200),
                                               milliseconds(400)}));

  FakeHttpServer down([](const FakeRequest&) { return HttpResponse(503, "busy"); });
  std::vector<milliseconds> sleeps2;
  RegistryOptions o = Plain(down, &sleeps2);
  o.max_attempts = 3;
  Registry r2(Ref(down.host()), o);
  auto m2 = r2.GetManifest("v1");
  ASSERT_FALSE(m2);
  EXPECT_EQ(m2.error().message(), "manifest v1 for oci://" + down.host() + "/r:v1 at " +
                                      down.host() + ": giving up after 3 attempts: HTTP 503");
  EXPECT_EQ(sleeps2, (std::vector<milliseconds>{milliseconds(100), milliseconds(200)}));
  EXPECT_EQ(down.requests().size(), 3u);
}

// Serves `blob`: the first response is cut after `cut` bytes (with the full
// Content-Length announced); later ones honour Range unless `ignore_range`.
std::string ServeBlob(const std::string& blob, const FakeRequest& r, int call, size_t cut,
                      bool ignore_range) {
  auto range = r.headers.find("range");
  if (call == 0) {
    std::string resp = HttpResponse(200, blob);
    return resp.substr(0, resp.size() - blob.size() + cut);
  }
  if (range == r.headers.end() || ignore_range) return HttpResponse(200, blob);
  size_t from = std::stoul(range->second.substr(6));  // "bytes=N-"
  return HttpResponse(206, blob.substr(from),
                      {"Content-Range: bytes " + std::to_string(from) + "-" +
                       std::to_string(blob.size() - 1) + "/" + std::to_string(blob.size())});
}

TEST(OciRegistryTest, InterruptedBlobResumesWithRange) {
  const std::string blob = Blob(200000);
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest& r) { return ServeBlob(blob, r, n++, 70000, false); });
  std::vector<milliseconds> sleeps;
  Registry r(Ref(srv.host()), Plain(srv, &sleeps));
  std::string got;
  Status st = r.GetBlob(DigestOf(blob), static_cast<int64_t>(blob.size()),
                        [&](const char* d, size_t len) {
                          got.append(d, len);
                          return Status::Ok();
                        });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(got == blob);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].headers.count("range"), 0u);
  EXPECT_EQ(reqs[1].headers["range"], "bytes=70000-");
  EXPECT_EQ(sleeps.size(), 1u);
}

TEST(OciRegistryTest, ServerIgnoringRangeStillGivesTheRightBytes) {
  const std::string blob = Blob(150000);
  std::atomic<int> n{0};
  FakeHttpServer srv([&](const FakeRequest& r) { return ServeBlob(blob, r, n++, 50000, true); });
  Registry r(Ref(srv.host()), Plain(srv));
  std::string got;
  Status st = r.GetBlob(DigestOf(blob), static_cast<int64_t>(blob.size()),
                        [&](const char* d, size_t len) {
                          got.append(d, len);
                          return Status::Ok();
                        });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(got.size(), blob.size());
  EXPECT_TRUE(got == blob);
  EXPECT_EQ(srv.requests().at(1).headers["range"], "bytes=50000-");
}

TEST(OciRegistryTest, MoreBytesThanTheManifestSizeIsAnError) {
  const std::string blob = Blob(5000);
  FakeHttpServer srv([&](const FakeRequest&) { return HttpResponse(200, blob); });
  Registry r(Ref(srv.host()), Plain(srv));
  size_t handed = 0;
  Status st = r.GetBlob(DigestOf(blob.substr(0, 4000)), 4000, [&](const char*, size_t len) {
    handed += len;
    return Status::Ok();
  });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("more data than the manifest's size 4000"),
            std::string::npos)
      << st.error().message();
  EXPECT_LE(handed, 4000u);
  EXPECT_EQ(srv.requests().size(), 1u);  // not retried
}

TEST(OciRegistryTest, DigestMismatchIsAnError) {
  const std::string blob = Blob(5000);
  FakeHttpServer srv([&](const FakeRequest&) { return HttpResponse(200, blob); });
  Registry r(Ref(srv.host()), Plain(srv));
  const std::string want = DigestOf("something else");
  Status st = r.GetBlob(want, 5000, [](const char*, size_t) { return Status::Ok(); });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("blob " + want + ": "), std::string::npos);
  EXPECT_NE(st.error().message().find("digest mismatch"), std::string::npos)
      << st.error().message();
  // A manifest asked for by digest must hash to it too.
  FakeHttpServer man([](const FakeRequest&) { return HttpResponse(200, kManifest); });
  Registry r2(Ref(man.host()), Plain(man));
  auto m = r2.GetManifest(want);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("digest mismatch"), std::string::npos);
}

TEST(OciRegistryTest, MirrorsAreTriedInOrderThenTheRegistry) {
  FakeHttpServer empty([](const FakeRequest&) { return HttpResponse(404, "{}"); });
  FakeHttpServer origin([](const FakeRequest& r) {
    return r.target == "/v2/r/manifests/v1" ? HttpResponse(200, kManifest) : HttpResponse(404, "");
  });
  FakeHttpServer mirror([](const FakeRequest& r) {
    return r.target == "/v2/cache/r/manifests/v2" ? HttpResponse(200, kManifest)
                                                  : HttpResponse(404, "");
  });
  RegistryOptions o = Plain(origin);
  o.registries.mirrors[origin.host()].endpoints = {"http://" + empty.host(),
                                                   "http://" + mirror.host()};
  o.registries.mirrors[origin.host()].rewrites = {{"^(r)$", "cache/$1"}};
  Registry r(Ref(origin.host()), o);
  // v1: only the registry has it; v2: only the mirror (under the rewritten name).
  ASSERT_TRUE(r.GetManifest("v1"));
  ASSERT_TRUE(r.GetManifest("v2"));
  EXPECT_EQ(empty.requests().size(), 2u);
  EXPECT_EQ(empty.requests()[0].target, "/v2/cache/r/manifests/v1");
  EXPECT_EQ(origin.requests().size(), 1u);
  EXPECT_EQ(mirror.requests().size(), 2u);
  // Nobody has v3: the registry's own answer is the error.
  auto m = r.GetManifest("v3");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "manifest v3 for oci://" + origin.host() + "/r:v1 at " +
                                     origin.host() + ": not found (HTTP 404)");
}

TEST(OciRegistryTest, BlobCutOnAMirrorContinuesOnTheNextEndpoint) {
  const std::string blob = Blob(120000);
  std::atomic<int> n{0};
  // The mirror sends 30000 bytes, then only 503s.
  FakeHttpServer mirror([&](const FakeRequest& r) {
    return n++ == 0 ? ServeBlob(blob, r, 0, 30000, false) : HttpResponse(503, "");
  });
  std::atomic<int> m{0};
  FakeHttpServer origin([&](const FakeRequest& r) { return ServeBlob(blob, r, ++m, 0, false); });
  RegistryOptions o = Plain(origin);
  o.max_attempts = 2;
  o.registries.mirrors["*"].endpoints = {"http://" + mirror.host()};
  Registry r(Ref(origin.host()), o);
  std::string got;
  Status st = r.GetBlob(DigestOf(blob), static_cast<int64_t>(blob.size()),
                        [&](const char* d, size_t len) {
                          got.append(d, len);
                          return Status::Ok();
                        });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(got == blob);
  ASSERT_EQ(mirror.requests().size(), 2u);
  EXPECT_EQ(mirror.requests()[1].headers["range"], "bytes=30000-");
  ASSERT_EQ(origin.requests().size(), 1u);
  EXPECT_EQ(origin.requests()[0].headers["range"], "bytes=30000-");
}

TEST(OciRegistryTest, MirrorServingTheWrongManifestFallsThrough) {
  const std::string bad = std::string(kManifest) + " ";
  FakeHttpServer mirror([&](const FakeRequest&) { return HttpResponse(200, bad); });
  FakeHttpServer origin([](const FakeRequest&) { return HttpResponse(200, kManifest); });
  RegistryOptions o = Plain(origin);
  o.registries.mirrors[origin.host()].endpoints = {"http://" + mirror.host()};
  Registry r(Ref(origin.host()), o);
  auto m = r.GetManifest(DigestOf(kManifest));
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->body, kManifest);
  EXPECT_EQ(mirror.requests().size(), 1u);
  EXPECT_EQ(origin.requests().size(), 1u);
}

TEST(OciRegistryTest, ProxyFromSettingsAndNoProxy) {
  ProxySettings env = ProxyFromEnvironment([](const char* n) -> const char* {
    std::string k = n;
    if (k == "https_proxy") return "";
    if (k == "HTTPS_PROXY") return "http://u:p@proxy:3128";
    if (k == "http_proxy") return "http://lower:1";
    if (k == "HTTP_PROXY") return "http://upper:1";
    if (k == "NO_PROXY") return "internal.example, .corp,10.0.0.1,reg:5000";
    return nullptr;
  });
  EXPECT_EQ(env.https, "http://u:p@proxy:3128");
  EXPECT_EQ(env.http, "http://lower:1");
  EXPECT_EQ(env.all, "");
  EXPECT_EQ(ProxyFor(env, "https", "registry.example"), "http://u:p@proxy:3128");
  EXPECT_EQ(ProxyFor(env, "http", "registry.example:80"), "http://lower:1");
  EXPECT_EQ(ProxyFor(env, "https", "internal.example"), "");
  EXPECT_EQ(ProxyFor(env, "https", "a.internal.example:443"), "");
  EXPECT_EQ(ProxyFor(env, "https", "notinternal.example"), "http://u:p@proxy:3128");
  EXPECT_EQ(ProxyFor(env, "https", "x.corp"), "");
  EXPECT_EQ(ProxyFor(env, "https", "10.0.0.1:5000"), "");
  EXPECT_EQ(ProxyFor(env, "https", "reg:5000"), "");
  EXPECT_EQ(ProxyFor(env, "https", "reg:5001"), "http://u:p@proxy:3128");
  ProxySettings all{"", "", "socks5://all:1", "*"};
  EXPECT_EQ(ProxyFor(all, "https", "x"), "");
  all.no_proxy = "";
  EXPECT_EQ(ProxyFor(all, "http", "x"), "socks5://all:1");
  EXPECT_EQ(RedactProxy("http://u:p@proxy:3128"), "http://***@proxy:3128");
  EXPECT_EQ(RedactProxy("proxy:3128"), "proxy:3128");
  EXPECT_EQ(RedactProxy("http://proxy:3128/a@b"), "http://proxy:3128/a@b");
}

TEST(OciRegistryTest, RequestsGoThroughTheConfiguredProxy) {
  // The "proxy" answers absolute-URI requests for a registry that does not exist.
  FakeHttpServer proxy([](const FakeRequest&) { return HttpResponse(200, kManifest); });
  RegistryOptions o;
  o.insecure_registries = {"registry.invalid:5000"};
  o.proxy = ProxySettings{"http://" + proxy.host(), "", "", ""};
  o.sleep = [](milliseconds) {};
  Registry r(Ref("registry.invalid:5000"), o);
  auto m = r.GetManifest("v1");
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].target, "http://registry.invalid:5000/v2/r/manifests/v1");

  // no_proxy: the dead proxy is bypassed for this host.
  FakeHttpServer direct([](const FakeRequest&) { return HttpResponse(200, kManifest); });
  RegistryOptions d = Plain(direct);
  d.proxy = ProxySettings{"http://127.0.0.1:1", "", "", "127.0.0.1"};
  Registry r2(Ref(direct.host()), d);
  ASSERT_TRUE(r2.GetManifest("v1"));
  EXPECT_EQ(direct.requests().at(0).target, "/v2/r/manifests/v1");
}

// An HTTPS registry (openssl s_server -HTTP serving canned responses) that
// redirects a manifest request to plain HTTP: the redirect is refused.
// (s_server refuses paths with ':', so a blob URL cannot be served.)
TEST(OciRegistryTest, RedirectFromHttpsToHttpIsRefused) {
  FakeHttpServer plain([](const FakeRequest&) { return HttpResponse(200, "x"); });
  char tmpl[] = "/tmp/oci_redirect_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string d = tmpl;
  const std::string cmds =
      "(cd " + d + " && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=test-ca -keyout ca.key -out ca.crt && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
      "-subj /CN=localhost -keyout srv.key -out srv.csr && "
      "printf 'subjectAltName=DNS:localhost\\n' > ext && "
      "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile ext -out srv.crt) >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmds.c_str()), 0);
  std::filesystem::create_directories(d + "/www/v2/r/manifests");
  std::ofstream(d + "/www/v2/r/manifests/v1")
      << "HTTP/1.0 307 Temporary Redirect\r\nLocation: http://" << plain.host()
      << "/blob\r\nContent-Length: 0\r\n\r\n";
  // A free port: bind, read it, close.
  int port;
  {
    FakeHttpServer probe([](const FakeRequest&) { return std::string(); });
    port = probe.port();
  }
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    if (chdir((d + "/www").c_str()) != 0) _exit(126);
    execlp("openssl", "openssl", "s_server", "-quiet", "-HTTP", "-4", "-accept",
           ("127.0.0.1:" + std::to_string(port)).c_str(), "-cert", (d + "/srv.crt").c_str(),
           "-key", (d + "/srv.key").c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (!up) std::this_thread::sleep_for(milliseconds(50));
  }
  RegistryOptions o;
  o.ca_file = d + "/ca.crt";
  o.proxy = ProxySettings{};
  o.sleep = [](milliseconds) {};
  Registry r(Ref("localhost:" + std::to_string(port)), o);
  auto st = r.GetManifest("v1");
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  std::filesystem::remove_all(d);
  ASSERT_TRUE(up) << "openssl s_server did not start";
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("manifest v1 for oci://localhost:"),
            std::string::npos)
      << st.error().message();
  EXPECT_EQ(st.error().message().find("giving up"), std::string::npos) << st.error().message();
  EXPECT_TRUE(plain.requests().empty());
  EXPECT_EQ(st.error().message(), "manifest v1 for oci://localhost:" + std::to_string(port) +
                                      "/r:v1 at localhost:" + std::to_string(port) +
                                      ": refused redirect to http://" + plain.host() +
                                      " (an HTTPS registry may only redirect to https://)");
}

}  // namespace
}  // namespace elemental::oci
