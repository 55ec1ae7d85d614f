// Loop device attach/detach (see loop.hpp).
#include "disk/loop.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace elemental::disk {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Expected<LoopDevice> LoopDevice::Attach(const std::string& image, const LoopOptions& opts) {
  const std::string what = "attaching '" + image + "' to a loop device";
  Fd backing;
  backing.fd = open(image.c_str(), (opts.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (backing.fd < 0) return ErrnoError(what + ": opening the image", errno);
  Fd ctl;
  ctl.fd = open(opts.control.c_str(), O_RDWR | O_CLOEXEC);
  if (ctl.fd < 0) return ErrnoError(what + ": opening '" + opts.control + "'", errno);
  Error last("no free loop device");
  // Another process may grab the free device between GET_FREE and
  // CONFIGURE (EBUSY); a few retries settle that.
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = ioctl(ctl.fd, LOOP_CTL_GET_FREE);
    if (n < 0) return ErrnoError(what + ": LOOP_CTL_GET_FREE", errno);
    LoopDevice d;
    d.path_ = opts.dev + "/loop" + std::to_string(n);
    d.fd_ = open(d.path_.c_str(), (opts.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (d.fd_ < 0) return ErrnoError(what + ": opening '" + d.path_ + "'", errno);
    uint32_t flags = LO_FLAGS_PARTSCAN | LO_FLAGS_AUTOCLEAR;
    if (opts.read_only) flags |= LO_FLAGS_READ_ONLY;
    struct loop_config cfg {};
    cfg.fd = static_cast<uint32_t>(backing.fd);
    cfg.info.lo_flags = flags;
    cfg.block_size = opts.block_size;
    std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), image.c_str(),
                 LO_NAME_SIZE - 1);
    if (ioctl(d.fd_, LOOP_CONFIGURE, &cfg) == 0) return d;
    int err = errno;
    if (err == EBUSY) {
      last = ErrnoError(d.path_, err);
      continue;
    }
    if (err != EINVAL && err != ENOTTY) return ErrnoError(what + ": LOOP_CONFIGURE", err);
    // Kernels before 5.8: two steps.
    if (ioctl(d.fd_, LOOP_SET_FD, backing.fd) != 0) {
      err = errno;
      if (err == EBUSY) {
        last = ErrnoError(d.path_, err);
        continue;
      }
      return ErrnoError(what + ": LOOP_SET_FD", err);
    }
    struct loop_info64 info {};
    info.lo_flags = flags & ~static_cast<uint32_t>(LO_FLAGS_READ_ONLY);
    std::strncpy(reinterpret_cast<char*>(info.lo_file_name), image.c_str(), LO_NAME_SIZE - 1);
    if (ioctl(d.fd_, LOOP_SET_STATUS64, &info) != 0) {
      err = errno;
      ioctl(d.fd_, LOOP_CLR_FD, 0);
      return ErrnoError(what + ": LOOP_SET_STATUS64", err);
    }
    if (opts.block_size != 0 && ioctl(d.fd_, LOOP_SET_BLOCK_SIZE, opts.block_size) != 0) {
      err = errno;
      ioctl(d.fd_, LOOP_CLR_FD, 0);
      return ErrnoError(what + ": LOOP_SET_BLOCK_SIZE", err);
    }
    return d;
  }
  return last.Wrap(what);
}

LoopDevice::LoopDevice(LoopDevice&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) {
  o.fd_ = -1;
}

LoopDevice& LoopDevice::operator=(LoopDevice&& o) noexcept {
  if (this != &o) {
    (void)Detach();
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

LoopDevice::~LoopDevice() { (void)Detach(); }

std::string LoopDevice::name() const {
  size_t slash = path_.rfind('/');
  return slash == std::string::npos ? path_ : path_.substr(slash + 1);
}

Status LoopDevice::Detach() {
  if (fd_ < 0) return Status::Ok();
  Status st;
  // ENXIO: already detached. EBUSY on old kernels while partitions are in
  // use; autoclear then finishes the job on last close.
  if (ioctl(fd_, LOOP_CLR_FD, 0) != 0 && errno != ENXIO && errno != EBUSY) {
    st = ErrnoError("detaching '" + path_ + "'", errno);
  }
  close(fd_);
  fd_ = -1;
  return st;
}

}  // namespace elemental::disk
