// An open disk: a block device or an image file, with its size and logical
// sector size, and positioned reads/writes. The GPT code works on this, so
// the same code writes /dev/vda and a sparse test image.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"

namespace elemental::disk {

struct OpenOptions {
  // Writable block devices are opened with O_EXCL, so a disk with a mounted
  // partition (or one another program holds exclusively) is refused instead
  // of repartitioned under a live filesystem.
  bool writable = false;
  // Logical sector size assumed for plain image files (a block device
  // reports its own through BLKSSZGET). 512 or 4096.
  uint32_t file_sector_size = 512;
};

class Device {
 public:
  // Opens a block device or a regular file (O_CLOEXEC; O_RDWR when
  // writable). Errors: "opening '<path>': <strerror>", "'<path>' is in use
  // (a partition is mounted, or another program holds it)" (code EBUSY),
  // "'<path>' is neither a block device nor a regular file", "getting the
  // size of '<path>': ...".
  static Expected<Device> Open(const std::string& path, const OpenOptions& opts = {});

  Device(Device&& o) noexcept;
  Device& operator=(Device&& o) noexcept;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device();

  const std::string& path() const { return path_; }
  bool is_block_device() const { return is_block_; }
  uint64_t size_bytes() const { return size_; }
  uint32_t sector_size() const { return sector_size_; }
  uint64_t sectors() const { return size_ / sector_size_; }
  int fd() const { return fd_; }

  // Whole reads/writes at a byte offset; a short read (past the end) is an
  // error. Errors name the path and the offset.
  Status ReadAt(uint64_t offset, void* buf, size_t len) const;
  Status WriteAt(uint64_t offset, const void* buf, size_t len);
  // fsync(2); for block devices this also flushes the device cache.
  Status Sync();

 private:
  Device() = default;
  std::string path_;
  int fd_ = -1;
  bool is_block_ = false;
  uint64_t size_ = 0;
  uint32_t sector_size_ = 512;
};

}  // namespace elemental::disk
