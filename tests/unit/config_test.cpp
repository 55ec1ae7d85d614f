// Tests for the agent config: parsing over defaults, errors that point at the
// file and line, writing and reading back, and Go duration syntax.
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace elemental::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

const std::string kExample = std::string(ELEMENTAL_TEST_DATA_DIR) + "/config/upstream-example.yaml";

Config MustParse(const std::string& text) {
  auto c = Parse(text, "config.yaml");
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : Config{};
}

std::string ParseError(const std::string& text, const std::string& source = "config.yaml") {
  auto c = Parse(text, source);
  EXPECT_FALSE(c) << "parsed without error:\n" << text;
  return c ? "" : c.error().message();
}

void ExpectSameConfig(const Config& a, const Config& b) {
  EXPECT_EQ(a.registration.uri, b.registration.uri);
  EXPECT_EQ(a.registration.ca_cert, b.registration.ca_cert);
  EXPECT_EQ(a.registration.token, b.registration.token);
  EXPECT_EQ(a.registration.token_duration, b.registration.token_duration);
  EXPECT_EQ(a.agent.work_dir, b.agent.work_dir);
  EXPECT_EQ(a.agent.hostname.use_existing, b.agent.hostname.use_existing);
  EXPECT_EQ(a.agent.hostname.prefix, b.agent.hostname.prefix);
  EXPECT_EQ(a.agent.no_smbios, b.agent.no_smbios);
  EXPECT_EQ(a.agent.debug, b.agent.debug);
  EXPECT_EQ(a.agent.os_plugin, b.agent.os_plugin);
  EXPECT_EQ(a.agent.reconciliation, b.agent.reconciliation);
  EXPECT_EQ(a.agent.insecure_allow_http, b.agent.insecure_allow_http);
  EXPECT_EQ(a.agent.insecure_skip_tls_verify, b.agent.insecure_skip_tls_verify);
  EXPECT_EQ(a.agent.use_system_cert_pool, b.agent.use_system_cert_pool);
  EXPECT_EQ(a.agent.post_install.power_off, b.agent.post_install.power_off);
  EXPECT_EQ(a.agent.post_install.reboot, b.agent.post_install.reboot);
  EXPECT_EQ(a.agent.post_reset.power_off, b.agent.post_reset.power_off);
  EXPECT_EQ(a.agent.post_reset.reboot, b.agent.post_reset.reboot);
}

Config FullConfig() {
  Config c;
  c.registration.uri = "https://elemental.example/elemental/v1/namespaces/default/registrations/r1";
  c.registration.ca_cert = "-----BEGIN CERTIFICATE-----\nMIIBvjCCAWOgAwIBAgIBADAK\n-----END CERTIFICATE-----\n";
  c.registration.token = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln";
  c.registration.token_duration = hours(1);
  c.agent.work_dir = "/var/lib/elemental/agent";
  c.agent.hostname.use_existing = true;
  c.agent.hostname.prefix = "m-";
  c.agent.no_smbios = true;
  c.agent.debug = true;
  c.agent.os_plugin = "/usr/lib/elemental/plugins/dummy.so";
  c.agent.reconciliation = minutes(1) + milliseconds(500);
  c.agent.insecure_allow_http = true;
  c.agent.insecure_skip_tls_verify = true;
  c.agent.use_system_cert_pool = true;
  c.agent.post_install.power_off = true;
  c.agent.post_install.reboot = false;
  c.agent.post_reset.power_off = false;
  c.agent.post_reset.reboot = true;
  return c;
}

TEST(ConfigTest, DefaultsAreUpstreams) {
  const Config c = DefaultConfig();
  EXPECT_EQ(c.agent.work_dir, "/var/lib/elemental/agent");
  EXPECT_EQ(c.agent.reconciliation, seconds(10));
  EXPECT_EQ(c.agent.os_plugin, "/usr/lib/elemental/plugins/elemental.so");
  EXPECT_EQ(c.registration.uri, "");
  EXPECT_EQ(c.registration.token_duration, nanoseconds(0));
  EXPECT_FALSE(c.agent.debug);
}

