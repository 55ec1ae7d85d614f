// The real ProcessRunner (fork, chroot, exec, output through a pipe) and the
// token scrubber for what commands print. See cloudinit.hpp.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "cloudinit/cloudinit.hpp"
#include "common/log.hpp"

extern char** environ;

namespace elemental::cloudinit {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;
constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char* kRedacted = "[REDACTED]";

bool IsTokenChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// What the child tells the parent when it could not exec.
struct ChildFailure {
  int step;  // 0 chroot, 1 chdir, 2 exec
  int err;
};

void LogLines(const std::string& text) {
  if (!log::DebugEnabled()) return;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    log::Debug("  | " + ScrubBootstrapTokens(text.substr(start, end - start)));
    start = end + 1;
  }
}

}  // namespace

std::string ScrubBootstrapTokens(std::string text) {
  // kubeadm bootstrap tokens: [a-z0-9]{6}.[a-z0-9]{16}, as a whole word.
  for (size_t i = 0; i + 23 <= text.size(); ++i) {
    if (i > 0 && IsWordChar(text[i - 1])) continue;
    bool match = text[i + 6] == '.';
    for (size_t k = 0; match && k < 23; ++k) {
      if (k != 6 && !IsTokenChar(text[i + k])) match = false;
    }
    if (!match || (i + 23 < text.size() && IsWordChar(text[i + 23]))) continue;
    text.replace(i, 23, kRedacted);
  }
  // Values of the flags that carry secrets on kubeadm's command line.
  for (const char* flag : {"--token", "--certificate-key"}) {
    size_t pos = 0;
    while ((pos = text.find(flag, pos)) != std::string::npos) {
      size_t v = pos + std::strlen(flag);
      if (v >= text.size() || (text[v] != ' ' && text[v] != '=')) {
        pos = v;
        continue;
      }
      while (v < text.size() && (text[v] == ' ' || text[v] == '=')) ++v;
      size_t e = v;
      while (e < text.size() && !std::isspace(static_cast<unsigned char>(text[e]))) ++e;
      if (e > v && text.compare(v, e - v, kRedacted) != 0) text.replace(v, e - v, kRedacted);
      pos = v + std::strlen(kRedacted);
    }
  }
  return text;
}

Expected<RunResult> ExecProcessRunner::Run(const Command& cmd, const std::string& root) {
  if (cmd.argv.empty()) return Error("empty command");
  const bool do_chroot = !root.empty() && root != "/";

  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed.
  std::vector<char*> args;
  for (const auto& a : cmd.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  bool have_path = false;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, "PATH=", 5) == 0) have_path = true;
    env.push_back(*e);
  }
  if (!have_path) env.push_back(const_cast<char*>(kDefaultPath));
  env.push_back(nullptr);

  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) return ErrnoError("opening /dev/null", errno);
  int out[2], status_pipe[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(devnull);
    return ErrnoError("creating a pipe", err);
  }
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    const int err = errno;
    ::close(devnull);
    ::close(out[0]);
    ::close(out[1]);
    return ErrnoError("creating a pipe", err);
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    for (int fd : {devnull, out[0], out[1], status_pipe[0], status_pipe[1]}) ::close(fd);
    return ErrnoError("fork", err);
  }
  if (pid == 0) {
    // Commands start with default signal handling whatever the agent (or a
    // library in it) set: `curl ... | sh` relies on SIGPIPE killing a writer.
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(devnull, 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ChildFailure failure{0, 0};
    if (do_chroot && ::chroot(root.c_str()) != 0) {
      failure = {0, errno};
    } else if (::chdir("/") != 0) {
      failure = {1, errno};
    } else {
      environ = env.data();
      ::execvp(args[0], args.data());
      failure = {2, errno};
    }
    ssize_t ignored = ::write(status_pipe[1], &failure, sizeof(failure));
    (void)ignored;
    ::_exit(127);
  }
  ::close(devnull);
  ::close(out[1]);
  ::close(status_pipe[1]);

  ChildFailure failure{0, 0};
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  const bool exec_failed = n == static_cast<ssize_t>(sizeof(failure));

  // Read output until the command exits. A daemon it starts in the background
  // may keep the pipe open for ever, so end of file is not awaited once the
  // command itself is gone: what is buffered is drained and the pipe closed.
  RunResult result;
  std::string pending;  // output not yet logged (an unfinished line)
  int wstatus = 0;
  bool exited = false;
  int drains = 0;  // reads after the command exited (a chatty daemon must not keep us)
  char buf[8192];
  while (true) {
    struct pollfd p = {out[0], POLLIN, 0};
    const int pr = ::poll(&p, 1, exited ? 0 : 100);
    if (pr < 0 && errno != EINTR) break;
    bool eof = false;
    if (pr > 0) {
      const ssize_t r = ::read(out[0], buf, sizeof(buf));
      if (r > 0) {
        result.output.append(buf, static_cast<size_t>(r));
        pending.append(buf, static_cast<size_t>(r));
        const size_t nl = pending.rfind('\n');
        if (nl != std::string::npos) {
          LogLines(pending.substr(0, nl));
          pending.erase(0, nl + 1);
        }
        if (result.output.size() > 2 * kMaxOutput) {
          result.output.erase(0, result.output.size() - kMaxOutput);
        }
        if (exited && ++drains > 64) break;
        continue;  // more may be waiting
      }
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) eof = true;
    }
    if (!exited) {
      const pid_t w = ::waitpid(pid, &wstatus, eof ? 0 : WNOHANG);
      if (w == pid) {
        exited = true;
        if (!eof) continue;  // drain what is left without waiting
      } else if (w < 0 && errno != EINTR) {
        ::close(out[0]);
        return ErrnoError("waiting for the command", errno);
      }
    }
    if (exited && (eof || pr == 0)) break;
  }
  ::close(out[0]);
  if (!pending.empty()) LogLines(pending);
  if (result.output.size() > kMaxOutput) {
    result.output.erase(0, result.output.size() - kMaxOutput);
  }

  if (exec_failed) {
    if (failure.step == 0) return ErrnoError("chroot into '" + root + "'", failure.err);
    if (failure.step == 1) return ErrnoError("changing to /", failure.err);
    return ErrnoError("starting '" + cmd.argv[0] + "'", failure.err);
  }
  if (WIFEXITED(wstatus)) {
    result.exit_status = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    result.exit_status = 128 + WTERMSIG(wstatus);
  }
  return result;
}

}  // namespace elemental::cloudinit
