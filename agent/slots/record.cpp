// The slot state record as JSON: encoding, strict decoding, invariants.
#include "slots/record.hpp"

#include <algorithm>
#include <ctime>
#include <initializer_list>

namespace elemental::slots {
namespace {

const char* const kSlotStates[] = {"empty", "good", "trying", "failed"};

// Copies the keys of `obj` that are not in `known` (forward compatibility:
// a newer agent's additions survive a rewrite by this one).
json::Object Unknown(const json::Value& obj, std::initializer_list<const char*> known) {
  json::Object out;
  for (const auto& entry : obj.as_object()) {
    const std::string& key = entry.first;
    if (std::find_if(known.begin(), known.end(), [&](const char* n) { return key == n; }) ==
        known.end()) {
      out[key] = entry.second;
    }
  }
  return out;
}

Error FieldError(const std::string& field, const std::string& what) {
  return Error(field + ": " + what);
}

std::string Describe(const json::Value& v) {
  if (v.is_string()) return "'" + v.as_string() + "'";
  return json::TypeName(v.type());
}

// A member that must be present and of the right JSON type.
Expected<const json::Value*> Require(const json::Value& obj, const std::string& path,
                                     const std::string& key, json::Type type) {
  const json::Value* v = obj.Find(key);
  std::string field = path.empty() ? key : path + "." + key;
  if (v == nullptr) return FieldError(field, "missing");
  if (v->type() != type) {
    return FieldError(field, std::string("expected ") + json::TypeName(type) + ", got " +
                                 json::TypeName(v->type()));
  }
  return v;
}

Expected<std::string> OptString(const json::Value& obj, const std::string& path,
                                const std::string& key) {
  auto s = json::GetString(obj, key);
  if (!s) return FieldError(path + "." + key, "expected string");
  return *s;
}

Expected<Slot> ParseSlot(const json::Value& v, const std::string& field, bool allow_none) {
  if (allow_none && v.is_null()) return Slot::kNone;
  if (v.is_string() && v.as_string() == "A") return Slot::kA;
  if (v.is_string() && v.as_string() == "B") return Slot::kB;
  return FieldError(field, std::string("expected ") + (allow_none ? "\"A\", \"B\" or null" : "\"A\" or \"B\"") +
                               ", got " + Describe(v));
}

Expected<int64_t> ParseInt(const json::Value& v, const std::string& field, int64_t min) {
  if (v.is_number()) {
    double d = v.as_number();
    // 2^53: the largest range a JSON number carries exactly.
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d >= static_cast<double>(min) &&
        d <= 9007199254740992.0) {
      return static_cast<int64_t>(d);
    }
  }
  return FieldError(field, "expected an integer >= " + std::to_string(min) + ", got " +
                               (v.is_number() ? v.Dump() : Describe(v)));
}

Expected<SlotInfo> DecodeSlot(const json::Value& slots, const std::string& name) {
  std::string path = "slots." + name;
  auto obj = Require(slots, "slots", name, json::Type::kObject);
  if (!obj) return obj.error();
  const json::Value& o = **obj;
  SlotInfo s;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"image", &s.image},
                          {"digest", &s.digest},
                          {"correlationID", &s.correlation_id},
                          {"installedAt", &s.installed_at}}) {
    auto v = OptString(o, path, key);
    if (!v) return v.error();
    *out = *v;
  }
  auto st = Require(o, path, "state", json::Type::kString);
  if (!st) return st.error();
  const std::string& word = (*st)->as_string();
  size_t i = 0;
  for (; i < 4; ++i) {
    if (word == kSlotStates[i]) break;
  }
  if (i == 4) {
    return FieldError(path + ".state",
                      "expected one of empty, good, trying, failed, got '" + word + "'");
  }
  s.state = static_cast<SlotState>(i);
  s.extra = Unknown(o, {"image", "digest", "correlationID", "installedAt", "state"});
  return s;
}

json::Value EncodeSlot(const SlotInfo& s) {
  json::Object o = s.extra;
  if (!s.image.empty()) o["image"] = s.image;
  if (!s.digest.empty()) o["digest"] = s.digest;
  if (!s.correlation_id.empty()) o["correlationID"] = s.correlation_id;
  if (!s.installed_at.empty()) o["installedAt"] = s.installed_at;
  o["state"] = SlotStateName(s.state);
  return o;
}

