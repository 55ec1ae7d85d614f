// Host name selection: prefix + random UUID, or prefix + current host name.
#include "phase/hostname.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "common/log.hpp"

namespace elemental::phase {

Expected<std::string> NewRandomUuid() {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return std::string(out);
}

Expected<std::string> FormatHostname(const api::Hostname& conf, plugin::OsPlugin& plugin) {
  if (conf.use_existing) {
    log::Debug("Using existing hostname");
    auto current = plugin.GetHostname();
    if (!current) {
      return current.error().Wrap("getting current hostname").Wrap("setting current hostname");
    }
    return conf.prefix + *current;
  }
  log::Debug("Using random hostname");
  auto uuid = NewRandomUuid();
  if (!uuid) {
    return uuid.error().Wrap("generating new random UUID").Wrap("setting random hostname");
  }
  return conf.prefix + *uuid;
}

}  // namespace elemental::phase
