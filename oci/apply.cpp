// Layer application with libarchive (see apply.hpp). libarchive only reads
// and decompresses; every file system change is made here, relative to
// directory file descriptors that were reached without following symlinks.
#include "oci/apply.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <vector>

namespace elemental::oci {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaque[] = ".wh..wh..opq";
constexpr int kMaxSymlinks = 40;

// An owned file descriptor.
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
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

// The error for a failed libarchive call. Some failures come without a
// message (a GNU long-name entry cut short, for one): say what is likely
// rather than nothing.
Error ArchiveError(struct archive* a) {
  const char* msg = archive_error_string(a);
  if (msg == nullptr || *msg == '\0') {
    return Error("reading layer: malformed or truncated layer (libarchive gave no reason)");
  }
  return Error(std::string("reading layer: ") + msg);
}

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string c = p.substr(start, end - start);
    if (!c.empty() && c != ".") out.push_back(c);
    start = end + 1;
  }
  return out;
}

std::string Join(const std::vector<std::string>& comps) {
  std::string s;
  for (const auto& c : comps) {
    if (!s.empty()) s += "/";
    s += c;
  }
  return s;
}

// Where an entry goes: an open parent directory, the path of that directory
// relative to the target (symlinks resolved), and the final name.
struct Location {
  Fd parent;
  std::string parent_path;  // "" for the target itself
  std::string name;         // never empty, ".", ".." or containing '/'
  std::string Path() const { return parent_path.empty() ? name : parent_path + "/" + name; }
};

// Removes everything at `name` in `dirfd` (recursively for directories).
// A missing name is fine.
Status RemoveAll(int dirfd, const std::string& name) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError("inspecting '" + name + "'", errno);
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening '" + name + "'", errno);
    DIR* d = fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      close(fd);
      return ErrnoError("opening '" + name + "'", err);
    }
    std::vector<std::string> children;
    while (struct dirent* e = readdir(d)) {
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
        children.emplace_back(e->d_name);
      }
    }
    for (const auto& c : children) {
      if (auto st2 = RemoveAll(::dirfd(d), c); !st2) {
        closedir(d);
        return st2;
      }
    }
    closedir(d);
    if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) {
      return ErrnoError("removing '" + name + "'", errno);
    }
    return Status::Ok();
  }
  if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoError("removing '" + name + "'", errno);
  }
  return Status::Ok();
}

class Applier {
 public:
  Applier(std::string target, const ApplyOptions& opts) : target_(std::move(target)), opts_(opts) {}

  Status Run(const LayerReader& reader);

 private:
  static la_ssize_t ReadCallback(struct archive* a, void* self, const void** buf);

  // Resolves `path` (relative to the target) to its parent directory and
  // final name, creating missing parent directories (0755) on the way.
  Expected<Location> Resolve(const std::string& path, bool create_parents);
  Status ApplyEntry(struct archive* a, struct archive_entry* e);
  Status ApplyMetadata(const Location& loc, struct archive_entry* e, int fd);
  Status WriteData(struct archive* a, int fd, int64_t size);
  // Remembers a directory's times before this layer changes its contents.
  void SaveDirTimes(int dirfd, const std::string& path);
  Status RestoreDirTimes();

  std::string target_;
  ApplyOptions opts_;
  Fd root_;
  const LayerReader* reader_ = nullptr;
  std::vector<char> buf_;
  Error read_error_;
  bool read_failed_ = false;
  // Paths (resolved, relative to the target) this layer created; an opaque
  // whiteout only removes what lower layers left.
  std::set<std::string> created_;
  // Directory times to set when the layer is done: the archive's own times
  // for directory entries, the prior times for directories it modified.
  std::map<std::string, std::pair<struct timespec, struct timespec>> dir_times_;
};

