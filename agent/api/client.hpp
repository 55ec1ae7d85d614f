// The Elemental API client interface: the five calls the agent makes.
//
// Phase handlers talk to the management cluster only through this
// interface; tests replace it with a fake. The real implementation
// (HttpClient in http_client.hpp) signs a fresh host JWT per request.
#pragma once

#include <string>

#include "api/types.hpp"
#include "common/expected.hpp"

namespace elemental::api {

class Client {
 public:
  virtual ~Client() = default;
  // GET {uri} with Registration-Authorization. 200 → the registration.
  virtual Expected<RegistrationResponse> GetRegistration() = 0;
  // POST {uri}/hosts with both auth headers. 201 → ok; 409 etc. → Error
  // whose code() is the HTTP status.
  virtual Status CreateHost(const HostCreateRequest& host) = 0;
  // DELETE {uri}/hosts/{name}. 202 → ok.
  virtual Status DeleteHost(const std::string& name) = 0;
  // PATCH {uri}/hosts/{name}. 200 → the patched host.
  virtual Expected<HostResponse> PatchHost(const HostPatchRequest& patch, const std::string& name) = 0;
  // GET {uri}/hosts/{name}/bootstrap. 200 → format and config; 404 while
  // there is none yet (Error code 404).
  virtual Expected<BootstrapResponse> GetBootstrap(const std::string& name) = 0;
};

}  // namespace elemental::api
