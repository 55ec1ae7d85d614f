// What the native plugin keeps on COS_OEM, under `<oem>/elemental/`:
//
//   files/<absolute path>        files for the installed system, with their
//                                mode and owner (agent config, private key,
//                                /etc/hostname); the boot image copies this
//                                tree into the slot's root at every boot
//   cloud-config/registration.yaml   the registration's cloudConfig
//   bootstrap/cloud-config.yaml  the CAPI bootstrap, applied once by `run`
//   state/                       the slot state record (agent/slots)
//
// Before the disk exists (register in live mode) the same tree is built in a
// staging directory on tmpfs and copied onto COS_OEM once it is formatted,
// as upstream stages into /oem before `elemental install` copies it.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"

namespace elemental::plugin::native {

inline constexpr const char* kOemFilesDir = "elemental/files";
inline constexpr const char* kOemRegistrationCloudConfig = "elemental/cloud-config/registration.yaml";
inline constexpr const char* kOemBootstrapCloudConfig = "elemental/bootstrap/cloud-config.yaml";
inline constexpr const char* kOemStateDir = "elemental/state";

class OemTree {
 public:
  explicit OemTree(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& rel) const { return dir_ + "/" + rel; }

  // Keeps `content` for `target` (an absolute path in the installed system).
  // Errors: a relative path or one with "." / ".." components is refused.
  Status PutFile(const std::string& target, const std::string& content, uint32_t mode, int uid,
                 int gid);
  // Writes a file of the tree itself (0600: cloud-configs carry secrets).
  Status PutOwn(const std::string& rel, const std::string& content);

 private:
  std::string dir_;
};

// Copies the tree under `from` into `to` (both directories), keeping modes,
// owners and symlinks, each file written durably. Existing files in `to` are
// replaced.
Status CopyTree(const std::string& from, const std::string& to);

}  // namespace elemental::plugin::native
