// COS_OEM contents of the native plugin (see oem.hpp).
#include "plugin/elemental/oem.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/fs.hpp"

namespace elemental::plugin::native {
namespace {

Status CheckTargetPath(const std::string& target) {
  if (target.empty() || target[0] != '/') {
    return Error("file path '" + target + "' is not absolute");
  }
  size_t i = 1;
  while (i <= target.size()) {
    size_t j = target.find('/', i);
    if (j == std::string::npos) j = target.size();
    std::string part = target.substr(i, j - i);
    if (part == "." || part == "..") {
      return Error("file path '" + target + "' has a '" + part + "' component");
    }
    i = j + 1;
  }
  if (target.back() == '/') return Error("file path '" + target + "' names a directory");
  return Status::Ok();
}

Error Errno(const std::string& what) { return Error(what + ": " + std::strerror(errno), errno); }

}  // namespace

Status OemTree::PutFile(const std::string& target, const std::string& content, uint32_t mode,
                        int uid, int gid) {
  if (Status st = CheckTargetPath(target); !st) return st;
  const std::string path = dir_ + "/" + kOemFilesDir + target;
  if (Status st = fs::MkdirAll(fs::DirName(path), 0755); !st) return st;
  if (Status st = fs::WriteFileDurable(path, content, mode != 0 ? mode : 0600); !st) return st;
  if (::chown(path.c_str(), uid, gid) != 0) return Errno("setting the owner of '" + path + "'");
  return Status::Ok();
}

Status OemTree::PutOwn(const std::string& rel, const std::string& content) {
  const std::string path = dir_ + "/" + rel;
  if (Status st = fs::MkdirAll(fs::DirName(path), 0700); !st) return st;
  return fs::WriteFileDurable(path, content, 0600);
}

Status CopyTree(const std::string& from, const std::string& to) {
  struct DirCloser {
    void operator()(DIR* d) const { closedir(d); }
  };
  std::unique_ptr<DIR, DirCloser> dir(opendir(from.c_str()));
  if (!dir) return Errno("reading directory '" + from + "'");
  struct stat dst {};
  if (::lstat(from.c_str(), &dst) != 0) return Errno("getting info for '" + from + "'");
  if (Status st = fs::MkdirAll(to, dst.st_mode & 07777); !st) return st;
  ::chmod(to.c_str(), dst.st_mode & 07777);
  if (::lchown(to.c_str(), dst.st_uid, dst.st_gid) != 0) {
    return Errno("setting the owner of '" + to + "'");
  }
  while (dirent* e = readdir(dir.get())) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string src = from + "/" + name;
    const std::string dest = to + "/" + name;
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) return Errno("getting info for '" + src + "'");
    if (S_ISDIR(st.st_mode)) {
      if (Status s = CopyTree(src, dest); !s) return s;
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(src.c_str(), buf, sizeof(buf) - 1);
      if (n < 0) return Errno("reading link '" + src + "'");
      ::unlink(dest.c_str());
      if (::symlink(std::string(buf, static_cast<size_t>(n)).c_str(), dest.c_str()) != 0) {
        return Errno("creating link '" + dest + "'");
      }
      if (::lchown(dest.c_str(), st.st_uid, st.st_gid) != 0) {
        return Errno("setting the owner of '" + dest + "'");
      }
    } else if (S_ISREG(st.st_mode)) {
      auto content = fs::ReadFile(src);
      if (!content) return content.error();
      if (Status s = fs::WriteFileDurable(dest, *content, st.st_mode & 07777); !s) return s;
      if (::lchown(dest.c_str(), st.st_uid, st.st_gid) != 0) {
        return Errno("setting the owner of '" + dest + "'");
      }
    } else {
      return Error("copying '" + src + "': not a file, directory or symlink");
    }
  }
  return Status::Ok();
}

}  // namespace elemental::plugin::native
