// Hand-written fakes for the phase handler tests: an Elemental API client,
// an OS plugin and a clock that record every call, in order, into one shared
// journal, and return scripted results.
//
// The journal lines are the assertions: a test lists the exact calls it
// expects (like upstream's gomock.InOrder), including every PATCH body.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "api/client.hpp"
#include "common/clock.hpp"
#include "plugin/plugin.hpp"

namespace elemental::testing {

using Journal = std::vector<std::string>;

// "Type/Status/Severity/Reason/\"Message\"".
inline std::string Describe(const api::Condition& c) {
  return c.type + "/" + c.status + "/" + c.severity + "/" + c.reason + "/\"" + c.message + "\"";
}

// One line per PATCH with every field that is set, in a fixed order;
// "{}" for an empty patch.
inline std::string Describe(const api::HostPatchRequest& p) {
  std::string s;
  auto add = [&s](const std::string& part) { s += (s.empty() ? "" : " ") + part; };
  for (const auto& [k, v] : p.annotations) add("annotation:" + k + "=" + v);
  for (const auto& [k, v] : p.labels) add("label:" + k + "=" + v);
  if (p.bootstrapped) add(std::string("bootstrapped=") + (*p.bootstrapped ? "true" : "false"));
  if (p.installed) add(std::string("installed=") + (*p.installed ? "true" : "false"));
  if (p.reset) add(std::string("reset=") + (*p.reset ? "true" : "false"));
  if (p.in_place_update) add("inPlaceUpdate=" + *p.in_place_update);
  if (p.condition) add("condition=" + Describe(*p.condition));
  if (p.phase) add("phase=" + *p.phase);
  return s.empty() ? "{}" : s;
}

// Patch matchers for FakeClient::patch_script.
using PatchMatcher = std::function<bool(const api::HostPatchRequest&)>;
inline PatchMatcher AnyPatch() {
  return [](const api::HostPatchRequest&) { return true; };
}
inline PatchMatcher EmptyPatch() {
  return [](const api::HostPatchRequest& p) { return Describe(p) == "{}"; };
}
inline PatchMatcher PhasePatch(const std::string& phase) {
  return [phase](const api::HostPatchRequest& p) { return p.phase && *p.phase == phase; };
}
inline PatchMatcher ConditionPatch(const std::string& type, const std::string& status) {
  return [type, status](const api::HostPatchRequest& p) {
    return p.condition && p.condition->type == type && p.condition->status == status;
  };
}
inline PatchMatcher FieldPatch(const std::string& field) {  // installed/reset/bootstrapped/inPlaceUpdate
  return [field](const api::HostPatchRequest& p) {
    if (field == "installed") return p.installed.has_value();
    if (field == "reset") return p.reset.has_value();
    if (field == "bootstrapped") return p.bootstrapped.has_value();
    if (field == "inPlaceUpdate") return p.in_place_update.has_value();
    return false;
  };
}

class FakeClient : public api::Client {
 public:
  explicit FakeClient(Journal& journal) : journal_(journal) {}

  // Scripted results, consumed one per call; when empty, the defaults.
  std::deque<Expected<api::RegistrationResponse>> registration_results;
  api::RegistrationResponse default_registration;
  std::deque<Status> create_results;
  std::deque<Status> delete_results;
  std::deque<Expected<api::BootstrapResponse>> bootstrap_results;
  api::BootstrapResponse default_bootstrap;
  // For PATCH: the first entry whose matcher accepts the request is consumed
  // and its result returned; no match → default_host.
  struct PatchStep {
    PatchMatcher match;
    Expected<api::HostResponse> result;
  };
  std::deque<PatchStep> patch_script;
  api::HostResponse default_host;

  // Full requests, in call order.
  std::vector<api::HostCreateRequest> creates;
  std::vector<api::HostPatchRequest> patches;

  void FailPatch(PatchMatcher m, const std::string& msg, int times = 1) {
    for (int i = 0; i < times; ++i) patch_script.push_back({m, Error(msg)});
  }
  void ReturnHost(PatchMatcher m, api::HostResponse host) {
    patch_script.push_back({std::move(m), std::move(host)});
  }

  Expected<api::RegistrationResponse> GetRegistration() override {
    journal_.push_back("GetRegistration");
    return Pop(registration_results, Expected<api::RegistrationResponse>(default_registration));
  }
  Status CreateHost(const api::HostCreateRequest& host) override {
    journal_.push_back("CreateHost " + host.name);
    creates.push_back(host);
    return Pop(create_results, Status::Ok());
  }
  Status DeleteHost(const std::string& name) override {
    journal_.push_back("DeleteHost " + name);
    return Pop(delete_results, Status::Ok());
  }
  Expected<api::HostResponse> PatchHost(const api::HostPatchRequest& patch,
                                        const std::string& name) override {
    journal_.push_back("PatchHost " + name + " " + Describe(patch));
    patches.push_back(patch);
    for (auto it = patch_script.begin(); it != patch_script.end(); ++it) {
      if (it->match(patch)) {
        Expected<api::HostResponse> r = std::move(it->result);
        patch_script.erase(it);
        return r;
      }
    }
    return default_host;
  }
  Expected<api::BootstrapResponse> GetBootstrap(const std::string& name) override {
    journal_.push_back("GetBootstrap " + name);
    return Pop(bootstrap_results, Expected<api::BootstrapResponse>(default_bootstrap));
  }

