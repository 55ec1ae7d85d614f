// Real implementations of the plugin system effects and the file helpers.
#include "plugin/system.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace elemental::plugin {
namespace {

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

// Writes all of `data`, retrying short writes and EINTR.
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

// fsync on the directory makes a rename inside it durable.
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

}  // namespace

Expected<std::string> SystemHostnameControl::Get() {
  char buf[HOST_NAME_MAX + 2] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return ErrnoError("gethostname", errno);
  return std::string(buf);
}

Status SystemHostnameControl::Set(const std::string& hostname) {
  if (::sethostname(hostname.data(), hostname.size()) != 0) {
    return ErrnoError("sethostname", errno);
  }
  return Status::Ok();
}

Status ExecCommandRunner::Run(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error("running a command: empty command line");
  const std::string cmdline = JoinArgs(argv);
  // Everything the child touches is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoError("running '" + cmdline + "': pipe", errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return ErrnoError("running '" + cmdline + "': fork", err);
  }
  if (pid == 0) {
    ::close(pipefd[0]);
    ::execvp(args[0], args.data());
    // Only reached when exec failed: tell the parent why.
    const int err = errno;
    ssize_t ignored = ::write(pipefd[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int child_err = 0;
  ssize_t n;
  do {
    n = ::read(pipefd[0], &child_err, sizeof(child_err));
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("running '" + cmdline + "': waitpid", errno);
  }
  if (n == static_cast<ssize_t>(sizeof(child_err))) {
    return ErrnoError("running '" + cmdline + "'", child_err);
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) return Status::Ok();
    return Error("'" + cmdline + "' exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  if (WIFSIGNALED(status)) {
    return Error("'" + cmdline + "' was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Error("'" + cmdline + "' ended abnormally");
}

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

Expected<bool> PathExists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT || errno == ENOTDIR) return false;
  return ErrnoError("getting info for file '" + path + "'", errno);
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
  return SyncDir(dir);
}

Expected<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("reading '" + path + "'", errno);
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoError("reading '" + path + "'", err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace elemental::plugin
