// Command line: argument parsing, the checks InitAgent makes before talking
// to anyone (registration URI scheme, CA cert), and Main's exit codes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/cli.hpp"
#include "cli/init.hpp"
#include "common/log.hpp"

namespace elemental::cli {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------- ParseArgs

struct ParseCase {
  const char* name;
  friend void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }
  std::vector<std::string> args;
  Command command;
  std::string config_path;
  bool debug;
  bool install;
  bool help;
  Command help_topic;
};

class ParseArgsTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseArgsTest, Parses) {
  const auto& tc = GetParam();
  auto args = ParseArgs(tc.args);
  ASSERT_TRUE(args) << args.error().message();
  EXPECT_EQ(args->command, tc.command);
  EXPECT_EQ(args->config_path, tc.config_path);
  EXPECT_EQ(args->debug, tc.debug);
  EXPECT_EQ(args->install, tc.install);
  EXPECT_EQ(args->help, tc.help);
  EXPECT_EQ(args->help_topic, tc.help_topic);
}

const std::string kDefault = "/etc/elemental/agent/config.yaml";

INSTANTIATE_TEST_SUITE_P(
    Valid, ParseArgsTest,
    ::testing::Values(
        ParseCase{"Nothing", {}, Command::kNone, kDefault, false, false, false, Command::kNone},
        ParseCase{"Run", {"run"}, Command::kRun, kDefault, false, false, false, Command::kNone},
        ParseCase{"Register", {"register"}, Command::kRegister, kDefault, false, false, false,
                  Command::kNone},
        ParseCase{"RegisterInstall", {"register", "--install"}, Command::kRegister, kDefault,
                  false, true, false, Command::kNone},
        ParseCase{"InstallFlagFirst", {"--install", "register"}, Command::kRegister, kDefault,
                  false, true, false, Command::kNone},
        ParseCase{"InstallFalse", {"register", "--install=false"}, Command::kRegister, kDefault,
                  false, false, false, Command::kNone},
        ParseCase{"Install", {"install"}, Command::kInstall, kDefault, false, false, false,
                  Command::kNone},
        ParseCase{"Reset", {"reset"}, Command::kReset, kDefault, false, false, false,
                  Command::kNone},
        ParseCase{"Version", {"version"}, Command::kVersion, kDefault, false, false, false,
                  Command::kNone},
        ParseCase{"GlobalsBefore", {"--config", "/my/config.yaml", "--debug", "run"},
                  Command::kRun, "/my/config.yaml", true, false, false, Command::kNone},
        ParseCase{"GlobalsAfter", {"run", "--debug", "--config", "/my/config.yaml"},
                  Command::kRun, "/my/config.yaml", true, false, false, Command::kNone},
        ParseCase{"ConfigEquals", {"--config=/my/c.yaml", "reset"}, Command::kReset,
                  "/my/c.yaml", false, false, false, Command::kNone},
        ParseCase{"DebugEqualsFalse", {"--debug=false", "run"}, Command::kRun, kDefault, false,
                  false, false, Command::kNone},
        ParseCase{"HelpFlag", {"--help"}, Command::kNone, kDefault, false, false, true,
                  Command::kNone},
        ParseCase{"ShortHelp", {"-h"}, Command::kNone, kDefault, false, false, true,
                  Command::kNone},
        ParseCase{"CommandHelp", {"register", "--help"}, Command::kRegister, kDefault, false,
                  false, true, Command::kRegister},
        ParseCase{"HelpCommand", {"help"}, Command::kHelp, kDefault, false, false, true,
                  Command::kNone},
        ParseCase{"HelpTopic", {"help", "reset"}, Command::kHelp, kDefault, false, false, true,
                  Command::kReset}),
    [](const auto& info) { return info.param.name; });

struct BadCase {
  const char* name;
  friend void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }
  std::vector<std::string> args;
  const char* error;
};

class ParseArgsErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseArgsErrorTest, Fails) {
  const auto& tc = GetParam();
  auto args = ParseArgs(tc.args);
  ASSERT_FALSE(args);
  EXPECT_EQ(args.error().message(), tc.error);
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, ParseArgsErrorTest,
    ::testing::Values(
        BadCase{"UnknownCommand", {"upgrade"}, "unknown command \"upgrade\" for \"elemental-agent\""},
        BadCase{"UnknownFlag", {"run", "--verbose"}, "unknown flag: --verbose"},
        BadCase{"UnknownFlagWithValue", {"--foo=bar", "run"}, "unknown flag: --foo"},
        BadCase{"UnknownShorthand", {"-x", "run"}, "unknown shorthand flag: 'x' in -x"},
        BadCase{"ConfigWithoutValue", {"run", "--config"}, "flag needs an argument: --config"},
        BadCase{"ConfigEmpty", {"--config=", "run"}, "flag needs an argument: --config"},
        BadCase{"InstallOnRun", {"run", "--install"}, "unknown flag: --install"},
        BadCase{"InstallWithoutCommand", {"--install"}, "unknown flag: --install"},
        BadCase{"BadBool", {"--debug=maybe", "run"},
                "invalid argument \"maybe\" for \"debug\" flag: expected a boolean"},
        BadCase{"ExtraArgument", {"run", "now"},
                "unexpected argument \"now\" for \"elemental-agent run\""},
        BadCase{"TwoCommands", {"register", "install"},
                "unexpected argument \"install\" for \"elemental-agent register\""},
        BadCase{"UnknownHelpTopic", {"help", "upgrade"}, "unknown help topic \"upgrade\""}),
    [](const auto& info) { return info.param.name; });

TEST(UsageTest, ListsCommandsAndFlags) {
  const std::string u = Usage(Command::kNone);
  for (const char* s : {"register", "install", "run", "reset", "version", "--config", "--debug",
                        "/etc/elemental/agent/config.yaml"}) {
    EXPECT_THAT(u, HasSubstr(s));
  }
  EXPECT_THAT(Usage(Command::kRegister), HasSubstr("--install"));
  EXPECT_THAT(Usage(Command::kRun), ::testing::Not(HasSubstr("--install")));
}

// ---------------------------------------------------------------- URI and TLS

struct UriCase {
  const char* name;
  friend void PrintTo(const UriCase& c, std::ostream* os) { *os << c.name; }
  std::string uri;
  bool allow_http;
  std::string error;  // empty: accepted
};

class UriTest : public ::testing::TestWithParam<UriCase> {};

TEST_P(UriTest, Check) {
  const auto& tc = GetParam();
  auto st = CheckRegistrationUri(tc.uri, tc.allow_http);
  if (tc.error.empty()) {
    EXPECT_TRUE(st) << st.error().message();
  } else {
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message(), tc.error);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, UriTest,
    ::testing::Values(
        UriCase{"Https", "https://h/elemental/v1/namespaces/d/registrations/r", false, ""},
        UriCase{"HttpsUpperCase", "HTTPS://h/elemental", false, ""},
        UriCase{"HttpAllowed", "http://h/elemental", true, ""},
        UriCase{"HttpRefused", "http://h:8080/elemental", false,
                "using 'http' scheme in registration URI 'http://h:8080/elemental': invalid "
                "scheme, use 'https' instead (or set agent.insecureAllowHttp: true)"},
        UriCase{"FtpRefused", "ftp://h/elemental", true,
                "unknown scheme 'ftp' in registration URI 'ftp://h/elemental': invalid scheme, "
                "use 'https' instead"},
        UriCase{"NoScheme", "h/elemental", true,
                "parsing registration URI 'h/elemental': missing scheme"},
        UriCase{"Empty", "", true, "registration URI is not set (registration.uri)"}),
    [](const auto& info) { return info.param.name; });

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cli_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

constexpr const char* kPem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

TEST_F(TempDirTest, CaCertAsPemText) {
  EXPECT_EQ(LoadCaCert(kPem).value(), kPem);
  EXPECT_EQ(LoadCaCert(std::string("\n  ") + kPem).value(), std::string("\n  ") + kPem);
  EXPECT_EQ(LoadCaCert("").value(), "");
}

TEST_F(TempDirTest, CaCertAsPath) {
  const std::string path = dir_ + "/ca.pem";
  std::ofstream(path) << kPem;
  EXPECT_EQ(LoadCaCert(path).value(), kPem);
}

TEST_F(TempDirTest, CaCertMissingFile) {
  const std::string path = dir_ + "/missing.pem";
  auto ca = LoadCaCert(path);
  ASSERT_FALSE(ca);
  EXPECT_THAT(ca.error().message(), HasSubstr("reading CACert file '" + path + "'"));
  EXPECT_THAT(ca.error().message(), HasSubstr("No such file or directory"));
}

