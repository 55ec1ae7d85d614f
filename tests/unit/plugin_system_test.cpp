// Tests for the plugin system effects: the real command runner (with
// harmless programs only) and the host name. The real host name is only
// read, never set. (The file helpers are tested in fs_test.cpp.)
#include "plugin/system.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace elemental::plugin {
namespace {

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

}  // namespace
}  // namespace elemental::plugin
