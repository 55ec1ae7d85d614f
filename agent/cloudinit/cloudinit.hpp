// The cloud-config a CAPI bootstrap provider (kubeadm, RKE2, k3s) hands a
// host, parsed into plain data and applied by the agent itself, so OS images
// need no cloud-init. See README.md in this folder for the supported keys.
//
//   Parse       text → CloudConfig (write_files decoded, runcmd as argv),
//               unsupported keys listed as warnings; nothing touched.
//   Apply       CloudConfig → files under a target root, then the commands in
//               order through a ProcessRunner, then the CAPI sentinel when the
//               config does not create it. Once: a marker in a state dir holds
//               the config's sha256 and the same config is not applied twice.
//   CheckFormat the bootstrap format: "cloud-config" only ("ignition" is a
//               clear error).
//
// Nothing here knows disks or HTTP. The root and the state dir are
// parameters: "/" and a folder on COS_OEM in production, temp dirs in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace elemental::cloudinit {

// The CAPI sentinel: a bootstrap provider's commands create it when they are
// done; the agent reports `bootstrapped` once it exists.
inline constexpr const char* kSentinelPath = "/run/cluster-api/bootstrap-success.complete";
// File name, inside the state dir, of the apply-once marker.
inline constexpr const char* kAppliedMarkerName = "cloud-config.applied";

enum class Encoding { kText, kBase64, kGzip, kGzipBase64 };

// One write_files entry, validated and decoded.
struct WriteFile {
  std::string path;         // absolute, inside the target root
  std::string content;      // decoded bytes
  Encoding encoding = Encoding::kText;  // as written in the config (for logs)
  uint32_t mode = 0644;     // cloud-init's default
  // Owner as written ("user:group", "user", "0:0"); empty: not changed (the
  // file belongs to the agent, root). Names are resolved at apply time from
  // the target root's /etc/passwd and /etc/group.
  std::string owner_user;
  std::string owner_group;  // empty: group not changed
  bool append = false;
  bool defer = false;       // accepted; written with the others (see README)
};

// One runcmd entry: a string runs as `/bin/sh -c <string>`, a list is argv.
struct Command {
  std::vector<std::string> argv;
  bool shell = false;  // came from a string
  // What logs and errors show: the string itself, or argv joined by spaces.
  std::string Display() const;
};

struct CloudConfig {
  std::vector<WriteFile> write_files;
  std::vector<Command> runcmd;
  // Keys that are ignored, and other things worth a log line: "unsupported
  // key 'users' ignored".
  std::vector<std::string> warnings;
  // "sha256:<hex>" of the text as given to Parse; the apply-once marker.
  std::string digest;
  // True when a write_files path is the sentinel or a runcmd entry mentions
  // it (upstream's test), so Apply adds no sentinel of its own.
  bool creates_sentinel = false;
};

// Parses cloud-config text (YAML; a "#cloud-config" first line is optional,
// other leading comments such as "## template: jinja" are fine). An empty
// document is an empty config. Errors name the entry and key:
//   "write_files[2].encoding: unknown encoding 'xz'"
//   "write_files[0].content: invalid base64: ..."
//   "runcmd[1]: expected a string or a list of strings, got a mapping"
//   "parsing cloud-config: line 3, column 1: ..." (YAML syntax)
Expected<CloudConfig> Parse(std::string_view text);

// Ok for "cloud-config". Errors:
//   "using bootstrapping format 'ignition': ignition is not supported by the
//    elemental plugin, only cloud-config"
//   "using bootstrapping format 'x': unsupported bootstrap format"
Status CheckFormat(const std::string& format);

// CheckFormat, then Parse (errors wrapped in "parsing cloud-config bootstrap").
Expected<CloudConfig> ParseBootstrap(const std::string& format, std::string_view text);

// What a command did.
struct RunResult {
  int exit_status = 0;   // exit code; 128 + N when killed by signal N
  std::string output;    // stdout and stderr, interleaved (may be truncated)
};

// Runs one command inside a root. The real one forks and execs (chroot into
// `root` unless it is "/" or ""); tests hand in a fake that records.
class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;
  // An Error only when the command could not be started at all ("/bin/sh:
  // No such file or directory"); a non-zero exit is a RunResult.
  virtual Expected<RunResult> Run(const Command& cmd, const std::string& root) = 0;
};

// fork + (chroot + chdir "/") + execvp, stdin from /dev/null, stdout and
// stderr captured through one pipe (the last 64 KiB kept) and logged at debug
// level with kubeadm-style bootstrap tokens scrubbed. PATH defaults to the
// usual sbin/bin list when the agent has none. No timeout: `kubeadm init` or
// an installer download may take minutes, as under cloud-init.
class ExecProcessRunner final : public ProcessRunner {
 public:
  Expected<RunResult> Run(const Command& cmd, const std::string& root) override;
};

// Replaces kubeadm bootstrap tokens ("abcdef.0123456789abcdef") and the value
// after --token / --certificate-key with "[REDACTED]": command output and
// command lines reach logs and ElementalHost conditions.
std::string ScrubBootstrapTokens(std::string text);

struct ApplyResult {
  bool already_applied = false;  // the marker matched; nothing was done
  size_t files_written = 0;
  size_t commands_run = 0;
  bool sentinel_added = false;
};

// Applies `config` under `root` ("/" in production), once.
//  - The marker `<state_dir>/cloud-config.applied` holding config.digest
//    means "already applied": nothing is done, already_applied is true.
//  - Owners are resolved first (from <root>/etc/passwd and /etc/group), so
//    an unknown name fails before anything is written.
//  - Files: paths resolved component by component under the root without
//    following links out of it (an absolute link is taken from the root, a
//    ".." above the root is refused); missing parents are made 0755; content
//    goes to a temp file, fsync, rename, fsync dir (append: O_APPEND, fsync);
//    then mode and owner.
//  - Commands run in order through `runner`; the first failure stops.
//  - The sentinel (content "success\n") is written under the root after the
//    commands when the config does not create it.
//  - Only then the marker is written (durably). A failed apply leaves no
//    marker, so the next boot tries again.
// Errors name the step: "write_files[1] '/etc/x': ...", "runcmd[2] 'kubeadm
// init ...': exited with status 1", "write_files[0].owner: unknown user
// 'etcd' (not in <root>/etc/passwd)", "writing the apply marker: ...".
Expected<ApplyResult> Apply(const CloudConfig& config, const std::string& root,
                            const std::string& state_dir, ProcessRunner& runner);

// Largest stored cloud-config ApplyFile reads.
inline constexpr size_t kMaxConfigBytes = 16u << 20;

// Reads a stored cloud-config (e.g. on COS_OEM), parses and applies it: what
// early boot does. Errors are wrapped in "applying cloud-config '<path>'"; a
// missing file keeps ENOENT as the error code, so a caller can tell "nothing
// stored" from a failure.
Expected<ApplyResult> ApplyFile(const std::string& config_path, const std::string& root,
                                const std::string& state_dir, ProcessRunner& runner);

}  // namespace elemental::cloudinit
