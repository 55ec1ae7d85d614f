// The program: parse arguments, build the agent, run one command as
// upstream's cmd/agent/{register,install,run,reset,version}.go.
#include "cli/cli.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "boot/boot.hpp"
#include "cli/args.hpp"
#include "cli/init.hpp"
#include "cli/state.hpp"
#include "common/log.hpp"
#include "common/clock.hpp"
#include "common/fs.hpp"
#include "disk/probe.hpp"
#include "oci/progress.hpp"
#include "oci/pull.hpp"
#include "oci/registries_config.hpp"
#include "phase/install.hpp"
#include "phase/post.hpp"
#include "phase/register.hpp"
#include "phase/reset.hpp"
#include "phase/run.hpp"

#ifndef ELEMENTAL_VERSION
#define ELEMENTAL_VERSION "0.0.0-dev"
#endif
#ifndef ELEMENTAL_COMMIT
#define ELEMENTAL_COMMIT ""
#endif
#ifndef ELEMENTAL_COMMIT_DATE
#define ELEMENTAL_COMMIT_DATE ""
#endif

namespace elemental::cli {
namespace {

// The installed disk's COS_* partitions for `state`; nullopt (with a note on
// `err`) when this host has no installed disk or it cannot be read.
std::optional<std::vector<slots::LayoutEntry>> InstalledLayout(std::string& err) {
  auto parts = disk::InstalledPartitions(disk::SystemPaths{});
  if (!parts) {
    err += "note: no disk layout shown: " + parts.error().message() + "\n";
    return std::nullopt;
  }
  std::vector<slots::LayoutEntry> layout;
  for (const auto& p : *parts) {
    auto fs = disk::ProbeFilesystem(p.node);
    layout.push_back({p.label, p.node, p.size_bytes, fs ? *fs : std::string()});
  }
  return layout;
}

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Where `pull` looks for mirrors when --registries-config is not given.

// Logs "Could not <what>: <error chain>" and returns the failure exit code.
int Fatal(const std::string& what, const Error& err) {
  log::Error("Could not " + what + ": " + err.message());
  return kExitFailure;
}

// Installs the host, then applies the postInstall of ctx.config (after
// registration that is the registration's config).
void InstallHost(phase::AgentContext& ctx) {
  log::Info("Installing host");
  phase::Install(ctx);
  phase::HandlePost(*ctx.plugin, ctx.config.agent.post_install);
}

// `pull`: the OCI library alone, without config or registration.
int PullCommand(const Args& args) {
  oci::PullOptions opts;
  opts.registry.insecure_registries = args.insecure_registries;
  opts.registry.ca_file = args.ca_file;
  opts.registry.auth_file = args.auth_file;
  auto platform = oci::ParsePlatform(args.platform);
  if (!platform) return Fatal("pull image", platform.error());
  opts.platform = *platform;
  // Mirrors: the named file must exist; the default one is optional.
  std::string registries = args.registries_config;
  if (auto there = fs::PathExists(oci::kDefaultRegistriesConfigPath); registries.empty() && there && *there) {
    registries = oci::kDefaultRegistriesConfigPath;
  }
  if (!registries.empty()) {
    auto cfg = oci::LoadRegistriesConfig(registries);
    if (!cfg) return Fatal("pull image", cfg.error());
    opts.registry.registries = std::move(*cfg);
    log::Info("Using registries config " + registries);
  }
  oci::ProgressReporter reporter([](const std::string& line) { log::Info(line); },
                                 SystemClock());
  opts.progress = [&](const oci::Progress& p) { reporter.Update(p); };
  log::Info("Pulling " + args.pull_ref + " into " + args.pull_to);
  auto result = oci::Pull(args.pull_ref, args.pull_to, opts);
  if (!result) return Fatal("pull image", result.error());
  log::Info("Pulled " + args.pull_ref + " (manifest " + result->manifest_digest + ")");
  return kExitOk;
}

int RunCommand(const Args& args) {
  log::Info("Initializing agent");
  auto agent = InitAgent(args.config_path, args.debug);
  if (!agent) return Fatal("initialize agent", agent.error());
  phase::AgentContext& ctx = (*agent)->ctx;

  switch (args.command) {
    case Command::kRegister: {
      log::Info("Registering new host");
      if (auto st = phase::Register(ctx); !st) return Fatal("register host", st.error());
      log::Info("Finalizing Registration");
      if (auto st = phase::FinalizeRegistration(ctx); !st) {
        return Fatal("finalize registration", st.error());
      }
      if (args.install) InstallHost(ctx);
      return kExitOk;
    }
    case Command::kInstall:
      InstallHost(ctx);
      return kExitOk;
    case Command::kRun:
      if (phase::Run(ctx) == phase::RunResult::kResetTriggered) {
        if (auto st = ctx.plugin->OnResetTriggered(); !st) {
          return Fatal("finish the reset trigger", st.error());
        }
      }
      return kExitOk;
    case Command::kReset:
      log::Info("Resetting host");
      phase::Reset(ctx);
      phase::HandlePost(*ctx.plugin, ctx.config.agent.post_reset);
      return kExitOk;
    default:
      return kExitUsage;  // not reached: handled by Main
  }
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> argv_rest;
  for (int i = 1; i < argc; ++i) argv_rest.emplace_back(argv[i]);
  {
    auto first = std::find_if(argv_rest.begin(), argv_rest.end(),
                              [](const std::string& a) { return a.empty() || a[0] != '-'; });
    if (first != argv_rest.end() && *first == "boot") return boot::BootMain(argv_rest);
  }
  if (const std::string slot_command = SlotCommand(argv_rest); !slot_command.empty()) {
    std::string out, err;
    int rc;
    if (slot_command == "state") {
      // The layout belongs to the installed system's record: shown for the
      // default state dir only, not for a record elsewhere (an image file).
      bool own_dir = false;
      for (const auto& a : argv_rest) own_dir = own_dir || a.rfind("--state-dir", 0) == 0;
      auto layout = own_dir ? std::nullopt : InstalledLayout(err);
      rc = StateMain(argv_rest, slots::PosixFileOps(), layout, out, err);
    } else {
      rc = BootDecisionMain(argv_rest, slots::PosixFileOps(), std::chrono::system_clock::now(),
                            out, err);
    }
    std::fputs(out.c_str(), stdout);
    std::fputs(err.c_str(), stderr);
    return rc;
  }
  auto args = ParseArgs(argv_rest);
  if (!args) {
    std::fprintf(stderr, "Error: %s\nRun 'elemental-agent --help' for usage.\n",
                 args.error().message().c_str());
    return kExitUsage;
  }
  if (args->help || args->command == Command::kNone) {
    std::fputs(Usage(args->help_topic).c_str(), stdout);
    return kExitOk;
  }
  if (args->command == Command::kVersion) {
    log::Info(std::string("Agent version ") + ELEMENTAL_VERSION + ", commit " + ELEMENTAL_COMMIT +
              ", commit date " + ELEMENTAL_COMMIT_DATE);
    return kExitOk;
  }
  if (args->command == Command::kPull) {
    log::EnableDebug(args->debug);
    return PullCommand(*args);
  }
  return RunCommand(*args);
}

}  // namespace elemental::cli
