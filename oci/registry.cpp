// Distribution API v2 over libcurl (see registry.hpp).
#include "oci/registry.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>
#include <thread>

#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "oci/digest.hpp"

namespace elemental::oci {
namespace {

constexpr size_t kMaxBody = 8u << 20;  // bytes of a response that is not streamed

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Base64(const std::string& in) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
    i += 3;
  }
  if (i + 1 == in.size()) {
    uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string UrlEscape(const std::string& s) {
  std::string out;
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Parses `Bearer realm="x",service="y",scope="z"` into lowercase keys.
std::map<std::string, std::string> ParseChallenge(const std::string& header, std::string* scheme) {
  std::map<std::string, std::string> out;
  size_t sp = header.find(' ');
  *scheme = Lower(header.substr(0, sp));
  if (sp == std::string::npos) return out;
  size_t i = sp + 1;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ',')) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string::npos) break;
    std::string key = Lower(header.substr(i, eq - i));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i++];
      }
      ++i;
    } else {
      size_t end = header.find(',', i);
      value = header.substr(i, end == std::string::npos ? std::string::npos : end - i);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      i = end == std::string::npos ? header.size() : end;
    }
    out[key] = value;
  }
  return out;
}

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercase names, last response only
  std::string body;                            // when not streamed
  bool transport_error = false;
  bool too_large = false;  // a non-streamed body over kMaxBody
  bool permanent = false;  // a transport error that a retry cannot fix (TLS trust, bad URL)
  std::string error;  // curl's message for transport errors
};

std::string HostOnly(const std::string& host_port) {
  if (!host_port.empty() && host_port.front() == '[') {
    auto close = host_port.find(']');
    return close == std::string::npos ? host_port : host_port.substr(1, close - 1);
  }
  auto colon = host_port.rfind(':');
  return colon == std::string::npos ? host_port : host_port.substr(0, colon);
}

