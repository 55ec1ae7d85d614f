// The small effects on the running system that OS plugins need, each behind
// an interface with one real implementation, so unit tests can hand in fakes
// and never rename, reboot or power off the machine they run on
// (upstream keeps the same calls in internal/agent/host and utils).
//
// Also the file helpers the plugins share: directory creation and durable
// file writes.
#pragma once

#include <cstdint>
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

// Joins a root prefix and an absolute path: ("", "/etc/x") and ("/", "/etc/x")
// give "/etc/x"; ("/tmp/r", "/etc/x") gives "/tmp/r/etc/x".
std::string UnderRoot(const std::string& root, const std::string& path);

// The directory part of a path, like Go's filepath.Dir: "/a/b" → "/a",
// "b" → ".", "/" → "/".
std::string DirName(const std::string& path);

// Creates a directory and its missing parents with `mode` (upstream uses
// 0700). An existing directory is fine; an existing non-directory is an error
// ("path exists but it's not a directory").
Status MkdirAll(const std::string& path, uint32_t mode = 0700);

// True when something exists at the path (stat(2) succeeds); false on ENOENT
// or ENOTDIR; an Error for other failures (EACCES ...).
Expected<bool> PathExists(const std::string& path);

// Writes a whole file so that after a crash or a power cut it holds either
// the old or the new content: the content goes to a temporary file in the
// same directory, which is fsync'ed, renamed over the target, and then the
// directory is fsync'ed so the rename itself is durable. The file gets exactly
// `mode` (umask does not apply). Missing parent directories are created with
// 0700. When the target cannot be replaced by rename (EBUSY: a bind-mounted
// file such as /etc/hostname in a container), it is rewritten in place.
Status WriteFileDurable(const std::string& path, const std::string& content, uint32_t mode);

// Reads a whole file.
Expected<std::string> ReadFile(const std::string& path);

}  // namespace elemental::plugin
