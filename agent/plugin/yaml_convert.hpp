// JSON → YAML text, as upstream's plugin.UnmarshalRawJSONToYaml does it
// (json.Unmarshal into `any`, then gopkg.in/yaml.v3 Marshal).
//
// Used by the plugins to dump the schemaless API inputs (install, reset,
// cloudConfig, osVersionManagement) as files other tools read. The layout
// follows yaml.v3: block style, four-space indentation, sequences indented
// under their key, `{}` / `[]` for empty containers, `null` for null. Object
// keys come out in byte order (yaml.v3 uses a "natural" order: a2 < a10).
// Strings that a YAML 1.1 or 1.2 reader would take for something else
// ("true", "yes", "10", "1.5", "~", "2024-01-01") are double-quoted, strings
// with line breaks become literal blocks (`|`, `|-`, `|+`) when that is exact,
// anything else unsafe as a plain scalar is double-quoted with escapes (the
// scalar rules live in common/yaml_text.hpp, shared with the config writer).
// Numbers that are whole print as integers ("1000000", where yaml.v3 would
// write "1e+06"); others print in the shortest form that reads back exactly.
#pragma once

#include <string>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::plugin {

// Returns the YAML document, ending in a newline ("null\n" for null). Fails
// only when a string is not valid UTF-8 (YAML cannot carry it); the error
// names the JSON path ("install.device: string is not valid UTF-8").
Expected<std::string> JsonToYaml(const json::Value& value);

}  // namespace elemental::plugin
