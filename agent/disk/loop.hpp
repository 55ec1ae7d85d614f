// Loop devices: attach an image file as a block device with partition
// scanning, so the plugin can install onto an image file in tests exactly
// as onto a disk. Autoclear is set, so the kernel frees the device when the
// last user (our fd, a mount) goes away even if we crash.
#pragma once

#include <string>

#include "common/expected.hpp"

namespace elemental::disk {

struct LoopOptions {
  bool read_only = false;
  // Logical sector size of the loop device; 0 keeps the kernel's 512.
  // (4096 lets tests check 4K-sector handling.)
  uint32_t block_size = 0;
  std::string control = "/dev/loop-control";
  std::string dev = "/dev";  // where loopN nodes are
};

class LoopDevice {
 public:
  // LOOP_CTL_GET_FREE, then LOOP_CONFIGURE (falls back to LOOP_SET_FD +
  // LOOP_SET_STATUS64 on kernels before 5.8) with LO_FLAGS_PARTSCAN |
  // LO_FLAGS_AUTOCLEAR; retried when another process takes the free device
  // first. Errors: "attaching '<image>' to a loop device: <why>".
  static Expected<LoopDevice> Attach(const std::string& image, const LoopOptions& opts = {});

  LoopDevice(LoopDevice&& o) noexcept;
  LoopDevice& operator=(LoopDevice&& o) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  // Detaches (errors ignored; see Detach).
  ~LoopDevice();

  const std::string& path() const { return path_; }  // "/dev/loop3"
  std::string name() const;                          // "loop3"

  // LOOP_CLR_FD and close. With autoclear the kernel finishes the detach
  // when partitions are no longer mounted. Idempotent.
  Status Detach();

 private:
  LoopDevice() = default;
  std::string path_;
  int fd_ = -1;
};

}  // namespace elemental::disk