json::Value SlotValue(Slot s) { return s == Slot::kNone ? json::Value() : json::Value(SlotName(s)); }

}  // namespace

const char* SlotName(Slot s) {
  switch (s) {
    case Slot::kA: return "A";
    case Slot::kB: return "B";
    default: return "";
  }
}

Slot Other(Slot s) {
  switch (s) {
    case Slot::kA: return Slot::kB;
    case Slot::kB: return Slot::kA;
    default: return Slot::kNone;
  }
}

const char* SlotStateName(SlotState s) { return kSlotStates[static_cast<int>(s)]; }

bool Record::HasFailed(const std::string& correlation_id) const {
  return std::find(failed_correlation_ids.begin(), failed_correlation_ids.end(), correlation_id) !=
         failed_correlation_ids.end();
}

json::Value Encode(const Record& r) {
  json::Object o = r.extra;
  o["formatVersion"] = r.format_version;
  o["sequence"] = static_cast<int64_t>(r.sequence);
  o["slots"] = json::Object{{"A", EncodeSlot(r.a)}, {"B", EncodeSlot(r.b)}};
  o["active"] = SlotValue(r.active);
  if (r.pending_try) {
    o["try"] = json::Object{{"slot", SlotValue(r.pending_try->slot)},
                            {"triesLeft", r.pending_try->tries_left},
                            {"fallback", SlotValue(r.pending_try->fallback)}};
  }
  o["resetPending"] = r.reset_pending;
  o["resetPersistent"] = r.reset_persistent;
  o["resetOem"] = r.reset_oem;
  if (r.last_rollback) {
    const Rollback& rb = *r.last_rollback;
    o["lastRollback"] = json::Object{{"slot", SlotValue(rb.slot)},
                                     {"image", rb.image},
                                     {"correlationID", rb.correlation_id},
                                     {"reason", rb.reason},
                                     {"time", rb.time},
                                     {"reported", rb.reported}};
  }
  json::Array failed;
  for (const auto& id : r.failed_correlation_ids) failed.emplace_back(id);
  o["failedCorrelationIDs"] = std::move(failed);
  return o;
}

