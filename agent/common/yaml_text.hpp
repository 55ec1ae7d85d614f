// YAML scalars as text: how a string is written so that a YAML 1.1 or 1.2
// reader (yaml.v3, PyYAML, yaml-cpp) reads back exactly that string. One set
// of rules, checked against PyYAML, shared by the config writer
// (config::ToYaml) and the JSON → YAML dump the plugins write
// (plugin::JsonToYaml).
//
// A string is written
//   - plain when no reader could take it for anything else: not a null,
//     boolean, number, timestamp ... word (see LooksLikeNonString), no
//     indicator at the start, no ": " or " #" inside, no blank at either end,
//     only printable characters;
//   - as a literal block ("|" keeps one final newline, "|-" none, "|+" all)
//     when it has line breaks and that is exact: every character printable
//     (tabs allowed) and the first line starting with a visible character,
//     since readers infer the block's indentation from it. PEM text stays
//     readable this way;
//   - double-quoted otherwise, escaping quotes, backslashes, control
//     characters and the characters YAML 1.1 treats as line breaks (NEL, LS,
//     PS) or specially (the BOM).
#pragma once

#include <string>
#include <string_view>

namespace elemental::yaml_text {

// True when `s` is valid UTF-8 (overlong forms, surrogates and values past
// U+10FFFF are not).
bool IsValidUtf8(std::string_view s);

// Words and shapes a YAML 1.1 or 1.2 reader would not take as a string:
// null, booleans (YAML 1.1's yes/no/on/off/y/n too), numbers in any base,
// sexagesimals, timestamps, infinities, NaN, the merge and value keys.
// Over-quotes a little ("12abc"), never under-quotes.
bool LooksLikeNonString(std::string_view s);

// `s` on one line, plain when that is safe, double-quoted otherwise; for
// mapping keys. `top_level`: the scalar starts a document, where a leading
// "---" or "..." would be read as a marker.
//
// YAML cannot carry bytes that are not valid UTF-8; here and in Scalar they
// are passed through byte for byte inside double quotes. Callers that must
// refuse them check IsValidUtf8 first.
std::string Inline(std::string_view s, bool top_level = false);

// `s` as the value that follows "key: " or "- " (or as a whole document when
// `top_level`), ending in a newline: a literal block header with its lines
// indented by `indent` spaces when the rules above allow one, otherwise
// Inline(s, top_level) + "\n".
std::string Scalar(std::string_view s, int indent, bool top_level = false);

}  // namespace elemental::yaml_text
