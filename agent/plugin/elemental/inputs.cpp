// Decoding of the native plugin's inputs (see inputs.hpp).
#include "plugin/elemental/inputs.hpp"

#include "oci/digest.hpp"

namespace elemental::plugin::native {
namespace {

Status ExpectObject(const json::Value& v, const std::string& what) {
  if (v.is_null() || v.is_object()) return Status::Ok();
  return Error(what + ": expected an object, got " + json::TypeName(v.type()));
}

Expected<uint64_t> SizeMiB(const json::Value& partitions, const std::string& name) {
  const json::Value* p = partitions.Find(name);
  if (p == nullptr || p->is_null()) return uint64_t{0};
  if (!p->is_object()) {
    return Error("partitions." + name + ": expected an object with 'size', got " +
                 json::TypeName(p->type()));
  }
  auto size = json::GetInt(*p, "size", 0);
  if (!size) return size.error().Wrap("partitions." + name);
  if (*size < 0) return Error("partitions." + name + ".size: must not be negative");
  return static_cast<uint64_t>(*size);
}

}  // namespace

Expected<InstallInput> ParseInstallInput(const json::Value& v) {
  if (Status st = ExpectObject(v, "install config"); !st) return st.error();
  InstallInput in;
  if (v.is_null()) return in;
  auto device = json::GetString(v, "device");
  if (!device) return device.error().Wrap("install config");
  in.device = *device;
  auto no_format = json::GetBool(v, "noFormat");
  if (!no_format) return no_format.error().Wrap("install config");
  in.no_format = *no_format;
  auto uri = json::GetString(v, "systemUri");
  if (!uri) return uri.error().Wrap("install config");
  in.system_uri = *uri;
  auto debug = json::GetBool(v, "debug");
  if (!debug) return debug.error().Wrap("install config");
  in.debug = *debug;
  if (const json::Value* urls = v.Find("configUrls"); urls != nullptr && !urls->is_null()) {
    if (!urls->is_array()) {
      return Error("install config: field 'configUrls': expected array, got " +
                   std::string(json::TypeName(urls->type())));
    }
    for (size_t i = 0; i < urls->as_array().size(); ++i) {
      const json::Value& u = urls->as_array()[i];
      if (!u.is_string()) {
        return Error("install config: configUrls[" + std::to_string(i) +
                     "]: expected string, got " + json::TypeName(u.type()));
      }
      in.config_urls.push_back(u.as_string());
    }
  }
  if (const json::Value* parts = v.Find("partitions"); parts != nullptr && !parts->is_null()) {
    if (!parts->is_object()) {
      return Error("install config: field 'partitions': expected object, got " +
                   std::string(json::TypeName(parts->type())));
    }
    // elemental-toolkit calls the ESP "efi"; "grub" names it after its label.
    for (const char* key : {"efi", "grub"}) {
      auto s = SizeMiB(*parts, key);
      if (!s) return s.error().Wrap("install config");
      if (*s != 0) in.partitions.grub_mib = *s;
    }
    auto oem = SizeMiB(*parts, "oem");
    if (!oem) return oem.error().Wrap("install config");
    in.partitions.oem_mib = *oem;
    auto system = SizeMiB(*parts, "system");
    if (!system) return system.error().Wrap("install config");
    in.partitions.system_mib = *system;
    auto persistent = SizeMiB(*parts, "persistent");
    if (!persistent) return persistent.error().Wrap("install config");
    in.partitions.persistent_mib = *persistent;
  }
  return in;
}

Expected<ResetInput> ParseResetInput(const json::Value& v) {
  if (Status st = ExpectObject(v, "reset config"); !st) return st.error();
  ResetInput in;
  if (v.is_null()) return in;
  auto enabled = json::GetBool(v, "enabled");
  if (!enabled) return enabled.error().Wrap("reset config");
  in.enabled = *enabled;
  auto persistent = json::GetBool(v, "resetPersistent");
  if (!persistent) return persistent.error().Wrap("reset config");
  in.reset_persistent = *persistent;
  auto oem = json::GetBool(v, "resetOem");
  if (!oem) return oem.error().Wrap("reset config");
  in.reset_oem = *oem;
  auto uri = json::GetString(v, "systemUri");
  if (!uri) return uri.error().Wrap("reset config");
  in.system_uri = *uri;
  auto debug = json::GetBool(v, "debug");
  if (!debug) return debug.error().Wrap("reset config");
  in.debug = *debug;
  return in;
}

Expected<OsVersionInput> ParseOsVersionInput(const json::Value& v) {
  if (Status st = ExpectObject(v, "osVersionManagement"); !st) return st.error();
  OsVersionInput in;
  if (v.is_null()) return in;
  const json::Value* os = v.Find("osVersion");
  if (os != nullptr && !os->is_null()) {
    if (!os->is_object()) {
      return Error("osVersionManagement: field 'osVersion': expected object, got " +
                   std::string(json::TypeName(os->type())));
    }
    auto uri = json::GetString(*os, "imageUri");
    if (!uri) return uri.error().Wrap("osVersionManagement.osVersion");
    in.image_uri = *uri;
    auto debug = json::GetBool(*os, "debug");
    if (!debug) return debug.error().Wrap("osVersionManagement.osVersion");
    in.debug = *debug;
  }
  // Upstream hashes the JSON of the whole osVersionManagement map (keys
  // sorted, compact), which is what Dump() prints.
  std::string digest = oci::DigestOf(v.Dump());
  in.correlation_id = digest.substr(digest.find(':') + 1);
  return in;
}

}  // namespace elemental::plugin::native