TEST(ConfigTest, LoadsUpstreamsDocumentedExample) {
  auto c = Load(kExample);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->registration.uri,
            "https://my.elemental.api.endpoint/elemental/v1/namespaces/default/registrations/"
            "my-registration");
  // The block scalar keeps its newlines, and exactly one at the end.
  const std::string& ca = c->registration.ca_cert;
  EXPECT_EQ(ca.rfind("-----BEGIN CERTIFICATE-----\nMIIBvjCCAWOgAwIBAgIBADAKBggqhkjOPQQDAjBGMRwwGgYDVQQKExNkeW5hbWlj\n", 0), 0u)
      << ca;
  EXPECT_EQ(ca.substr(ca.size() - 51), "JZPkAoVeIOoFDgXvl9MkHBuk\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(std::count(ca.begin(), ca.end(), '\n'), 12);  // BEGIN, 10 base64 lines, END
  EXPECT_EQ(ca.find("\n "), std::string::npos);           // the indentation is gone
  EXPECT_EQ(c->registration.token.rfind("eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.", 0), 0u);
  EXPECT_EQ(c->registration.token.substr(c->registration.token.size() - 10), "ANEBcAljBQ");
  EXPECT_EQ(c->registration.token_duration, hours(1));  // integer nanoseconds
  EXPECT_EQ(c->agent.work_dir, "/var/lib/elemental/agent");
  EXPECT_FALSE(c->agent.hostname.use_existing);
  EXPECT_EQ(c->agent.hostname.prefix, "");
  EXPECT_EQ(c->agent.os_plugin, "/usr/lib/elemental/plugins/elemental.so");
  EXPECT_EQ(c->agent.reconciliation, minutes(1));
  EXPECT_FALSE(c->agent.debug);
  EXPECT_FALSE(c->agent.no_smbios);
  EXPECT_FALSE(c->agent.insecure_allow_http);
  EXPECT_FALSE(c->agent.insecure_skip_tls_verify);
  EXPECT_FALSE(c->agent.use_system_cert_pool);
  EXPECT_FALSE(c->agent.post_install.power_off);
  EXPECT_FALSE(c->agent.post_install.reboot);
  EXPECT_FALSE(c->agent.post_reset.power_off);
  EXPECT_FALSE(c->agent.post_reset.reboot);
}

TEST(ConfigTest, MissingKeysKeepTheDefaults) {
  ExpectSameConfig(MustParse(""), DefaultConfig());
  ExpectSameConfig(MustParse("# only a comment\n"), DefaultConfig());
  ExpectSameConfig(MustParse("registration:\nagent: ~\n"), DefaultConfig());

  const Config c = MustParse("registration:\n  uri: https://h/x\nagent:\n  debug: true\n");
  EXPECT_EQ(c.registration.uri, "https://h/x");
  EXPECT_TRUE(c.agent.debug);
  EXPECT_EQ(c.agent.work_dir, kDefaultWorkDir);
  EXPECT_EQ(c.agent.os_plugin, kDefaultOsPlugin);
  EXPECT_EQ(c.agent.reconciliation, seconds(10));
}

TEST(ConfigTest, NullValuesKeepTheDefaults) {
  const Config c = MustParse("agent:\n  workDir:\n  reconciliation: ~\n  osPlugin: null\n");
  EXPECT_EQ(c.agent.work_dir, kDefaultWorkDir);
  EXPECT_EQ(c.agent.reconciliation, seconds(10));
  EXPECT_EQ(c.agent.os_plugin, kDefaultOsPlugin);
  // An explicit empty string is a value, not a missing key.
  EXPECT_EQ(MustParse("agent:\n  workDir: \"\"\n").agent.work_dir, "");
}

