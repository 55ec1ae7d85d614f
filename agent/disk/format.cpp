// Process execution, mkfs and mount (see format.hpp).
#include "disk/format.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace elemental::disk {

namespace {

constexpr size_t kMaxOutput = 64 * 1024;

}  // namespace

Expected<ProcessResult> ExecProcessRunner::Run(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error("running a program: empty command");
  const std::string what = "running '" + argv[0] + "'";
  int out[2];
  int err_pipe[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoError(what, errno);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close(out[0]);
    close(out[1]);
    return ErrnoError(what, e);
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(out[0]); close(out[1]); close(err_pipe[0]); close(err_pipe[1]);
    return ErrnoError(what, e);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execv(args[0], args.data());
    int e = errno;
    ssize_t ignored = write(err_pipe[1], &e, sizeof(e));
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  close(err_pipe[1]);
  ProcessResult r;
  char buf[4096];
  for (;;) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    size_t room = kMaxOutput - std::min(kMaxOutput, r.output.size());
    r.output.append(buf, std::min(room, static_cast<size_t>(n)));
  }
  close(out[0]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(err_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(what + ": waiting", errno);
  }
  if (got == static_cast<ssize_t>(sizeof(exec_errno))) return ErrnoError(what, exec_errno);
  if (WIFEXITED(status)) {
    r.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_status = 128 + WTERMSIG(status);
  }
  return r;
}

Status MakeFilesystem(ProcessRunner& runner, const FormatTools& tools, FsType fs,
                      const std::string& device, const std::string& label) {
  std::vector<std::string> argv;
  if (fs == FsType::kExt4) {
    argv = {tools.dir + "/mke2fs", "-t", "ext4", "-F", "-q", "-L", label, device};
  } else {
    argv = {tools.dir + "/mkfs.fat", "-F", "32", "-n", label, device};
  }
  const std::string what =
      std::string("making ") + FsTypeName(fs) + " on '" + device + "' (" + label + ")";
  auto r = runner.Run(argv);
  if (!r) return r.error().Wrap(what);
  if (r->exit_status != 0) {
    std::string out = r->output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return Error(what + ": '" + argv[0] + "' exited with status " +
                 std::to_string(r->exit_status) + (out.empty() ? "" : ": " + out));
  }
  return Status::Ok();
}

Status SyscallMounter::Mount(const std::string& source, const std::string& target,
                             const std::string& fstype, bool read_only) {
  unsigned long flags = 0;
  if (read_only) flags |= MS_RDONLY;
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, nullptr) != 0) {
    return ErrnoError("mounting '" + source + "' on '" + target + "' (" + fstype + ")", errno);
  }
  return Status::Ok();
}

Status SyscallMounter::Unmount(const std::string& target) {
  if (umount2(target.c_str(), 0) != 0) return ErrnoError("unmounting '" + target + "'", errno);
  return Status::Ok();
}

}  // namespace elemental::disk
