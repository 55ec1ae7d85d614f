// The native plugin with its real parts: agent/disk for partitions,
// filesystems, loop devices and mounts; oci/ for pulls (mirrors, auth and
// TLS from registries.yaml); agent/cloudinit for the bootstrap.
#pragma once

#include <memory>

#include "plugin/elemental/elemental.hpp"

namespace elemental::plugin::native {

// Where mke2fs and mkfs.fat are (the boot image ships the static ones there).
inline constexpr const char* kToolsDir = "/usr/sbin";

std::unique_ptr<OsPlugin> MakeNativePlugin();

}  // namespace elemental::plugin::native
