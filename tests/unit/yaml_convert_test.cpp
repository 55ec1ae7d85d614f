// Tests for the JSON → YAML dump the plugins write: upstream's layout, and
// that a strict YAML reader gets back exactly the JSON that went in.
#include "plugin/yaml_convert.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace elemental::plugin {
namespace {

std::string Yaml(const std::string& json_text) {
  auto v = json::Parse(json_text);
  EXPECT_TRUE(v) << json_text;
  if (!v) return "";
  auto y = JsonToYaml(*v);
  EXPECT_TRUE(y) << y.error().message();
  return y ? *y : "";
}

// Resolves a plain scalar the strictest way: YAML 1.2 core schema plus YAML
// 1.1's extra booleans, so a string written plain that any reader would take
// for something else comes back as that something else.
json::Value ResolvePlain(const std::string& s) {
  static const std::set<std::string> kTrue = {"true", "True", "TRUE", "y", "Y", "yes", "Yes",
                                              "YES", "on", "On", "ON"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE", "n", "N", "no", "No",
                                               "NO", "off", "Off", "OFF"};
  if (kTrue.count(s) != 0) return true;
  if (kFalse.count(s) != 0) return false;
  static const std::regex kInt(R"([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)");
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  static const std::regex kSpecial(R"([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))");
  if (std::regex_match(s, kInt)) return static_cast<double>(std::stoll(s, nullptr, 0));
  if (std::regex_match(s, kFloat)) return std::stod(s);
  if (std::regex_match(s, kSpecial)) return json::Value("<special float>");
  return s;
}

json::Value FromYaml(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return json::Value();
    case YAML::NodeType::Scalar:
      return n.Tag() == "!" ? json::Value(n.Scalar()) : ResolvePlain(n.Scalar());
    case YAML::NodeType::Sequence: {
      json::Array arr;
      for (const auto& item : n) arr.push_back(FromYaml(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      json::Object obj;
      for (const auto& kv : n) {
        const json::Value key = FromYaml(kv.first);
        if (!key.is_string()) {
          ADD_FAILURE() << "key read back as a non-string: " << kv.first.Scalar();
          continue;
        }
        obj[key.as_string()] = FromYaml(kv.second);
      }
      return obj;
    }
    default: return json::Value("<undefined>");
  }
}

void ExpectRoundTrip(const json::Value& v) {
  auto y = JsonToYaml(v);
  ASSERT_TRUE(y) << y.error().message();
  YAML::Node node;
  try {
    node = YAML::Load(*y);
  } catch (const YAML::Exception& e) {
    FAIL() << "yaml-cpp cannot read our output: " << e.what() << "\n" << *y;
  }
  EXPECT_EQ(FromYaml(node).Dump(), v.Dump()) << *y;
}

TEST(YamlConvertTest, MatchesUpstreamTestdata) {
  // internal/agent/plugin/dummy/_testdata/{cloud-init,install}.yaml upstream.
  EXPECT_EQ(Yaml(R"({"users":[{"name":"root","passwd":"root"}]})"),
            "users:\n    - name: root\n      passwd: root\n");
  EXPECT_EQ(Yaml(R"({"foo":{"bar":{"foobar":"barfoo"}}})"), "foo:\n    bar:\n        foobar: barfoo\n");
}

TEST(YamlConvertTest, TopLevelValues) {
  EXPECT_EQ(Yaml("null"), "null\n");
  EXPECT_EQ(Yaml("true"), "true\n");
  EXPECT_EQ(Yaml("42"), "42\n");
  EXPECT_EQ(Yaml(R"("text")"), "text\n");
  EXPECT_EQ(Yaml(R"("---")"), "\"---\"\n");
  EXPECT_EQ(Yaml("{}"), "{}\n");
  EXPECT_EQ(Yaml("[]"), "[]\n");
  EXPECT_EQ(Yaml("[1, \"a\"]"), "- 1\n- a\n");
  EXPECT_EQ(Yaml(R"("a\nb\n")"), "|\n    a\n    b\n");
}

TEST(YamlConvertTest, NestedLayout) {
  EXPECT_EQ(Yaml(R"({"a": [[1, 2], [], {}], "b": {"c": [], "d": {}}, "e": [{"f": [1], "g": {"h": null}}]})"),
            "a:\n"
            "    - - 1\n"
            "      - 2\n"
            "    - []\n"
            "    - {}\n"
            "b:\n"
            "    c: []\n"
            "    d: {}\n"
            "e:\n"
            "    - f:\n"
            "          - 1\n"
            "      g:\n"
            "          h: null\n");
}

TEST(YamlConvertTest, QuotesStringsThatReadAsSomethingElse) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"true", "\"true\""},   {"yes", "\"yes\""},       {"Off", "\"Off\""},     {"y", "\"y\""},
      {"~", "\"~\""},         {"null", "\"null\""},     {"", "\"\""},           {"10", "\"10\""},
      {"-1", "\"-1\""},       {"1.5", "\"1.5\""},       {"1e3", "\"1e3\""},     {"0x1F", "\"0x1F\""},
      {"0o17", "\"0o17\""},   {".5", "\".5\""},         {".inf", "\".inf\""},   {"-.Inf", "\"-.Inf\""},
      {".NaN", "\".NaN\""},   {"1:20", "\"1:20\""},     {"2024-01-01", "\"2024-01-01\""},
      {"<<", "\"<<\""},       {"a: b", "\"a: b\""},     {"a #b", "\"a #b\""},   {"#x", "\"#x\""},
      {"x:", "\"x:\""},       {" a", "\" a\""},         {"a ", "\"a \""},       {"- a", "\"- a\""},
      {"-", "\"-\""},         {"*x", "\"*x\""},         {"&x", "\"&x\""},       {"!x", "\"!x\""},
      {"[x", "\"[x\""},       {"{x", "\"{x\""},         {"|x", "\"|x\""},       {">x", "\">x\""},
      {"'x", "\"'x\""},       {"\"x", "\"\\\"x\""},     {"%x", "\"%x\""},       {"@x", "\"@x\""},
      {"`x", "\"`x\""},       {"?x", "\"?x\""},         {":x", "\":x\""},       {",x", "\",x\""},
      {"tab\there", "\"tab\\there\""},
      {"back\\slash\"quote", "back\\slash\"quote"},  // plain: nothing special mid-string
  };
  for (const auto& [in, want] : cases) {
    json::Object obj;
    obj["k"] = in;
    auto y = JsonToYaml(json::Value(obj));
    ASSERT_TRUE(y);
    EXPECT_EQ(*y, "k: " + want + "\n") << "input: [" << in << "]";
  }
}

