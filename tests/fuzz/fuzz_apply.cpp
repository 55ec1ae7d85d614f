// libFuzzer target: layer application (oci/apply). Each input is one layer —
// tar, tar+gzip or tar+zstd, as libarchive detects it — applied into a fresh
// directory, which is removed afterwards. The directory first gets what a
// lower layer would have left (files, directories, a hard link, relative and
// absolute symlinks, one pointing out of the target), so whiteouts, opaque
// directories, replacements and hard links to earlier layers are reached.
//
// A sandbox is made once per process under $TMPDIR (default /tmp):
//   <sandbox>/outside              a file layers must never touch
//   <sandbox>/outside-dir/keep     a directory and a file likewise
//   <sandbox>/l1/l2/l3/target-N    a fresh target for each input
// After every input, abort (a finding) when:
//   - anything in the sandbox outside the target differs from before: names,
//     types, modes, owners, sizes, link counts, mtimes, symlink targets,
//     file contents, xattrs (so no create, write, chmod, link or delete
//     escaped, whatever the path, link or whiteout);
//   - a file descriptor opened during the apply is still open;
//   - the apply failed with an empty error message.
// ASan/UBSan/LeakSanitizer reports are findings as well.
// Runs as root (ownership and device nodes are applied) or not (ownership
// is skipped, as `--skip-ownership` would).
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "oci/apply.hpp"

namespace {

using namespace elemental;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_apply: %s\n", what.c_str());
  std::abort();
}

std::string g_sandbox;  // absolute
std::string g_parent;   // <sandbox>/l1/l2/l3
unsigned long g_count = 0;

// What is known about one path outside the target.
std::string Describe(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return "missing";
  std::string d = "mode=" + std::to_string(st.st_mode) + " uid=" + std::to_string(st.st_uid) +
                  " gid=" + std::to_string(st.st_gid) + " size=" + std::to_string(st.st_size) +
                  " nlink=" + std::to_string(st.st_nlink) +
                  " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." +
                  std::to_string(st.st_mtim.tv_nsec);
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
    d += " link=" + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  } else if (S_ISREG(st.st_mode)) {
    int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof(buf));
      close(fd);
      d += " data=" + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    }
  }
  char names[4096];
  ssize_t n = llistxattr(path.c_str(), names, sizeof(names));
  if (n > 0) d += " xattrs=" + std::string(names, static_cast<size_t>(n));
  return d;
}

// Every path under dir except `skip` (and what is below it), described.
void Snapshot(const std::string& dir, const std::string& skip,
              std::map<std::string, std::string>& out) {
  out[dir] = Describe(dir);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
  }
  closedir(d);
  for (const auto& n : names) {
    std::string p = dir + "/" + n;
    if (p == skip) continue;
    struct stat st;
    if (lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      Snapshot(p, skip, out);
    } else {
      out[p] = Describe(p);
    }
  }
}

std::vector<int> OpenFds() {
  std::vector<int> fds;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return fds;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') fds.push_back(atoi(e->d_name));
  }
  closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;  // includes the fd of this listing, the same one each time
}

int MakeWritable(const char* path, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_D) chmod(path, 0700);
  return 0;
}

int RemoveOne(const char* path, const struct stat*, int type, struct FTW*) {
  if (remove(path) != 0) Fail(std::string("cannot clean up ") + path + ": " + strerror(errno));
  return 0;
}

// Removes a target tree without following symlinks.
void RemoveTree(const std::string& dir) {
  if (geteuid() != 0) nftw(dir.c_str(), MakeWritable, 64, FTW_PHYS);
  nftw(dir.c_str(), RemoveOne, 64, FTW_PHYS | FTW_DEPTH);
}

void WriteFile(const std::string& path, const std::string& data) {
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr) Fail("cannot create " + path);
  fputs(data.c_str(), f);
  fclose(f);
}

