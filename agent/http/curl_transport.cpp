// CurlTransport: one libcurl easy handle per request, HTTP/1.1, no
// redirects, no proxy, bounded bodies, and trust decided only by our options.
//
// Trust, as upstream's tls.GetTLSClientConfig builds its x509.CertPool:
//   - use_system_cert_pool: the system bundle (system_ca_file) is trusted;
//   - ca_pem: those certificates are trusted too (added to the same pool);
//   - neither: the pool is empty and no server certificate verifies (upstream
//     uses an empty, non-nil pool; it does NOT fall back to the system).
//   - insecure_skip_verify: no verification at all.
// The CA bundle given to curl is always an in-memory blob
// (CURLOPT_CAINFO_BLOB), and CURLOPT_CAINFO/CAPATH are cleared, so the CA
// path compiled into libcurl on the build machine is never used.
//
// Proxies: upstream's http.Transport has no Proxy function, so it ignores
// HTTP(S)_PROXY; curl would honour them, so they are switched off here.
#include "http/curl_transport.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common/fs.hpp"
#include "common/log.hpp"

namespace elemental::http {
namespace {

Status GlobalInit() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) return Error(std::string("initializing libcurl: ") + curl_easy_strerror(rc));
  return Status::Ok();
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

// What the callbacks fill in during one transfer.
struct Transfer {
  Response response;
  size_t max_bytes = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  if (t->response.body.size() + n > t->max_bytes) {
    t->too_large = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

std::string Trim(std::string s) {
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  size_t e = s.size();
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return s.substr(b, e - b);
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * nmemb;
  std::string line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (after a 1xx, for example): start over.
    t->response.headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) return n;  // blank line or junk
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t->response.headers.emplace_back(Trim(name), Trim(line.substr(colon + 1)));
  return n;
}

bool IsTlsError(CURLcode rc) {
  switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return true;
    default:
      return false;
  }
}

// A readable description of a failed transfer. TLS problems always say
// "TLS" and, for trust problems, "certificate", so an operator knows to look
// at caCert / useSystemCertPool.
std::string DescribeCurlError(CURLcode rc, const char* errbuf) {
  std::string detail = errbuf != nullptr && errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
      return "TLS: certificate verify failed (" + detail + ")";
    case CURLE_SSL_CACERT_BADFILE:
      return "TLS: cannot load the trusted CA certificates (" + detail + ")";
    case CURLE_COULDNT_RESOLVE_HOST:
      return "cannot resolve host (" + detail + ")";
    case CURLE_COULDNT_CONNECT:
      return "connection failed (" + detail + ")";
    case CURLE_OPERATION_TIMEDOUT:
      return "timed out (" + detail + ")";
    case CURLE_UNSUPPORTED_PROTOCOL:
      return "unsupported protocol (" + detail + ")";
    case CURLE_URL_MALFORMAT:
      return "malformed URL (" + detail + ")";
    case CURLE_GOT_NOTHING:
      return "server closed the connection without a response (" + detail + ")";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return "connection broken (" + detail + ")";
    default:
      break;
  }
  if (IsTlsError(rc)) {
    // mbedTLS and OpenSSL report verification failures through
    // CURLE_SSL_CONNECT_ERROR too; say "certificate" when they do.
    bool cert = detail.find("ertificate") != std::string::npos ||
                detail.find("verif") != std::string::npos;
    return std::string("TLS: ") + (cert ? "certificate problem: " : "handshake failed: ") + detail +
           " (curl error " + std::to_string(static_cast<int>(rc)) + ")";
  }
  return detail + " (curl error " + std::to_string(static_cast<int>(rc)) + ")";
}

// The URL without any userinfo, query or fragment, for messages.
std::string UrlForMessage(const std::string& url) {
  std::string out = url.substr(0, url.find_first_of("?#"));
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t host_start = scheme + 3;
    size_t path = out.find('/', host_start);
    size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
    if (at != std::string::npos && at >= host_start) out.erase(host_start, at + 1 - host_start);
  }
  return out;
}