TEST(YamlConvertTest, KeepsOrdinaryStringsPlain) {
  for (const std::string s : {"oci://registry.example/repo:v1.2.3", "/dev/sda", "10s", "1.2.3-rc1",
                              "-f", "--config", "a:b", "key=value", "caf\xc3\xa9", "x # not a comment?"}) {
    json::Object obj;
    obj["k"] = s;
    auto y = JsonToYaml(json::Value(obj));
    ASSERT_TRUE(y);
    if (s.find(" #") != std::string::npos) {
      EXPECT_EQ(*y, "k: \"" + s + "\"\n");
    } else {
      EXPECT_EQ(*y, "k: " + s + "\n");
    }
  }
}

TEST(YamlConvertTest, EscapesControlCharacters) {
  EXPECT_EQ(Yaml(R"({"k": "a\u0001b\u007fc\r"})"), "k: \"a\\x01b\\x7fc\\r\"\n");
  EXPECT_EQ(Yaml(R"({"k": "nel\u0085ls\u2028bom\ufeff"})"), "k: \"nel\\x85ls\\u2028bom\\ufeff\"\n");
  // (cJSON stops strings at NUL, so this one is built directly.)
  auto nul = JsonToYaml(json::Value(std::string("nul\0x", 5)));
  ASSERT_TRUE(nul);
  EXPECT_EQ(*nul, "\"nul\\0x\"\n");
}

TEST(YamlConvertTest, MultiLineStringsAreExactLiteralBlocks) {
  EXPECT_EQ(Yaml(R"({"k": "a\nb\n"})"), "k: |\n    a\n    b\n");
  EXPECT_EQ(Yaml(R"({"k": "a\nb"})"), "k: |-\n    a\n    b\n");
  EXPECT_EQ(Yaml(R"({"k": "a\n\n"})"), "k: |+\n    a\n\n");
  EXPECT_EQ(Yaml(R"({"k": "a\n\nb\n"})"), "k: |\n    a\n\n    b\n");
  EXPECT_EQ(Yaml(R"({"k": ["a\nb\n"]})"), "k:\n    - |\n        a\n        b\n");
  // Cannot be a literal block: leading blank, leading newline, carriage return.
  EXPECT_EQ(Yaml(R"({"k": " a\nb"})"), "k: \" a\\nb\"\n");
  EXPECT_EQ(Yaml(R"({"k": "\na"})"), "k: \"\\na\"\n");
  EXPECT_EQ(Yaml(R"({"k": "a\r\nb"})"), "k: \"a\\r\\nb\"\n");
  // Keys are never blocks.
  EXPECT_EQ(Yaml(R"({"a\nb": 1})"), "\"a\\nb\": 1\n");
}

