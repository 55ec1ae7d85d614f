// The small effects on the running system that OS plugins need, each behind
// an interface with one real implementation, so unit tests can hand in fakes
// and never rename, reboot or power off the machine they run on
// (upstream keeps the same calls in internal/agent/host and utils). File
// helpers are in common/fs.hpp.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"

namespace elemental::plugin {

// The kernel's host name.
class HostnameControl {
 public:
  virtual ~HostnameControl() = default;
  // gethostname(2). Errors carry errno.
  virtual Expected<std::string> Get() = 0;
  // sethostname(2): changes the running system's name (needs CAP_SYS_ADMIN).
  virtual Status Set(const std::string& hostname) = 0;
};

class SystemHostnameControl final : public HostnameControl {
 public:
  Expected<std::string> Get() override;
  Status Set(const std::string& hostname) override;
};

// Runs a program and waits for it.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // argv[0] is looked up in PATH. Fails when the program cannot be started
  // ("'poweroff': No such file or directory"), is killed by a signal or exits
  // non-zero ("'reboot -f' exited with status 1"). stdout/stderr are
  // inherited.
  virtual Status Run(const std::vector<std::string>& argv) = 0;
};

// fork + execvp + waitpid; exec failures reach the parent through a
// close-on-exec pipe, so a missing program is an Error, not a crash.
class ExecCommandRunner final : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>& argv) override;
};

}  // namespace elemental::plugin
