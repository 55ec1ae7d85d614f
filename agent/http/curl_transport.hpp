// The real HTTP transport, on libcurl with mbedTLS.
#pragma once

#include <memory>

#include "http/http.hpp"

namespace elemental::http {

// Creates a transport. Errors when the TLS options cannot be honoured (for
// example an unreadable system CA file).
Expected<std::unique_ptr<Transport>> NewCurlTransport(const TransportOptions& opts);

}  // namespace elemental::http
