// `elemental-agent boot`: the boot image's early-boot program (its /init
// execs it, so it runs as PID 1). A short logged list of steps:
//
//   1. mount /proc, /sys, /dev (devtmpfs), /run; console on fds 0-2
//   2. kernel command line (cmdline.hpp); `elemental.shell` → a shell now
//   3. load the modules in /etc/elemental/boot/modules, in order
//   4. wait (briefly) for a disk
//   5. DHCP on every interface but lo (busybox udhcpc) until one gets a lease
//   6. agent config: baked, fetched (elemental.config.url) or from the
//      command line (plan.hpp) → /etc/elemental/agent/config.yaml
//   7. find the installed disk: the one whose GPT has the COS_* layout
//   8. decide (slots::DecideBoot on COS_OEM's record, the write saved first):
//      - no installed system  → `register --install` (live mode), reboot
//      - reset pending        → the installed files (config, key, host name)
//                               from COS_OEM, `reset` (live mode); then
//                               `register --install`, reboot
//      - boot slot X          → X read-only under a tmpfs overlay at
//                               /sysroot, COS_PERSISTENT bind mounts
//                               (plan.hpp), COS_OEM at /sysroot/oem and its
//                               files copied in, a pending bootstrap's
//                               write_files applied (its runcmd runs when
//                               `elemental-agent run` starts, in the running
//                               system), the booted slot written to
//                               /run/elemental/booted-slot, /dev /proc /sys
//                               /run moved in, `switch_root` to /sbin/init
//
// Any failure prints the step and the reason, then starts a shell on the
// console (never a silent hang); when the failing step is booting a slot on
// trial it reboots instead, so the boot count runs down to the rollback.
#pragma once

#include <string>
#include <vector>

namespace elemental::boot {

// Runs the early boot; returns only on a usage error or when not PID 1 and
// something failed (exit code).
int BootMain(const std::vector<std::string>& args);

}  // namespace elemental::boot