la_ssize_t Applier::ReadCallback(struct archive* a, void* self, const void** buf) {
  auto* me = static_cast<Applier*>(self);
  auto n = (*me->reader_)(me->buf_.data(), me->buf_.size());
  if (!n) {
    me->read_error_ = n.error();
    me->read_failed_ = true;
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  *buf = me->buf_.data();
  return static_cast<la_ssize_t>(*n);
}

void Applier::SaveDirTimes(int dirfd, const std::string& path) {
  if (dir_times_.count(path) != 0) return;
  struct stat st;
  if (fstat(dirfd, &st) != 0) return;
  dir_times_[path] = {st.st_atim, st.st_mtim};
}

Expected<Location> Applier::Resolve(const std::string& path, bool create_parents) {
  auto escape = [&]() { return Error("path escapes the target"); };
  if (!path.empty() && path[0] == '/') return Error("absolute path");
  std::vector<std::string> comps = SplitPath(path);
  if (comps.empty()) return Error("empty path");
  std::string name = comps.back();
  comps.pop_back();
  if (name == "..") return escape();

  std::deque<std::string> todo(comps.begin(), comps.end());
  std::vector<Fd> fds;  // fds[i] is the directory of resolved[0..i)
  std::vector<std::string> resolved;
  fds.emplace_back(dup(root_.get()));
  int links = 0;
  while (!todo.empty()) {
    std::string c = todo.front();
    todo.pop_front();
    if (c == "..") {
      if (resolved.empty()) return escape();
      resolved.pop_back();
      fds.pop_back();
      continue;
    }
    int dirfd = fds.back().get();
    struct stat st;
    if (fstatat(dirfd, c.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT || !create_parents) return ErrnoError("resolving '" + c + "'", errno);
      if (mkdirat(dirfd, c.c_str(), 0755) != 0) return ErrnoError("creating '" + c + "'", errno);
      st.st_mode = S_IFDIR;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return Error("too many levels of symbolic links");
      std::vector<char> buf(4096);
      ssize_t n = readlinkat(dirfd, c.c_str(), buf.data(), buf.size());
      if (n < 0) return ErrnoError("reading link '" + c + "'", errno);
      std::string link(buf.data(), static_cast<size_t>(n));
      if (!link.empty() && link[0] == '/') {
        // An absolute link means the target's root, not the host's.
        resolved.clear();
        fds.resize(1);
      }
      auto lc = SplitPath(link);
      todo.insert(todo.begin(), lc.begin(), lc.end());
      continue;
    }
    if (!S_ISDIR(st.st_mode)) return Error("'" + c + "' is not a directory");
    int fd = openat(dirfd, c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening '" + c + "'", errno);
    fds.emplace_back(fd);
    resolved.push_back(c);
  }
  Location loc;
  loc.parent = std::move(fds.back());
  loc.parent_path = Join(resolved);
  loc.name = name;
  return loc;
}

Status Applier::WriteData(struct archive* a, int fd, int64_t size) {
  const void* block;
  size_t len;
  la_int64_t offset;
  while (true) {
    int r = archive_read_data_block(a, &block, &len, &offset);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK) {
      if (read_failed_) return read_error_;
      return ArchiveError(a);
    }
    const char* p = static_cast<const char*>(block);
    while (len > 0) {
      ssize_t w = pwrite(fd, p, len, offset);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("writing file", errno);
      }
      p += w;
      len -= static_cast<size_t>(w);
      offset += w;
    }
  }
  // Sparse files end in a hole that no block covers.
  if (ftruncate(fd, size) != 0) return ErrnoError("sizing file", errno);
  return Status::Ok();
}

