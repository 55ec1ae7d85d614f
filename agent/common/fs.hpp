// Files and directories, the way every module touches them: reading a whole
// file, writing one so that it survives a power cut, mkdir -p, and the path
// arithmetic those need.
//
// Errors carry errno as their code (Error::code(), e.g. ENOENT for a missing
// file) and name the path, e.g. "reading '/etc/x': No such file or directory".
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "common/expected.hpp"

namespace elemental::fs {

// Joins a root prefix and a path: ("", "/etc/x") and ("/", "/etc/x") give
// "/etc/x"; ("/tmp/r", "/etc/x") and ("/tmp/r/", "etc/x") give
// "/tmp/r/etc/x". Never fails.
std::string UnderRoot(const std::string& root, const std::string& path);

// The directory part of a path, like Go's filepath.Dir: "/a/b" → "/a",
// "/a/b/" → "/a", "b" → ".", "/" → "/". Never fails.
std::string DirName(const std::string& path);

// True when something exists at the path (stat(2) succeeds); false on ENOENT
// or ENOTDIR. Other failures (EACCES ...) are an Error:
// "getting info for file '<path>': <strerror>".
Expected<bool> PathExists(const std::string& path);

// Creates a directory and its missing parents, each with `mode` (minus the
// umask). An existing directory is fine. Errors: "creating directory
// '<path>': path exists but it's not a directory ('<component>')" when a
// component is a file, "creating directory '<path>': <strerror>" otherwise,
// "creating directory: empty path" for "".
Status MkdirAll(const std::string& path, uint32_t mode);

// Writes a whole file so that after a crash or a power cut it holds either
// the old or the new content: the content goes to a temporary file in the
// same directory, which is fsync'ed, renamed over the target, and then the
// directory is fsync'ed so the rename itself is durable. The file gets exactly
// `mode` (umask does not apply). Missing parent directories are created with
// 0700. When the target cannot be replaced by rename (EBUSY: a bind-mounted
// file such as /etc/hostname in a container; EXDEV), it is rewritten in place
// instead, which is not power-safe and keeps an existing file's mode. No
// temporary file is left behind on failure. Errors name the path
// and the step: "writing '<path>': <strerror>", "renaming into '<path>': ...",
// "creating a temporary file in '<dir>': ...", "syncing directory '<dir>': ...".
Status WriteFileDurable(const std::string& path, const std::string& content, uint32_t mode);

struct ReadOptions {
  // What the file is, for messages: "config file" gives "reading config file
  // '<path>': ..."; empty gives "reading '<path>': ...".
  std::string_view what;
  // Files larger than this are refused with code EFBIG ("reading '<path>':
  // file is larger than <max_bytes> bytes"). Default: no limit.
  size_t max_bytes = std::numeric_limits<size_t>::max();
};

// Reads a whole file. Errors: "reading '<path>': <strerror>" (code errno, so
// ENOENT tells a missing file), or the size limit above. The content is read
// straight into the result and a partial read is zeroed before it is freed,
// so no stray copy of a secret (a private key) is left in freed memory.
Expected<std::string> ReadFile(const std::string& path, const ReadOptions& opts = {});

}  // namespace elemental::fs