Expected<Record> Decode(const json::Value& doc) {
  if (!doc.is_object()) {
    return Error(std::string("slot state record: expected an object, got ") +
                 json::TypeName(doc.type()));
  }
  Record r;
  auto version = Require(doc, "", "formatVersion", json::Type::kNumber);
  if (!version) return version.error();
  auto ver = ParseInt(**version, "formatVersion", 1);
  if (!ver) return ver.error();
  if (*ver > kFormatVersion) {
    return FieldError("formatVersion", std::to_string(*ver) +
                                           " is newer than this agent reads (" +
                                           std::to_string(kFormatVersion) + ")");
  }
  r.format_version = *ver;

  auto seq = Require(doc, "", "sequence", json::Type::kNumber);
  if (!seq) return seq.error();
  auto seqv = ParseInt(**seq, "sequence", 0);
  if (!seqv) return seqv.error();
  r.sequence = static_cast<uint64_t>(*seqv);

  auto slots = Require(doc, "", "slots", json::Type::kObject);
  if (!slots) return slots.error();
  auto a = DecodeSlot(**slots, "A");
  if (!a) return a.error();
  auto b = DecodeSlot(**slots, "B");
  if (!b) return b.error();
  r.a = std::move(*a);
  r.b = std::move(*b);

  const json::Value* active = doc.Find("active");
  if (active == nullptr) return FieldError("active", "missing");
  auto act = ParseSlot(*active, "active", true);
  if (!act) return act.error();
  r.active = *act;

  if (const json::Value* t = doc.Find("try"); t != nullptr && !t->is_null()) {
    if (!t->is_object()) return FieldError("try", std::string("expected object, got ") + json::TypeName(t->type()));
    PendingTry pt;
    const json::Value* slot = t->Find("slot");
    if (slot == nullptr) return FieldError("try.slot", "missing");
    auto s = ParseSlot(*slot, "try.slot", false);
    if (!s) return s.error();
    pt.slot = *s;
    const json::Value* tries = t->Find("triesLeft");
    if (tries == nullptr) return FieldError("try.triesLeft", "missing");
    auto n = ParseInt(*tries, "try.triesLeft", 0);
    if (!n) return n.error();
    pt.tries_left = *n;
    const json::Value* fb = t->Find("fallback");
    if (fb == nullptr) return FieldError("try.fallback", "missing");
    auto f = ParseSlot(*fb, "try.fallback", false);
    if (!f) return f.error();
    pt.fallback = *f;
    r.pending_try = pt;
  }

  for (auto [key, out] : {std::pair<const char*, bool*>{"resetPending", &r.reset_pending},
                          {"resetPersistent", &r.reset_persistent},
                          {"resetOem", &r.reset_oem}}) {
    auto v = json::GetBool(doc, key);
    if (!v) return FieldError(key, "expected bool");
    *out = *v;
  }

  if (const json::Value* rb = doc.Find("lastRollback"); rb != nullptr && !rb->is_null()) {
    if (!rb->is_object()) {
      return FieldError("lastRollback", std::string("expected object, got ") + json::TypeName(rb->type()));
    }
    Rollback out;
    const json::Value* slot = rb->Find("slot");
    if (slot == nullptr) return FieldError("lastRollback.slot", "missing");
    auto s = ParseSlot(*slot, "lastRollback.slot", false);
    if (!s) return s.error();
    out.slot = *s;
    for (auto [key, dst] : {std::pair<const char*, std::string*>{"image", &out.image},
                            {"correlationID", &out.correlation_id},
                            {"reason", &out.reason},
                            {"time", &out.time}}) {
      auto v = OptString(*rb, "lastRollback", key);
      if (!v) return v.error();
      *dst = *v;
    }
    auto rep = json::GetBool(*rb, "reported");
    if (!rep) return FieldError("lastRollback.reported", "expected bool");
    out.reported = *rep;
    r.last_rollback = std::move(out);
  }

  if (const json::Value* f = doc.Find("failedCorrelationIDs"); f != nullptr && !f->is_null()) {
    if (!f->is_array()) {
      return FieldError("failedCorrelationIDs", std::string("expected array, got ") + json::TypeName(f->type()));
    }
    size_t i = 0;
    for (const auto& e : f->as_array()) {
      if (!e.is_string()) {
        return FieldError("failedCorrelationIDs[" + std::to_string(i) + "]",
                          std::string("expected string, got ") + json::TypeName(e.type()));
      }
      r.failed_correlation_ids.push_back(e.as_string());
      ++i;
    }
  }
  r.extra = Unknown(doc, {"formatVersion", "sequence", "slots", "active", "try", "resetPending",
                          "resetPersistent", "resetOem", "lastRollback", "failedCorrelationIDs"});
  if (auto st = Validate(r); !st) return st.error();
  return r;
}

Status Validate(const Record& r) {
  for (Slot s : {Slot::kA, Slot::kB}) {
    const SlotInfo& info = r.slot(s);
    if (info.state != SlotState::kEmpty && info.image.empty()) {
      return FieldError(std::string("slots.") + SlotName(s) + ".image",
                        std::string("missing for a slot in state ") + SlotStateName(info.state));
    }
  }
  if (r.active != Slot::kNone && r.slot(r.active).state != SlotState::kGood) {
    return FieldError("active", std::string("slot ") + SlotName(r.active) + " is " +
                                    SlotStateName(r.slot(r.active).state) + ", not good");
  }
  if (r.pending_try) {
    const PendingTry& t = *r.pending_try;
    if (r.active == Slot::kNone) return FieldError("try", "pending without an active slot");
    if (t.slot == r.active) {
      return FieldError("try.slot", std::string("must not be the active slot (") + SlotName(r.active) + ")");
    }
    if (t.fallback != r.active) {
      return FieldError("try.fallback", std::string("must be the active slot (") + SlotName(r.active) +
                                            "), got " + SlotName(t.fallback));
    }
    if (r.slot(t.slot).state != SlotState::kTrying) {
      return FieldError("try.slot", std::string("slot ") + SlotName(t.slot) + " is " +
                                        SlotStateName(r.slot(t.slot).state) + ", not trying");
    }
    if (t.tries_left < 0) return FieldError("try.triesLeft", "negative");
  }
  for (Slot s : {Slot::kA, Slot::kB}) {
    bool tried = r.pending_try && r.pending_try->slot == s;
    if (r.slot(s).state == SlotState::kTrying && !tried) {
      return FieldError(std::string("slots.") + SlotName(s) + ".state", "trying without a pending try");
    }
  }
  return Status::Ok();
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace elemental::slots
