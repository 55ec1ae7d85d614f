// registries.yaml parsing: the k3s/RKE2 shape, normalised endpoints, and
// errors naming file, line and key.
#include "oci/registries_config.hpp"

#include <gtest/gtest.h>

namespace elemental::oci {
namespace {

TEST(OciRegistriesConfigTest, ParsesMirrorsAndConfigs) {
  auto c = ParseRegistriesConfig(R"Y(mirrors:
  docker.io:
    endpoint:
      - "https://mirror.example:5000/v2/"
      - "10.0.0.5:5000"
      - "http://plain.example/prefix/"
    rewrite:
      "^library/(.*)": "cache/$1"
  "*":
    endpoint: ["https://any.example"]
configs:
  "mirror.example:5000":
    auth:
      username: user
      password: pw
    tls:
      ca_file: /etc/ca.pem
      insecure_skip_verify: true
  other:
    auth: {auth: dXNlcjpwdw==}
)Y", "r.yaml");
  ASSERT_TRUE(c) << c.error().message();
  const auto& m = c->mirrors.at("docker.io");
  EXPECT_EQ(m.endpoints, (std::vector<std::string>{"https://mirror.example:5000",
                                                   "https://10.0.0.5:5000",
                                                   "http://plain.example/prefix"}));
  ASSERT_EQ(m.rewrites.size(), 1u);
  EXPECT_EQ(m.rewrites[0].first, "^library/(.*)");
  EXPECT_EQ(m.rewrites[0].second, "cache/$1");
  EXPECT_EQ(c->mirrors.at("*").endpoints, std::vector<std::string>{"https://any.example"});
  const auto& h = c->configs.at("mirror.example:5000");
  EXPECT_EQ(h.username, "user");
  EXPECT_EQ(h.password, "pw");
  EXPECT_EQ(h.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(h.insecure_skip_verify);
  EXPECT_EQ(c->configs.at("other").auth, "dXNlcjpwdw==");
  EXPECT_TRUE(ParseRegistriesConfig("", "empty.yaml"));
}

TEST(OciRegistriesConfigTest, ErrorsNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {"mirrors:\n  docker.io:\n    endpoints: [x]\n",
       "r.yaml:3:5: mirrors.docker.io.endpoints: unknown key (known: endpoint, rewrite)"},
      {"mirrors:\n  docker.io:\n    endpoint: x\n",
       "r.yaml:3:15: mirrors.docker.io.endpoint: expected a list of URLs"},
      {"mirrors:\n  docker.io:\n    endpoint: [\"ftp://x\"]\n",
       "r.yaml:3:16: mirrors.docker.io.endpoint[0]: endpoint 'ftp://x': scheme must be http or "
       "https"},
      {"mirrors:\n  d:\n    rewrite:\n      \"(\": x\n",
       "r.yaml:4:12: mirrors.d.rewrite.(: invalid regular expression"},
      {"configs:\n  h:\n    tls:\n      insecure_skip_verify: maybe\n",
       "r.yaml:4:29: configs.h.tls.insecure_skip_verify: expected true or false, got \"maybe\""},
      {"configs:\n  h:\n    auth: [a]\n", "r.yaml:3:11: configs.h.auth: expected a mapping"},
      {"mirror: {}\n", "r.yaml:1:1: mirror: unknown key (known: mirrors, configs)"},
      {"mirrors: [\n", "r.yaml:2:1: "},
  };
  for (const auto& c : cases) {
    auto r = ParseRegistriesConfig(c.text, "r.yaml");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().message().rfind(c.want, 0), 0u) << r.error().message();
  }
  auto missing = LoadRegistriesConfig("/nonexistent/registries.yaml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("/nonexistent/registries.yaml"), std::string::npos);
}

}  // namespace
}  // namespace elemental::oci