TEST(ConfigTest, UnknownKeysAreIgnored) {
  const Config c = MustParse(
      "extra: [1, {a: b}]\n"
      "registration:\n  uri: https://h\n  someday: maybe\n"
      "agent:\n  debug: true\n  hostname:\n    prefix: p-\n    style: fancy\n  future:\n    x: 1\n");
  EXPECT_EQ(c.registration.uri, "https://h");
  EXPECT_TRUE(c.agent.debug);
  EXPECT_EQ(c.agent.hostname.prefix, "p-");
}

TEST(ConfigTest, KeysMatchCaseInsensitivelyLikeViper) {
  const Config c = MustParse(
      "agent:\n  insecureSkipTLSVerify: true\n  WORKDIR: /w\n  Hostname:\n    UseExisting: true\n"
      "  postinstall:\n    poweroff: true\nREGISTRATION:\n  URI: https://h\n  cacert: x\n");
  EXPECT_TRUE(c.agent.insecure_skip_tls_verify);
  EXPECT_EQ(c.agent.work_dir, "/w");
  EXPECT_TRUE(c.agent.hostname.use_existing);
  EXPECT_TRUE(c.agent.post_install.power_off);
  EXPECT_EQ(c.registration.uri, "https://h");
  EXPECT_EQ(c.registration.ca_cert, "x");
}

TEST(ConfigTest, AllAgentFieldsAreRead) {
  const Config c = MustParse(R"(registration:
  uri: https://h/r
  caCert: /etc/ssl/ca.pem
  token: abc.def.ghi
  tokenDuration: 2h
agent:
  workDir: /tmp/w
  hostname:
    useExisting: true
    prefix: node-
  noSmbios: true
  debug: true
  osPlugin: /usr/lib/elemental/plugins/dummy.so
  reconciliation: 1h30m
  insecureAllowHttp: true
  insecureSkipTlsVerify: true
  useSystemCertPool: true
  postInstall:
    powerOff: true
    reboot: true
  postReset:
    powerOff: true
    reboot: true
)");
  EXPECT_EQ(c.registration.ca_cert, "/etc/ssl/ca.pem");
  EXPECT_EQ(c.registration.token, "abc.def.ghi");
  EXPECT_EQ(c.registration.token_duration, hours(2));
  EXPECT_EQ(c.agent.work_dir, "/tmp/w");
  EXPECT_TRUE(c.agent.hostname.use_existing);
  EXPECT_EQ(c.agent.hostname.prefix, "node-");
  EXPECT_TRUE(c.agent.no_smbios);
  EXPECT_TRUE(c.agent.debug);
  EXPECT_EQ(c.agent.os_plugin, "/usr/lib/elemental/plugins/dummy.so");
  EXPECT_EQ(c.agent.reconciliation, hours(1) + minutes(30));
  EXPECT_TRUE(c.agent.insecure_allow_http);
  EXPECT_TRUE(c.agent.insecure_skip_tls_verify);
  EXPECT_TRUE(c.agent.use_system_cert_pool);
  EXPECT_TRUE(c.agent.post_install.power_off);
  EXPECT_TRUE(c.agent.post_install.reboot);
  EXPECT_TRUE(c.agent.post_reset.power_off);
  EXPECT_TRUE(c.agent.post_reset.reboot);
}

TEST(ConfigTest, DurationForms) {
  struct Case {
    std::string yaml;
    nanoseconds want;
  };
  const std::vector<Case> cases = {
      {"1m", minutes(1)},
      {"1h30m", hours(1) + minutes(30)},
      {"300ms", milliseconds(300)},
      {"10s", seconds(10)},
      {"\"1m\"", minutes(1)},
      {"'2s'", seconds(2)},
      {"60000000000", seconds(60)},  // integer nanoseconds, as viper passes YAML ints
      {"0", nanoseconds(0)},
      {"-5s", seconds(-5)},
      {"1.5e10", seconds(15)},  // a YAML float is truncated to nanoseconds
      {"1.5", nanoseconds(1)},
  };
  for (const auto& tc : cases) {
    const Config c = MustParse("agent:\n  reconciliation: " + tc.yaml + "\n");
    EXPECT_EQ(c.agent.reconciliation, tc.want) << tc.yaml;
  }
}