Status Applier::ApplyMetadata(const Location& loc, struct archive_entry* e, int fd) {
  const char* name = loc.name.c_str();
  int dirfd = loc.parent.get();
  mode_t type = archive_entry_filetype(e);
  bool is_link = type == AE_IFLNK;
  if (!opts_.skip_ownership) {
    auto uid = static_cast<uid_t>(archive_entry_uid(e));
    auto gid = static_cast<gid_t>(archive_entry_gid(e));
    int r = fd >= 0 ? fchown(fd, uid, gid) : fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
    if (r != 0) return ErrnoError("changing owner", errno);
  }
  if (!is_link) {
    // After chown, which clears setuid/setgid.
    mode_t mode = archive_entry_perm(e) & 07777;
    int r = fd >= 0 ? fchmod(fd, mode) : fchmodat(dirfd, name, mode, 0);
    if (r != 0) return ErrnoError("changing mode", errno);
  }
  // Extended attributes, after chown (which drops security.capability).
  archive_entry_xattr_reset(e);
  const char* xname;
  const void* xval;
  size_t xlen;
  while (archive_entry_xattr_next(e, &xname, &xval, &xlen) == ARCHIVE_OK) {
    int r;
    if (fd >= 0) {
      r = fsetxattr(fd, xname, xval, xlen, 0);
    } else {
      std::string abs = target_ + "/" + loc.Path();
      r = lsetxattr(abs.c_str(), xname, xval, xlen, 0);
    }
    if (r != 0) return ErrnoError(std::string("setting xattr ") + xname, errno);
  }
  struct timespec ts[2];
  ts[0].tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e);
  ts[0].tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e)
                                                : archive_entry_mtime_nsec(e);
  ts[1].tv_sec = archive_entry_mtime(e);
  ts[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (type == AE_IFDIR) {
    // Set when the layer is done: entries below would change it again.
    dir_times_[loc.Path()] = {ts[0], ts[1]};
    return Status::Ok();
  }
  if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("setting times", errno);
  }
  return Status::Ok();
}

Status Applier::ApplyEntry(struct archive* a, struct archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  std::string path = raw != nullptr ? raw : "";
  auto comps = SplitPath(path);
  if (comps.empty()) {
    // The root itself ("./" or "/"): its owner, mode, xattrs and times go to
    // the target, as `umoci unpack` does to rootfs. Only a directory fits.
    if (archive_entry_filetype(e) != AE_IFDIR) return Error("the root must be a directory");
    Location root;  // Path() is "", the key RestoreDirTimes uses for the root
    return ApplyMetadata(root, e, root_.get());
  }
  for (const auto& c : comps) {
    if (c == "..") return Error("path escapes the target");
  }
  if (!path.empty() && path[0] == '/') return Error("absolute path");

  auto loc = Resolve(path, true);
  if (!loc) return loc.error();
  SaveDirTimes(loc->parent.get(), loc->parent_path);
  const std::string& name = loc->name;
  int dirfd = loc->parent.get();

  // Whiteouts.
  if (name == kOpaque) {
    DIR* d = fdopendir(dup(dirfd));
    if (d == nullptr) return ErrnoError("opening directory", errno);
    std::vector<std::string> children;
    while (struct dirent* de = readdir(d)) {
      std::string n = de->d_name;
      if (n == "." || n == "..") continue;
      std::string p = loc->parent_path.empty() ? n : loc->parent_path + "/" + n;
      if (created_.count(p) == 0) children.push_back(n);
    }
    closedir(d);
    for (const auto& c : children) {
      if (auto st = RemoveAll(dirfd, c); !st) return st.error().Wrap("opaque whiteout");
    }
    return Status::Ok();
  }
  if (name.rfind(kWhiteoutPrefix, 0) == 0) {
    std::string victim = name.substr(strlen(kWhiteoutPrefix));
    if (victim.empty() || victim == "." || victim == "..") return Error("invalid whiteout");
    if (auto st = RemoveAll(dirfd, victim); !st) return st.error().Wrap("whiteout");
    return Status::Ok();
  }

  mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);

  // Replace what is there, except a directory by a directory.
  struct stat old;
  bool exists = fstatat(dirfd, name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(old.st_mode) && type == AE_IFDIR && hardlink == nullptr)) {
    if (auto st = RemoveAll(dirfd, name); !st) return st;
    exists = false;
  }
  created_.insert(loc->Path());

  if (hardlink != nullptr) {
    std::string src_path = hardlink;
    for (const auto& c : SplitPath(src_path)) {
      if (c == "..") return Error("hard link source '" + src_path + "' escapes the target");
    }
    if (!src_path.empty() && src_path[0] == '/') {
      return Error("hard link source '" + src_path + "' is absolute");
    }
    auto src = Resolve(src_path, false);
    if (!src) return src.error().Wrap("hard link source '" + src_path + "'");
    struct stat sst;
    if (fstatat(src->parent.get(), src->name.c_str(), &sst, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoError("hard link source '" + src_path + "'", errno);
    }
    if (S_ISDIR(sst.st_mode)) return Error("hard link source '" + src_path + "' is a directory");
    if (linkat(src->parent.get(), src->name.c_str(), dirfd, name.c_str(), 0) != 0) {
      return ErrnoError("linking to '" + src_path + "'", errno);
    }
    return Status::Ok();  // a hard link shares the source's metadata
  }

  switch (type) {
    case AE_IFREG: {
      int fd = openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
      if (fd < 0) return ErrnoError("creating file", errno);
      Fd file(fd);
      if (auto st = WriteData(a, fd, archive_entry_size(e)); !st) return st;
      return ApplyMetadata(*loc, e, fd);
    }
    case AE_IFDIR: {
      if (!exists && mkdirat(dirfd, name.c_str(), 0700) != 0) {
        return ErrnoError("creating directory", errno);
      }
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoError("opening directory", errno);
      Fd dir(fd);
      return ApplyMetadata(*loc, e, fd);
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (target == nullptr) return Error("symlink without target");
      if (symlinkat(target, dirfd, name.c_str()) != 0) return ErrnoError("creating symlink", errno);
      return ApplyMetadata(*loc, e, -1);
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO: {
      dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e),
                                                 archive_entry_rdevminor(e));
      if (mknodat(dirfd, name.c_str(), type | 0600, dev) != 0) {
        return ErrnoError("creating device node", errno);
      }
      return ApplyMetadata(*loc, e, -1);
    }
    default:
      return Error("unsupported entry type");
  }
}

