// Tests for agent/cloudinit: parsing CAPI bootstrap cloud-configs (kubeadm,
// RKE2 shapes), applying them into a temp root with a fake process runner,
// every bad input, path escapes (nothing may land outside the root), the
// sentinel, apply-once, and the real runner on harmless sh commands.
#include "cloudinit/cloudinit.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cloudinit/codec.hpp"
#include "common/fs.hpp"

namespace elemental::cloudinit {
namespace {

namespace sfs = std::filesystem;
using ::testing::HasSubstr;

// Records every command; `exit_status[i]` (if set) is what command i returns,
// `effect` runs as if the command did something in the root.
class FakeRunner : public ProcessRunner {
 public:
  Expected<RunResult> Run(const Command& cmd, const std::string& root) override {
    calls.push_back(cmd);
    roots.push_back(root);
    const size_t i = calls.size() - 1;
    if (effect) effect(cmd, root);
    if (i < start_errors.size() && !start_errors[i].empty()) return Error(start_errors[i]);
    RunResult r;
    r.exit_status = i < exit_status.size() ? exit_status[i] : 0;
    r.output = "output of command " + std::to_string(i) + "\n";
    return r;
  }
  std::vector<Command> calls;
  std::vector<std::string> roots;
  std::vector<int> exit_status;
  std::vector<std::string> start_errors;
  std::function<void(const Command&, const std::string&)> effect;
};

std::string Slurp(const std::string& path) {
  auto t = fs::ReadFile(path);
  EXPECT_TRUE(t.has_value()) << path << ": " << (t ? "" : t.error().message());
  return t ? *t : "";
}

uint32_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

class CloudInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cloudinit-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    state_ = base_ + "/oem/state";
    outside_ = base_ + "/outside";
    sfs::create_directories(root_);
    sfs::create_directories(outside_);
  }
  void TearDown() override { sfs::remove_all(base_); }

  void Put(const std::string& rel, const std::string& content) {
    const std::string p = root_ + rel;
    sfs::create_directories(sfs::path(p).parent_path());
    ASSERT_TRUE(fs::WriteFileDurable(p, content, 0644));
  }
  std::string R(const std::string& rel) const { return root_ + rel; }
  bool OutsideIsEmpty() const { return sfs::is_empty(outside_); }

  Expected<ApplyResult> ParseAndApply(const std::string& text) {
    auto cfg = Parse(text);
    if (!cfg) return cfg.error();
    return Apply(*cfg, root_, state_, runner_);
  }

  std::string base_, root_, state_, outside_;
  FakeRunner runner_;
};

// A cloud-config as the kubeadm bootstrap provider (CABPK) writes it:
// jinja header, PKI as plain text and base64, a gzip+base64 file, the
// kubeadm config under /run/kubeadm, runcmd as strings and argv lists, and
// the provider's own sentinel command.
const char* kKubeadm = R"YAML(## template: jinja
#cloud-config

write_files:
-   path: /etc/kubernetes/pki/ca.crt
    owner: root:root
    permissions: '0640'
    content: |
      -----BEGIN CERTIFICATE-----
      MIIC6jCCAdKgAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl
      -----END CERTIFICATE-----

-   path: /etc/kubernetes/pki/ca.key
    owner: root:root
    permissions: '0600'
    encoding: base64
    content: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFBS0NBUUVBcUlnbwotLS0tLUVORCBSU0EgUFJJVkFURSBLRVktLS0tLQo=
-   path: /etc/kubernetes/admin-extra.conf
    owner: root:root
    permissions: '0600'
    encoding: gzip+base64
    content: H4sIAAAAAAAC/0ssyAxLLSrOzM+zUigz5MrOzEuxUnDOz0vLTOdKziktLgFKWilEx3IBAEkqYGkpAAAA
-   path: /run/kubeadm/kubeadm.yaml
    owner: root:root
    permissions: '0640'
    content: |
      ---
      apiVersion: kubeadm.k8s.io/v1beta3
      kind: InitConfiguration
      nodeRegistration:
        name: '{{ ds.meta_data.local_hostname }}'
-   path: /run/cluster-api/placeholder
    owner: root:root
    permissions: '0640'
    content: "This placeholder file is used to create the /run/cluster-api sub directory in a way that is compatible with both Linux and Windows (mkdir -p /run/cluster-api does not work with Windows)"
runcmd:
  - 'kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo success > /run/cluster-api/bootstrap-success.complete'
  - [ systemctl, enable, --now, kubelet ]
  - ["sh", "-c", "echo done"]
users:
  - name: capi
    sudo: ALL=(ALL) NOPASSWD:ALL
)YAML";

