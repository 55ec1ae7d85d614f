// json::Value: parsing through cJSON, canonical printing by hand.
#include "common/json.hpp"

#include <cJSON.h>

#include <cassert>
#include <cmath>
#include <cstdio>

namespace elemental::json {
namespace {

constexpr int kMaxDepth = 256;

struct CJsonDeleter {
  void operator()(cJSON* p) const { cJSON_Delete(p); }
};
using CJsonPtr = std::unique_ptr<cJSON, CJsonDeleter>;

Expected<Value> FromCJson(const cJSON* node, int depth) {
  if (depth > kMaxDepth) return Error("JSON document nested deeper than 256 levels");
  if (cJSON_IsNull(node)) return Value();
  if (cJSON_IsBool(node)) return Value(cJSON_IsTrue(node) != 0);
  if (cJSON_IsNumber(node)) return Value(node->valuedouble);
  if (cJSON_IsString(node)) return Value(std::string(node->valuestring));
  if (cJSON_IsArray(node)) {
    Array arr;
    for (const cJSON* c = node->child; c != nullptr; c = c->next) {
      auto v = FromCJson(c, depth + 1);
      if (!v) return v.error();
      arr.push_back(std::move(*v));
    }
    return Value(std::move(arr));
  }
  if (cJSON_IsObject(node)) {
    Object obj;
    for (const cJSON* c = node->child; c != nullptr; c = c->next) {
      auto v = FromCJson(c, depth + 1);
      if (!v) return v.error();
      obj[c->string != nullptr ? c->string : ""] = std::move(*v);
    }
    return Value(std::move(obj));
  }
  return Error("unsupported JSON value");
}

void DumpString(const std::string& s, std::string& out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void DumpNumber(double n, std::string& out) {
  if (!std::isfinite(n)) {
    out += "null";
    return;
  }
  char buf[32];
  if (std::floor(n) == n && std::fabs(n) < 9.2e18) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(n));
  } else {
    std::snprintf(buf, sizeof(buf), "%.17g", n);
  }
  out += buf;
}

void DumpValue(const Value& v, std::string& out) {
  switch (v.type()) {
    case Type::kNull: out += "null"; break;
    case Type::kBool: out += v.as_bool() ? "true" : "false"; break;
    case Type::kNumber: DumpNumber(v.as_number(), out); break;
    case Type::kString: DumpString(v.as_string(), out); break;
    case Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        DumpValue(e, out);
      }
      out.push_back(']');
      break;
    }
    case Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        DumpString(k, out);
        out.push_back(':');
        DumpValue(e, out);
      }
      out.push_back('}');
      break;
    }
  }
}

Error TypeError(const std::string& key, const char* want, const Value& got) {
  return Error("field '" + key + "': expected " + want + ", got " + TypeName(got.type()));
}

}  // namespace

const char* TypeName(Type t) {
  switch (t) {
    case Type::kNull: return "null";
    case Type::kBool: return "bool";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

Value::Value(Array a) : type_(Type::kArray), arr_(std::make_unique<Array>(std::move(a))) {}
Value::Value(Object o) : type_(Type::kObject), obj_(std::make_unique<Object>(std::move(o))) {}
Value::~Value() = default;

Value::Value(const Value& other)
    : type_(other.type_), bool_(other.bool_), num_(other.num_), str_(other.str_) {
  if (other.arr_) arr_ = std::make_unique<Array>(*other.arr_);
  if (other.obj_) obj_ = std::make_unique<Object>(*other.obj_);
}

Value& Value::operator=(const Value& other) {
  if (this != &other) {
    Value copy(other);
    *this = std::move(copy);
  }
  return *this;
}

bool Value::as_bool() const { assert(is_bool()); return bool_; }
double Value::as_number() const { assert(is_number()); return num_; }
const std::string& Value::as_string() const { assert(is_string()); return str_; }
const Array& Value::as_array() const { assert(is_array()); return *arr_; }
Array& Value::as_array() { assert(is_array()); return *arr_; }
const Object& Value::as_object() const { assert(is_object()); return *obj_; }
Object& Value::as_object() { assert(is_object()); return *obj_; }

const Value* Value::Find(const std::string& key) const {
  if (!is_object()) return nullptr;
  auto it = obj_->find(key);
  return it == obj_->end() ? nullptr : &it->second;
}

void Value::Set(const std::string& key, Value v) {
  if (is_null()) {
    type_ = Type::kObject;
    obj_ = std::make_unique<Object>();
  }
  assert(is_object());
  (*obj_)[key] = std::move(v);
}

std::string Value::Dump() const {
  std::string out;
  DumpValue(*this, out);
  return out;
}

bool Value::operator==(const Value& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kNull: return true;
    case Type::kBool: return bool_ == other.bool_;
    case Type::kNumber: return num_ == other.num_;
    case Type::kString: return str_ == other.str_;
    case Type::kArray: return *arr_ == *other.arr_;
    case Type::kObject: return *obj_ == *other.obj_;
  }
  return false;
}

Expected<Value> Parse(std::string_view text) {
  const char* end = nullptr;
  CJsonPtr root(cJSON_ParseWithLengthOpts(text.data(), text.size(), &end, 0));
  if (!root) {
    size_t offset = end != nullptr && end >= text.data() ? static_cast<size_t>(end - text.data()) : 0;
    return Error("invalid JSON at offset " + std::to_string(offset));
  }
  // Only whitespace may follow the document.
  for (size_t i = static_cast<size_t>(end - text.data()); i < text.size(); ++i) {
    char c = text[i];
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != '\0') {
      return Error("invalid JSON at offset " + std::to_string(i) + ": trailing data");
    }
  }
  return FromCJson(root.get(), 0);
}

Expected<bool> GetBool(const Value& obj, const std::string& key, bool fallback) {
  const Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_bool()) return TypeError(key, "bool", *v);
  return v->as_bool();
}

Expected<std::string> GetString(const Value& obj, const std::string& key, const std::string& fallback) {
  const Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_string()) return TypeError(key, "string", *v);
  return v->as_string();
}

Expected<int64_t> GetInt(const Value& obj, const std::string& key, int64_t fallback) {
  const Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_number()) return TypeError(key, "integer", *v);
  double d = v->as_number();
  if (std::floor(d) != d || std::fabs(d) > 9.2e18) return TypeError(key, "integer", *v);
  return static_cast<int64_t>(d);
}

Expected<std::map<std::string, std::string>> GetStringMap(const Value& obj, const std::string& key) {
  std::map<std::string, std::string> out;
  const Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return out;
  if (!v->is_object()) return TypeError(key, "object of strings", *v);
  for (const auto& [k, e] : v->as_object()) {
    if (!e.is_string()) return TypeError(key + "." + k, "string", e);
    out[k] = e.as_string();
  }
  return out;
}

Value GetAny(const Value& obj, const std::string& key) {
  const Value* v = obj.Find(key);
  return v == nullptr ? Value() : *v;
}

}  // namespace elemental::json