bool NoProxyMatches(const std::string& no_proxy, const std::string& host_port) {
  const std::string host = Lower(HostOnly(host_port));
  const std::string full = Lower(host_port);
  size_t i = 0;
  while (i <= no_proxy.size()) {
    size_t comma = no_proxy.find(',', i);
    if (comma == std::string::npos) comma = no_proxy.size();
    std::string e = Lower(no_proxy.substr(i, comma - i));
    i = comma + 1;
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.erase(0, 1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.pop_back();
    if (e.empty()) continue;
    if (e == "*") return true;
    if (e == full) return true;  // host:port entries
    if (e.front() == '.') e.erase(0, 1);
    if (host == e) return true;
    if (host.size() > e.size() && host.compare(host.size() - e.size(), e.size(), e) == 0 &&
        host[host.size() - e.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

// What went wrong on one endpoint, and whether another endpoint may help.
struct Failure {
  bool next_endpoint_may_help = true;  // false: bytes already judged (digest, sink)
  bool unreachable = false;            // transport errors after all retries
};

}  // namespace

ProxySettings ProxyFromEnvironment(const GetEnv& getenv) {
  auto get = [&](const char* lower, const char* upper) -> std::string {
    const char* v = getenv(lower);
    if (v == nullptr || *v == '\0') v = getenv(upper);
    return v == nullptr ? "" : v;
  };
  ProxySettings p;
  p.http = get("http_proxy", "HTTP_PROXY");
  p.https = get("https_proxy", "HTTPS_PROXY");
  p.all = get("all_proxy", "ALL_PROXY");
  p.no_proxy = get("no_proxy", "NO_PROXY");
  return p;
}

std::string ProxyFor(const ProxySettings& proxy, const std::string& scheme,
                     const std::string& host) {
  std::string chosen = scheme == "https" ? proxy.https : proxy.http;
  if (chosen.empty()) chosen = proxy.all;
  if (chosen.empty() || NoProxyMatches(proxy.no_proxy, host)) return "";
  return chosen;
}

std::string RedactProxy(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t at = url.find('@', start);
  size_t slash = url.find('/', start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, start) + "***@" + url.substr(at + 1);
}

// One place to fetch from: a mirror endpoint or the registry itself, with its
// own credentials, token and TLS settings.
struct Endpoint {
  std::string host;        // host[:port]
  std::string base;        // "https://host[:port][/path]"
  std::string repository;  // after a mirror's rewrite
  bool mirror = false;
  std::vector<std::string> auth_keys;  // config.json "auths" keys to look up
  std::string basic;       // base64 user:pass, or ""
  bool basic_loaded = false;
  std::string bearer;      // current token, or ""
  bool use_basic = false;  // the registry asked for Basic: send it up front
  std::string ca_file;
  bool skip_verify = false;
  std::string proxy;       // "" = direct
  bool unreachable = false;
  bool plain() const { return base.rfind("http://", 0) == 0; }
};

struct Registry::Impl {
  Reference ref;
  RegistryOptions opts;
  std::vector<Endpoint> endpoints;  // mirrors in order, then the registry
  const Endpoint* last_used = nullptr;
  // Resume state of the blob being fetched: the offset asked for with Range,
  // and where to note how much of a full (200) response to drop.
  int64_t range_from = 0;
  int64_t* skip = nullptr;

  std::string Where(const Endpoint& e) const {
    std::string w = "oci://" + ref.String() + " at " + e.host;
    if (e.mirror) w += " (mirror of " + ref.registry + ")";
    return w;
  }

  void LoadBasic(Endpoint& e) {
    if (e.basic_loaded) return;
    e.basic_loaded = true;
    if (opts.auth_file.empty()) return;
    auto text = fs::ReadFile(opts.auth_file);
    if (!text) return;
    auto doc = json::Parse(*text);
    if (!doc) return;
    const json::Value* auths = doc->Find("auths");
    if (auths == nullptr || !auths->is_object()) return;
    for (const auto& k : e.auth_keys) {
      const json::Value* a = auths->Find(k);
      if (a == nullptr) continue;
      auto b = json::GetString(*a, "auth");
      if (b && !b->empty()) {
        e.basic = *b;
        return;
      }
      auto u = json::GetString(*a, "username");
      auto p = json::GetString(*a, "password");
      if (u && p && !u->empty()) {
        e.basic = Base64(*u + ":" + *p);
        return;
      }
    }
  }

  void Sleep(std::chrono::milliseconds d) {
    if (opts.sleep) {
      opts.sleep(d);
    } else {
      std::this_thread::sleep_for(d);
    }
  }

  // One HTTP GET. `sink` (when set) receives the body of a 2xx response.
  Response Get(const Endpoint& e, const std::string& url,
               const std::vector<std::string>& extra_headers, const std::string& auth_header,
               const BlobSink* sink, Status* sink_status) {
    Response resp;
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) {
      resp.transport_error = true;
      resp.error = "cannot initialise libcurl";
      return resp;
    }
    std::unique_ptr<curl_slist, SlistDeleter> hdrs;
    auto add = [&](const std::string& h) {
      hdrs.reset(curl_slist_append(hdrs.release(), h.c_str()));
    };
    for (const auto& h : extra_headers) add(h);
    if (!auth_header.empty()) add("Authorization: " + auth_header);
    add(std::string("User-Agent: elemental-agent/") + ELEMENTAL_VERSION);

    struct Ctx {
      Response* resp;
      const BlobSink* sink;
      Status* sink_status;
      CURL* curl;
      Impl* impl;
      bool first;
    } ctx{&resp, sink, sink_status, c.get(), this, true};

    auto header_cb = +[](char* data, size_t size, size_t n, void* user) -> size_t {
      auto* x = static_cast<Ctx*>(user);
      std::string line(data, size * n);
      if (line.rfind("HTTP/", 0) == 0) {
        x->resp->headers.clear();  // a new response (after a redirect)
      } else if (auto colon = line.find(':'); colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        x->resp->headers[Lower(line.substr(0, colon))] = value;
      }
      return size * n;
    };
    auto write_cb = +[](char* data, size_t size, size_t n, void* user) -> size_t {
      auto* x = static_cast<Ctx*>(user);
      long code = 0;
      curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
      if (x->sink != nullptr && code >= 200 && code < 300) {
        if (x->first && code == 200 && x->impl->range_from > 0 && x->impl->skip != nullptr) {
          // The server ignored Range and sends the whole blob again.
          *x->impl->skip = x->impl->range_from;
        }
        x->first = false;
        Status st = (*x->sink)(data, size * n);
        if (!st) {
          *x->sink_status = st;
          return 0;  // aborts the transfer
        }
      } else {
        // Manifests, tokens and error bodies are small; refuse anything huge.
        if (x->resp->body.size() + size * n > kMaxBody) return 0;
        x->resp->body.append(data, size * n);
      }
      return size * n;
    };

    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, hdrs.get());
    // HTTP(S) only; a redirect from an HTTPS registry must stay on HTTPS.
    const bool plain = e.plain();
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, plain ? "http,https" : "https");
#else
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS,
                     plain ? static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS)
                           : static_cast<long>(CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    // A stalled transfer (under 1 byte/s for 60 s) counts as a connection error.
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &ctx);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &ctx);
    // The proxy was chosen for this endpoint (""= direct: libcurl then does
    // not look at the environment). no_proxy still applies to redirects.
    curl_easy_setopt(c.get(), CURLOPT_PROXY, e.proxy.c_str());
    // Always set: unset, libcurl would read no_proxy from the environment.
    curl_easy_setopt(c.get(), CURLOPT_NOPROXY, opts.proxy->no_proxy.c_str());
    if (!e.ca_file.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO, e.ca_file.c_str());
    if (e.skip_verify) {
      curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(c.get(), CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode rc = curl_easy_perform(c.get());
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &resp.status);
    if (rc == CURLE_WRITE_ERROR && sink == nullptr) {
      resp.status = 0;
      resp.transport_error = false;
      resp.error = "response larger than " + std::to_string(kMaxBody) + " bytes";
      resp.too_large = true;
    } else if (rc != CURLE_OK) {
      resp.transport_error = true;
      resp.error = curl_easy_strerror(rc);
      char* next = nullptr;
      // After a refused redirect the effective URL is where it pointed.
      if (rc == CURLE_UNSUPPORTED_PROTOCOL &&
          curl_easy_getinfo(c.get(), CURLINFO_EFFECTIVE_URL, &next) == CURLE_OK &&
          next != nullptr && url != next) {
        // Only the scheme and host: a signed storage URL carries credentials.
        std::string to(next);
        auto host_end = to.find('/', to.find("://") == std::string::npos ? 0 : to.find("://") + 3);
        resp.error = "refused redirect to " + to.substr(0, host_end) +
                     (plain ? "" : " (an HTTPS registry may only redirect to https://)");
      }
      resp.permanent = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                       rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                       rc == CURLE_TOO_MANY_REDIRECTS;
    }
    return resp;
  }

  // Fetches a Bearer token for the challenge. Error names the realm.
  Status FetchToken(Endpoint& e, const std::map<std::string, std::string>& ch) {
    auto realm = ch.find("realm");
    if (realm == ch.end()) return Error("Bearer challenge without realm");
    std::string url = realm->second;
    std::string sep = url.find('?') == std::string::npos ? "?" : "&";
    if (auto s = ch.find("service"); s != ch.end()) {
      url += sep + "service=" + UrlEscape(s->second);
      sep = "&";
    }
    std::string scope = "repository:" + e.repository + ":pull";
    if (auto s = ch.find("scope"); s != ch.end() && !s->second.empty()) scope = s->second;
    url += sep + "scope=" + UrlEscape(scope);
    LoadBasic(e);
    Response r = Get(e, url, {}, e.basic.empty() ? "" : "Basic " + e.basic, nullptr, nullptr);
    if (r.transport_error) return Error("getting token from " + realm->second + ": " + r.error);
    if (r.status != 200) {
      return Error("getting token from " + realm->second + ": HTTP " + std::to_string(r.status) +
                       (r.status == 401 ? (e.basic.empty() ? " (no credentials for " + e.host + ")"
                                                           : " (credentials refused)")
                                        : ""),
                   static_cast<int>(r.status));
    }
    auto doc = json::Parse(r.body);
    if (!doc) return doc.error().Wrap("getting token from " + realm->second);
    auto tok = json::GetString(*doc, "token");
    if (!tok || tok->empty()) tok = json::GetString(*doc, "access_token");
    if (!tok || tok->empty()) return Error("getting token from " + realm->second + ": no token");
    e.bearer = *tok;
    log::AddSecret(e.bearer);
    return Status::Ok();
  }

  // GET with auth challenges and retries on one endpoint. `what` names the
  // object in errors. `make_headers` is asked for the headers of each attempt
  // (Range changes).
  Expected<Response> Request(Endpoint& e, const std::string& path, const std::string& what,
                             const std::function<std::vector<std::string>()>& make_headers,
                             const BlobSink* sink, Failure* failure) {
    std::string url = e.base + path;
    std::chrono::milliseconds delay = opts.backoff;
    bool fetched_token = false;  // a token was fetched for this request
    bool sent_basic = false;
    std::string last;
    auto fail = [&](Error err, bool next_may_help) -> Error {
      failure->next_endpoint_may_help = next_may_help;
      return err;
    };
    for (int attempt = 1; attempt <= std::max(1, opts.max_attempts); ++attempt) {
      Status sink_status;
      std::string auth;
      if (!e.bearer.empty()) {
        auth = "Bearer " + e.bearer;
      } else if (e.use_basic) {
        auth = "Basic " + e.basic;
      }
      Response r = Get(e, url, make_headers(), auth, sink, &sink_status);
      if (!sink_status) return fail(sink_status.error(), false);
      if (r.too_large || r.permanent) return fail(Error(what + " for " + Where(e) + ": " + r.error), true);
      if (!r.transport_error && r.status == 401) {
        std::string scheme;
        auto ch = ParseChallenge(r.headers["www-authenticate"], &scheme);
        if (scheme == "bearer" && !fetched_token) {
          // First challenge, or the token in use expired during the pull.
          if (!e.bearer.empty()) {
            log::Debug("Token for " + e.host + " refused (expired?); fetching a new one");
          }
          fetched_token = true;
          e.bearer.clear();
          if (auto st = FetchToken(e, ch); !st) {
            return fail(st.error().Wrap(what + " for " + Where(e)), true);
          }
          --attempt;  // the challenge round does not count as a failure
          continue;
        }
        if (scheme == "basic" && !sent_basic && !e.use_basic) {
          LoadBasic(e);
          if (e.basic.empty()) {
            return fail(Error(what + " for " + Where(e) +
                                  ": authentication required (HTTP 401) and no credentials for " +
                                  e.host,
                              401),
                        true);
          }
          e.use_basic = true;
          sent_basic = true;
          --attempt;
          continue;
        }
        std::string why = fetched_token ? "authentication failed even with a fresh token"
                                        : "authentication failed";
        return fail(Error(what + " for " + Where(e) + ": " + why + " (HTTP 401)", 401), true);
      }
      bool retry = r.transport_error || r.status >= 500 || r.status == 429;
      if (!retry) {
        if (r.status >= 200 && r.status < 300) return r;
        std::string why;
        if (r.status == 403) why = "access denied";
        else if (r.status == 404) why = "not found";
        else why = "unexpected response";
        return fail(Error(what + " for " + Where(e) + ": " + why + " (HTTP " +
                              std::to_string(r.status) + ")",
                          static_cast<int>(r.status)),
                    true);
      }
      last = r.transport_error ? r.error : "HTTP " + std::to_string(r.status);
      if (attempt < opts.max_attempts) {
        Sleep(delay);
        delay *= 2;
      }
      failure->unreachable = r.transport_error;
    }
    return fail(Error(what + " for " + Where(e) + ": giving up after " +
                      std::to_string(opts.max_attempts) + " attempts: " + last),
                true);
  }

  // Request on each endpoint in turn (see registry.hpp). `path` follows
  // "/v2/<repository>/"; `accept` judges a response (a manifest's digest)
  // before it is taken, so a bad mirror falls through.
  Expected<Response> RequestAny(const std::string& path, const std::string& what,
                                const std::function<std::vector<std::string>()>& make_headers,
                                const BlobSink* sink,
                                const std::function<Status(Response&)>& accept) {
    Error last("no endpoint");
    for (size_t i = 0; i < endpoints.size(); ++i) {
      Endpoint& e = endpoints[i];
      const bool is_last = i + 1 == endpoints.size();
      if (e.unreachable && !is_last) continue;
      Failure failure;
      auto r = Request(e, "/v2/" + e.repository + "/" + path, what, make_headers, sink, &failure);
      Status st = r ? (accept ? accept(*r) : Status::Ok()) : Status(r.error());
      if (st) {
        if (&e != last_used && e.mirror) log::Info("Fetching from mirror " + e.host);
        last_used = &e;
        return r;
      }
      last = st.error();
      if (is_last || (!r && !failure.next_endpoint_may_help)) return last;
      if (failure.unreachable) e.unreachable = true;
      log::Warn("Mirror " + e.host + " failed, trying " + endpoints[i + 1].host + ": " +
                last.message());
    }
    return last;
  }
};

