// Error helpers that need the C library.
#include "common/expected.hpp"

#include <cstring>

namespace elemental {

Error ErrnoError(const std::string& context, int err) {
  return Error(context + ": " + std::strerror(err), err);
}

}  // namespace elemental
