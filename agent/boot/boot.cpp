// The early boot (see boot.hpp).
#include "boot/boot.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>
#include <tuple>

#include "boot/cmdline.hpp"
#include "boot/plan.hpp"
#include "cloudinit/cloudinit.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "disk/format.hpp"
#include "disk/layout.hpp"
#include "disk/plan.hpp"
#include "disk/sysfs.hpp"
#include "http/curl_transport.hpp"
#include "plugin/elemental/oem.hpp"
#include "slots/boot.hpp"
#include "slots/store.hpp"

namespace elemental::boot {
namespace {

constexpr const char* kConfigPath = "/etc/elemental/agent/config.yaml";
constexpr const char* kRegistriesPath = "/etc/elemental/agent/registries.yaml";
constexpr const char* kModuleList = "/etc/elemental/boot/modules";
constexpr const char* kLiveMode = "/run/elemental/live_mode";
constexpr const char* kBootedSlot = "/run/elemental/booted-slot";
constexpr const char* kSysroot = "/sysroot";
constexpr const char* kSlotDir = "/run/elemental/slot";
constexpr const char* kOverlayDir = "/run/elemental/overlay";
constexpr const char* kPersistentDir = "/run/elemental/persistent";
constexpr const char* kOem = "/oem";

// A failed step: its name and why.
struct Failure {
  std::string step;
  Error error;
};

class Steps {
 public:
  void Begin(const std::string& name) {
    current_ = name;
    log::Info("boot step " + std::to_string(++n_) + ": " + name);
  }
  const std::string& current() const { return current_; }