TEST(ConfigTest, BooleanForms) {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"true", true},   {"false", false}, {"True", true}, {"FALSE", false}, {"\"true\"", true},
      {"'f'", false},   {"1", true},      {"0", false},   {"2", true},      {"yes", true},
      {"off", false},   {"On", true},     {"\"\"", false}, {"t", true},
  };
  for (const auto& [yaml, want] : cases) {
    const std::string text = "agent:\n  debug: " + yaml + "\n";
    const Config c = MustParse(text);
    EXPECT_EQ(c.agent.debug, want) << yaml;
  }
  EXPECT_TRUE(MustParse("agent:\n  debug: 1\n  noSmbios: true\n").agent.no_smbios);
}

TEST(ConfigTest, BrokenYamlNamesFileAndLine) {
  EXPECT_EQ(ParseError("agent:\n  debug: true\n workDir: /x\n", "/etc/x/config.yaml"),
            "/etc/x/config.yaml:3:2: end of map not found");
  EXPECT_EQ(ParseError("registration:\n  uri: [a, b\nagent:\n  debug: true\n", "/etc/x/config.yaml"),
            "/etc/x/config.yaml:3:6: end of sequence flow not found");
  EXPECT_EQ(ParseError("agent:\n  workDir: \"\\q\"\n", "c.yaml"), "c.yaml:2:15: unknown escape character: q");
  EXPECT_EQ(ParseError("\t- a\n", "c.yaml"), "c.yaml:1:2: illegal block entry");
}

TEST(ConfigTest, WrongTypesNameFileLineAndKey) {
  EXPECT_EQ(ParseError("agent:\n  reconciliation: [1]\n", "/etc/x/config.yaml"),
            "/etc/x/config.yaml:2:19: agent.reconciliation: expected a duration (\"10s\", \"1m\" or "
            "nanoseconds), got a sequence");
  EXPECT_EQ(ParseError("agent:\n  reconciliation: 10s\n  debug: maybe\n"),
            "config.yaml:3:10: agent.debug: expected a boolean, got \"maybe\"");
  EXPECT_EQ(ParseError("agent:\n  reconciliation: 1d\n"),
            "config.yaml:2:19: agent.reconciliation: time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(ParseError("agent:\n  hostname:\n    prefix: [x]\n"),
            "config.yaml:3:13: agent.hostname.prefix: expected a string, got a sequence");
  EXPECT_EQ(ParseError("registration:\n  tokenDuration: {a: 1}\n"),
            "config.yaml:2:18: registration.tokenDuration: expected a duration (\"10s\", \"1m\" or "
            "nanoseconds), got a mapping");
  EXPECT_EQ(ParseError("agent: 5\n"), "config.yaml:1:8: agent: expected a mapping, got a scalar");
  EXPECT_EQ(ParseError("agent:\n  postReset: [true]\n"),
            "config.yaml:2:14: agent.postReset: expected a mapping, got a sequence");
  EXPECT_EQ(ParseError("- a\n- b\n"), "config.yaml:1:1: expected a mapping at the top level, got a sequence");
  EXPECT_EQ(ParseError("just text\n"), "config.yaml:1:1: expected a mapping at the top level, got a scalar");
  EXPECT_EQ(ParseError("agent:\n  reconciliation: 9223372036854775808\n"),
            "config.yaml:2:19: agent.reconciliation: duration 9223372036854775808ns is out of range");
  EXPECT_EQ(ParseError("agent:\n  debug: true\n  debug: false\n"),
            "config.yaml:3:3: agent: key 'debug' is given more than once");
}

