// Real implementations of the plugin system effects.
#include "plugin/system.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace elemental::plugin {
namespace {

std::string JoinArgs(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

Expected<std::string> SystemHostnameControl::Get() {
  char buf[HOST_NAME_MAX + 2] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return ErrnoError("gethostname", errno);
  return std::string(buf);
}

Status SystemHostnameControl::Set(const std::string& hostname) {
  if (::sethostname(hostname.data(), hostname.size()) != 0) {
    return ErrnoError("sethostname", errno);
  }
  return Status::Ok();
}

Status ExecCommandRunner::Run(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error("running a command: empty command line");
  const std::string cmdline = JoinArgs(argv);
  // Everything the child touches is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return ErrnoError("running '" + cmdline + "': pipe", errno);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return ErrnoError("running '" + cmdline + "': fork", err);
  }
  if (pid == 0) {
    ::close(pipefd[0]);
    ::execvp(args[0], args.data());
    // Only reached when exec failed: tell the parent why.
    const int err = errno;
    ssize_t ignored = ::write(pipefd[1], &err, sizeof(err));
    (void)ignored;
    ::_exit(127);
  }
  ::close(pipefd[1]);
  int child_err = 0;
  ssize_t n;
  do {
    n = ::read(pipefd[0], &child_err, sizeof(child_err));
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("running '" + cmdline + "': waitpid", errno);
  }
  if (n == static_cast<ssize_t>(sizeof(child_err))) {
    return ErrnoError("running '" + cmdline + "'", child_err);
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) return Status::Ok();
    return Error("'" + cmdline + "' exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  if (WIFSIGNALED(status)) {
    return Error("'" + cmdline + "' was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Error("'" + cmdline + "' ended abnormally");
}

}  // namespace elemental::plugin
