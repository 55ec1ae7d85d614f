// Tests for json::Value: parsing untrusted text, canonical dumping, typed access.
#include "common/json.hpp"

#include <gtest/gtest.h>

namespace elemental::json {
namespace {

TEST(Json, ParsesAndDumpsCanonically) {
  auto v = Parse(R"({"b": [1, 2.5, "x", null, true], "a": {"z": false, "y": "\u00e9\n"}})");
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->Dump(), "{\"a\":{\"y\":\"\xc3\xa9\\n\",\"z\":false},\"b\":[1,2.5,\"x\",null,true]}");
}

TEST(Json, LargeIntegersKeepTheirDigits) {
  auto v = Parse(R"({"n": 3600000000000})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->Dump(), "{\"n\":3600000000000}");
  auto n = GetInt(*v, "n");
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3600000000000LL);
}

TEST(Json, RejectsMalformedTextWithOffset) {
  auto v = Parse(R"({"a": 1,})");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("invalid JSON at offset"), std::string::npos);
  EXPECT_FALSE(Parse(""));
  EXPECT_FALSE(Parse("{} x"));
}

TEST(Json, RejectsDeepNesting) {
  std::string deep(300, '[');
  deep += std::string(300, ']');
  auto v = Parse(deep);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message().find("nested"), std::string::npos);
}

TEST(Json, TypedAccessNamesTheField) {
  auto v = Parse(R"({"installed": "yes", "labels": 5, "ok": true, "m": {"k": "v"}})");
  ASSERT_TRUE(v);
  auto b = GetBool(*v, "installed");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message(), "field 'installed': expected bool, got string");
  auto m = GetStringMap(*v, "labels");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().message(), "field 'labels': expected object of strings, got number");
  EXPECT_TRUE(*GetBool(*v, "ok"));
  EXPECT_FALSE(*GetBool(*v, "missing"));
  EXPECT_EQ(GetStringMap(*v, "m")->at("k"), "v");
  EXPECT_FALSE(GetInt(*v, "ok"));
}

TEST(Json, CopiesAreDeep) {
  Value a;
  a.Set("x", Value(Array{Value(1)}));
  Value b = a;
  b.as_object()["x"].as_array().push_back(Value(2));
  EXPECT_EQ(a.Dump(), "{\"x\":[1]}");
  EXPECT_EQ(b.Dump(), "{\"x\":[1,2]}");
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace elemental::json
