// Device: open/size/sector size and positioned I/O (see device.hpp).
#include "disk/device.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace elemental::disk {

Expected<Device> Device::Open(const std::string& path, const OpenOptions& opts) {
  if (opts.file_sector_size != 512 && opts.file_sector_size != 4096) {
    return Error("opening '" + path + "': sector size " + std::to_string(opts.file_sector_size) +
                 " is not supported (512 or 4096)");
  }
  Device d;
  d.path_ = path;
  d.fd_ = ::open(path.c_str(), (opts.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (d.fd_ < 0) return ErrnoError("opening '" + path + "'", errno);
  struct stat st {};
  if (fstat(d.fd_, &st) != 0) return ErrnoError("getting info for '" + path + "'", errno);
  if (opts.writable && S_ISBLK(st.st_mode)) {
    // Reopen exclusively (O_EXCL on a block device claims it; it fails with
    // EBUSY while a partition is mounted). Checked after fstat so that
    // O_EXCL never means "create" on a path that is not a device.
    ::close(d.fd_);
    d.fd_ = ::open(path.c_str(), O_RDWR | O_EXCL | O_CLOEXEC);
    if (d.fd_ < 0) {
      int err = errno;
      if (err == EBUSY) {
        return Error("'" + path + "' is in use (a partition is mounted, or another program "
                     "holds it)", err);
      }
      return ErrnoError("opening '" + path + "'", err);
    }
    if (fstat(d.fd_, &st) != 0) return ErrnoError("getting info for '" + path + "'", errno);
  }
  if (S_ISBLK(st.st_mode)) {
    d.is_block_ = true;
    uint64_t bytes = 0;
    if (ioctl(d.fd_, BLKGETSIZE64, &bytes) != 0) {
      return ErrnoError("getting the size of '" + path + "'", errno);
    }
    int ss = 0;
    if (ioctl(d.fd_, BLKSSZGET, &ss) != 0) {
      return ErrnoError("getting the sector size of '" + path + "'", errno);
    }
    if (ss != 512 && ss != 4096) {
      return Error("'" + path + "' has " + std::to_string(ss) +
                   "-byte logical sectors; only 512 and 4096 are supported");
    }
    d.size_ = bytes;
    d.sector_size_ = static_cast<uint32_t>(ss);
  } else if (S_ISREG(st.st_mode)) {
    d.size_ = static_cast<uint64_t>(st.st_size);
    d.sector_size_ = opts.file_sector_size;
  } else {
    return Error("'" + path + "' is neither a block device nor a regular file");
  }
  return d;
}

Device::Device(Device&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), is_block_(o.is_block_), size_(o.size_),
      sector_size_(o.sector_size_) {
  o.fd_ = -1;
}

Device& Device::operator=(Device&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    is_block_ = o.is_block_;
    size_ = o.size_;
    sector_size_ = o.sector_size_;
    o.fd_ = -1;
  }
  return *this;
}

Device::~Device() {
  if (fd_ >= 0) ::close(fd_);
}

Status Device::ReadAt(uint64_t offset, void* buf, size_t len) const {
  auto* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd_, p + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("reading '" + path_ + "' at byte " + std::to_string(offset + done), errno);
    }
    if (n == 0) {
      return Error("reading '" + path_ + "' at byte " + std::to_string(offset + done) +
                   ": unexpected end of device");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Device::WriteAt(uint64_t offset, const void* buf, size_t len) {
  const auto* p = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd_, p + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("writing '" + path_ + "' at byte " + std::to_string(offset + done), errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Device::Sync() {
  if (::fsync(fd_) != 0) return ErrnoError("syncing '" + path_ + "'", errno);
  return Status::Ok();
}

}  // namespace elemental::disk
