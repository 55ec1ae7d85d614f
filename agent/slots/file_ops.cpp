// FileOps on POSIX: open/write/fsync/rename and a directory fsync.
#include "slots/file_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/fs.hpp"

namespace elemental::slots {
namespace {

class Posix final : public FileOps {
 public:
  Expected<int> OpenForWrite(const std::string& path) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("opening '" + path + "' for writing", errno);
    return fd;
  }

  Status Write(int handle, std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(handle, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("writing", errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status Fsync(int handle) override {
    if (::fsync(handle) != 0) return ErrnoError("syncing", errno);
    return Status::Ok();
  }

  Status Close(int handle) override {
    // close(2) must not be retried on EINTR on Linux: the descriptor is gone.
    if (::close(handle) != 0 && errno != EINTR) return ErrnoError("closing", errno);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoError("renaming '" + from + "' to '" + to + "'", errno);
    }
    return Status::Ok();
  }

  Status FsyncDir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening directory '" + dir + "'", errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoError("syncing directory '" + dir + "'", err);
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("removing '" + path + "'", errno);
    }
    return Status::Ok();
  }

  Expected<std::string> Read(const std::string& path, size_t max_bytes) override {
    fs::ReadOptions opts;
    opts.max_bytes = max_bytes;
    return fs::ReadFile(path, opts);
  }

  Status MakeDirs(const std::string& dir) override {
    auto exists = fs::PathExists(dir);
    if (!exists) return exists.error();
    if (*exists) return Status::Ok();
    if (auto st = fs::MkdirAll(dir, 0700); !st) return st;
    // The new directory's own entry must survive a power cut as well.
    return FsyncDir(fs::DirName(dir));
  }
};

}  // namespace

FileOps& PosixFileOps() {
  static Posix ops;
  return ops;
}

}  // namespace elemental::slots
