// Manifest and index decoding (see manifest.hpp).
#include "oci/manifest.hpp"

#include "oci/digest.hpp"

namespace elemental::oci {
namespace {

std::string PlatformString(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

Expected<Descriptor> ParseDescriptor(const json::Value& v, const std::string& where) {
  if (!v.is_object()) return Error(where + ": expected object");
  Descriptor d;
  auto mt = json::GetString(v, "mediaType");
  if (!mt) return mt.error().Wrap(where);
  d.media_type = *mt;
  auto dg = json::GetString(v, "digest");
  if (!dg) return dg.error().Wrap(where);
  d.digest = *dg;
  if (auto st = ValidateDigest(d.digest); !st) return st.error().Wrap(where);
  auto sz = json::GetInt(v, "size", -1);
  if (!sz) return sz.error().Wrap(where);
  if (*sz < 0) return Error(where + ": missing or negative size");
  d.size = *sz;
  if (const json::Value* p = v.Find("platform"); p != nullptr && p->is_object()) {
    auto os = json::GetString(*p, "os");
    auto arch = json::GetString(*p, "architecture");
    auto var = json::GetString(*p, "variant");
    if (!os) return os.error().Wrap(where + ": platform");
    if (!arch) return arch.error().Wrap(where + ": platform");
    if (!var) return var.error().Wrap(where + ": platform");
    d.platform = Platform{*os, *arch, *var};
  } else {
    d.platform = Platform{"", "", ""};
  }
  return d;
}

Expected<Compression> LayerCompression(const std::string& mt) {
  if (mt == "application/vnd.oci.image.layer.v1.tar" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar") {
    return Compression::kNone;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    return Compression::kGzip;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+zstd" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar.zstd") {
    return Compression::kZstd;
  }
  return Error("unsupported layer media type '" + mt + "'");
}

}  // namespace

std::string ManifestAccept() {
  return std::string(kOciIndex) + ", " + kOciManifest + ", " + kDockerList + ", " +
         kDockerManifest;
}

Expected<Platform> ParsePlatform(const std::string& text) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto end = text.find('/', start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  bool ok = parts.size() >= 2 && parts.size() <= 3;
  for (const auto& part : parts) ok = ok && !part.empty();
  if (!ok) return Error("invalid platform '" + text + "': expected os/arch[/variant]");
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

bool IsIndexType(const std::string& media_type) {
  return media_type == kOciIndex || media_type == kDockerList;
}

std::string DetectMediaType(const std::string& content_type, const json::Value& doc) {
  std::string ct = content_type.substr(0, content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  for (const char* known : {kOciIndex, kOciManifest, kDockerList, kDockerManifest}) {
    if (ct == known) return ct;
  }
  if (const json::Value* mt = doc.Find("mediaType"); mt != nullptr && mt->is_string()) {
    return mt->as_string();
  }
  if (doc.Find("manifests") != nullptr) return kOciIndex;
  return kOciManifest;
}

Expected<std::vector<Descriptor>> ParseIndex(const json::Value& doc) {
  const json::Value* list = doc.Find("manifests");
  if (list == nullptr || !list->is_array()) return Error("index: field 'manifests': expected array");
  std::vector<Descriptor> out;
  for (size_t i = 0; i < list->as_array().size(); ++i) {
    auto d = ParseDescriptor(list->as_array()[i], "index: manifests[" + std::to_string(i) + "]");
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

Expected<Descriptor> SelectPlatform(const std::vector<Descriptor>& entries, const Platform& want) {
  const Descriptor* best = nullptr;
  std::string available;
  for (const auto& d : entries) {
    if (!d.platform.os.empty()) {
      if (!available.empty()) available += ", ";
      available += PlatformString(d.platform);
    }
    if (d.platform.os != want.os || d.platform.architecture != want.architecture) continue;
    if (!want.variant.empty()) {
      if (d.platform.variant == want.variant) return d;
      continue;
    }
    if (best == nullptr || (!best->platform.variant.empty() && d.platform.variant.empty())) {
      best = &d;
    }
  }
  if (best != nullptr) return *best;
  return Error("no manifest for platform " + PlatformString(want) + " (available: " +
               (available.empty() ? "none" : available) + ")");
}

Expected<Manifest> ParseManifest(const json::Value& doc) {
  if (!doc.is_object()) return Error("manifest: expected object");
  Manifest m;
  const json::Value* cfg = doc.Find("config");
  if (cfg == nullptr) return Error("manifest: missing field 'config'");
  auto c = ParseDescriptor(*cfg, "manifest: config");
  if (!c) return c.error();
  m.config = std::move(*c);
  const json::Value* layers = doc.Find("layers");
  if (layers == nullptr || !layers->is_array()) {
    return Error("manifest: field 'layers': expected array");
  }
  for (size_t i = 0; i < layers->as_array().size(); ++i) {
    auto d = ParseDescriptor(layers->as_array()[i], "manifest: layers[" + std::to_string(i) + "]");
    if (!d) return d.error();
    auto comp = LayerCompression(d->media_type);
    if (!comp) return comp.error().Wrap("manifest: layers[" + std::to_string(i) + "]");
    m.layers.push_back(Layer{std::move(*d), *comp});
  }
  return m;
}

}  // namespace elemental::oci