 private:
  int n_ = 0;
  std::string current_;
};

Status MountFs(const std::string& source, const std::string& target, const char* type,
               unsigned long flags, const std::string& data = "") {
  if (Status st = fs::MkdirAll(target, 0755); !st) return st;
  if (::mount(source.c_str(), target.c_str(), type, flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    int err = errno;
    if (err == EBUSY && type != nullptr && std::strcmp(type, "overlay") != 0 &&
        (flags & MS_BIND) == 0) {
      return Status::Ok();  // already mounted (not PID 1 in a fresh boot)
    }
    return Error("mounting " + source + " (" + (type ? type : "bind") + ") on " + target + ": " +
                     std::strerror(err),
                 err);
  }
  return Status::Ok();
}

Status MoveMount(const std::string& from, const std::string& to) {
  if (Status st = fs::MkdirAll(to, 0755); !st) return st;
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_MOVE, nullptr) != 0) {
    return Error("moving the mount " + from + " to " + to + ": " + std::strerror(errno), errno);
  }
  return Status::Ok();
}

// Makes sure fds 0-2 are the console (the initramfs may lack /dev/console,
// so the kernel could not open it for us before devtmpfs was mounted).
void ConsoleOnStdio() {
  if (::fcntl(1, F_GETFD) != -1) return;
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;
  for (int i = 0; i < 3; ++i) ::dup2(fd, i);
  if (fd > 2) ::close(fd);
}

// Runs this program again with `args`, on the console, and waits.
Expected<int> RunAgent(std::vector<std::string> args, bool debug) {
  if (debug) args.insert(args.begin(), "--debug");
  log::Info("running: elemental-agent " + [&] {
    std::string s;
    for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
    return s;
  }());
  std::vector<std::string> argv = {"elemental-agent"};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid < 0) return Error(std::string("fork: ") + std::strerror(errno), errno);
  if (pid == 0) {
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv("/proc/self/exe", cargv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Error(std::string("waitpid: ") + std::strerror(errno), errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void Reboot() {
  log::Info("rebooting");
  ::sync();
  ::reboot(RB_AUTOBOOT);
}

// Never returns: a shell on the console, or (if there is none) waits.
[[noreturn]] void Rescue(const std::string& why) {
  log::Error(why);
  log::Error("starting a rescue shell on the console (exit it to reboot)");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  Reboot();
  for (;;) ::pause();
}

Status SetHostnameFrom(const std::string& file) {
  auto exists = fs::PathExists(file);
  if (!exists || !*exists) return Status::Ok();
  auto text = fs::ReadFile(file, {.max_bytes = 256});
  if (!text) return text.error();
  std::string name = *text;
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (name.empty()) return Status::Ok();
  if (::sethostname(name.c_str(), name.size()) != 0) {
    return Error("setting the host name to '" + name + "': " + std::strerror(errno), errno);
  }
  return Status::Ok();
}

void LoadModules() {
  auto exists = fs::PathExists(kModuleList);
  if (!exists || !*exists) {
    log::Info(std::string("no module list (") + kModuleList + "): nothing to load");
    return;
  }
  auto text = fs::ReadFile(kModuleList, {.max_bytes = 1 << 20});
  if (!text) {
    log::Warn(text.error().message());
    return;
  }
  auto list = ParseModuleList(*text);
  if (!list) {
    log::Warn(list.error().message());
    return;
  }
  int loaded = 0;
  for (const std::string& path : *list) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      log::Warn("module " + path + ": " + std::strerror(errno));
      continue;
    }
    long rc = ::syscall(SYS_finit_module, fd, "", 0);
    int err = errno;
    ::close(fd);
    if (rc != 0 && err != EEXIST) {
      log::Warn("loading module " + path + ": " + std::strerror(err));
      continue;
    }
    ++loaded;
  }
  log::Info(std::to_string(loaded) + "/" + std::to_string(list->size()) + " modules loaded");
}

bool IsCandidateDisk(const disk::BlockDevice& d) {
  if (d.is_partition || d.size_bytes == 0) return false;
  for (const char* prefix : {"loop", "ram", "zram", "sr", "fd", "dm-", "md"}) {
    if (d.name.rfind(prefix, 0) == 0) return false;
  }
  return true;
}

std::vector<disk::BlockDevice> Disks() {
  std::vector<disk::BlockDevice> out;
  auto devices = disk::ScanBlockDevices(disk::SystemPaths{});
  if (!devices) return out;
  for (const auto& d : *devices) {
    if (IsCandidateDisk(d)) out.push_back(d);
  }
  return out;
}

void WaitForDisks() {
  for (int i = 0; i < 50; ++i) {
    auto disks = Disks();
    if (!disks.empty()) {
      std::string names;
      for (const auto& d : disks) names += (names.empty() ? "" : ", ") + d.name;
      log::Info("disks: " + names);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  log::Warn("no disk appeared within 10 s");
}

void Dhcp() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    names.push_back(e.path().filename().string());
  }
  if (ec) {
    log::Warn("listing network interfaces: " + ec.message());
    return;
  }
  std::sort(names.begin(), names.end());
  disk::ExecProcessRunner runner;
  for (const std::string& ifname : names) {
    if (ifname == "lo") continue;
    // busybox's udhcpc loops forever on a link that is down: bring it up first.
    (void)runner.Run({"/bin/busybox", "ip", "link", "set", "dev", ifname, "up"});
    auto res = runner.Run({"/bin/busybox", "udhcpc", "-i", ifname, "-s",
                           "/usr/share/udhcpc/default.script", "-q", "-n", "-t", "5", "-T", "2"});
    if (res && res->exit_status == 0) {
      log::Info("DHCP lease on " + ifname);
      return;
    }
    log::Warn("no DHCP lease on " + ifname + ": " +
              (res ? res->output.substr(res->output.size() > 300 ? res->output.size() - 300 : 0)
                   : res.error().message()));
  }
}

Expected<std::string> FetchConfig(const std::string& url) {
  http::TransportOptions opts;
  opts.tls.use_system_cert_pool = true;
  opts.total_timeout = std::chrono::seconds(30);
  opts.max_response_bytes = 1 << 20;
  auto transport = http::NewCurlTransport(opts);
  if (!transport) return transport.error();
  std::optional<Error> last;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    auto res = (*transport)->Do({"GET", url, {}, ""});
    if (res && res->status == 200) return res->body;
    last = res ? Error("HTTP status " + std::to_string(res->status)) : res.error();
    if (res && res->status >= 400 && res->status < 500 && res->status != 429) break;
    log::Warn("fetching the agent config from " + url + " (attempt " + std::to_string(attempt) +
              "): " + last->message());
    std::this_thread::sleep_for(std::chrono::seconds(1 << std::min(attempt, 4)));
  }
  return last->Wrap("fetching the agent config from " + url);
}

Status WriteConfig(const BootParams& params) {
  std::optional<std::string> baked, fetched;
  auto exists = fs::PathExists(kConfigPath);
  if (!exists) return exists.error();
  if (*exists) {
    auto text = fs::ReadFile(kConfigPath, {.max_bytes = 1 << 20});
    if (!text) return text.error();
    baked = *text;
  }
  if (!params.config_url.empty()) {
    auto text = FetchConfig(params.config_url);
    if (!text) return text.error();
    fetched = *text;
  }
  if (baked && !fetched && params.registration_uri.empty() && params.registration_token.empty()) {
    log::Info(std::string("agent config: ") + kConfigPath + " (baked into the boot image)");
    return Status::Ok();
  }
  auto yaml = AgentConfigYaml(baked, fetched, params, params.config_url);
  if (!yaml) return yaml.error();
  if (Status st = fs::MkdirAll(fs::DirName(kConfigPath), 0700); !st) return st;
  if (Status st = fs::WriteFileDurable(kConfigPath, *yaml, 0600); !st) return st;
  log::Info(std::string("agent config written to ") + kConfigPath);
  return Status::Ok();
}

struct Installed {
  disk::DiskLayout layout;
  std::string node(const char* label) const {
    const auto* p = layout.Find(label);
    return p ? p->node : std::string();
  }
};

std::optional<Installed> FindInstalled() {
  for (const auto& d : Disks()) {
    auto layout = disk::OpenLayout(d.node);
    if (layout) {
      log::Info("installed system on " + d.node);
      return Installed{*layout};
    }
    log::Debug(d.node + ": " + layout.error().message());
  }
  log::Info("no installed system on any disk");
  return std::nullopt;
}

Status Umount(const std::string& dir) {
  if (::umount2(dir.c_str(), 0) != 0 && errno != EINVAL && errno != ENOENT) {
    return Error("unmounting " + dir + ": " + std::strerror(errno), errno);
  }
  return Status::Ok();
}

Status LiveMode() {
  if (Status st = fs::MkdirAll("/run/elemental", 0755); !st) return st;
  return fs::WriteFileDurable(kLiveMode, "", 0644);
}

// register --install, then reboot. Returns only on failure.
Status InstallAndReboot(bool debug) {
  if (Status st = LiveMode(); !st) return st;
  auto rc = RunAgent({"register", "--install"}, debug);
  if (!rc) return rc.error();
  if (*rc != 0) return Error("elemental-agent register --install exited with status " + std::to_string(*rc));
  Reboot();
  return Error("the reboot after the install did not happen");
}

// A pending bootstrap's files (EarlyBootstrapFiles) into /sysroot. Failures
// are warnings: `run` applies the whole config and reports its errors.
void WriteEarlyBootstrapFiles() {
  const std::string stored = std::string(kOem) + "/" + plugin::native::kOemBootstrapCloudConfig;
  auto exists = fs::PathExists(stored);
  if (!exists || !*exists) return;
  auto text = fs::ReadFile(stored, {.what = "bootstrap cloud-config",
                                    .max_bytes = cloudinit::kMaxConfigBytes});
  if (!text) {
    log::Warn(text.error().message());
    return;
  }
  auto parsed = cloudinit::Parse(*text);
  if (!parsed) {
    log::Warn("pending bootstrap: " + parsed.error().message());
    return;
  }
  const std::string marker = fs::DirName(stored) + "/" + cloudinit::kAppliedMarkerName;
  if (auto applied = fs::ReadFile(marker, {.max_bytes = 4096});
      applied && applied->find(parsed->digest) != std::string::npos) {
    return;  // applied before: its files are where the system keeps them
  }
  cloudinit::ExecProcessRunner runner;
  auto res = cloudinit::Apply(EarlyBootstrapFiles(*parsed), kSysroot,
                              "/run/elemental/bootstrap-early", runner);
  if (!res) {
    log::Warn("pending bootstrap: " + res.error().message());
    return;
  }
  log::Info("pending bootstrap: " + std::to_string(res->files_written) +
            " file(s) written before the system starts; its commands run when elemental-agent "
            "run starts");
}

// Mounts the slot under an overlay at /sysroot with everything the
// installed system needs, then switch_root. Returns only on failure.
Status BootSlot(const Installed& inst, slots::Slot slot) {
  const char* label = slot == slots::Slot::kA ? disk::kLabelSystemA : disk::kLabelSystemB;
  if (Status st = MountFs(inst.node(label), kSlotDir, "ext4", MS_RDONLY); !st) return st;
  if (Status st = MountFs("tmpfs", kOverlayDir, "tmpfs", 0, "mode=0755"); !st) return st;
  for (const char* d : {"/upper", "/work"}) {
    if (Status st = fs::MkdirAll(std::string(kOverlayDir) + d, 0755); !st) return st;
  }
  const std::string data = std::string("lowerdir=") + kSlotDir + ",upperdir=" + kOverlayDir +
                           "/upper,workdir=" + kOverlayDir + "/work";
  if (Status st = MountFs("overlay", kSysroot, "overlay", 0, data); !st) return st;
  struct stat st_init {};
  if (::lstat("/sysroot/sbin/init", &st_init) != 0) {
    return Error(std::string("slot ") + slots::SlotName(slot) + " (" + label +
                 ") has no /sbin/init");
  }
  // COS_PERSISTENT: each path seeded from the slot the first time.
  if (Status st = MountFs(inst.node(disk::kLabelPersistent), kPersistentDir, "ext4", 0); !st) {
    return st;
  }
  for (const std::string& path : PersistentPaths()) {
    const std::string src = kPersistentDir + path;
    const std::string dst = kSysroot + path;
    auto have = fs::PathExists(src);
    if (!have) return have.error();
    if (!*have) {
      if (Status st = fs::MkdirAll(src, 0755); !st) return st;
      struct stat sd {};
      if (::lstat(dst.c_str(), &sd) == 0 && S_ISDIR(sd.st_mode)) {
        if (Status st = plugin::native::CopyTree(dst, src); !st) {
          return st.error().Wrap("seeding " + src);
        }
      }
    }
    if (Status st = MountFs(src, dst, nullptr, MS_BIND); !st) return st;
  }
  // The boot image's registry settings hold for the installed system too;
  // COS_OEM's files (copied next) win.
  if (auto reg = fs::PathExists(kRegistriesPath); reg && *reg) {
    auto text = fs::ReadFile(kRegistriesPath, {.max_bytes = 1 << 20});
    if (text) {
      (void)fs::MkdirAll(std::string(kSysroot) + "/etc/elemental/agent", 0755);
      (void)fs::WriteFileDurable(std::string(kSysroot) + kRegistriesPath, *text, 0644);
    }
  }
  const std::string files = std::string(kOem) + "/" + plugin::native::kOemFilesDir;
  if (auto have = fs::PathExists(files); have && *have) {
    if (Status st = plugin::native::CopyTree(files, kSysroot); !st) {
      return st.error().Wrap("copying COS_OEM's files into the system");
    }
  }
  WriteEarlyBootstrapFiles();
  if (Status st = SetHostnameFrom(std::string(kSysroot) + "/etc/hostname"); !st) {
    log::Warn(st.error().message());
  }
  if (Status st = fs::WriteFileDurable(kBootedSlot, std::string(slots::SlotName(slot)) + "\n", 0644);
      !st) {
    return st;
  }
  if (Status st = MoveMount(kOem, std::string(kSysroot) + kOem); !st) return st;
  for (const char* m : {"/dev", "/proc", "/sys", "/run"}) {
    if (Status st = MoveMount(m, std::string(kSysroot) + m); !st) return st;
  }
  log::Info(std::string("switching to slot ") + slots::SlotName(slot));
  ::execl("/bin/busybox", "switch_root", kSysroot, "/sbin/init", static_cast<char*>(nullptr));
  return Error(std::string("exec /bin/busybox switch_root: ") + std::strerror(errno), errno);
}

}  // namespace