Status Applier::RestoreDirTimes() {
  for (const auto& [path, times] : dir_times_) {
    int dirfd;
    Fd holder;
    std::string name;
    if (path.empty()) {
      dirfd = root_.get();
      name = ".";
    } else {
      auto loc = Resolve(path, false);
      if (!loc) continue;  // removed later in the layer
      holder = std::move(loc->parent);
      dirfd = holder.get();
      name = loc->name;
    }
    struct timespec ts[2] = {times.first, times.second};
    if (utimensat(dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0 && errno != ENOENT) {
      return ErrnoError("setting times of '" + path + "'", errno);
    }
  }
  return Status::Ok();
}

Status Applier::Run(const LayerReader& reader) {
  int fd = open(target_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("opening target '" + target_ + "'", errno);
  root_ = Fd(fd);
  reader_ = &reader;
  buf_.resize(64 * 1024);

  ArchivePtr a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), this, nullptr, &Applier::ReadCallback, nullptr) != ARCHIVE_OK) {
    if (read_failed_) return read_error_;
    return ArchiveError(a.get());
  }
  while (true) {
    struct archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (read_failed_) return read_error_;
      return ArchiveError(a.get());
    }
    const char* p = archive_entry_pathname(e);
    if (auto st = ApplyEntry(a.get(), e); !st) {
      return st.error().Wrap(std::string("layer entry '") + (p != nullptr ? p : "") + "'");
    }
  }
  return RestoreDirTimes();
}

}  // namespace

Status ApplyLayer(const std::string& target, const LayerReader& reader, const ApplyOptions& opts) {
  Applier applier(target, opts);
  return applier.Run(reader);
}

}  // namespace elemental::oci
