// HTTP transport: one request in, one response out.
//
// The API client builds requests; a Transport sends them. CurlTransport
// (curl_transport.hpp) is the real one (libcurl + mbedTLS); tests use fakes.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "common/expected.hpp"

namespace elemental::http {

struct Request {
  std::string method;  // "GET", "POST", "PATCH", "DELETE"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends the request. Transport failures (DNS, connect, TLS, timeout, a
  // body over the size limit) are Errors; any HTTP status is a Response.
  virtual Expected<Response> Do(const Request& req) = 0;
};

struct TlsOptions {
  std::string ca_pem;             // trusted CA certificates (PEM); empty = none given
  bool use_system_cert_pool = false;
  bool insecure_skip_verify = false;
  std::string system_ca_file = "/etc/ssl/certs/ca-certificates.crt";
};

struct TransportOptions {
  TlsOptions tls;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds total_timeout{120};
  size_t max_response_bytes = 16 * 1024 * 1024;  // larger bodies are refused
};

}  // namespace elemental::http