TEST_F(TempDirTest, TransportOptionsFromConfig) {
  config::Config cfg;
  cfg.registration.uri = "https://h/elemental";
  cfg.registration.ca_cert = kPem;
  cfg.agent.use_system_cert_pool = true;
  cfg.agent.insecure_skip_tls_verify = true;
  auto opts = TransportOptionsFromConfig(cfg);
  ASSERT_TRUE(opts) << opts.error().message();
  EXPECT_EQ(opts->tls.ca_pem, kPem);
  EXPECT_TRUE(opts->tls.use_system_cert_pool);
  EXPECT_TRUE(opts->tls.insecure_skip_verify);

  cfg.registration.uri = "http://h/elemental";
  auto refused = TransportOptionsFromConfig(cfg);
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(),
              ::testing::StartsWith("initializing Elemental API client: using 'http' scheme"));

  cfg.agent.insecure_allow_http = true;
  cfg.registration.ca_cert = dir_ + "/missing.pem";
  auto no_ca = TransportOptionsFromConfig(cfg);
  ASSERT_FALSE(no_ca);
  EXPECT_THAT(no_ca.error().message(),
              ::testing::StartsWith("initializing Elemental API client: reading CA Cert from "
                                    "configuration: reading CACert file"));
}

TEST_F(TempDirTest, CreateDirectoryMakesParentsWith0700) {
  const std::string path = dir_ + "/a/b/c";
  ASSERT_TRUE(CreateDirectory(path));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(CreateDirectory(path));  // exists: fine
}

TEST_F(TempDirTest, CreateDirectoryRefusesAFile) {
  const std::string path = dir_ + "/file";
  std::ofstream(path) << "x";
  auto st = CreateDirectory(path);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "path exists but it's not a directory");
}

// ---------------------------------------------------------------- Main

int RunMain(std::vector<std::string> args) {
  std::vector<char*> argv;
  static char prog[] = "elemental-agent";
  argv.push_back(prog);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return Main(static_cast<int>(args.size() + 1), argv.data());
}

class MainTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    log::SetSink([this](log::Level, const std::string& line) { lines_.push_back(line); });
  }
  void TearDown() override {
    log::ResetSink();
    log::EnableDebug(false);
    TempDirTest::TearDown();
  }
  std::vector<std::string> lines_;
};

TEST_F(MainTest, UsageErrorsExit2) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(RunMain({"upgrade"}), 2);
  EXPECT_EQ(RunMain({"run", "--bogus"}), 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, HasSubstr("unknown command \"upgrade\" for \"elemental-agent\""));
  EXPECT_THAT(err, HasSubstr("unknown flag: --bogus"));
}

TEST_F(MainTest, HelpExits0) {
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(RunMain({"--help"}), 0);
  EXPECT_EQ(RunMain({"help", "register"}), 0);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(out, HasSubstr("Usage:"));
  EXPECT_THAT(out, HasSubstr("--install"));
}

TEST_F(MainTest, VersionPrintsUpstreamLine) {
  EXPECT_EQ(RunMain({"version"}), 0);
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], ::testing::StartsWith(std::string("Agent version ") + ELEMENTAL_VERSION +
                                               ", commit "));
  EXPECT_THAT(lines_[0], HasSubstr(", commit date "));
}

TEST_F(MainTest, MissingConfigExits1) {
  const std::string path = dir_ + "/none.yaml";
  EXPECT_EQ(RunMain({"--config", path, "run"}), 1);
  ASSERT_FALSE(lines_.empty());
  EXPECT_THAT(lines_.back(), ::testing::StartsWith("Could not initialize agent: reading config: "));
  EXPECT_THAT(lines_.back(), HasSubstr(path));
}

TEST_F(MainTest, HttpRegistrationUriIsRefusedBeforeTouchingDisk) {
  const std::string path = dir_ + "/config.yaml";
  const std::string work = dir_ + "/work";
  std::ofstream(path) << "registration:\n"
                         "  uri: http://mgmt.example:9090/elemental/v1/namespaces/default/registrations/r\n"
                         "  token: secret-registration-token\n"
                         "agent:\n"
                         "  workDir: " << work << "\n"
                         "  osPlugin: /usr/lib/elemental/plugins/dummy.so\n";
  EXPECT_EQ(RunMain({"register", "--config", path}), 1);
  ASSERT_FALSE(lines_.empty());
  EXPECT_EQ(lines_.back(),
            "Could not initialize agent: initializing Elemental API client: using 'http' scheme "
            "in registration URI "
            "'http://mgmt.example:9090/elemental/v1/namespaces/default/registrations/r': invalid "
            "scheme, use 'https' instead (or set agent.insecureAllowHttp: true)");
  EXPECT_FALSE(std::filesystem::exists(work));
  for (const auto& l : lines_) EXPECT_THAT(l, ::testing::Not(HasSubstr("secret-registration-token")));
}

}  // namespace
}  // namespace elemental::cli
