// The real Elemental API client: builds requests with upstream's headers and
// a fresh host JWT per request, and decodes responses strictly.
#pragma once

#include <memory>
#include <string>

#include "api/client.hpp"
#include "common/clock.hpp"
#include "http/http.hpp"
#include "identity/identity.hpp"

namespace elemental::api {

struct ClientOptions {
  std::string registration_uri;
  std::string registration_token;
  std::string version;  // User-Agent: elemental-agent/<version>; iss claim too
};

// `transport`, `identity` and `clock` must outlive the client.
std::unique_ptr<Client> NewHttpClient(ClientOptions opts, http::Transport& transport,
                                      const identity::Identity& id, Clock& clock);

}  // namespace elemental::api