TEST(ConfigTest, NoExceptionEscapes) {
  const std::vector<std::string> inputs = {
      "{", "[", "]", "}", "&a [*a]", "*unknown", "? [a]\n: b\n", "agent: !!map {}\n", "%YAML 9.9\n---\na: 1\n",
      "agent: &x\n  debug: *x\n", "!!binary notbase64", "---\n...\n---\n", std::string("\0\x01\xff", 3),
      std::string(100000, '['), std::string(100000, '{'), "a:\n" + std::string(3000, ' ') + "b: c\n",
  };
  for (const auto& in : inputs) {
    auto c = Parse(in, "f.yaml");  // must return, either way
    if (!c) EXPECT_EQ(c.error().message().rfind("f.yaml", 0), 0u) << c.error().message();
  }
}

TEST(ConfigTest, LoadMissingFileNamesThePath) {
  auto c = Load("/nonexistent/elemental/config.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(),
            "reading config file '/nonexistent/elemental/config.yaml': No such file or directory");
}

TEST(ConfigTest, ToYamlOfDefaults) {
  EXPECT_EQ(ToYaml(DefaultConfig()),
            "registration: {}\n"
            "agent:\n"
            "    workDir: /var/lib/elemental/agent\n"
            "    osPlugin: /usr/lib/elemental/plugins/elemental.so\n"
            "    reconciliation: 10s\n");
  EXPECT_EQ(ToYaml(Config{}), "registration: {}\nagent: {}\n");
}

TEST(ConfigTest, ToYamlWritesUpstreamsLayout) {
  EXPECT_EQ(ToYaml(FullConfig()),
            "registration:\n"
            "    uri: https://elemental.example/elemental/v1/namespaces/default/registrations/r1\n"
            "    caCert: |\n"
            "        -----BEGIN CERTIFICATE-----\n"
            "        MIIBvjCCAWOgAwIBAgIBADAK\n"
            "        -----END CERTIFICATE-----\n"
            "    tokenDuration: 1h0m0s\n"
            "    token: eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln\n"
            "agent:\n"
            "    workDir: /var/lib/elemental/agent\n"
            "    hostname:\n"
            "        useExisting: true\n"
            "        prefix: m-\n"
            "    noSmbios: true\n"
            "    debug: true\n"
            "    osPlugin: /usr/lib/elemental/plugins/dummy.so\n"
            "    reconciliation: 1m0.5s\n"
            "    insecureAllowHttp: true\n"
            "    insecureSkipTlsVerify: true\n"
            "    useSystemCertPool: true\n"
            "    postInstall:\n"
            "        powerOff: true\n"
            "    postReset:\n"
            "        reboot: true\n");
}

TEST(ConfigTest, ToYamlRoundTrips) {
  ExpectSameConfig(MustParse(ToYaml(DefaultConfig())), DefaultConfig());
  ExpectSameConfig(MustParse(ToYaml(FullConfig())), FullConfig());
  auto example = Load(kExample);
  ASSERT_TRUE(example) << example.error().message();
  ExpectSameConfig(MustParse(ToYaml(*example)), *example);
}

TEST(ConfigTest, ToYamlRoundTripsAwkwardStrings) {
  const std::vector<std::string> values = {
      "true", "no", "~", "null", "10", "1.5", "0x1f", "2024-01-01", "-1", ".inf", "a: b", "a #b", "#x",
      " lead", "trail ", "-", "- x", "x:", "tab\there", "quote\"and\\backslash", "colon:in:middle",
      "bell\a", "caf\xc3\xa9", "[x]", "{x}", "*x", "&x", "!x", "|x", ">x", "%x", "@x", "`x", "'x", "?x",
      "pem without final newline\nline2", "two final newlines\n\n", "\nleading newline",
      " leading space\nline", "line\n  indented\n\n\nafter blank lines\n", "cr\r\nlf\n", "x\n   \n",
      "nel\xc2\x85x", "ls\xe2\x80\xa8x\ny", "\xef\xbb\xbf" "bom", "caf\xc3\xa9\nline\n",
  };
  for (const auto& v : values) {
    Config c = DefaultConfig();
    c.registration.ca_cert = v;
    c.registration.token = v;
    c.agent.hostname.prefix = v;
    c.registration.uri = v;
    const std::string yaml = ToYaml(c);
    auto back = Parse(yaml, "roundtrip.yaml");
    ASSERT_TRUE(back) << back.error().message() << "\n" << yaml;
    EXPECT_EQ(back->registration.ca_cert, v) << yaml;
    EXPECT_EQ(back->registration.token, v) << yaml;
    EXPECT_EQ(back->agent.hostname.prefix, v) << yaml;
    EXPECT_EQ(back->registration.uri, v) << yaml;
  }
}

