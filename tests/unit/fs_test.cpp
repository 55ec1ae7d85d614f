// Tests for the file helpers: path arithmetic, mkdir -p, durable writes and
// whole-file reads, all inside a temp dir.
#include "common/fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace elemental::fs {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/elemental-fs-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }
  std::string tmp_;
};

uint32_t Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(FsPathsTest, UnderRoot) {
  EXPECT_EQ(UnderRoot("", "/etc/hostname"), "/etc/hostname");
  EXPECT_EQ(UnderRoot("/", "/etc/hostname"), "/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r", "/etc/hostname"), "/tmp/r/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r/", "/etc/hostname"), "/tmp/r/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r", "etc/hostname"), "/tmp/r/etc/hostname");
}

TEST(FsPathsTest, DirName) {
  EXPECT_EQ(DirName("/etc/elemental/agent/config.yaml"), "/etc/elemental/agent");
  EXPECT_EQ(DirName("/config.yaml"), "/");
  EXPECT_EQ(DirName("config.yaml"), ".");
  EXPECT_EQ(DirName("/a/b/"), "/a");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("a//b"), "a");
}

TEST_F(FsTest, MkdirAllCreatesParents) {
  const std::string dir = tmp_ + "/a/b/c";
  ASSERT_TRUE(MkdirAll(dir, 0700));
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(tmp_ + "/a"), 0700u);
  EXPECT_TRUE(MkdirAll(dir, 0700));  // exists: fine
  EXPECT_TRUE(MkdirAll(dir + "/", 0700));
}

TEST_F(FsTest, MkdirAllRefusesFiles) {
  ASSERT_TRUE(WriteFileDurable(tmp_ + "/f", "x", 0600));
  Status st = MkdirAll(tmp_ + "/f/sub", 0700);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "creating directory '" + tmp_ + "/f/sub': path exists but it's not a directory ('" +
                                      tmp_ + "/f')");
}

TEST_F(FsTest, PathExists) {
  auto no = PathExists(tmp_ + "/nothing");
  ASSERT_TRUE(no);
  EXPECT_FALSE(*no);
  auto yes = PathExists(tmp_);
  ASSERT_TRUE(yes);
  EXPECT_TRUE(*yes);
  ASSERT_TRUE(WriteFileDurable(tmp_ + "/f", "x", 0600));
  auto under_file = PathExists(tmp_ + "/f/x");  // ENOTDIR: does not exist
  ASSERT_TRUE(under_file);
  EXPECT_FALSE(*under_file);
}

TEST_F(FsTest, WriteFileDurableAppliesModeDespiteUmask) {
  const mode_t old = ::umask(077);
  Status st = WriteFileDurable(tmp_ + "/new/dir/file", "hello", 0644);
  ::umask(old);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Mode(tmp_ + "/new/dir/file"), 0644u);
  EXPECT_EQ(Mode(tmp_ + "/new/dir"), 0700u);
  auto content = ReadFile(tmp_ + "/new/dir/file");
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "hello");
}

TEST_F(FsTest, WriteFileDurableReplacesAndLeavesNoTempFiles) {
  const std::string path = tmp_ + "/file";
  ASSERT_TRUE(WriteFileDurable(path, std::string(100000, 'a'), 0600));
  ASSERT_TRUE(WriteFileDurable(path, "short", 0600));
  auto content = ReadFile(path);
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "short");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(tmp_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"file"});
}

TEST_F(FsTest, WriteFileDurableErrorsNameThePath) {
  ASSERT_EQ(::mkdir((tmp_ + "/adir").c_str(), 0700), 0);
  Status st = WriteFileDurable(tmp_ + "/adir", "x", 0600);  // a directory is in the way
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(tmp_ + "/adir"), std::string::npos) << st.error().message();
  auto missing = ReadFile(tmp_ + "/missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "reading '" + tmp_ + "/missing': No such file or directory");
}

TEST_F(FsTest, MkdirAllRefusesAnEmptyPath) {
  Status st = MkdirAll("", 0700);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "creating directory: empty path");
}

TEST_F(FsTest, ReadFileSaysWhatTheFileIsAndKeepsErrno) {
  auto missing = ReadFile(tmp_ + "/missing", {.what = "config file"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "reading config file '" + tmp_ + "/missing': No such file or directory");
  EXPECT_EQ(missing.error().code(), ENOENT);
  auto dir = ReadFile(tmp_);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), EISDIR);
}

TEST_F(FsTest, ReadFileRefusesFilesOverTheLimit) {
  const std::string path = tmp_ + "/ten";
  ASSERT_TRUE(WriteFileDurable(path, "0123456789", 0600));
  auto exact = ReadFile(path, {.max_bytes = 10});
  ASSERT_TRUE(exact) << exact.error().message();
  EXPECT_EQ(*exact, "0123456789");
  auto over = ReadFile(path, {.what = "key file", .max_bytes = 9});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message(), "reading key file '" + path + "': file is larger than 9 bytes");
  EXPECT_EQ(over.error().code(), EFBIG);
  ASSERT_TRUE(WriteFileDurable(path, "", 0600));
  auto empty = ReadFile(path, {.max_bytes = 0});
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_EQ(*empty, "");
}

TEST_F(FsTest, ReadFileReadsStreamsOfUnknownSize) {
  // A FIFO has no size to go by: the buffer has to grow several times.
  const std::string path = tmp_ + "/fifo";
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::string want;
  for (int i = 0; i < 5000; ++i) want += std::to_string(i) + "\n";
  std::thread writer([&] {
    FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) return;
    std::fwrite(want.data(), 1, want.size(), f);
    std::fclose(f);
  });
  auto got = ReadFile(path);
  writer.join();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, want);
}

}  // namespace
}  // namespace elemental::fs
