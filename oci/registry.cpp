// Distribution API v2 over libcurl (see registry.hpp).
#include "oci/registry.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <thread>

#include "common/fs.hpp"
#include "common/json.hpp"
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

}  // namespace

struct Registry::Impl {
  Reference ref;
  RegistryOptions opts;
  std::string base;         // "https://host:port"
  std::string basic;        // base64 user:pass from the auth file, or ""
  std::string bearer;       // current token, or ""
  bool use_basic = false;   // the registry asked for Basic: send it up front
  bool auth_loaded = false;
  // Resume state of the blob being fetched: the offset asked for with Range,
  // and where to note how much of a full (200) response to drop.
  int64_t range_from = 0;
  int64_t* skip = nullptr;

  std::string Where() const { return "oci://" + ref.String() + " at " + ref.registry; }

  void LoadBasic() {
    if (auth_loaded) return;
    auth_loaded = true;
    if (opts.auth_file.empty()) return;
    auto text = fs::ReadFile(opts.auth_file);
    if (!text) return;
    auto doc = json::Parse(*text);
    if (!doc) return;
    const json::Value* auths = doc->Find("auths");
    if (auths == nullptr || !auths->is_object()) return;
    std::vector<std::string> keys = {ref.registry, "https://" + ref.registry,
                                     "http://" + ref.registry};
    if (ref.registry == "docker.io") {
      keys.push_back("https://index.docker.io/v1/");
      keys.push_back("index.docker.io");
    }
    for (const auto& k : keys) {
      const json::Value* e = auths->Find(k);
      if (e == nullptr) continue;
      auto a = json::GetString(*e, "auth");
      if (a && !a->empty()) {
        basic = *a;
        return;
      }
      auto u = json::GetString(*e, "username");
      auto p = json::GetString(*e, "password");
      if (u && p && !u->empty()) {
        basic = Base64(*u + ":" + *p);
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
  Response Get(const std::string& url, const std::vector<std::string>& extra_headers,
               const std::string& auth_header, const BlobSink* sink, Status* sink_status) {
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
    const bool plain = base.rfind("http://", 0) == 0;
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
    if (!opts.ca_file.empty()) curl_easy_setopt(c.get(), CURLOPT_CAINFO, opts.ca_file.c_str());
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
      resp.permanent = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                       rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                       rc == CURLE_TOO_MANY_REDIRECTS;
    }
    return resp;
  }

  // Fetches a Bearer token for the challenge. Error names the realm.
  Status FetchToken(const std::map<std::string, std::string>& ch) {
    auto realm = ch.find("realm");
    if (realm == ch.end()) return Error("Bearer challenge without realm");
    std::string url = realm->second;
    std::string sep = url.find('?') == std::string::npos ? "?" : "&";
    if (auto s = ch.find("service"); s != ch.end()) {
      url += sep + "service=" + UrlEscape(s->second);
      sep = "&";
    }
    std::string scope = "repository:" + ref.repository + ":pull";
    if (auto s = ch.find("scope"); s != ch.end() && !s->second.empty()) scope = s->second;
    url += sep + "scope=" + UrlEscape(scope);
    LoadBasic();
    Response r = Get(url, {}, basic.empty() ? "" : "Basic " + basic, nullptr, nullptr);
    if (r.transport_error) return Error("getting token from " + realm->second + ": " + r.error);
    if (r.status != 200) {
      return Error("getting token from " + realm->second + ": HTTP " + std::to_string(r.status));
    }
    auto doc = json::Parse(r.body);
    if (!doc) return doc.error().Wrap("getting token from " + realm->second);
    auto tok = json::GetString(*doc, "token");
    if (!tok || tok->empty()) tok = json::GetString(*doc, "access_token");
    if (!tok || tok->empty()) return Error("getting token from " + realm->second + ": no token");
    bearer = *tok;
    return Status::Ok();
  }

  std::string AuthHeader() {
    if (!bearer.empty()) return "Bearer " + bearer;
    return "";
  }

  // GET with auth challenges and retries. `what` names the object in errors.
  // `make_headers` is asked for the headers of each attempt (Range changes).
  Expected<Response> Request(const std::string& path, const std::string& what,
                             const std::function<std::vector<std::string>()>& make_headers,
                             const BlobSink* sink, const std::function<bool()>& on_retry) {
    std::string url = base + path;
    std::chrono::milliseconds delay = opts.backoff;
    bool authed = false;
    std::string last;
    for (int attempt = 1; attempt <= std::max(1, opts.max_attempts); ++attempt) {
      Status sink_status;
      std::string auth = AuthHeader();
      if (auth.empty() && use_basic) auth = "Basic " + basic;
      Response r = Get(url, make_headers(), auth, sink, &sink_status);
      if (!sink_status) return sink_status.error();
      if (r.too_large || r.permanent) return Error(what + " for " + Where() + ": " + r.error);
      if (!r.transport_error && r.status == 401 && !authed) {
        authed = true;
        std::string scheme;
        auto ch = ParseChallenge(r.headers["www-authenticate"], &scheme);
        if (scheme == "bearer") {
          if (auto st = FetchToken(ch); !st) return st.error().Wrap(what + " for " + Where());
        } else {
          LoadBasic();
          if (basic.empty()) {
            return Error(what + " for " + Where() + ": authentication required (HTTP 401)", 401);
          }
          use_basic = true;
        }
        --attempt;  // the challenge round does not count as a failure
        continue;
      }
      bool retry = r.transport_error || r.status >= 500 || r.status == 429;
      if (!retry) {
        if (r.status >= 200 && r.status < 300) return r;
        std::string why;
        if (r.status == 401) why = "authentication failed";
        else if (r.status == 403) why = "access denied";
        else if (r.status == 404) why = "not found";
        else why = "unexpected response";
        return Error(what + " for " + Where() + ": " + why + " (HTTP " +
                         std::to_string(r.status) + ")",
                     static_cast<int>(r.status));
      }
      last = r.transport_error ? r.error : "HTTP " + std::to_string(r.status);
      if (attempt < opts.max_attempts) {
        Sleep(delay);
        delay *= 2;
        if (on_retry && !on_retry()) break;
      }
    }
    return Error(what + " for " + Where() + ": giving up after " +
                 std::to_string(opts.max_attempts) + " attempts: " + last);
  }
};

Registry::Registry(Reference ref, RegistryOptions opts) : impl_(std::make_unique<Impl>()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  impl_->ref = std::move(ref);
  impl_->opts = std::move(opts);
  const auto& ins = impl_->opts.insecure_registries;
  bool insecure = std::find(ins.begin(), ins.end(), impl_->ref.registry) != ins.end() ||
                  std::find(ins.begin(), ins.end(), impl_->ref.Endpoint()) != ins.end();
  impl_->base = (insecure ? "http://" : "https://") + impl_->ref.Endpoint();
}

Registry::~Registry() = default;

Expected<FetchedManifest> Registry::GetManifest(const std::string& ref) {
  std::string what = "manifest " + ref;
  auto r = impl_->Request(
      "/v2/" + impl_->ref.repository + "/manifests/" + ref, what,
      [] { return std::vector<std::string>{"Accept: " + ManifestAccept()}; }, nullptr, nullptr);
  if (!r) return r.error();
  FetchedManifest m;
  m.body = std::move(r->body);
  m.digest = DigestOf(m.body);
  if (ref.rfind("sha256:", 0) == 0) {
    if (auto st = CheckDigest(ref, m.digest); !st) return st.error().Wrap(what);
  }
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
  auto r = impl_->Request(
      "/v2/" + impl_->ref.repository + "/blobs/" + digest, what,
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