TEST(ConfigTest, FromRegistrationTakesRegistrationAndAgent) {
  api::RegistrationResponse reg;
  reg.elemental.registration.uri = "https://h/r";
  reg.elemental.registration.token = "new-token";
  reg.elemental.registration.token_duration = hours(2);
  reg.elemental.agent.work_dir = "/w";
  reg.elemental.agent.reconciliation = seconds(30);
  reg.elemental.agent.post_install.reboot = true;
  reg.host_labels["a"] = "b";
  const Config c = FromRegistration(reg);
  EXPECT_EQ(c.registration.uri, "https://h/r");
  EXPECT_EQ(c.registration.token, "new-token");
  EXPECT_EQ(c.registration.token_duration, hours(2));
  EXPECT_EQ(c.agent.work_dir, "/w");
  EXPECT_EQ(c.agent.reconciliation, seconds(30));
  EXPECT_TRUE(c.agent.post_install.reboot);
  // Like upstream's FromAPI: no defaults filled in here.
  EXPECT_EQ(c.agent.os_plugin, "");
}

// Go's own table (src/time/time_test.go, parseDurationTests).
TEST(GoDurationTest, ParsesLikeGo) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t ns = 1, us = 1000, ms = 1000000, s = 1000000000, m = 60 * s, h = 60 * m;
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"0", 0},
      {"5s", 5 * s},
      {"30s", 30 * s},
      {"1478s", 1478 * s},
      {"-5s", -5 * s},
      {"+5s", 5 * s},
      {"-0", 0},
      {"+0", 0},
      {"5.0s", 5 * s},
      {"5.6s", 5 * s + 600 * ms},
      {"5.s", 5 * s},
      {".5s", 500 * ms},
      {"1.0s", 1 * s},
      {"1.00s", 1 * s},
      {"1.004s", 1 * s + 4 * ms},
      {"1.0040s", 1 * s + 4 * ms},
      {"100.00100s", 100 * s + 1 * ms},
      {"10ns", 10 * ns},
      {"11us", 11 * us},
      {"12\xc2\xb5s", 12 * us},  // U+00B5 micro sign
      {"12\xce\xbcs", 12 * us},  // U+03BC Greek mu
      {"13ms", 13 * ms},
      {"14s", 14 * s},
      {"15m", 15 * m},
      {"16h", 16 * h},
      {"3h30m", 3 * h + 30 * m},
      {"10.5s4m", 4 * m + 10 * s + 500 * ms},
      {"-2m3.4s", -(2 * m + 3 * s + 400 * ms)},
      {"1h2m3s4ms5us6ns", 1 * h + 2 * m + 3 * s + 4 * ms + 5 * us + 6 * ns},
      {"39h9m14.425s", 39 * h + 9 * m + 14 * s + 425 * ms},
      {"52763797000ns", 52763797000 * ns},
      {"0.3333333333333333333h", 20 * m},
      {"9007199254740993ns", (int64_t{1} << 53) + 1},
      {"9223372036854775807ns", kMax},
      {"9223372036854775.807us", kMax},
      {"9223372036s854ms775us807ns", kMax},
      {"-9223372036854775808ns", kMin},
      {"-9223372036854775.808us", kMin},
      {"-9223372036s854ms775us808ns", kMin},
      {"-2562047h47m16.854775808s", kMin},
      {"0.100000000000000000000h", 6 * m},
      {"0.830103483285477580700h", 49 * m + 48 * s + 372539827 * ns},
  };
  for (const auto& [text, want] : cases) {
    auto d = ParseGoDuration(text);
    ASSERT_TRUE(d) << text << ": " << d.error().message();
    EXPECT_EQ(d->count(), want) << text;
  }
}

