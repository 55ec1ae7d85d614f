// The few file operations the state record store needs, behind an interface
// so that tests can cut the power between any two of them
// (tests/unit/slots_fault_file_ops.hpp) and the real thing is plain POSIX.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace elemental::slots {

class FileOps {
 public:
  virtual ~FileOps() = default;

  // Creates or truncates `path` for writing (mode 0600); returns a handle.
  virtual Expected<int> OpenForWrite(const std::string& path) = 0;
  // Writes all of `data` at the end of what was written through `handle`.
  virtual Status Write(int handle, std::string_view data) = 0;
  // Makes the data written through `handle` durable (fsync).
  virtual Status Fsync(int handle) = 0;
  virtual Status Close(int handle) = 0;
  // Atomically replaces `to` with `from` (rename(2)); durable after FsyncDir.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Makes the directory's entries (creations, renames, unlinks) durable.
  virtual Status FsyncDir(const std::string& dir) = 0;
  // Removes a file; a missing file is fine.
  virtual Status Unlink(const std::string& path) = 0;
  // Reads a whole file of at most max_bytes. A missing file is an Error with
  // code ENOENT.
  virtual Expected<std::string> Read(const std::string& path, size_t max_bytes) = 0;
  // Creates a directory and its parents (0700) when missing.
  virtual Status MakeDirs(const std::string& dir) = 0;
};

// The real file system. Errors carry errno and name the path.
FileOps& PosixFileOps();

}  // namespace elemental::slots
