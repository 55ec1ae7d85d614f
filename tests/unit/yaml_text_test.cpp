// Tests for the YAML scalar rules shared by the config writer and the JSON →
// YAML dump. Whole documents (and reading them back) are tested in
// config_test.cpp and yaml_convert_test.cpp.
#include "common/yaml_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace elemental::yaml_text {
namespace {

TEST(YamlTextTest, IsValidUtf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(YamlTextTest, LooksLikeNonString) {
  for (const char* s : {"~", "null", "yes", "Off", "y", "10", "-1", "1.5", ".5", "0x1f", "0o17",
                        "1_000", "12:30:00", "2024-01-01", "2024-01-01T10:00:00Z", ".inf", "-.Inf",
                        ".nan", "<<", "="}) {
    EXPECT_TRUE(LooksLikeNonString(s)) << s;
  }
  for (const char* s : {"", "x", "m-", "nullx", "yesterday", "/var/lib", "v1.2", "https://h/x"}) {
    EXPECT_FALSE(LooksLikeNonString(s)) << s;
  }
}

TEST(YamlTextTest, InlineIsPlainOnlyWhenUnambiguous) {
  EXPECT_EQ(Inline("plain"), "plain");
  EXPECT_EQ(Inline("https://h/x?a=b"), "https://h/x?a=b");
  EXPECT_EQ(Inline("with space"), "with space");
  EXPECT_EQ(Inline("-x"), "-x");
  EXPECT_EQ(Inline("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Inline(""), "\"\"");
  EXPECT_EQ(Inline("yes"), "\"yes\"");
  EXPECT_EQ(Inline("10"), "\"10\"");
  EXPECT_EQ(Inline("- x"), "\"- x\"");
  EXPECT_EQ(Inline("a: b"), "\"a: b\"");
  EXPECT_EQ(Inline("a #b"), "\"a #b\"");
  EXPECT_EQ(Inline("x:"), "\"x:\"");
  EXPECT_EQ(Inline(" lead"), "\" lead\"");
  EXPECT_EQ(Inline("*x"), "\"*x\"");
  EXPECT_EQ(Inline("---x"), "---x");
  EXPECT_EQ(Inline("---x", true), "\"---x\"");
}

TEST(YamlTextTest, InlineEscapes) {
  EXPECT_EQ(Inline("q\"b\\"), "q\"b\\");  // plain: only a leading quote matters
  EXPECT_EQ(Inline("\"q\\"), "\"\\\"q\\\\\"");
  EXPECT_EQ(Inline("t\tn\nr\r"), "\"t\\tn\\nr\\r\"");
  EXPECT_EQ(Inline(std::string("nul\0x", 5)), "\"nul\\0x\"");
  EXPECT_EQ(Inline("bell\a del\x7f"), "\"bell\\x07 del\\x7f\"");
  EXPECT_EQ(Inline("nel\xc2\x85"), "\"nel\\x85\"");
  EXPECT_EQ(Inline("ls\xe2\x80\xa8"), "\"ls\\u2028\"");
  EXPECT_EQ(Inline("\xef\xbb\xbf" "bom"), "\"\\ufeffbom\"");
  // Not UTF-8: passed through inside quotes, since no escape would be exact.
  EXPECT_EQ(Inline("a\xff"), "\"a\xff\"");
}

TEST(YamlTextTest, ScalarUsesLiteralBlocksWhenExact) {
  EXPECT_EQ(Scalar("x", 4), "x\n");
  EXPECT_EQ(Scalar("yes", 4), "\"yes\"\n");
  EXPECT_EQ(Scalar("a\nb", 4), "|-\n    a\n    b\n");
  EXPECT_EQ(Scalar("a\n\nb\n", 2), "|\n  a\n\n  b\n");
  EXPECT_EQ(Scalar("a\n\n", 4), "|+\n    a\n\n");
  // The first line sets the indentation: a leading blank needs quotes.
  EXPECT_EQ(Scalar(" a\nb", 4), "\" a\\nb\"\n");
  EXPECT_EQ(Scalar("\na", 4), "\"\\na\"\n");
  // Characters a literal block cannot hold.
  EXPECT_EQ(Scalar("a\r\nb", 4), "\"a\\r\\nb\"\n");
  EXPECT_EQ(Scalar("a\nb\xc2\x85", 4), "\"a\\nb\\x85\"\n");
}

}  // namespace
}  // namespace elemental::yaml_text
