// Pure pieces of the early boot, tested without a machine: the agent config
// the boot image ends up with, the module list, the persistent paths.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "boot/cmdline.hpp"
#include "cloudinit/cloudinit.hpp"
#include "common/expected.hpp"

namespace elemental::boot {

// The agent config YAML to write, from the baked config (if the boot image
// has one), a fetched config (elemental.config.url; replaces the baked one)
// and the command line's registration uri/token (override both). Errors:
// none of them gives a registration URI ("no agent config: bake one into the
// boot image (initrd/build.sh --config) or pass elemental.registration.uri=
// or elemental.config.url= on the kernel command line"), or a config does
// not parse (named: "baked config", "config from <url>").
Expected<std::string> AgentConfigYaml(const std::optional<std::string>& baked,
                                      const std::optional<std::string>& fetched,
                                      const BootParams& params, const std::string& config_url);

// /etc/elemental/boot/modules: one absolute path of a .ko per line, in load
// order; blank lines and '#' comments skipped. Errors name the line.
Expected<std::vector<std::string>> ParseModuleList(const std::string& text);

// The part of a pending bootstrap the boot image applies into the slot's
// root before switch_root, so the files are there when the system's init
// starts: write_files without the `append` entries (appending twice would
// change them), no runcmd and no sentinel. `elemental-agent run` applies the
// whole config once when it starts (files again, the commands, the
// sentinel), in the running system where the commands can work.
cloudinit::CloudConfig EarlyBootstrapFiles(const cloudinit::CloudConfig& config);

// Directories of the installed system kept on COS_PERSISTENT (bind mounts
// over the read-only slot's overlay): what the agent, kubeadm/RKE2/K3s and
// users write and expect after a reboot or an upgrade. A path is seeded
// from the slot the first time (so /etc/ssh keeps the image's files).
const std::vector<std::string>& PersistentPaths();

}  // namespace elemental::boot