TEST(GoDurationTest, RejectsLikeGo) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "time: invalid duration \"\""},
      {"3", "time: missing unit in duration \"3\""},
      {"-", "time: invalid duration \"-\""},
      {"s", "time: invalid duration \"s\""},
      {".", "time: invalid duration \".\""},
      {"-.", "time: invalid duration \"-.\""},
      {".s", "time: invalid duration \".s\""},
      {"+.s", "time: invalid duration \"+.s\""},
      {"1d", "time: unknown unit \"d\" in duration \"1d\""},
      {"1m2", "time: missing unit in duration \"1m2\""},
      {"\x85\x85", "time: invalid duration \"\\x85\\x85\""},
      {"\xff" "ff", "time: invalid duration \"\\xff" "ff\""},
      {"hello \xff" "ff world", "time: invalid duration \"hello \\xff" "ff world\""},
      {"9223372036854775810ns", "time: invalid duration \"9223372036854775810ns\""},
      {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
      {"-9223372036854775809ns", "time: invalid duration \"-9223372036854775809ns\""},
      {"9223372036854775.808us", "time: invalid duration \"9223372036854775.808us\""},
      {"9223372036854ms775us808ns", "time: invalid duration \"9223372036854ms775us808ns\""},
      {"2562048h", "time: invalid duration \"2562048h\""},
      {"1 s", "time: unknown unit \" s\" in duration \"1 s\""},
  };
  for (const auto& [text, want] : cases) {
    auto d = ParseGoDuration(text);
    ASSERT_FALSE(d) << text << " parsed as " << d->count();
    EXPECT_EQ(d.error().message(), want) << text;
  }
}

// Go's own table (src/time/time_test.go, durationTests).
TEST(GoDurationTest, FormatsLikeGo) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t us = 1000, ms = 1000000, s = 1000000000, m = 60 * s, h = 60 * m;
  const std::vector<std::pair<int64_t, std::string>> cases = {
      {0, "0s"},
      {1, "1ns"},
      {1100, "1.1\xc2\xb5s"},
      {2200 * us, "2.2ms"},
      {3300 * ms, "3.3s"},
      {4 * m + 5 * s, "4m5s"},
      {4 * m + 5001 * ms, "4m5.001s"},
      {5 * h + 6 * m + 7001 * ms, "5h6m7.001s"},
      {8 * m + 1, "8m0.000000001s"},
      {kMax, "2562047h47m16.854775807s"},
      {kMin, "-2562047h47m16.854775808s"},
      {10 * s, "10s"},
      {m, "1m0s"},
      {h + 30 * m, "1h30m0s"},
      {-m, "-1m0s"},
      {999, "999ns"},
      {-1500, "-1.5\xc2\xb5s"},
      {300 * ms, "300ms"},
      {h, "1h0m0s"},
  };
  for (const auto& [d, want] : cases) {
    EXPECT_EQ(FormatGoDuration(nanoseconds(d)), want) << d;
  }
}

TEST(GoDurationTest, FormatThenParseIsIdentity) {
  const std::vector<int64_t> values = {0, 1, 999, 1000, 1001, 999999, 1000000, 123456789, 1000000000,
                                       59999999999, 60000000000, 3599999999999, 3600000000000,
                                       86400000000000, std::numeric_limits<int64_t>::max(),
                                       std::numeric_limits<int64_t>::min(), -1, -60000000000};
  for (int64_t v : values) {
    auto back = ParseGoDuration(FormatGoDuration(nanoseconds(v)));
    ASSERT_TRUE(back) << v;
    EXPECT_EQ(back->count(), v);
  }
}

}  // namespace
}  // namespace elemental::config
