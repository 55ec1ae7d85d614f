// Helpers shared by the disk_*_test.cpp files: temp dirs, sparse image
// files, and running host tools (sgdisk, sfdisk, e2fsck) to check what the
// disk module wrote.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace elemental::disk::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/elemental-disk-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path_ = p ? p : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A sparse file of `bytes`.
inline void MakeSparse(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(bytes)), 0);
  ::close(fd);
}

struct CommandOutput {
  int status = -1;  // exit status, -1 when it did not exit normally
  std::string output;  // stdout only (stderr goes to the test log)
};

// Runs a shell command (host tools are looked up in PATH plus /sbin).
inline CommandOutput Sh(const std::string& cmd) {
  CommandOutput r;
  std::string full = "PATH=/usr/sbin:/sbin:/usr/bin:/bin:$PATH " + cmd;
  FILE* f = ::popen(full.c_str(), "r");
  if (f == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.output.append(buf, n);
  int st = ::pclose(f);
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  return r;
}

}  // namespace elemental::disk::testing
