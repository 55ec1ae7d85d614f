// Applying a parsed cloud-config under a target root. See cloudinit.hpp.
//
// The config is untrusted input from the management cluster, and the root may
// be a mounted OS slot rather than "/", so every path is resolved one
// component at a time with O_NOFOLLOW: symlinks met on the way are followed
// inside the root (an absolute link starts again at the root, as it would
// for the booted OS) and a ".." that would climb above the root is refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <map>

#include "cloudinit/cloudinit.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace elemental::cloudinit {
namespace {

constexpr int kMaxSymlinks = 40;  // what the kernel allows (ELOOP)
constexpr mode_t kDirMode = 0755;
constexpr uint32_t kSentinelMode = 0644;
constexpr uint32_t kMarkerMode = 0600;
constexpr size_t kMaxShownCommand = 200;
constexpr size_t kTailLines = 20;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string c = p.substr(start, end - start);
    if (!c.empty() && c != ".") out.push_back(c);
    start = end + 1;
  }
  return out;
}

// Where a file goes: its directory, open, and its name there (never a
// symlink when it exists).
struct Location {
  Fd parent;
  std::string name;
};

class Root {
 public:
  static Expected<Root> Open(const std::string& path) {
    const std::string p = path.empty() ? "/" : path;
    int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening the target root '" + p + "'", errno);
    return Root(Fd(fd), p);
  }

  const std::string& path() const { return path_; }