TEST_F(CloudInitTest, KubeadmConfigIsAppliedIntoTheRoot) {
  auto cfg = Parse(kKubeadm);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->write_files.size(), 5u);
  EXPECT_TRUE(cfg->creates_sentinel);
  EXPECT_EQ(cfg->write_files[1].encoding, Encoding::kBase64);
  EXPECT_EQ(cfg->write_files[2].encoding, Encoding::kGzipBase64);
  EXPECT_EQ(cfg->write_files[0].owner_user, "root");
  EXPECT_EQ(cfg->write_files[0].owner_group, "root");
  EXPECT_EQ(cfg->digest.rfind("sha256:", 0), 0u);
  EXPECT_EQ(cfg->digest.size(), 7u + 64u);
  // users: is not applied, and the jinja template is not rendered: both said.
  ASSERT_EQ(cfg->warnings.size(), 2u);
  EXPECT_THAT(cfg->warnings[0], HasSubstr("unsupported key 'users' ignored"));
  EXPECT_THAT(cfg->warnings[1], HasSubstr("jinja"));

  auto res = Apply(*cfg, root_, state_, runner_);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_FALSE(res->already_applied);
  EXPECT_EQ(res->files_written, 5u);
  EXPECT_EQ(res->commands_run, 3u);
  EXPECT_FALSE(res->sentinel_added);  // kubeadm's first command creates it
  EXPECT_FALSE(Exists(R(kSentinelPath)));  // and the fake runner did not

  EXPECT_EQ(Slurp(R("/etc/kubernetes/pki/ca.crt")),
            "-----BEGIN CERTIFICATE-----\n"
            "MIIC6jCCAdKgAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl\n"
            "-----END CERTIFICATE-----\n");
  EXPECT_EQ(ModeOf(R("/etc/kubernetes/pki/ca.crt")), 0640u);
  EXPECT_EQ(Slurp(R("/etc/kubernetes/pki/ca.key")),
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAqIgo\n-----END RSA PRIVATE KEY-----\n");
  EXPECT_EQ(ModeOf(R("/etc/kubernetes/pki/ca.key")), 0600u);
  EXPECT_EQ(Slurp(R("/etc/kubernetes/admin-extra.conf")),
            "apiVersion: v1\nkind: Config\nclusters: []\n");
  EXPECT_THAT(Slurp(R("/run/kubeadm/kubeadm.yaml")), HasSubstr("kind: InitConfiguration\n"));
  EXPECT_EQ(ModeOf(R("/run/kubeadm")), 0755u);  // parents are 0755 whatever the umask
  EXPECT_EQ(ModeOf(R("/etc/kubernetes/pki")), 0755u);
  struct stat st;
  ASSERT_EQ(::stat(R("/etc/kubernetes/pki/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 0u);

  ASSERT_EQ(runner_.calls.size(), 3u);
  EXPECT_EQ(runner_.calls[0].argv,
            (std::vector<std::string>{"/bin/sh", "-c",
                                      "kubeadm init --config /run/kubeadm/kubeadm.yaml  && echo "
                                      "success > /run/cluster-api/bootstrap-success.complete"}));
  EXPECT_TRUE(runner_.calls[0].shell);
  EXPECT_EQ(runner_.calls[1].argv,
            (std::vector<std::string>{"systemctl", "enable", "--now", "kubelet"}));
  EXPECT_FALSE(runner_.calls[1].shell);
  EXPECT_EQ(runner_.calls[2].argv, (std::vector<std::string>{"sh", "-c", "echo done"}));
  EXPECT_EQ(runner_.roots[0], root_);
  // No temporary file is left next to what was written.
  for (const auto& e : sfs::directory_iterator(R("/etc/kubernetes/pki"))) {
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }

  EXPECT_EQ(Slurp(state_ + "/" + kAppliedMarkerName), cfg->digest + "\n");
  EXPECT_EQ(ModeOf(state_ + "/" + kAppliedMarkerName), 0600u);
}

const char* kRke2 = R"(#cloud-config
write_files:
- path: /etc/rancher/rke2/config.yaml
  owner: root:root
  permissions: "0640"
  content: |
    token: 5a1b2c3d4e5f
    server: https://10.0.0.10:9345
    tls-san:
      - 10.0.0.10
- path: /opt/rke2-cis-script.sh
  permissions: "0755"
  content: |
    #!/bin/sh
    echo cis
runcmd:
- curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION=v1.28.3+rke2r1 sh -s - server
- systemctl enable rke2-server.service
- systemctl start rke2-server.service
)";

TEST_F(CloudInitTest, Rke2ConfigGetsTheSentinelAddedAfterItsCommands) {
  // The sentinel must come after the provider's commands: check from inside
  // the last one that it is not there yet.
  bool sentinel_seen_early = false;
  runner_.effect = [&](const Command&, const std::string&) {
    if (Exists(R(kSentinelPath))) sentinel_seen_early = true;
  };
  auto res = ParseAndApply(kRke2);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(res->sentinel_added);
  EXPECT_FALSE(sentinel_seen_early);
  EXPECT_EQ(Slurp(R(kSentinelPath)), "success\n");
  EXPECT_EQ(ModeOf(R("/run/cluster-api")), 0755u);
  EXPECT_THAT(Slurp(R("/etc/rancher/rke2/config.yaml")), HasSubstr("server: https://10.0.0.10:9345\n"));
  EXPECT_EQ(ModeOf(R("/etc/rancher/rke2/config.yaml")), 0640u);
  EXPECT_EQ(ModeOf(R("/opt/rke2-cis-script.sh")), 0755u);
  ASSERT_EQ(runner_.calls.size(), 3u);
  EXPECT_EQ(runner_.calls[0].Display(),
            "curl -sfL https://get.rke2.io | INSTALL_RKE2_VERSION=v1.28.3+rke2r1 sh -s - server");
  EXPECT_EQ(runner_.calls[2].argv,
            (std::vector<std::string>{"/bin/sh", "-c", "systemctl start rke2-server.service"}));
}

TEST_F(CloudInitTest, DefaultModeIs0644AndEmptyContentIsAnEmptyFile) {
  auto res = ParseAndApply("write_files:\n- path: /etc/empty\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(Slurp(R("/etc/empty")), "");
  EXPECT_EQ(ModeOf(R("/etc/empty")), 0644u);
}

TEST_F(CloudInitTest, AppendAddsToExistingAndCreatesMissing) {
  Put("/etc/hosts", "127.0.0.1 localhost\n");
  Put("/etc/replaced", "old content\n");
  auto res = ParseAndApply(R"(
write_files:
- path: /etc/hosts
  append: true
  content: "10.0.0.10 cp\n"
- path: /etc/new/list
  append: yes
  permissions: '0600'
  content: "first\n"
- path: /etc/new/list
  append: true
  content: "second\n"
  permissions: '0640'
- path: /etc/replaced
  append: false
  content: "new\n"
)");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(Slurp(R("/etc/hosts")), "127.0.0.1 localhost\n10.0.0.10 cp\n");
  EXPECT_EQ(Slurp(R("/etc/new/list")), "first\nsecond\n");
  EXPECT_EQ(ModeOf(R("/etc/new/list")), 0640u);  // the last entry's mode wins, as in cloud-init
  EXPECT_EQ(Slurp(R("/etc/replaced")), "new\n");
}

TEST_F(CloudInitTest, DeferIsAcceptedAndWrittenBeforeTheCommands) {
  bool present_when_run = false;
  runner_.effect = [&](const Command&, const std::string&) {
    present_when_run = Exists(R("/etc/deferred"));
  };
  auto res = ParseAndApply(
      "write_files:\n- path: /etc/deferred\n  defer: true\n  content: x\nruncmd:\n- echo hi\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(present_when_run);
  EXPECT_EQ(Slurp(R("/etc/deferred")), "x");
}

TEST_F(CloudInitTest, PermissionSpellings) {
  struct Case {
    std::string yaml;
    uint32_t mode;
  };
  const std::vector<Case> cases = {
      {"'0644'", 0644}, {"\"644\"", 0644}, {"'0o600'", 0600}, {"0o600", 0600},
      {"0644", 0644},   {"420", 0644},     {"0x1ed", 0755},   {"'4755'", 04755},
  };
  for (const auto& c : cases) {
    auto cfg = Parse("write_files:\n- path: /x\n  permissions: " + c.yaml + "\n");
    ASSERT_TRUE(cfg) << c.yaml << ": " << cfg.error().message();
    EXPECT_EQ(cfg->write_files[0].mode, c.mode) << c.yaml;
  }
}

TEST_F(CloudInitTest, OwnersAreResolvedFromTheTargetRoot) {
  // Names must come from the root's files, not the host's: "etcd" is not a
  // user on the test machine. Only root can give files away, so an
  // unprivileged run maps the names to its own ids.
  const bool privileged = ::geteuid() == 0;
  const uint32_t uid = privileged ? 4321 : ::getuid();
  const uint32_t gid = privileged ? 4322 : ::getgid();
  const uint32_t other_gid = privileged ? 4323 : ::getgid();
  Put("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\n"
                     "etcd:x:" + std::to_string(uid) + ":" + std::to_string(gid) +
                     ":etcd:/var/lib/etcd:/sbin/nologin\n");
  Put("/etc/group", "root:x:0:\netcd:x:" + std::to_string(gid) + ":\nkube:x:" +
                        std::to_string(other_gid) + ":etcd\n");
  auto res = ParseAndApply("write_files:\n"
                           "- {path: /var/lib/etcd/a, owner: 'etcd:etcd', content: a}\n"
                           "- {path: /var/lib/etcd/b, owner: 'etcd:kube', content: b}\n"
                           "- {path: /var/lib/etcd/c, owner: etcd, content: c}\n"
                           "- {path: /var/lib/etcd/d, owner: '" + std::to_string(uid) + ":" +
                           std::to_string(gid) + "', content: d}\n");
  ASSERT_TRUE(res) << res.error().message();
  struct stat st;
  ASSERT_EQ(::stat(R("/var/lib/etcd/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, gid);
  ASSERT_EQ(::stat(R("/var/lib/etcd/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, other_gid);
  ASSERT_EQ(::stat(R("/var/lib/etcd/c").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, ::getegid());  // "user" alone leaves the group, as cloud-init does
  ASSERT_EQ(::stat(R("/var/lib/etcd/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, gid);
}

TEST_F(CloudInitTest, UnknownOwnerFailsBeforeAnythingIsWritten) {
  Put("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  Put("/etc/group", "root:x:0:\n");
  const std::string text = "write_files:\n- {path: /etc/first, content: a}\n"
                           "- {path: /etc/second, owner: 'etcd:root', content: b}\nruncmd: [ls]\n";
  auto res = ParseAndApply(text);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(), "write_files[1].owner: unknown user 'etcd' (not in " + root_ +
                                       "/etc/passwd)");
  EXPECT_FALSE(Exists(R("/etc/first")));
  EXPECT_TRUE(runner_.calls.empty());
  EXPECT_FALSE(Exists(state_ + "/" + kAppliedMarkerName));

  res = ParseAndApply("write_files:\n- {path: /etc/x, owner: 'root:wheel'}\n");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(),
            "write_files[0].owner: unknown group 'wheel' (not in " + root_ + "/etc/group)");

  // A root without /etc/passwd knows no names but root (and numbers).
  sfs::remove(R("/etc/passwd"));
  sfs::remove(R("/etc/group"));
  res = ParseAndApply("write_files:\n- {path: /etc/x, owner: 'daemon'}\n");
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message(), HasSubstr("unknown user 'daemon'"));
  res = ParseAndApply("write_files:\n- {path: /etc/x, owner: 'root:root'}\n"
                      "- {path: /etc/y, owner: '0:0'}\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(Exists(R("/etc/x")));
}

struct BadCase {
  const char* name;
  std::string yaml;
  std::string error;  // the whole message, or a part of it when `partial`
  bool partial = false;
};

TEST_F(CloudInitTest, BadInputsAreClearErrors) {
  const std::vector<BadCase> cases = {
      {"unknown encoding",
       "write_files:\n- {path: /a}\n- {path: /b}\n- {path: /c, encoding: xz, content: x}\n",
       "write_files[2].encoding: unknown encoding 'xz'"},
      {"bad base64", "write_files:\n- {path: /a, encoding: b64, content: 'aGVsbG8*'}\n",
       "write_files[0].content: invalid base64: unexpected character '*' at offset 7"},
      {"truncated base64", "write_files:\n- {path: /a, encoding: base64, content: 'aGVsb'}\n",
       "write_files[0].content: invalid base64: truncated"},
      {"data after padding", "write_files:\n- {path: /a, encoding: base64, content: 'aA==aA=='}\n",
       "write_files[0].content: invalid base64: data after padding"},
      {"gzip that is not gzip", "write_files:\n- {path: /a, encoding: gz+b64, content: aGVsbG8K}\n",
       "write_files[0].content: invalid gzip data", true},
      {"truncated gzip",
       "write_files:\n- {path: /a, encoding: gzip+base64, content: "
       "'H4sIAAAAAAAC/yspKs1LTixJTVFIzs8rSc0rUQ=='}\n",
       "write_files[0].content: invalid gzip data: truncated"},
      {"plain gzip that is text", "write_files:\n- {path: /a, encoding: gzip, content: hello}\n",
       "write_files[0].content: invalid gzip data", true},
      {"permissions not octal", "write_files:\n- {path: /a, permissions: '0999'}\n",
       "write_files[0].permissions: invalid permissions '0999'"},
      {"permissions words", "write_files:\n- {path: /a, permissions: rw-r--r--}\n",
       "write_files[0].permissions: invalid permissions 'rw-r--r--'"},
      {"permissions too big", "write_files:\n- {path: /a, permissions: '17777'}\n",
       "write_files[0].permissions: permissions '17777' out of range (at most 07777)"},
      {"permissions a list", "write_files:\n- {path: /a, permissions: [1]}\n",
       "write_files[0].permissions: expected an octal mode, got a list"},
      {"owner syntax", "write_files:\n- {path: /a, owner: 'a:b:c'}\n",
       "write_files[0].owner: invalid owner 'a:b:c' (expected user, user:group or uid:gid)"},
      {"owner empty group", "write_files:\n- {path: /a, owner: 'root:'}\n",
       "write_files[0].owner: invalid owner 'root:' (expected user, user:group or uid:gid)"},
      {"append not a bool", "write_files:\n- {path: /a, append: maybe}\n",
       "write_files[0].append: expected a boolean, got 'maybe'"},
      {"missing path", "write_files:\n- {content: x}\n", "write_files[0].path: missing"},
      {"relative path", "write_files:\n- {path: etc/x}\n",
       "write_files[0].path: 'etc/x' is not absolute"},
      {"dotdot path", "write_files:\n- {path: /a}\n- {path: /etc/../../tmp/x}\n",
       "write_files[1].path: '/etc/../../tmp/x' escapes the root"},
      {"directory path", "write_files:\n- {path: /etc/}\n",
       "write_files[0].path: '/etc/' names a directory, not a file"},
      {"source url", "write_files:\n- {path: /a, source: {uri: 'http://x'}}\n",
       "write_files[0].source: fetching content from a URL is not supported, give 'content'"},
      {"content a mapping", "write_files:\n- {path: /a, content: {x: 1}}\n",
       "write_files[0].content: expected a string, got a mapping"},
      {"write_files a mapping", "write_files: {path: /a}\n",
       "write_files: expected a list, got a mapping"},
      {"entry a string", "write_files:\n- /etc/x\n",
       "write_files[0]: expected a mapping, got a string"},
      {"runcmd a string", "runcmd: ls\n", "runcmd: expected a list, got a string"},
      {"runcmd item a mapping", "runcmd:\n- ls\n- {cmd: ls}\n",
       "runcmd[1]: expected a string or a list of strings, got a mapping"},
      {"runcmd argv with a list", "runcmd:\n- [echo, [a]]\n",
       "runcmd[0][1]: expected a string, got a list"},
      {"runcmd empty", "runcmd:\n- ''\n", "runcmd[0]: empty command"},
      {"runcmd empty list", "runcmd:\n- []\n", "runcmd[0]: empty command"},
      {"top level a list", "- a\n- b\n",
       "parsing cloud-config: expected a mapping at the top level, got a list"},
      {"yaml syntax", "#cloud-config\nwrite_files:\n  - path: /a\n   content: [\n",
       "parsing cloud-config: line ", true},
  };
  for (const auto& c : cases) {
    auto cfg = Parse(c.yaml);
    ASSERT_FALSE(cfg) << c.name;
    if (c.partial) {
      EXPECT_THAT(cfg.error().message(), HasSubstr(c.error)) << c.name;
    } else {
      EXPECT_EQ(cfg.error().message(), c.error) << c.name;
    }
  }
}

TEST_F(CloudInitTest, DeeplyNestedYamlIsAnErrorNotACrash) {
  auto cfg = Parse("runcmd: " + std::string(20000, '[') + std::string(20000, ']'));
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message(), HasSubstr("parsing cloud-config: line 1"));
}

TEST_F(CloudInitTest, UnknownKeysAreWarningsNotErrors) {
  auto cfg = Parse("#cloud-config\nhostname: h1\nntp: {enabled: true}\n"
                   "write_files:\n- {path: /a, content: x, fancy: 1}\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->warnings,
            (std::vector<std::string>{
                "unsupported key 'hostname' ignored (only write_files and runcmd are applied)",
                "unsupported key 'ntp' ignored (only write_files and runcmd are applied)",
                "write_files[0]: unsupported key 'fancy' ignored"}));
  EXPECT_EQ(cfg->write_files.size(), 1u);
}

TEST_F(CloudInitTest, EmptyDocumentIsAnEmptyConfigAndStillGetsTheSentinel) {
  auto cfg = Parse("#cloud-config\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_TRUE(cfg->write_files.empty());
  EXPECT_TRUE(cfg->runcmd.empty());
  auto res = Apply(*cfg, root_, state_, runner_);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(res->sentinel_added);
  EXPECT_TRUE(Exists(R(kSentinelPath)));
}

TEST_F(CloudInitTest, BinaryTagContentWithGzipEncoding) {
  auto cfg = Parse("write_files:\n- path: /bin.txt\n  encoding: gzip\n  content: !!binary |\n"
                   "    H4sIAAAAAAAC/0vKzEssqlRIr8os4AIAoLBGJwwAAAA=\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->write_files[0].content, "binary gzip\n");
}

TEST_F(CloudInitTest, DotDotEscapeIsRefusedAtApplyToo) {
  // Parse refuses it; a hand-made config must not get through Apply either.
  CloudConfig cfg;
  WriteFile f;
  f.path = "/../../outside/x";
  f.content = "x";
  cfg.write_files.push_back(f);
  cfg.digest = "sha256:test";
  auto res = Apply(cfg, root_, state_, runner_);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(), "write_files[0] '/../../outside/x': path escapes the root");
  EXPECT_TRUE(OutsideIsEmpty());
}

TEST_F(CloudInitTest, RelativeSymlinkOutOfTheRootIsRefused) {
  sfs::create_directories(R("/etc"));
  // root/etc/evil → ../../outside, i.e. the test's "outside" directory.
  sfs::create_directory_symlink("../../outside", R("/etc/evil"));
  auto res = ParseAndApply("write_files:\n- {path: /etc/evil/pwned, content: x}\nruncmd: [ls]\n");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(), "write_files[0] '/etc/evil/pwned': path escapes the root");
  EXPECT_TRUE(OutsideIsEmpty());
  EXPECT_TRUE(runner_.calls.empty());
  EXPECT_FALSE(Exists(state_ + "/" + kAppliedMarkerName));

  // The same as the last component: a link to a file outside.
  sfs::create_symlink("../../outside/file", R("/etc/evil-file"));
  res = ParseAndApply("write_files:\n- {path: /etc/evil-file, content: x}\n");
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message(), HasSubstr("path escapes the root"));
  res = ParseAndApply("write_files:\n- {path: /etc/evil-file, content: x, append: true}\n");
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message(), HasSubstr("path escapes the root"));
  EXPECT_TRUE(OutsideIsEmpty());
}

TEST_F(CloudInitTest, AbsoluteSymlinkIsTakenFromTheRootNotTheHost) {
  // root/etc/link → <absolute path of the outside dir>. For the OS in the
  // root that path is inside it, so the file lands there, never outside.
  sfs::create_directories(R("/etc"));
  sfs::create_directory_symlink(outside_, R("/etc/link"));
  sfs::create_symlink(outside_ + "/target", R("/etc/file-link"));
  auto res = ParseAndApply("write_files:\n- {path: /etc/link/f, content: x}\n"
                           "- {path: /etc/file-link, content: y}\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(OutsideIsEmpty());
  EXPECT_EQ(Slurp(root_ + outside_ + "/f"), "x");
  EXPECT_EQ(Slurp(root_ + outside_ + "/target"), "y");
  EXPECT_TRUE(sfs::is_symlink(R("/etc/file-link")));  // the link itself stays
}

TEST_F(CloudInitTest, SymlinksInsideTheRootAreFollowed) {
  // Usual OS layouts: /var/run → /run (absolute), /lib → usr/lib (relative).
  sfs::create_directories(R("/run"));
  sfs::create_directories(R("/usr/lib"));
  sfs::create_directories(R("/var"));
  sfs::create_directory_symlink("/run", R("/var/run"));
  sfs::create_directory_symlink("usr/lib", R("/lib"));
  auto res = ParseAndApply("write_files:\n- {path: /var/run/x.pid, content: '1'}\n"
                           "- {path: /lib/modules-load.d/k8s.conf, content: br_netfilter}\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(Slurp(R("/run/x.pid")), "1");
  EXPECT_EQ(Slurp(R("/usr/lib/modules-load.d/k8s.conf")), "br_netfilter");
}

TEST_F(CloudInitTest, ADirectoryInTheWayIsAnError) {
  sfs::create_directories(R("/etc/x"));
  auto res = ParseAndApply("write_files:\n- {path: /etc/x, content: a}\n");
  ASSERT_FALSE(res);
  EXPECT_THAT(res.error().message(), HasSubstr("write_files[0] '/etc/x': renaming into place"));
  Put("/etc/file", "f");
  res = ParseAndApply("write_files:\n- {path: /etc/file/below, content: a}\n");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(), "write_files[0] '/etc/file/below': 'file' is not a directory");
}

TEST_F(CloudInitTest, SentinelIsNotAddedWhenTheConfigWritesIt) {
  auto res = ParseAndApply(
      "write_files:\n- {path: '/run/cluster-api//bootstrap-success.complete', content: mine}\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_FALSE(res->sentinel_added);
  EXPECT_EQ(Slurp(R(kSentinelPath)), "mine");
}

TEST_F(CloudInitTest, SentinelIsNotAddedWhenACommandMentionsIt) {
  runner_.effect = [&](const Command&, const std::string&) { Put(kSentinelPath, "by command\n"); };
  auto res = ParseAndApply(
      "runcmd:\n- [touch, /run/cluster-api/bootstrap-success.complete]\n");
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_FALSE(res->sentinel_added);
  EXPECT_EQ(Slurp(R(kSentinelPath)), "by command\n");
}

TEST_F(CloudInitTest, SameConfigIsAppliedOnce) {
  auto first = ParseAndApply(kRke2);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_FALSE(first->already_applied);
  ASSERT_EQ(runner_.calls.size(), 3u);
  // Someone edits a written file; a second apply must not undo it nor rerun.
  Put("/etc/rancher/rke2/config.yaml", "edited\n");
  auto second = ParseAndApply(kRke2);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_TRUE(second->already_applied);
  EXPECT_EQ(second->files_written, 0u);
  EXPECT_EQ(runner_.calls.size(), 3u);
  EXPECT_EQ(Slurp(R("/etc/rancher/rke2/config.yaml")), "edited\n");

  // A different config (one byte) is applied.
  auto third = ParseAndApply(std::string(kRke2) + "\n");
  ASSERT_TRUE(third) << third.error().message();
  EXPECT_FALSE(third->already_applied);
  EXPECT_EQ(runner_.calls.size(), 6u);
}

TEST_F(CloudInitTest, ApplyFileReadsTheStoredConfig) {
  const std::string stored = base_ + "/oem/bootstrap-cloud-config.yaml";
  auto missing = ApplyFile(stored, root_, state_, runner_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ENOENT);
  EXPECT_THAT(missing.error().message(), HasSubstr("applying cloud-config '" + stored + "'"));

  ASSERT_TRUE(fs::WriteFileDurable(stored, kRke2, 0600));
  auto res = ApplyFile(stored, root_, state_, runner_);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(res->commands_run, 3u);
  res = ApplyFile(stored, root_, state_, runner_);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_TRUE(res->already_applied);

  ASSERT_TRUE(fs::WriteFileDurable(stored, "runcmd: ls\n", 0600));
  res = ApplyFile(stored, root_, state_, runner_);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(),
            "applying cloud-config '" + stored + "': runcmd: expected a list, got a string");
}

TEST_F(CloudInitTest, FailedApplyStopsAtTheFailingCommandAndIsNotMarked) {
  runner_.exit_status = {0, 7, 0};
  auto res = ParseAndApply(kRke2);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(),
            "runcmd[1] 'systemctl enable rke2-server.service': exited with status 7");
  EXPECT_EQ(runner_.calls.size(), 2u);
  EXPECT_FALSE(Exists(R(kSentinelPath)));
  EXPECT_FALSE(Exists(state_ + "/" + kAppliedMarkerName));

  // The next boot tries again, from the start.
  runner_.exit_status.clear();
  runner_.calls.clear();
  res = ParseAndApply(kRke2);
  ASSERT_TRUE(res) << res.error().message();
  EXPECT_EQ(runner_.calls.size(), 3u);
  EXPECT_TRUE(Exists(state_ + "/" + kAppliedMarkerName));
}

TEST_F(CloudInitTest, ACommandThatCannotStartIsAnError) {
  runner_.start_errors = {"starting '/bin/sh': No such file or directory"};
  auto res = ParseAndApply("runcmd:\n- echo hi\n");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(),
            "runcmd[0] 'echo hi': starting '/bin/sh': No such file or directory");
  EXPECT_FALSE(Exists(state_ + "/" + kAppliedMarkerName));
}

TEST_F(CloudInitTest, TokensAreScrubbedFromCommandsInErrors) {
  runner_.exit_status = {1};
  auto res = ParseAndApply(
      "runcmd:\n- kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef "
      "--discovery-token-ca-cert-hash sha256:1234\n");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(),
            "runcmd[0] 'kubeadm join 10.0.0.1:6443 --token [REDACTED] "
            "--discovery-token-ca-cert-hash sha256:1234': exited with status 1");
}

TEST(CloudInitScrub, BootstrapTokens) {
  EXPECT_EQ(ScrubBootstrapTokens("token abcdef.0123456789abcdef here"), "token [REDACTED] here");
  EXPECT_EQ(ScrubBootstrapTokens("--certificate-key=00ff00ff rest"),
            "--certificate-key=[REDACTED] rest");
  EXPECT_EQ(ScrubBootstrapTokens("--token  xyz"), "--token  [REDACTED]");
  EXPECT_EQ(ScrubBootstrapTokens("nothing.to see"), "nothing.to see");
  // Longer words that merely contain the shape are left alone.
  EXPECT_EQ(ScrubBootstrapTokens("xabcdef.0123456789abcdef"), "xabcdef.0123456789abcdef");
}

TEST(CloudInitFormat, IgnitionIsRejected) {
  Status st = CheckFormat("ignition");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "using bootstrapping format 'ignition': ignition is not supported by the elemental "
            "plugin, only cloud-config");
  auto cfg = ParseBootstrap("ignition", R"({"ignition":{"version":"3.3.0"}})");
  ASSERT_FALSE(cfg);
  EXPECT_THAT(cfg.error().message(), HasSubstr("ignition is not supported"));
  st = CheckFormat("cloud-init");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "using bootstrapping format 'cloud-init': unsupported bootstrap format");
  EXPECT_TRUE(CheckFormat("cloud-config"));
  auto ok = ParseBootstrap("cloud-config", "runcmd: [ls]\n");
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->runcmd.size(), 1u);
  auto bad = ParseBootstrap("cloud-config", "runcmd: ls\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(),
            "parsing cloud-config bootstrap: runcmd: expected a list, got a string");
}

TEST(CloudInitCodec, Base64) {
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_EQ(*Base64Decode("aGVsbG8"), "hello");  // padding optional
  EXPECT_EQ(*Base64Decode(" aGVs\nbG8=\n"), "hello");
  EXPECT_EQ(*Base64Decode(""), "");
  EXPECT_FALSE(Base64Decode("aGVsbG8==="));
  EXPECT_FALSE(Base64Decode("a"));
  EXPECT_FALSE(Base64Decode("aGVs-G8="));  // base64url is not cloud-init's
}

TEST(CloudInitCodec, Gunzip) {
  auto two = Base64Decode("H4sIAAAAAAAC/8vPS+UCAJ+oF/gEAAAAH4sIAAAAAAAC/yspz+cCAHQIF5YEAAAA");
  ASSERT_TRUE(two);
  auto out = Gunzip(*two);
  ASSERT_TRUE(out) << out.error().message();
  EXPECT_EQ(*out, "one\ntwo\n");  // concatenated members, as gzip -d reads them
  auto limited = Gunzip(*two, 4);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().message(), "gzip data expands beyond 4 bytes");
  EXPECT_FALSE(Gunzip(""));
  EXPECT_FALSE(Gunzip(*two + "garbage"));
}

// The real runner on "/" (no chroot), only touching a temp dir.
class ExecRunnerTest : public CloudInitTest {};

TEST_F(ExecRunnerTest, RunsShellAndArgvCommandsAndCapturesOutput) {
  ExecProcessRunner runner;
  Command sh;
  sh.shell = true;
  sh.argv = {"/bin/sh", "-c", "echo out; echo err >&2; echo written > '" + outside_ + "/f'"};
  auto r = runner.Run(sh, "/");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_status, 0);
  EXPECT_EQ(r->output, "out\nerr\n");
  EXPECT_EQ(Slurp(outside_ + "/f"), "written\n");

  Command argv;
  argv.argv = {"sh", "-c", "exit 3"};  // found through PATH
  r = runner.Run(argv, "");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_status, 3);

  Command killed;
  killed.argv = {"/bin/sh", "-c", "kill -TERM $$"};
  r = runner.Run(killed, "/");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_status, 128 + SIGTERM);

  Command missing;
  missing.argv = {"/nonexistent/program"};
  r = runner.Run(missing, "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "starting '/nonexistent/program': No such file or directory");
}

TEST_F(ExecRunnerTest, CommandsGetDefaultSignalHandling) {
  // A shell cannot undo a SIGPIPE ignored at its start; the runner must not
  // pass the agent's dispositions on.
  struct sigaction ign = {}, old = {};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old), 0);
  ExecProcessRunner runner;
  Command c;
  c.argv = {"/bin/sh", "-c", "kill -PIPE $$; echo survived"};
  auto r = runner.Run(c, "/");
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_status, 128 + SIGPIPE);
  EXPECT_EQ(r->output, "");
}