TEST(YamlConvertTest, Numbers) {
  EXPECT_EQ(Yaml(R"({"a": 1000000, "b": -3, "c": 0.1, "d": 1e21, "e": -2.5, "f": 1e-7, "g": 0})"),
            "a: 1000000\nb: -3\nc: 0.1\nd: 1.0e+21\ne: -2.5\nf: 1.0e-07\ng: 0\n");
}

TEST(YamlConvertTest, StrictReaderGetsTheSameDocumentBack) {
  auto v = json::Parse(R"({
    "install": {"device": "/dev/sda", "systemUri": "oci://reg/os:v1", "noFormat": false,
                "configUrls": ["https://h/a.yaml", "true", "10", ""], "debug": true, "size": 1.5},
    "write_files": [{"path": "/etc/x", "content": "line1\n  indented\n\n\nlast\n", "permissions": "0644"},
                    {"content": "no final newline\nx", "owner": "root:root"},
                    {"content": "many\n\n\n"}],
    "weird keys": {"true": 1, "10": 2, "": 3, "a: b": 4, "- x": 5, "#c": 6, "yes": {"no": ["on", "off"]}},
    "deep": [[[{"a": [[], {}]}]]],
    "unicode": "gr\u00fc\u00dfe \u2603 \ud83d\ude00",
    "controls": "\u0001\u0002\t\u001b",
    "pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "trailing spaces": "a  \nb \n",
    "spaces only line": "a\n   \nb"
  })");
  ASSERT_TRUE(v) << v.error().message();
  ExpectRoundTrip(*v);
}

TEST(YamlConvertTest, RoundTripsAwkwardStringsAsValuesAndKeys) {
  const std::vector<std::string> strings = {
      "true", "no", "~", "null", "", "10", "1.5", "0x1f", "1_000", "2024-01-01", "-1", ".inf", "a: b",
      "a #b", "#x", " lead", "trail ", "-", "- x", "x:", "tab\there", "q\"b\\s", "c:m:d", "bell\a",
      "[x]", "{x}", "*x", "&x", "!x", "|x", ">x", "%x", "@x", "`x", "'x", "?x", ":x", "---", "...",
      "a\nb", "a\n\n", "\nb", " a\nb", "a\n  b\n", "x\n   \n", "\t\n", "a\tb\n", "\xc3\xa9\n",
      "nel\xc2\x85x", "ls\xe2\x80\xa8x\ny", "\xef\xbb\xbf" "bom", "\xf0\x9f\x98\x80", "a\x01\nb",
  };
  for (const auto& s : strings) {
    json::Object obj;
    obj["v"] = s;
    obj["list"] = json::Array{s, json::Array{s}};
    if (s.find('\n') == std::string::npos) obj[s + "_"] = 1;
    json::Object as_key;
    as_key[s] = s;
    obj["keyed"] = as_key;
    ExpectRoundTrip(json::Value(obj));
    ExpectRoundTrip(json::Value(s));
  }
}

TEST(YamlConvertTest, RejectsInvalidUtf8NamingThePath) {
  json::Object inner;
  inner["device"] = std::string("/dev/\xff");
  json::Object obj;
  obj["install"] = inner;
  auto y = JsonToYaml(json::Value(obj));
  ASSERT_FALSE(y);
  EXPECT_EQ(y.error().message(), "install.device: string is not valid UTF-8");

  json::Object bad_key;
  bad_key[std::string("k\xc3")] = 1;
  auto k = JsonToYaml(json::Value(bad_key));
  ASSERT_FALSE(k);
  EXPECT_NE(k.error().message().find("not valid UTF-8"), std::string::npos);

  // Overlong encodings and surrogates are not UTF-8 either.
  EXPECT_FALSE(JsonToYaml(json::Value(std::string("\xc0\xaf"))));
  EXPECT_FALSE(JsonToYaml(json::Value(std::string("\xed\xa0\x80"))));
}

}  // namespace
}  // namespace elemental::plugin