  // Resolves an absolute path (inside the root) to its directory and name.
  // Missing directories are created (0755) when `create_parents`; a symlink
  // in the last place is followed inside the root too.
  Expected<Location> Resolve(const std::string& path, bool create_parents) const {
    const Error escape("path escapes the root");
    std::deque<std::string> todo;
    for (auto& c : SplitPath(path)) todo.push_back(std::move(c));
    std::vector<Fd> fds;  // fds[i]: the directory reached after i components
    fds.emplace_back(::dup(root_.get()));
    if (fds.back().get() < 0) return ErrnoError("duplicating the root", errno);
    int links = 0;
    while (!todo.empty()) {
      std::string c = todo.front();
      todo.pop_front();
      const bool last = todo.empty();
      if (c == "..") {
        if (fds.size() == 1) return escape;
        fds.pop_back();
        if (last) return Error("path names a directory");
        continue;
      }
      const int dirfd = fds.back().get();
      struct stat st;
      if (::fstatat(dirfd, c.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT && last) {
          return Location{Fd(::dup(dirfd)), c};
        }
        if (errno != ENOENT || !create_parents) {
          return ErrnoError("resolving '" + c + "'", errno);
        }
        if (::mkdirat(dirfd, c.c_str(), kDirMode) != 0 && errno != EEXIST) {
          return ErrnoError("creating directory '" + c + "'", errno);
        }
        // The umask must not narrow it: tools running as other users (an
        // etcd or a kubelet dropping privileges) need to traverse it.
        if (::fchmodat(dirfd, c.c_str(), kDirMode, 0) != 0) {
          return ErrnoError("setting the mode of directory '" + c + "'", errno);
        }
        st.st_mode = S_IFDIR;
      }
      if (S_ISLNK(st.st_mode)) {
        if (++links > kMaxSymlinks) return Error("too many levels of symbolic links");
        char buf[4096];
        const ssize_t n = ::readlinkat(dirfd, c.c_str(), buf, sizeof(buf));
        if (n < 0) return ErrnoError("reading link '" + c + "'", errno);
        const std::string link(buf, static_cast<size_t>(n));
        if (!link.empty() && link[0] == '/') fds.resize(1);  // the root's "/", not the host's
        auto lc = SplitPath(link);
        if (lc.empty() && last) return Error("path names a directory");
        todo.insert(todo.begin(), lc.begin(), lc.end());
        continue;
      }
      if (last) return Location{Fd(::dup(dirfd)), c};
      if (!S_ISDIR(st.st_mode)) return Error("'" + c + "' is not a directory");
      int fd = ::openat(dirfd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoError("opening '" + c + "'", errno);
      fds.emplace_back(fd);
    }
    return Error("path names a directory");
  }

  // A file's content, read without leaving the root. Error code ENOENT when
  // it is missing.
  Expected<std::string> Read(const std::string& path) const {
    auto loc = Resolve(path, false);
    if (!loc) return loc.error();
    int fd = ::openat(loc->parent.get(), loc->name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening", errno);
    Fd f(fd);
    std::string out;
    char buf[8192];
    while (true) {
      const ssize_t n = ::read(f.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("reading", errno);
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  Root(Fd fd, std::string path) : root_(std::move(fd)), path_(std::move(path)) {}
  Fd root_;
  std::string path_;
};

Status WriteAll(int fd, const std::string& data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoError("writing", errno);
    p += w;
    left -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

struct Owner {
  bool change = false;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

// Owner, then mode: chown clears setuid/setgid, so the mode comes last.
Status SetOwnerAndMode(int fd, const Owner& owner, uint32_t mode) {
  if (owner.change) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoError("inspecting", errno);
    const bool same = st.st_uid == owner.uid &&
                      (owner.gid == static_cast<gid_t>(-1) || st.st_gid == owner.gid);
    if (!same && ::fchown(fd, owner.uid, owner.gid) != 0) return ErrnoError("changing owner", errno);
  }
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return ErrnoError("changing mode", errno);
  return Status::Ok();
}

// Power-safe replace: temp file in the same directory, fsync, rename over the
// name, fsync the directory, so a power cut leaves the old or the new file.
Status ReplaceFile(const Location& loc, const std::string& content, const Owner& owner,
                   uint32_t mode) {
  const int dirfd = loc.parent.get();
  static unsigned counter = 0;
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 100 && fd.get() < 0; ++attempt) {
    tmp = "." + loc.name.substr(0, 200) + ".tmp-" + std::to_string(::getpid()) + "-" +
          std::to_string(++counter);
    int f = ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (f < 0 && errno != EEXIST) return ErrnoError("creating a temporary file", errno);
    if (f >= 0) fd = Fd(f);
  }
  if (fd.get() < 0) return Error("creating a temporary file: no free name");
  auto fail = [&](const Error& e) {
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return e;
  };
  if (Status st = WriteAll(fd.get(), content); !st) return fail(st.error());
  if (Status st = SetOwnerAndMode(fd.get(), owner, mode); !st) return fail(st.error());
  if (::fsync(fd.get()) != 0) return fail(ErrnoError("syncing", errno));
  fd.Reset();
  if (::renameat(dirfd, tmp.c_str(), dirfd, loc.name.c_str()) != 0) {
    return fail(ErrnoError("renaming into place", errno));
  }
  if (::fsync(dirfd) != 0) return ErrnoError("syncing the directory", errno);
  return Status::Ok();
}

Status AppendFile(const Location& loc, const std::string& content, const Owner& owner,
                  uint32_t mode) {
  // O_NONBLOCK: a fifo planted at the name must not hang the agent; it is
  // then refused as not a regular file.
  int f = ::openat(loc.parent.get(), loc.name.c_str(),
                   O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (f < 0) return ErrnoError("opening for append", errno);
  Fd fd(f);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("inspecting", errno);
  if (!S_ISREG(st.st_mode)) return Error("not a regular file");
  if (Status s = WriteAll(fd.get(), content); !s) return s;
  if (Status s = SetOwnerAndMode(fd.get(), owner, mode); !s) return s;
  if (::fsync(fd.get()) != 0) return ErrnoError("syncing", errno);
  return Status::Ok();
}

bool IsNumber(const std::string& s) {
  if (s.empty() || s.size() > 10) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return std::stoull(s) <= 0xfffffffeull;
}

// name → (id, primary gid) from a passwd- or group-format file.
using IdTable = std::map<std::string, std::pair<uint32_t, uint32_t>>;

IdTable ParseIdFile(const std::string& text, bool passwd) {
  IdTable out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    std::vector<std::string> f;
    size_t p = 0;
    while (true) {
      size_t q = line.find(':', p);
      f.push_back(line.substr(p, q == std::string::npos ? std::string::npos : q - p));
      if (q == std::string::npos) break;
      p = q + 1;
    }
    if (f.size() < 3 || f[0].empty() || !IsNumber(f[2])) continue;
    uint32_t gid = 0;
    if (passwd) {
      if (f.size() < 4 || !IsNumber(f[3])) continue;
      gid = static_cast<uint32_t>(std::stoul(f[3]));
    }
    out.emplace(f[0], std::make_pair(static_cast<uint32_t>(std::stoul(f[2])), gid));
  }
  return out;
}

class OwnerResolver {
 public:
  explicit OwnerResolver(const Root& root) : root_(root) {}

  Expected<Owner> Resolve(const WriteFile& f, const std::string& where) {
    Owner o;
    if (f.owner_user.empty()) return o;
    o.change = true;
    if (IsNumber(f.owner_user)) {
      o.uid = static_cast<uid_t>(std::stoul(f.owner_user));
    } else {
      auto t = Table(true);
      if (!t) return t.error().Wrap(where);
      auto it = (*t)->find(f.owner_user);
      if (it != (*t)->end()) {
        o.uid = it->second.first;
      } else if (f.owner_user == "root") {
        o.uid = 0;  // always 0, also in a minimal root without /etc/passwd
      } else {
        return Error(where + ": unknown user '" + f.owner_user + "' (not in " +
                     fs::UnderRoot(root_.path(), "/etc/passwd") + ")");
      }
    }
    if (f.owner_group.empty()) return o;  // "user": the group is not changed, as cloud-init does
    if (IsNumber(f.owner_group)) {
      o.gid = static_cast<gid_t>(std::stoul(f.owner_group));
    } else {
      auto t = Table(false);
      if (!t) return t.error().Wrap(where);
      auto it = (*t)->find(f.owner_group);
      if (it != (*t)->end()) {
        o.gid = it->second.first;
      } else if (f.owner_group == "root") {
        o.gid = 0;
      } else {
        return Error(where + ": unknown group '" + f.owner_group + "' (not in " +
                     fs::UnderRoot(root_.path(), "/etc/group") + ")");
      }
    }
    return o;
  }

 private:
  Expected<const IdTable*> Table(bool passwd) {
    IdTable& t = passwd ? users_ : groups_;
    bool& loaded = passwd ? users_loaded_ : groups_loaded_;
    if (!loaded) {
      const char* path = passwd ? "/etc/passwd" : "/etc/group";
      auto text = root_.Read(path);
      if (!text && text.error().code() != ENOENT) {
        return text.error().Wrap(std::string("reading ") + fs::UnderRoot(root_.path(), path));
      }
      if (text) t = ParseIdFile(*text, passwd);
      loaded = true;
    }
    return &t;
  }

  const Root& root_;
  IdTable users_, groups_;
  bool users_loaded_ = false, groups_loaded_ = false;
};

std::string Shown(const Command& c) {
  std::string s = ScrubBootstrapTokens(c.Display());
  for (char& ch : s) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  if (s.size() > kMaxShownCommand) s = s.substr(0, kMaxShownCommand) + "...";
  return s;
}

// The last `lines` lines of a command's output (without the final newline).
std::string Tail(const std::string& text, size_t lines) {
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t pos = end;
  for (size_t n = 0; n < lines; ++n) {
    const size_t nl = pos == 0 ? std::string::npos : text.rfind('\n', pos - 1);
    if (nl == std::string::npos) return text.substr(0, end);
    pos = nl;
  }
  return text.substr(pos + 1, end - pos - 1);
}

Status WriteEntry(const Root& root, const WriteFile& f, const Owner& owner,
                  const std::string& where) {
  const std::string context = where + " '" + f.path + "'";
  auto loc = root.Resolve(f.path, true);
  if (!loc) return loc.error().Wrap(context);
  Status st = f.append ? AppendFile(*loc, f.content, owner, f.mode)
                       : ReplaceFile(*loc, f.content, owner, f.mode);
  if (!st) return st.error().Wrap(context);
  return Status::Ok();
}

}  // namespace

Expected<ApplyResult> Apply(const CloudConfig& config, const std::string& root_path,
                            const std::string& state_dir, ProcessRunner& runner) {
  ApplyResult result;
  if (state_dir.empty()) return Error("applying cloud-config: the state directory is not set");
  const std::string marker = state_dir + "/" + kAppliedMarkerName;
  auto previous = fs::ReadFile(marker, {.what = "apply marker", .max_bytes = 4096});
  if (previous) {
    std::string p = *previous;
    while (!p.empty() && (p.back() == '\n' || p.back() == ' ')) p.pop_back();
    if (p == config.digest) {
      log::Info("cloud-config " + config.digest + " was applied already, nothing to do");
      result.already_applied = true;
      return result;
    }
  } else if (previous.error().code() != ENOENT) {
    return previous.error();
  }

  auto root = Root::Open(root_path);
  if (!root) return root.error();
  for (const auto& w : config.warnings) log::Warn("cloud-config: " + w);

  // Every owner first: an unknown name fails before anything is written.
  OwnerResolver resolver(*root);
  std::vector<Owner> owners;
  for (size_t i = 0; i < config.write_files.size(); ++i) {
    auto o = resolver.Resolve(config.write_files[i], "write_files[" + std::to_string(i) + "].owner");
    if (!o) return o.error();
    owners.push_back(*o);
  }

  // defer: cloud-init writes deferred files in its final stage, which still
  // comes before runcmd; writing them with the rest keeps that order.
  for (size_t i = 0; i < config.write_files.size(); ++i) {
    const WriteFile& f = config.write_files[i];
    log::Info("cloud-config: writing " + f.path + (f.append ? " (append)" : ""));
    if (Status st = WriteEntry(*root, f, owners[i], "write_files[" + std::to_string(i) + "]"); !st) {
      return st.error();
    }
    ++result.files_written;
  }

  for (size_t i = 0; i < config.runcmd.size(); ++i) {
    const Command& c = config.runcmd[i];
    const std::string where = "runcmd[" + std::to_string(i) + "] '" + Shown(c) + "'";
    log::Info("cloud-config: running " + where);
    auto r = runner.Run(c, root->path());
    if (!r) return r.error().Wrap(where);
    ++result.commands_run;
    if (r->exit_status != 0) {
      if (!r->output.empty()) {
        log::Warn("cloud-config: " + where + " output (last lines):\n" +
                  ScrubBootstrapTokens(Tail(r->output, kTailLines)));
      }
      return Error(where + ": exited with status " + std::to_string(r->exit_status));
    }
  }

  // Upstream (the elemental plugin) adds the same step when no command of the
  // bootstrap provider mentions the sentinel; the k3s provider omits it.
  if (!config.creates_sentinel) {
    log::Info(std::string("cloud-config: the bootstrap provider does not create ") + kSentinelPath +
              ", creating it");
    WriteFile s;
    s.path = kSentinelPath;
    s.content = "success\n";
    s.mode = kSentinelMode;
    if (Status st = WriteEntry(*root, s, Owner{}, "writing the bootstrap sentinel"); !st) {
      return st.error();
    }
    result.sentinel_added = true;
  }

  if (Status st = fs::MkdirAll(state_dir, 0700); !st) return st.error().Wrap("writing the apply marker");
  if (Status st = fs::WriteFileDurable(marker, config.digest + "\n", kMarkerMode); !st) {
    return st.error().Wrap("writing the apply marker");
  }
  return result;
}

Expected<ApplyResult> ApplyFile(const std::string& config_path, const std::string& root,
                                const std::string& state_dir, ProcessRunner& runner) {
  const std::string context = "applying cloud-config '" + config_path + "'";
  auto text = fs::ReadFile(config_path, {.what = "cloud-config", .max_bytes = kMaxConfigBytes});
  if (!text) return text.error().Wrap(context);
  auto cfg = Parse(*text);
  if (!cfg) return cfg.error().Wrap(context);
  auto res = Apply(*cfg, root, state_dir, runner);
  if (!res) return res.error().Wrap(context);
  return res;
}

}  // namespace elemental::cloudinit