std::string LowerScheme(const std::string& url) {
  size_t p = url.find("://");
  if (p == std::string::npos) return "";
  std::string s = url.substr(0, p);
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool HasCertificateBlock(const std::string& pem) {
  return pem.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
}

class CurlTransport final : public Transport {
 public:
  CurlTransport(TransportOptions opts, std::string ca_bundle, bool trust_nothing)
      : opts_(std::move(opts)), ca_bundle_(std::move(ca_bundle)), trust_nothing_(trust_nothing) {}

  Expected<Response> Do(const Request& req) override {
    const std::string where = req.method + " " + UrlForMessage(req.url);
    auto fail = [&](const std::string& msg, int code = 0) { return Error(where + ": " + msg, code); };

    std::string scheme = LowerScheme(req.url);
    if (scheme != "http" && scheme != "https") {
      return fail("unsupported URL scheme '" + scheme + "' (want http or https)");
    }
    if (scheme == "https" && trust_nothing_) {
      return fail(
          "TLS: no trusted CA certificates: no CA certificate was given and the system "
          "certificate pool is not enabled, so no server certificate can be verified");
    }

    // Everything the handle points at is declared before it, so it is
    // destroyed after curl_easy_cleanup.
    Transfer t;
    t.max_bytes = opts_.max_response_bytes;
    char errbuf[CURL_ERROR_SIZE] = {0};

    SlistPtr headers;
    for (const auto& [name, value] : req.headers) {
      // A CR or LF would smuggle extra headers; never echo the value.
      if (name.empty() || name.find_first_of("\r\n: ") != std::string::npos) {
        return fail("invalid header name '" + name + "'");
      }
      if (value.find_first_of("\r\n") != std::string::npos) {
        return fail("invalid header '" + name + "': the value contains a line break");
      }
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* next = curl_slist_append(headers.get(), line.c_str());
      if (next == nullptr) return fail("out of memory building headers");
      headers.release();
      headers.reset(next);
    }
    // No "Expect: 100-continue" round trip, no "Accept: */*" that Go does
    // not send.
    for (const char* h_off : {"Expect:", "Accept:"}) {
      curl_slist* next = curl_slist_append(headers.get(), h_off);
      if (next == nullptr) return fail("out of memory building headers");
      headers.release();
      headers.reset(next);
    }

    EasyPtr curl(curl_easy_init());
    if (!curl) return fail("creating a libcurl handle failed");
    CURL* h = curl.get();

    CURLcode rc = CURLE_OK;
    auto set = [&](CURLoption opt, auto value) {
      if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, value);
    };
    set(CURLOPT_ERRORBUFFER, errbuf);
    set(CURLOPT_URL, req.url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
    set(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_FOLLOWLOCATION, 0L);
    set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    set(CURLOPT_PROXY, "");  // no proxy, not even from the environment
    using std::chrono::milliseconds;
    set(CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::chrono::duration_cast<milliseconds>(opts_.connect_timeout).count()));
    set(CURLOPT_TIMEOUT_MS,
        static_cast<long>(std::chrono::duration_cast<milliseconds>(opts_.total_timeout).count()));
    // Refuses early when Content-Length already says too much; OnBody
    // enforces the limit for bodies without a length.
    constexpr size_t kMaxOff = static_cast<size_t>(INT64_MAX);
    set(CURLOPT_MAXFILESIZE_LARGE,
        static_cast<curl_off_t>(opts_.max_response_bytes < kMaxOff ? opts_.max_response_bytes : kMaxOff));
    set(CURLOPT_WRITEFUNCTION, OnBody);
    set(CURLOPT_WRITEDATA, &t);
    set(CURLOPT_HEADERFUNCTION, OnHeader);
    set(CURLOPT_HEADERDATA, &t);
    set(CURLOPT_HTTPHEADER, headers.get());
    set(CURLOPT_USERAGENT, static_cast<const char*>(nullptr));
    set(CURLOPT_ACCEPT_ENCODING, static_cast<const char*>(nullptr));

    // TLS.
    set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));  // Go's client minimum
    set(CURLOPT_CAINFO, static_cast<const char*>(nullptr));
    set(CURLOPT_CAPATH, static_cast<const char*>(nullptr));
    if (opts_.tls.insecure_skip_verify) {
      set(CURLOPT_SSL_VERIFYPEER, 0L);
      set(CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
      set(CURLOPT_SSL_VERIFYPEER, 1L);
      set(CURLOPT_SSL_VERIFYHOST, 2L);
      if (!ca_bundle_.empty()) {
        curl_blob blob{};
        blob.data = const_cast<char*>(ca_bundle_.data());
        blob.len = ca_bundle_.size();
        blob.flags = CURL_BLOB_NOCOPY;  // ca_bundle_ outlives the handle
        set(CURLOPT_CAINFO_BLOB, &blob);
      }
    }

    // Method and body.
    if (req.method == "GET") {
      set(CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else {
      if (req.method == "POST" || !req.body.empty()) {
        set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        set(CURLOPT_POSTFIELDS, req.body.data());
      }
      if (req.method != "POST") set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (rc != CURLE_OK) {
      return fail(std::string("configuring libcurl: ") + curl_easy_strerror(rc));
    }

    rc = curl_easy_perform(h);
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
      return fail("response body exceeds " + std::to_string(opts_.max_response_bytes) + " bytes");
    }
    if (rc != CURLE_OK) return fail(DescribeCurlError(rc, errbuf), 0);

    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    t.response.status = static_cast<int>(status);
    return std::move(t.response);
  }

 private:
  TransportOptions opts_;
  std::string ca_bundle_;  // PEM: system bundle (if enabled) + ca_pem
  bool trust_nothing_;
};

}  // namespace

Expected<std::unique_ptr<Transport>> NewCurlTransport(const TransportOptions& opts) {
  if (auto st = GlobalInit(); !st) return st.error();

  std::string bundle;
  if (!opts.tls.insecure_skip_verify) {
    if (opts.tls.use_system_cert_pool) {
      log::Debug("TLS: using the system certificate pool " + opts.tls.system_ca_file);
      auto sys = fs::ReadFile(opts.tls.system_ca_file);
      if (!sys) return sys.error().Wrap("TLS: loading the system certificate pool");
      if (!HasCertificateBlock(*sys)) {
        return Error("TLS: loading the system certificate pool: " + opts.tls.system_ca_file +
                     " contains no PEM certificate");
      }
      bundle = std::move(*sys);
      if (!bundle.empty() && bundle.back() != '\n') bundle.push_back('\n');
    }
    if (!opts.tls.ca_pem.empty()) {
      if (!HasCertificateBlock(opts.tls.ca_pem)) {
        return Error("TLS: could not parse CA certificate: no PEM CERTIFICATE block found");
      }
      bundle += opts.tls.ca_pem;
      if (bundle.back() != '\n') bundle.push_back('\n');
    }
  } else {
    log::Debug("TLS: certificate verification is disabled");
  }
  bool trust_nothing = !opts.tls.insecure_skip_verify && bundle.empty();
  std::unique_ptr<Transport> t =
      std::make_unique<CurlTransport>(opts, std::move(bundle), trust_nothing);
  return t;
}

}  // namespace elemental::http
