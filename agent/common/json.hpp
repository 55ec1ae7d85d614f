// A small JSON value type used across the agent.
//
// Schemaless parts of the Elemental API (install, reset, cloudConfig,
// osVersionManagement) are carried as json::Value so they reach the OS plugin
// untouched. Parsing and printing are done by cJSON inside json.cpp; no cJSON
// type appears here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/expected.hpp"

namespace elemental::json {

class Value;
using Array = std::vector<Value>;
// Objects keep keys sorted (std::map), so Dump() is canonical: the same
// document always prints the same bytes (used for correlation IDs).
using Object = std::map<std::string, Value>;

enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

// Name of a type for error messages ("string", "object", ...).
const char* TypeName(Type t);

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}  // NOLINT
  Value(bool b) : type_(Type::kBool), bool_(b) {}  // NOLINT
  Value(int n) : type_(Type::kNumber), num_(n) {}  // NOLINT
  Value(int64_t n) : type_(Type::kNumber), num_(static_cast<double>(n)) {}  // NOLINT
  Value(double n) : type_(Type::kNumber), num_(n) {}  // NOLINT
  Value(const char* s) : type_(Type::kString), str_(s) {}  // NOLINT
  Value(std::string s) : type_(Type::kString), str_(std::move(s)) {}  // NOLINT
  Value(Array a);   // NOLINT
  Value(Object o);  // NOLINT

  Value(const Value& other);
  Value(Value&& other) noexcept = default;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept = default;
  ~Value();

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors; calling the wrong one is a programming error (asserts) — check
  // the type first, or use the Get* helpers below which return Errors.
  bool as_bool() const;
  double as_number() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object member lookup; returns nullptr when this is not an object or the
  // key is missing.
  const Value* Find(const std::string& key) const;
  // Sets a member, turning a null value into an empty object first.
  void Set(const std::string& key, Value v);

  // Compact JSON text, keys sorted.
  std::string Dump() const;

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double num_ = 0;
  std::string str_;
  std::unique_ptr<Array> arr_;
  std::unique_ptr<Object> obj_;
};

// Parses JSON text. Errors name the byte offset: "invalid JSON at offset 17".
// Documents nested deeper than 256 levels are refused.
Expected<Value> Parse(std::string_view text);

// Typed member access for decoding untrusted documents. Each returns the
// fallback when the key is missing or null, and an Error naming the field
// ("field 'installed': expected bool, got string") when the type is wrong.
Expected<bool> GetBool(const Value& obj, const std::string& key, bool fallback = false);
Expected<std::string> GetString(const Value& obj, const std::string& key,
                                const std::string& fallback = "");
Expected<int64_t> GetInt(const Value& obj, const std::string& key, int64_t fallback = 0);
// A map of string to string ({"a":"b"}); missing → empty map.
Expected<std::map<std::string, std::string>> GetStringMap(const Value& obj, const std::string& key);
// Any value; missing → null. Never fails.
Value GetAny(const Value& obj, const std::string& key);

}  // namespace elemental::json