Registry::Registry(Reference ref, RegistryOptions opts) : impl_(std::make_unique<Impl>()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  impl_->ref = std::move(ref);
  impl_->opts = std::move(opts);
  Impl& m = *impl_;
  if (!m.opts.proxy) m.opts.proxy = ProxyFromEnvironment([](const char* n) { return std::getenv(n); });
  const RegistriesConfig& rc = m.opts.registries;

  auto configure = [&](Endpoint& e, const std::vector<std::string>& config_keys) {
    for (const auto& k : config_keys) {
      auto it = rc.configs.find(k);
      if (it == rc.configs.end()) continue;
      const HostConfig& h = it->second;
      if (!h.auth.empty()) {
        e.basic = h.auth;
        e.basic_loaded = true;
      } else if (!h.username.empty()) {
        e.basic = Base64(h.username + ":" + h.password);
        e.basic_loaded = true;
      }
      if (!e.basic.empty()) log::AddSecret(e.basic);
      if (!h.ca_file.empty()) e.ca_file = h.ca_file;
      e.skip_verify = h.insecure_skip_verify;
      break;
    }
    e.proxy = ProxyFor(*m.opts.proxy, e.plain() ? "http" : "https", e.host);
    if (!e.proxy.empty()) {
      log::Info("Using proxy " + RedactProxy(e.proxy) + " for " + e.host);
    }
  };

  auto mirror = rc.mirrors.find(m.ref.registry);
  if (mirror == rc.mirrors.end()) mirror = rc.mirrors.find("*");
  if (mirror != rc.mirrors.end()) {
    for (const auto& base : mirror->second.endpoints) {
      auto url = ParseEndpointUrl(base);
      if (!url) {  // a config file is checked when parsed; this is for callers' own values
        log::Warn("Ignoring mirror endpoint for " + m.ref.registry + ": " + url.error().message());
        continue;
      }
      Endpoint e;
      e.host = url->host;
      e.base = url->scheme + "://" + url->host + url->path;
      e.mirror = true;
      e.ca_file = m.opts.ca_file;
      e.repository = m.ref.repository;
      for (const auto& [pattern, repl] : mirror->second.rewrites) {
        try {
          std::regex re(pattern);
          if (std::regex_search(e.repository, re)) {
            e.repository = std::regex_replace(e.repository, re, repl);
            break;
          }
        } catch (const std::regex_error&) {
          // validated when the config was parsed
        }
      }
      e.auth_keys = {e.host, "https://" + e.host, "http://" + e.host};
      configure(e, {e.host});
      m.endpoints.push_back(std::move(e));
    }
  }

  Endpoint orig;
  const auto& ins = m.opts.insecure_registries;
  bool insecure = std::find(ins.begin(), ins.end(), m.ref.registry) != ins.end() ||
                  std::find(ins.begin(), ins.end(), m.ref.Endpoint()) != ins.end();
  orig.host = m.ref.Endpoint();
  orig.base = (insecure ? "http://" : "https://") + m.ref.Endpoint();
  orig.repository = m.ref.repository;
  orig.ca_file = m.opts.ca_file;
  orig.auth_keys = {m.ref.registry, "https://" + m.ref.registry, "http://" + m.ref.registry};
  if (m.ref.registry == "docker.io") {
    orig.auth_keys.push_back("https://index.docker.io/v1/");
    orig.auth_keys.push_back("index.docker.io");
  }
  configure(orig, {m.ref.registry, m.ref.Endpoint()});
  // A mirror list that names the registry itself needs no second round.
  for (auto it = m.endpoints.begin(); it != m.endpoints.end();) {
    it = it->base == orig.base && it->repository == orig.repository ? m.endpoints.erase(it) : it + 1;
  }
  m.endpoints.push_back(std::move(orig));
}

