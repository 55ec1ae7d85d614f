// File and directory helpers over POSIX calls; see fs.hpp.
#include "common/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string.h>  // explicit_bzero

namespace elemental::fs {
namespace {

// Writes all of `data`, retrying short writes and EINTR. On failure errno
// says why.
bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// fsync on the directory makes a rename inside it durable (leveldb's
// SyncDirIfManifest does the same after installing a new MANIFEST).
Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening directory '" + dir + "' for sync", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems (e.g. certain FUSE or 9p mounts) refuse fsync on a
  // directory; the data itself is already synced, so that is not an error.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    return ErrnoError("syncing directory '" + dir + "'", err);
  }
  return Status::Ok();
}

// Writes in place: used only when rename cannot replace the target.
Status WriteInPlace(const std::string& path, const std::string& content, uint32_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("opening '" + path + "'", errno);
  if (!WriteAll(fd, content) || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError("writing '" + path + "'", err);
  }
  if (::close(fd) != 0) return ErrnoError("closing '" + path + "'", errno);
  return Status::Ok();
}

// Zeroes a buffer in a way the compiler may not drop as a dead store.
void Wipe(std::string& s) {
  if (!s.empty()) ::explicit_bzero(s.data(), s.size());
}

}  // namespace

std::string UnderRoot(const std::string& root, const std::string& path) {
  std::string r = root;
  while (!r.empty() && r.back() == '/') r.pop_back();
  if (r.empty()) return path;
  return path.empty() || path[0] != '/' ? r + "/" + path : r + path;
}

std::string DirName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  std::string dir = p.substr(0, slash);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

Expected<bool> PathExists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return ErrnoError("getting info for file '" + path + "'", errno);
}

Status MkdirAll(const std::string& path, uint32_t mode) {
  if (path.empty()) return Error("creating directory: empty path");
  const std::string context = "creating directory '" + path + "'";
  // Walk the components; each existing one must be a directory.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (::mkdir(prefix.c_str(), mode) == 0) continue;
    const int err = errno;
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      return Error(context + ": path exists but it's not a directory" +
                   (prefix != path ? " ('" + prefix + "')" : ""));
    }
    return ErrnoError(context, err);
  }
  return Status::Ok();
}

Status WriteFileDurable(const std::string& path, const std::string& content, uint32_t mode) {
  const std::string dir = DirName(path);
  if (auto exists = PathExists(dir); !exists) {
    return exists.error();
  } else if (!*exists) {
    if (Status st = MkdirAll(dir, 0700); !st) return st;
  }
  std::string tmp = dir + "/." + BaseName(path) + ".tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("creating a temporary file in '" + dir + "'", errno);
  auto fail = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(what + " '" + path + "'", err);
  };
  if (!WriteAll(fd, content)) return fail("writing", errno);
  if (::fchmod(fd, mode) != 0) return fail("setting the mode of", errno);
  // The content must be on disk before the rename makes it visible.
  if (::fsync(fd) != 0) return fail("syncing", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("closing '" + path + "'", err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    if (err != EBUSY && err != EXDEV) return ErrnoError("renaming into '" + path + "'", err);
    if (Status st = WriteInPlace(path, content, mode); !st) return st;
  }
  // Without this the rename may be lost in a power cut even though the
  // content is on disk.
  return SyncDir(dir);
}

Expected<std::string> ReadFile(const std::string& path, const ReadOptions& opts) {
  std::string context = "reading ";
  if (!opts.what.empty()) context += std::string(opts.what) + " ";
  context += "'" + path + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(context, errno);

  // The buffer is sized from fstat (plus one byte, to see the end without
  // growing) and only grows by copying and wiping the old one, so the
  // content never lingers in freed memory.
  size_t size = 4096;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) >= size) {
    size = static_cast<size_t>(st.st_size) + 1;
  }
  if (opts.max_bytes < size) size = opts.max_bytes + 1;
  std::string out(size, '\0');
  size_t len = 0;
  auto fail = [&](Error err) {
    ::close(fd);
    Wipe(out);
    return err;
  };
  for (;;) {
    if (len == out.size()) {
      std::string bigger(out.size() * 2, '\0');
      std::memcpy(bigger.data(), out.data(), len);
      Wipe(out);
      out.swap(bigger);
    }
    const ssize_t n = ::read(fd, out.data() + len, out.size() - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrnoError(context, errno));
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (len > opts.max_bytes) {
      return fail(Error(context + ": file is larger than " + std::to_string(opts.max_bytes) +
                            " bytes",
                        EFBIG));
    }
  }
  ::close(fd);
  out.resize(len);
  return out;
}

}  // namespace elemental::fs
