// CurlTransport against real sockets: a tiny HTTP server thread in this file
// for requests, headers, limits and redirects; `openssl s_server` with a
// throw-away CA for the trust decisions.
#include "http/curl_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace elemental::http {
namespace {

// Serves canned raw responses, one per connection, and records the raw
// requests it received.
class TinyServer {
 public:
  explicit TinyServer(std::vector<std::string> responses) : responses_(std::move(responses)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd_, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 8), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }

  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    for (const auto& resp : responses_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req = ReadRequest(c);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      size_t off = 0;
      while (off < resp.size()) {
        ssize_t n = send(c, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      shutdown(c, SHUT_WR);
      char drain[256];
      while (recv(c, drain, sizeof(drain), 0) > 0) {
      }
      close(c);
    }
  }

  static std::string ReadRequest(int c) {
    std::string req;
    char buf[4096];
    size_t want = std::string::npos;
    for (;;) {
      size_t hdr_end = req.find("\r\n\r\n");
      if (hdr_end != std::string::npos && want == std::string::npos) {
        want = hdr_end + 4;
        std::string lower = req.substr(0, hdr_end);
        for (auto& ch : lower) ch = static_cast<char>(tolower(ch));
        size_t cl = lower.find("content-length:");
        if (cl != std::string::npos) want += std::stoul(lower.substr(cl + 15));
      }
      if (want != std::string::npos && req.size() >= want) return req;
      ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) return req;
      req.append(buf, static_cast<size_t>(n));
    }
  }

  std::vector<std::string> responses_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

std::unique_ptr<Transport> MustTransport(TransportOptions opts = {}) {
  auto t = NewCurlTransport(opts);
  EXPECT_TRUE(t.has_value()) << t.error().message();
  return t.has_value() ? std::move(*t) : nullptr;
}

std::string HeaderValue(const Response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers) {
    if (n == name) return v;
  }
  return "<missing>";
}

