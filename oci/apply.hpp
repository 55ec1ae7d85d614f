// Applying one image layer (a tar stream, optionally gzip or zstd
// compressed — detected from the bytes) into a target directory, as an OCI
// runtime expects a root filesystem to be built:
//   - whiteouts `.wh.NAME` delete NAME from lower layers; `.wh..wh..opq`
//     empties its directory of everything lower layers put there;
//   - hard links (also to files from earlier layers), symlinks, device nodes,
//     fifos; permissions with setuid/setgid/sticky; numeric ownership; mtimes;
//     xattrs (security.capability included).
//
// Layers are untrusted. Every path is resolved component by component under
// the target with O_NOFOLLOW; symlinks met on the way are resolved inside the
// target (an absolute link is taken from the target root), and any entry
// whose path, link target or hard-link source would leave the target fails
// the layer: "layer entry '../x': path escapes the target".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/expected.hpp"

namespace elemental::oci {

// Supplies the next bytes of the layer stream into buf (at most len bytes).
// Returns the count, 0 at the end, or an Error (which aborts the layer).
using LayerReader = std::function<Expected<size_t>(char* buf, size_t len)>;

struct ApplyOptions {
  // Skip lchown (for unprivileged runs); ownership is kept otherwise.
  bool skip_ownership = false;
};

// Applies the layer read from `reader` into the existing directory `target`.
// Errors name the entry: "layer entry 'etc/x': creating file: <strerror>".
Status ApplyLayer(const std::string& target, const LayerReader& reader,
                  const ApplyOptions& opts = {});

}  // namespace elemental::oci