int BootMain(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a != "boot" && a != "--debug") {
      std::fprintf(stderr, "Error: unexpected argument \"%s\" for \"elemental-agent boot\"\n",
                   a.c_str());
      return 2;
    }
    if (a == "--debug") log::EnableDebug();
  }
  const bool pid1 = ::getpid() == 1;
  Steps steps;
  BootParams params;
  bool on_trial = false;
  auto fail = [&](const Error& e) -> int {
    const std::string why = "boot failed at step '" + steps.current() + "': " + e.message();
    if (on_trial) {
      log::Error(why);
      log::Error("the slot on trial did not boot: rebooting (its boot count runs down)");
      std::this_thread::sleep_for(std::chrono::seconds(3));
      Reboot();
    }
    if (!pid1) {
      log::Error(why);
      return 1;
    }
    Rescue(why);
  };

  steps.Begin("mount /proc, /sys, /dev, /run");
  if (pid1) {
    for (auto [src, dir, type, data] :
         {std::tuple{"proc", "/proc", "proc", ""}, {"sysfs", "/sys", "sysfs", ""},
          {"devtmpfs", "/dev", "devtmpfs", "mode=0755"}, {"tmpfs", "/run", "tmpfs", "mode=0755"}}) {
      if (Status st = MountFs(src, dir, type, MS_NOSUID, data); !st) return fail(st.error());
    }
    ConsoleOnStdio();
    ::setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  }

  steps.Begin("kernel command line");
  {
    auto text = fs::ReadFile("/proc/cmdline", {.max_bytes = 64 * 1024});
    if (!text) return fail(text.error());
    auto parsed = ParseCmdline(*text);
    if (!parsed) return fail(parsed.error());
    params = *parsed;
    if (!params.registration_token.empty()) log::AddSecret(params.registration_token);
    if (params.debug) log::EnableDebug();
    for (const auto& w : params.warnings) log::Warn(w);
    if (params.shell && pid1) Rescue("elemental.shell given on the kernel command line");
  }

  steps.Begin("load kernel modules");
  LoadModules();
  steps.Begin("wait for disks");
  WaitForDisks();
  steps.Begin("network (DHCP)");
  Dhcp();
  steps.Begin("agent config");
  if (Status st = WriteConfig(params); !st) return fail(st.error());

  steps.Begin("find the installed system");
  std::optional<Installed> inst = FindInstalled();
  if (!inst) {
    steps.Begin("install (register --install)");
    Status st = InstallAndReboot(params.debug);
    return fail(st.error());
  }
  if (Status st = MountFs(inst->node(disk::kLabelOem), kOem, "ext4", 0); !st) {
    return fail(st.error());
  }
  steps.Begin("boot decision");
  slots::Store store(slots::PosixFileOps(), slots::kDefaultStateDir);
  auto loaded = store.Load();
  slots::BootDecision d = slots::DecideBoot(loaded, std::chrono::system_clock::now());
  if (d.write) {
    slots::Record record = *d.write;
    if (Status st = store.Save(record); !st) {
      log::Warn("writing the slot state record: " + st.error().message());
      if (d.if_write_fails != slots::Slot::kNone) d.slot = d.if_write_fails;
    }
  }
  log::Info(d.message);
  if (loaded) {
    for (const auto& damaged : loaded->damaged) log::Warn("slot state record: " + damaged);
  }
  // The slots as the record now says (what `elemental-agent state` shows).
  if (const slots::Record* r = d.write ? &*d.write : (loaded && loaded->record ? &*loaded->record : nullptr)) {
    for (slots::Slot s : {slots::Slot::kA, slots::Slot::kB}) {
      const slots::SlotInfo& info = r->slot(s);
      log::Info(std::string("slot ") + slots::SlotName(s) + ": " + slots::SlotStateName(info.state) +
                (r->active == s ? ", active" : "") + (info.image.empty() ? "" : ", " + info.image));
    }
  }
  if (loaded && loaded->record && loaded->record->pending_try &&
      loaded->record->pending_try->slot == d.slot && !d.rolled_back) {
    on_trial = true;
  }

  switch (d.action) {
    case slots::BootAction::kInstall: {
      if (Status st = Umount(kOem); !st) return fail(st.error());
      steps.Begin("install (register --install)");
      Status st = InstallAndReboot(params.debug);
      return fail(st.error());
    }
    case slots::BootAction::kReset: {
      steps.Begin("reset");
      // The installed host's config, key and name: `reset` acts as that host.
      const std::string files = std::string(kOem) + "/" + plugin::native::kOemFilesDir;
      if (auto have = fs::PathExists(files); have && *have) {
        if (Status st = plugin::native::CopyTree(files, "/"); !st) return fail(st.error());
      }
      if (Status st = SetHostnameFrom("/etc/hostname"); !st) log::Warn(st.error().message());
      if (Status st = Umount(kOem); !st) return fail(st.error());
      if (Status st = LiveMode(); !st) return fail(st.error());
      auto rc = RunAgent({"reset"}, params.debug);
      if (!rc) return fail(rc.error());
      if (*rc != 0) return fail(Error("elemental-agent reset exited with status " + std::to_string(*rc)));
      steps.Begin("install after reset (register --install)");
      Status st = InstallAndReboot(params.debug);
      return fail(st.error());
    }
    case slots::BootAction::kBoot: {
      steps.Begin(std::string("boot slot ") + slots::SlotName(d.slot));
      if (!pid1) {
        log::Info("not PID 1: stopping before switch_root");
        return 0;
      }
      Status st = BootSlot(*inst, d.slot);
      return fail(st.error());
    }
  }
  return fail(Error("unknown boot action"));
}

}  // namespace elemental::boot