Registry::~Registry() = default;

Expected<FetchedManifest> Registry::GetManifest(const std::string& ref) {
  std::string what = "manifest " + ref;
  FetchedManifest m;
  auto r = impl_->RequestAny(
      "manifests/" + ref, what,
      [] { return std::vector<std::string>{"Accept: " + ManifestAccept()}; }, nullptr,
      [&](Response& resp) -> Status {
        m.digest = DigestOf(resp.body);
        if (ref.rfind("sha256:", 0) == 0) {
          if (auto st = CheckDigest(ref, m.digest); !st) return st.error().Wrap(what);
        }
        return Status::Ok();
      });
  if (!r) return r.error();
  m.body = std::move(r->body);
  auto doc = json::Parse(m.body);
  if (!doc) return doc.error().Wrap(what);
  m.media_type = DetectMediaType(r->headers["content-type"], *doc);
  return m;
}

Status Registry::GetBlob(const std::string& digest, int64_t size, const BlobSink& sink) {
  if (auto st = ValidateDigest(digest); !st) return st;
  Sha256 hash;
  int64_t done = 0;       // bytes handed to `sink`
  int64_t skip = 0;       // bytes of this response already handed on (server ignored Range)
  BlobSink counting = [&](const char* data, size_t len) -> Status {
    // Drop what a server that ignored Range sends again.
    if (skip > 0) {
      size_t s = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(len)));
      data += s;
      len -= s;
      skip -= static_cast<int64_t>(s);
      if (len == 0) return Status::Ok();
    }
    if (size >= 0 && done + static_cast<int64_t>(len) > size) {
      return Error("blob " + digest + ": more data than the manifest's size " +
                   std::to_string(size));
    }
    hash.Update(data, len);
    done += static_cast<int64_t>(len);
    return sink(data, len);
  };
  std::string what = "blob " + digest;
  auto r = impl_->RequestAny(
      "blobs/" + digest, what,
      [&] {
        impl_->range_from = done;
        impl_->skip = &skip;
        skip = 0;
        std::vector<std::string> h;
        if (done > 0) h.push_back("Range: bytes=" + std::to_string(done) + "-");
        return h;
      },
      &counting, nullptr);
  impl_->range_from = 0;
  impl_->skip = nullptr;
  if (!r) return r.error();
  if (size >= 0 && done != size) {
    return Error(what + ": got " + std::to_string(done) + " of " + std::to_string(size) +
                 " bytes");
  }
  if (auto st = CheckDigest(digest, hash.Finish()); !st) return st.error().Wrap(what);
  return Status::Ok();
}

}  // namespace elemental::oci
