// Tests for the plugin system helpers: the real command runner (with harmless
// programs only), path helpers and durable file writes. The real host name
// is only read, never set.
#include "plugin/system.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace elemental::plugin {
namespace {

class PluginSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/elemental-plugin-system-test-XXXXXX";
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

TEST(ExecCommandRunnerTest, SucceedsOnExitZero) {
  ExecCommandRunner runner;
  Status st = runner.Run({"true"});
  EXPECT_TRUE(st) << st.error().message();
  EXPECT_TRUE(runner.Run({"sh", "-c", "exit 0"}));
}

TEST(ExecCommandRunnerTest, ReportsExitStatus) {
  ExecCommandRunner runner;
  Status st = runner.Run({"sh", "-c", "exit 3"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "'sh -c exit 3' exited with status 3");
}

TEST(ExecCommandRunnerTest, MissingProgramIsAnErrorNotACrash) {
  ExecCommandRunner runner;
  Status st = runner.Run({"elemental-no-such-program-xyz", "-f"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "running 'elemental-no-such-program-xyz -f': No such file or directory");
  EXPECT_EQ(st.error().code(), ENOENT);
  Status abs = runner.Run({"/nonexistent/bin/reboot", "-f"});
  ASSERT_FALSE(abs);
  EXPECT_EQ(abs.error().code(), ENOENT);
}

TEST(ExecCommandRunnerTest, ReportsSignals) {
  ExecCommandRunner runner;
  Status st = runner.Run({"sh", "-c", "kill -9 $$"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "'sh -c kill -9 $$' was killed by signal 9");
}

TEST(ExecCommandRunnerTest, EmptyCommandLine) {
  ExecCommandRunner runner;
  EXPECT_FALSE(runner.Run({}));
}

TEST(SystemHostnameControlTest, GetReadsTheKernelName) {
  char buf[256] = {};
  ASSERT_EQ(::gethostname(buf, sizeof(buf) - 1), 0);
  SystemHostnameControl control;
  auto name = control.Get();  // Set is never called in tests
  ASSERT_TRUE(name);
  EXPECT_EQ(*name, buf);
}

TEST(PluginPathsTest, UnderRoot) {
  EXPECT_EQ(UnderRoot("", "/etc/hostname"), "/etc/hostname");
  EXPECT_EQ(UnderRoot("/", "/etc/hostname"), "/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r", "/etc/hostname"), "/tmp/r/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r/", "/etc/hostname"), "/tmp/r/etc/hostname");
  EXPECT_EQ(UnderRoot("/tmp/r", "etc/hostname"), "/tmp/r/etc/hostname");
}

TEST(PluginPathsTest, DirName) {
  EXPECT_EQ(DirName("/etc/elemental/agent/config.yaml"), "/etc/elemental/agent");
  EXPECT_EQ(DirName("/config.yaml"), "/");
  EXPECT_EQ(DirName("config.yaml"), ".");
  EXPECT_EQ(DirName("/a/b/"), "/a");
  EXPECT_EQ(DirName("/"), "/");
  EXPECT_EQ(DirName("a//b"), "a");
}

TEST_F(PluginSystemTest, MkdirAllCreatesParents) {
  const std::string dir = tmp_ + "/a/b/c";
  ASSERT_TRUE(MkdirAll(dir, 0700));
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(tmp_ + "/a"), 0700u);
  EXPECT_TRUE(MkdirAll(dir, 0700));  // exists: fine
  EXPECT_TRUE(MkdirAll(dir + "/", 0700));
}

TEST_F(PluginSystemTest, MkdirAllRefusesFiles) {
  ASSERT_TRUE(WriteFileDurable(tmp_ + "/f", "x", 0600));
  Status st = MkdirAll(tmp_ + "/f/sub", 0700);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "creating directory '" + tmp_ + "/f/sub': path exists but it's not a directory ('" +
                                      tmp_ + "/f')");
}

TEST_F(PluginSystemTest, PathExists) {
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

TEST_F(PluginSystemTest, WriteFileDurableAppliesModeDespiteUmask) {
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

TEST_F(PluginSystemTest, WriteFileDurableReplacesAndLeavesNoTempFiles) {
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

TEST_F(PluginSystemTest, WriteFileDurableErrorsNameThePath) {
  ASSERT_EQ(::mkdir((tmp_ + "/adir").c_str(), 0700), 0);
  Status st = WriteFileDurable(tmp_ + "/adir", "x", 0600);  // a directory is in the way
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(tmp_ + "/adir"), std::string::npos) << st.error().message();
  auto missing = ReadFile(tmp_ + "/missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "reading '" + tmp_ + "/missing': No such file or directory");
}

}  // namespace
}  // namespace elemental::plugin
