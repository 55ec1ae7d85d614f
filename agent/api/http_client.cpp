// The real Elemental API client (upstream internal/agent/client/client.go).
//
// Every request carries `User-Agent: elemental-agent/<version>`. Requests on
// behalf of a host carry `Authorization: Bearer <JWT>`, a token signed fresh
// for that request whose subject is the host the request is about. The
// registration token goes in `Registration-Authorization` (GET registration
// and POST hosts only). Unexpected statuses become Errors whose code() is
// the HTTP status and whose message starts as upstream's ("getting
// registration returned code '403'") followed by the request and a short,
// scrubbed excerpt of the response body. Header values are never logged.
#include "api/http_client.hpp"

#include "common/log.hpp"

namespace elemental::api {
namespace {

// How much of an error response body goes into the error message.
constexpr size_t kBodyExcerptBytes = 200;

// Percent-encodes a path segment (a host name): unreserved characters pass,
// everything else (notably '/') is escaped so a name cannot change the path.
std::string EscapePathSegment(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// Replaces `secret` in `text`; like log::AddSecret, strings shorter than 8
// characters are left alone (they would scrub ordinary words).
void ReplaceAll(std::string& text, const std::string& secret) {
  if (secret.size() < 8) return;
  size_t pos = 0;
  while ((pos = text.find(secret, pos)) != std::string::npos) {
    text.replace(pos, secret.size(), "[REDACTED]");
    pos += 10;
  }
}

class HttpClient final : public Client {
 public:
  HttpClient(ClientOptions opts, http::Transport& transport, const identity::Identity& id,
             Clock& clock)
      : opts_(std::move(opts)),
        transport_(transport),
        id_(id),
        clock_(clock),
        user_agent_("elemental-agent/" + opts_.version) {
    log::AddSecret(opts_.registration_token);
  }

  Expected<RegistrationResponse> GetRegistration() override {
    log::Debug("Getting registration: " + opts_.registration_uri);
    http::Request req = NewRequest("GET", opts_.registration_uri);
    AddRegistrationAuth(req);
    auto body = Send(req, 200, "getting registration");
    if (!body) return body.error();
    return Decode<RegistrationResponse>(*body, "registration response", RegistrationResponseFromJson);
  }

  Status CreateHost(const HostCreateRequest& host) override {
    log::Debug("Creating new host: " + host.name);
    http::Request req = NewRequest("POST", opts_.registration_uri + "/hosts");
    req.body = ToJson(host).Dump();
    req.headers.emplace_back("Content-Type", "application/json");
    AddHostAuth(req, host.name);
    AddRegistrationAuth(req);
    auto body = Send(req, 201, "creating new host");
    if (!body) return body.error();
    return Status::Ok();
  }

  Status DeleteHost(const std::string& name) override {
    log::Debug("Marking host for deletion: " + name);
    http::Request req = NewRequest("DELETE", HostUrl(name));
    AddHostAuth(req, name);
    auto body = Send(req, 202, "deleting host");
    if (!body) return body.error();
    return Status::Ok();
  }

  Expected<HostResponse> PatchHost(const HostPatchRequest& patch, const std::string& name) override {
    http::Request req = NewRequest("PATCH", HostUrl(name));
    req.body = ToJson(patch).Dump();
    // The patch carries no secrets (conditions, phase, labels).
    log::Debug("Patching host '" + name + "': " + req.body);
    req.headers.emplace_back("Content-Type", "application/json");
    AddHostAuth(req, name);
    auto body = Send(req, 200, "patching host");
    if (!body) return body.error();
    return Decode<HostResponse>(*body, "host response", HostResponseFromJson);
  }

  Expected<BootstrapResponse> GetBootstrap(const std::string& name) override {
    log::Debug("Getting bootstrap for host: " + name);
    http::Request req = NewRequest("GET", HostUrl(name) + "/bootstrap");
    AddHostAuth(req, name);
    auto body = Send(req, 200, "getting bootstrap");
    if (!body) return body.error();
    return Decode<BootstrapResponse>(*body, "bootstrap response", BootstrapResponseFromJson);
  }

 private:
  std::string HostUrl(const std::string& name) const {
    return opts_.registration_uri + "/hosts/" + EscapePathSegment(name);
  }

  http::Request NewRequest(const std::string& method, const std::string& url) const {
    http::Request req;
    req.method = method;
    req.url = url;
    req.headers.emplace_back("User-Agent", user_agent_);
    return req;
  }

  void AddRegistrationAuth(http::Request& req) const {
    req.headers.emplace_back("Registration-Authorization", "Bearer " + opts_.registration_token);
  }

  // A fresh host JWT (upstream client.newToken) for `hostname`.
  void AddHostAuth(http::Request& req, const std::string& hostname) {
    json::Value claims =
        identity::HostTokenClaims(user_agent_, hostname, opts_.registration_uri, clock_.Now());
    req.headers.emplace_back("Authorization", "Bearer " + id_.SignJwt(claims));
  }

  // Sends the request; returns the body when the status is `want`.
  Expected<std::string> Send(const http::Request& req, int want, const std::string& what) {
    auto resp = transport_.Do(req);
    if (!resp) return Error(Scrub(req, resp.error().message()), resp.error().code()).Wrap(what);
    log::Debug(req.method + " " + req.url + ": " + std::to_string(resp->status));
    if (resp->status != want) {
      std::string msg = what + " returned code '" + std::to_string(resp->status) +
                        "': unexpected return code (" + req.method + " " + req.url;
      std::string excerpt = BodyExcerpt(req, resp->body);
      if (!excerpt.empty()) msg += ", response: \"" + excerpt + "\"";
      msg += ")";
      return Error(msg, resp->status);
    }
    return std::move(resp->body);
  }

  // Removes every secret this request carried (and any registered secret)
  // from text that is about to enter an error message.
  std::string Scrub(const http::Request& req, std::string text) const {
    for (const auto& [name, value] : req.headers) {
      if (name == "Authorization" || name == "Registration-Authorization") {
        constexpr const char* kBearer = "Bearer ";
        ReplaceAll(text, value.rfind(kBearer, 0) == 0 ? value.substr(7) : value);
      }
    }
    ReplaceAll(text, opts_.registration_token);
    return log::Scrub(std::move(text));
  }

  // The start of a response body, safe for an error message: secrets
  // scrubbed first, then cut to kBodyExcerptBytes, control and non-ASCII
  // bytes replaced by '.', runs of whitespace folded.
  std::string BodyExcerpt(const http::Request& req, const std::string& body) const {
    std::string scrubbed = Scrub(req, body.substr(0, 64 * 1024));
    std::string out;
    bool space = false;
    for (unsigned char c : scrubbed) {
      if (out.size() >= kBodyExcerptBytes) {
        out += "...";
        break;
      }
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        if (!space && !out.empty()) out.push_back(' ');
        space = true;
        continue;
      }
      space = false;
      if (c == '"' || c == '\\') {
        out.push_back('\'');
      } else {
        out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '.');
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

  template <typename T, typename F>
  Expected<T> Decode(const std::string& body, const char* what, F from_json) const {
    auto doc = json::Parse(body);
    if (!doc) return Error(std::string("decoding ") + what + ": " + doc.error().message());
    auto v = from_json(*doc);
    if (!v) return Error("decoding " + v.error().message());
    return v;
  }

  ClientOptions opts_;
  http::Transport& transport_;
  const identity::Identity& id_;
  Clock& clock_;
  std::string user_agent_;
};

}  // namespace

std::unique_ptr<Client> NewHttpClient(ClientOptions opts, http::Transport& transport,
                                      const identity::Identity& id, Clock& clock) {
  return std::make_unique<HttpClient>(std::move(opts), transport, id, clock);
}

}  // namespace elemental::api