 private:
  template <typename T>
  static T Pop(std::deque<T>& q, T fallback) {
    if (q.empty()) return fallback;
    T v = std::move(q.front());
    q.pop_front();
    return v;
  }
  Journal& journal_;
};

class FakePlugin : public plugin::OsPlugin {
 public:
  explicit FakePlugin(Journal& journal) : journal_(journal) {}

  // Scripted results per call, consumed in order; when empty: success.
  std::deque<Status> init_results, install_cloud_init_results, install_hostname_results,
      install_file_results, install_results, bootstrap_results, trigger_reset_results,
      reset_results, power_off_results, reboot_results;
  std::deque<Expected<std::string>> hostname_results;
  std::string default_hostname = "host";
  std::deque<Expected<bool>> reconcile_results;  // default: false (no reboot)

  // Inputs as received.
  struct File {
    std::string content, path;
    uint32_t mode;
    int uid, gid;
  };
  std::vector<File> files;
  std::vector<json::Value> cloud_configs, installs, os_versions, resets;
  plugin::PluginContext init_ctx;

  Status Init(const plugin::PluginContext& ctx) override {
    journal_.push_back("Init");
    init_ctx = ctx;
    return Pop(init_results);
  }
  Expected<std::string> GetHostname() override {
    journal_.push_back("GetHostname");
    if (hostname_results.empty()) return default_hostname;
    auto v = std::move(hostname_results.front());
    hostname_results.pop_front();
    return v;
  }
  Status InstallCloudInit(const json::Value& cloud_config) override {
    journal_.push_back("InstallCloudInit " + cloud_config.Dump());
    cloud_configs.push_back(cloud_config);
    return Pop(install_cloud_init_results);
  }
  Status InstallHostname(const std::string& hostname) override {
    journal_.push_back("InstallHostname " + hostname);
    return Pop(install_hostname_results);
  }
  Status InstallFile(const std::string& content, const std::string& path, uint32_t mode, int uid,
                     int gid) override {
    char m[8];
    std::snprintf(m, sizeof(m), "%04o", mode);
    journal_.push_back("InstallFile " + path + " " + m + " " + std::to_string(uid) + ":" +
                       std::to_string(gid));
    files.push_back({content, path, mode, uid, gid});
    return Pop(install_file_results);
  }
  Status Install(const json::Value& input) override {
    journal_.push_back("Install " + input.Dump());
    installs.push_back(input);
    return Pop(install_results);
  }
  Status Bootstrap(const std::string& format, const std::string& config) override {
    journal_.push_back("Bootstrap " + format + " " + config);
    return Pop(bootstrap_results);
  }
  Expected<bool> ReconcileOsVersion(const json::Value& input) override {
    journal_.push_back("ReconcileOsVersion " + input.Dump());
    os_versions.push_back(input);
    if (reconcile_results.empty()) return false;
    auto v = std::move(reconcile_results.front());
    reconcile_results.pop_front();
    return v;
  }
  Status TriggerReset() override {
    journal_.push_back("TriggerReset");
    return Pop(trigger_reset_results);
  }
  Status Reset(const json::Value& input) override {
    journal_.push_back("Reset " + input.Dump());
    resets.push_back(input);
    return Pop(reset_results);
  }
  Status PowerOff() override {
    journal_.push_back("PowerOff");
    return Pop(power_off_results);
  }
  Status Reboot() override {
    journal_.push_back("Reboot");
    return Pop(reboot_results);
  }

 private:
  static Status Pop(std::deque<Status>& q) {
    if (q.empty()) return Status::Ok();
    Status s = std::move(q.front());
    q.pop_front();
    return s;
  }
  Journal& journal_;
};

// Thrown by FakeClock when a handler keeps sleeping: a retry loop that never
// ends fails the test instead of hanging it.
struct TooManySleeps : std::runtime_error {
  TooManySleeps() : std::runtime_error("handler slept more than the test allows") {}
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(Journal& journal, int max_sleeps = 50)
      : journal_(journal), max_sleeps_(max_sleeps) {}

  std::chrono::system_clock::time_point now{std::chrono::seconds(1700000000)};
  std::vector<std::chrono::nanoseconds> sleeps;

  std::chrono::system_clock::time_point Now() override { return now; }
  void Sleep(std::chrono::nanoseconds d) override {
    journal_.push_back("Sleep " + std::to_string(d.count()) + "ns");
    sleeps.push_back(d);
    now += std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    if (static_cast<int>(sleeps.size()) > max_sleeps_) throw TooManySleeps();
  }

 private:
  Journal& journal_;
  int max_sleeps_;
};

}  // namespace elemental::testing