TEST(CurlTransportTest, UnsupportedScheme) {
  auto t = MustTransport();
  auto r = t->Do({"GET", "ftp://127.0.0.1/x", {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "GET ftp://127.0.0.1/x: unsupported URL scheme 'ftp' (want http or https)");
  auto r2 = t->Do({"GET", "no-scheme", {}, ""});
  ASSERT_FALSE(r2.has_value());
  EXPECT_NE(r2.error().message().find("unsupported URL scheme"), std::string::npos);
}

TEST(CurlTransportTest, ConnectionRefused) {
  auto t = MustTransport();
  auto r = t->Do({"GET", "http://127.0.0.1:1/reg", {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message().rfind("GET http://127.0.0.1:1/reg: connection failed (", 0), 0u)
      << r.error().message();
}

TEST(CurlTransportTest, HttpsWithNoTrustedCaFailsAsTlsError) {
  // As upstream: no caCert and no system pool means an empty pool.
  auto t = MustTransport();
  auto r = t->Do({"GET", "https://127.0.0.1:1/reg", {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("TLS: no trusted CA certificates"), std::string::npos)
      << r.error().message();
}

TEST(CurlTransportTest, BadTlsOptions) {
  TransportOptions opts;
  opts.tls.ca_pem = "not a certificate";
  auto t = NewCurlTransport(opts);
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message().find("could not parse CA certificate"), std::string::npos);

  TransportOptions sys;
  sys.tls.use_system_cert_pool = true;
  sys.tls.system_ca_file = "/nonexistent/ca.crt";
  auto t2 = NewCurlTransport(sys);
  ASSERT_FALSE(t2.has_value());
  EXPECT_NE(t2.error().message().find("/nonexistent/ca.crt"), std::string::npos) << t2.error().message();
}

TEST(CurlTransportTest, RequestAndResponse) {
  TinyServer server({
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Mixed-CASE:  v1 \r\n"
      "Content-Length: 11\r\n\r\n{\"ok\":true}",
      "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
  });
  auto t = MustTransport();
  std::string body(3000, 'b');  // big enough that old curls would send Expect: 100-continue
  auto r = t->Do({"POST",
                  server.url("/hosts"),
                  {{"User-Agent", "elemental-agent/1.0"}, {"Content-Type", "application/json"},
                   {"Authorization", "Bearer abc"}},
                  body});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "{\"ok\":true}");
  EXPECT_EQ(HeaderValue(*r, "content-type"), "application/json");
  EXPECT_EQ(HeaderValue(*r, "x-mixed-case"), "v1");
  for (const auto& [n, v] : r->headers) {
    for (char c : n) EXPECT_FALSE(c >= 'A' && c <= 'Z') << "header name not lower-cased: " << n;
  }

  auto d = t->Do({"DELETE", server.url("/hosts/h1"), {{"User-Agent", "elemental-agent/1.0"}}, ""});
  ASSERT_TRUE(d.has_value()) << d.error().message();
  EXPECT_EQ(d->status, 202);
  EXPECT_TRUE(d->body.empty());

  auto p = t->Do({"PATCH", server.url("/hosts/h1"), {{"Content-Type", "application/json"}}, "{}"});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(p->status, 200);

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].rfind("POST /hosts HTTP/1.1\r\n", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nUser-Agent: elemental-agent/1.0\r\n"), std::string::npos) << reqs[0];
  EXPECT_NE(reqs[0].find("\r\nAuthorization: Bearer abc\r\n"), std::string::npos);
  EXPECT_NE(reqs[0].find("\r\nContent-Length: 3000\r\n"), std::string::npos);
  EXPECT_EQ(reqs[0].find("Expect:"), std::string::npos) << reqs[0];
  EXPECT_EQ(reqs[0].substr(reqs[0].size() - body.size()), body);
  EXPECT_EQ(reqs[1].rfind("DELETE /hosts/h1 HTTP/1.1\r\n", 0), 0u) << reqs[1];
  EXPECT_EQ(reqs[2].rfind("PATCH /hosts/h1 HTTP/1.1\r\n", 0), 0u) << reqs[2];
  EXPECT_NE(reqs[2].find("\r\nContent-Length: 2\r\n\r\n{}"), std::string::npos) << reqs[2];
}

TEST(CurlTransportTest, NonSuccessStatusIsAResponse) {
  TinyServer server({"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nnope\r\n"});
  auto t = MustTransport();
  auto r = t->Do({"GET", server.url(), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "nope\r\n");
}

TEST(CurlTransportTest, DoesNotFollowRedirects) {
  TinyServer server({"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
  auto t = MustTransport();
  auto r = t->Do({"GET", server.url("/start"), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(HeaderValue(*r, "location"), "/elsewhere");
  EXPECT_EQ(server.requests().size(), 1u);
  // Let the server's second accept finish.
  (void)t->Do({"GET", server.url("/done"), {}, ""});
}

TEST(CurlTransportTest, BodyLimitWithContentLength) {
  TinyServer server({"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'x')});
  TransportOptions opts;
  opts.max_response_bytes = 1000;
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", server.url("/big"), {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "GET " + server.url("/big") + ": response body exceeds 1000 bytes");
}

TEST(CurlTransportTest, BodyLimitWithoutContentLength) {
  // No length: the body runs until the server closes; the limit is enforced
  // while receiving.
  TinyServer server({"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(200000, 'y')});
  TransportOptions opts;
  opts.max_response_bytes = 1000;
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", server.url("/stream"), {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "GET " + server.url("/stream") + ": response body exceeds 1000 bytes");
}

TEST(CurlTransportTest, BodyAtLimitIsAccepted) {
  TinyServer server({"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(1000, 'y')});
  TransportOptions opts;
  opts.max_response_bytes = 1000;
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", server.url("/exact"), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->body.size(), 1000u);
}

TEST(CurlTransportTest, HeaderInjectionRefusedWithoutEchoingValue) {
  auto t = MustTransport();
  auto r = t->Do({"GET", "http://127.0.0.1:1/", {{"Authorization", "Bearer secret\r\nX-Evil: 1"}}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("invalid header 'Authorization'"), std::string::npos);
  EXPECT_EQ(r.error().message().find("secret"), std::string::npos);
}

TEST(CurlTransportTest, TimeoutIsReported) {
  // A listening socket that never answers.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  TransportOptions opts;
  opts.total_timeout = std::chrono::seconds(1);
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", {}, ""});
  close(fd);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
}

// --- TLS against `openssl s_server` with a throw-away CA ---

int RunCommand(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  return pclose(p);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class CurlTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/curl_tls_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string out;
    const std::string d = dir_;
    // A CA, a server cert for "localhost" signed by it, and an unrelated CA.
    std::string cmds =
        "cd " + d + " && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=test-ca -keyout ca.key -out ca.crt && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=other-ca -keyout other.key -out other.crt && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj /CN=localhost -keyout srv.key -out srv.csr && "
        "printf 'subjectAltName=DNS:localhost\\n' > ext && "
        "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile ext -out srv.crt";
    ASSERT_EQ(RunCommand(cmds, out), 0) << out;
    port_ = FreePort();
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      // -www answers every GET with a status page; bind IPv4 loopback only.
      int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
      execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-4", "-accept",
             ("127.0.0.1:" + std::to_string(port_)).c_str(), "-cert", (d + "/srv.crt").c_str(), "-key",
             (d + "/srv.key").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait until it listens.
    for (int i = 0; i < 100; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
      close(fd);
      if (ok) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "openssl s_server did not start";
  }

  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // "localhost" resolves to 127.0.0.1 here; the certificate names localhost.
  static std::string Url() { return "https://localhost:" + std::to_string(port_) + "/"; }

  static std::string dir_;
  static int port_;
  static pid_t pid_;
};

std::string CurlTlsTest::dir_;
int CurlTlsTest::port_ = 0;
pid_t CurlTlsTest::pid_ = -1;

TEST_F(CurlTlsTest, TrustsGivenCa) {
  TransportOptions opts;
  opts.tls.ca_pem = ReadFile(dir_ + "/ca.crt");
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", Url(), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(CurlTlsTest, WrongCaIsACertificateError) {
  TransportOptions opts;
  opts.tls.ca_pem = ReadFile(dir_ + "/other.crt");
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", Url(), {}, ""});
  ASSERT_FALSE(r.has_value());
  const std::string& msg = r.error().message();
  EXPECT_EQ(msg.rfind("GET " + Url() + ": TLS: certificate", 0), 0u) << msg;
}

TEST_F(CurlTlsTest, SystemPoolAloneDoesNotTrustTestCa) {
  TransportOptions opts;
  opts.tls.use_system_cert_pool = true;
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", Url(), {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("TLS: certificate"), std::string::npos) << r.error().message();
}

TEST_F(CurlTlsTest, SystemPoolPlusCa) {
  // The system file is a parameter: use a bundle holding an unrelated CA
  // plus our CA given as ca_pem; both must be trusted.
  TransportOptions opts;
  opts.tls.use_system_cert_pool = true;
  opts.tls.system_ca_file = dir_ + "/other.crt";
  opts.tls.ca_pem = ReadFile(dir_ + "/ca.crt");
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", Url(), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();

  TransportOptions sys_only;
  sys_only.tls.use_system_cert_pool = true;
  sys_only.tls.system_ca_file = dir_ + "/ca.crt";
  auto t2 = MustTransport(sys_only);
  auto r2 = t2->Do({"GET", Url(), {}, ""});
  ASSERT_TRUE(r2.has_value()) << r2.error().message();
}

TEST_F(CurlTlsTest, InsecureSkipVerify) {
  TransportOptions opts;
  opts.tls.insecure_skip_verify = true;
  auto t = MustTransport(opts);
  auto r = t->Do({"GET", Url(), {}, ""});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(CurlTlsTest, HostNameMismatchIsACertificateError) {
  TransportOptions opts;
  opts.tls.ca_pem = ReadFile(dir_ + "/ca.crt");
  auto t = MustTransport(opts);
  // The certificate names only "localhost".
  auto r = t->Do({"GET", "https://127.0.0.1:" + std::to_string(port_) + "/", {}, ""});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("TLS: certificate"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace elemental::http