TEST_F(ExecRunnerTest, ABackgroundDaemonDoesNotHoldTheApply) {
  // The daemon keeps stdout open; the runner must return when the command
  // itself exits, not when the pipe closes.
  ExecProcessRunner runner;
  Command c;
  c.argv = {"/bin/sh", "-c", "sleep 1000 & echo $! > '" + outside_ + "/pid'; echo started"};
  auto r = runner.Run(c, "/");
  auto pid = fs::ReadFile(outside_ + "/pid");
  if (pid) ::kill(std::atoi(pid->c_str()), SIGKILL);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_status, 0);
  EXPECT_EQ(r->output, "started\n");
}

TEST_F(ExecRunnerTest, ApplyWithTheRealRunner) {
  // Root "/" as in production, but the config only writes below the temp dir.
  ExecProcessRunner runner;
  const std::string text = "runcmd:\n- echo one >> '" + outside_ + "/log'\n- [/bin/sh, -c, 'echo two >> " +
                           outside_ + "/log']\n- [/bin/sh, -c, 'exit 4']\n- echo never >> '" +
                           outside_ + "/log'\n";
  auto cfg = Parse(text);
  ASSERT_TRUE(cfg) << cfg.error().message();
  cfg->creates_sentinel = true;  // never write /run/cluster-api on the test machine
  auto res = Apply(*cfg, "/", state_, runner);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message(), "runcmd[2] '/bin/sh -c exit 4': exited with status 4");
  EXPECT_EQ(Slurp(outside_ + "/log"), "one\ntwo\n");
  EXPECT_FALSE(Exists(state_ + "/" + kAppliedMarkerName));
}

TEST_F(ExecRunnerTest, ChrootsIntoANonSlashRoot) {
  // The temp root has no /bin/sh while the host has: starting it fails only
  // if the runner really changed root (needs CAP_SYS_CHROOT).
  ExecProcessRunner runner;
  Command c;
  c.shell = true;
  c.argv = {"/bin/sh", "-c", "true"};
  auto r = runner.Run(c, root_);
  ASSERT_FALSE(r);
  if (::geteuid() == 0) {
    EXPECT_EQ(r.error().message(), "starting '/bin/sh': No such file or directory");
  } else {
    EXPECT_EQ(r.error().message(), "chroot into '" + root_ + "': Operation not permitted");
  }
}

}  // namespace
}  // namespace elemental::cloudinit