// What lower layers left in the target: something to white out, replace,
// link to or write through.
void MakeLowerLayer(const std::string& t) {
  bool ok = mkdir((t + "/etc").c_str(), 0755) == 0 && mkdir((t + "/usr").c_str(), 0755) == 0 &&
            mkdir((t + "/usr/bin").c_str(), 0755) == 0 &&
            mkdir((t + "/usr/lib").c_str(), 0755) == 0 &&
            mkdir((t + "/var").c_str(), 0755) == 0 &&
            mkdir((t + "/var/cache").c_str(), 0700) == 0 &&
            symlink("usr/bin", (t + "/bin").c_str()) == 0 &&
            symlink("/usr/lib", (t + "/lib").c_str()) == 0 &&
            symlink("../../../..", (t + "/var/up").c_str()) == 0 &&
            symlink("/etc/passwd", (t + "/etc/abs-passwd").c_str()) == 0;
  if (!ok) Fail("making the lower layer: " + std::string(strerror(errno)));
  WriteFile(t + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  WriteFile(t + "/usr/bin/sh", "#!sh\n");
  WriteFile(t + "/var/cache/old", "old\n");
  if (link((t + "/usr/bin/sh").c_str(), (t + "/usr/bin/ash").c_str()) != 0) {
    Fail("making the lower layer: " + std::string(strerror(errno)));
  }
}

void RemoveSandbox() {
  if (!g_sandbox.empty()) RemoveTree(g_sandbox);
}

void MakeSandbox() {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
                     "/fuzz-apply-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) Fail("mkdtemp " + tmpl + ": " + strerror(errno));
  char* real = realpath(buf.data(), nullptr);
  g_sandbox = real;
  free(real);
  WriteFile(g_sandbox + "/outside", "precious\n");
  mkdir((g_sandbox + "/outside-dir").c_str(), 0755);
  WriteFile(g_sandbox + "/outside-dir/keep", "keep\n");
  g_parent = g_sandbox + "/l1";
  mkdir(g_parent.c_str(), 0755);
  g_parent += "/l2";
  mkdir(g_parent.c_str(), 0755);
  g_parent += "/l3";
  mkdir(g_parent.c_str(), 0755);
  atexit(RemoveSandbox);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  MakeSandbox();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string target = g_parent + "/target-" + std::to_string(++g_count);
  if (mkdir(target.c_str(), 0755) != 0) Fail("mkdir " + target + ": " + strerror(errno));
  MakeLowerLayer(target);

  std::map<std::string, std::string> before, after;
  Snapshot(g_sandbox, target, before);
  const std::vector<int> fds_before = OpenFds();

  // Hand the layer over in pieces, as the download pipe does.
  size_t pos = 0;
  oci::LayerReader reader = [&](char* buf, size_t len) -> Expected<size_t> {
    size_t n = std::min({len, size - pos, size_t{997}});
    if (n > 0) memcpy(buf, data + pos, n);
    pos += n;
    return n;
  };
  oci::ApplyOptions opts;
  opts.skip_ownership = geteuid() != 0;
  Status st = oci::ApplyLayer(target, reader, opts);
  if (!st && st.error().message().empty()) Fail("apply failed without a message");

  if (OpenFds() != fds_before) Fail("file descriptors left open by the apply");
  Snapshot(g_sandbox, target, after);
  if (before != after) {
    std::string diff;
    for (const auto& [p, d] : after) {
      auto it = before.find(p);
      if (it == before.end()) {
        diff += "\n  created " + p + " (" + d + ")";
      } else if (it->second != d) {
        diff += "\n  changed " + p + "\n    was " + it->second + "\n    now " + d;
      }
    }
    for (const auto& [p, d] : before) {
      if (after.count(p) == 0) diff += "\n  removed " + p;
    }
    Fail("the layer changed things outside the target " + target + ":" + diff +
         (st ? "\n  (the apply succeeded)" : "\n  (the apply failed: " + st.error().message() + ")"));
  }
  RemoveTree(target);
  return 0;
}
