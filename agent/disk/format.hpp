// Making filesystems and mounting them, behind interfaces the plugin calls
// (fakes in tests record the calls). Filesystems are made by external
// static tools (mke2fs, mkfs.fat from the toolchain) found in a configurable
// directory, run through ProcessRunner.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"
#include "disk/plan.hpp"

namespace elemental::disk {

struct ProcessResult {
  int exit_status = 0;  // exit code; 128 + signal number when killed
  std::string output;   // stdout and stderr, interleaved, at most 64 KiB
};

// Runs a program (argv[0] is a path; no PATH search) and waits for it.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // Errors only when the program cannot be started ("running '<argv0>': No
  // such file or directory"); a non-zero exit is a result, not an Error.
  virtual Expected<ProcessResult> Run(const std::vector<std::string>& argv) = 0;
};

// fork + execv, stdin /dev/null, stdout+stderr captured through a pipe.
class ExecProcessRunner final : public ProcessRunner {
 public:
  Expected<ProcessResult> Run(const std::vector<std::string>& argv) override;
};

struct FormatTools {
  // Directory holding mke2fs and mkfs.fat (the boot image ships them in
  // /usr/sbin; tests use the host's /sbin).
  std::string dir = "/usr/sbin";
};

// Makes a filesystem labelled `label` on `device`:
//   ext4: <dir>/mke2fs -t ext4 -F -q -L <label> <device>
//   vfat: <dir>/mkfs.fat -F 32 -n <label> <device>
// Errors: "making ext4 on '/dev/vda2' (COS_OEM): '/usr/sbin/mke2fs' exited
// with status 1: <its output>".
Status MakeFilesystem(ProcessRunner& runner, const FormatTools& tools, FsType fs,
                      const std::string& device, const std::string& label);

// mount(2)/umount(2).
class Mounter {
 public:
  virtual ~Mounter() = default;
  // Errors: "mounting '<source>' on '<target>' (<fstype>): <strerror>".
  virtual Status Mount(const std::string& source, const std::string& target,
                       const std::string& fstype, bool read_only) = 0;
  // Errors: "unmounting '<target>': <strerror>".
  virtual Status Unmount(const std::string& target) = 0;
};

class SyscallMounter final : public Mounter {
 public:
  Status Mount(const std::string& source, const std::string& target, const std::string& fstype,
               bool read_only) override;
  Status Unmount(const std::string& target) override;
};

}  // namespace elemental::disk
