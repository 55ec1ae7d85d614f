// libFuzzer target: image reference parsing (oci/reference).
//
// Any input may be refused, with the documented error wording. An accepted
// reference must be well formed by an independent reading of the
// distribution spec's grammar (written here as regular expressions, not
// shared with reference.cpp), and must print and re-parse to itself, with
// and without the oci:// prefix. A broken property aborts with the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

#include "oci/reference.hpp"

namespace {

using elemental::oci::ParseReference;
using elemental::oci::Reference;

// host [':' port]: DNS-style labels (letters, digits, inner '-') joined by
// '.', or an IPv6 address in brackets.
const std::regex kRegistry(
    "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    "|\\[[a-fA-F0-9:.]+\\])(?::[0-9]{1,5})?");
// path-component ('/' path-component)*; components are lowercase
// alphanumerics joined by one '.', one '_', '__' or a run of '-'.
const std::regex kRepository(
    "[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*");
const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
const std::regex kDigest("sha256:[a-f0-9]{64}");

// The input with control and non-ASCII bytes as \xNN, for reports.
std::string Printable(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

[[noreturn]] void Fail(const std::string& input, const std::string& what) {
  std::fprintf(stderr, "fuzz_reference: %s\n  input: '%s'\n", Printable(what).c_str(),
               Printable(input).c_str());
  std::abort();
}

std::string Show(const Reference& r) {
  return "registry='" + r.registry + "' repository='" + r.repository + "' tag='" + r.tag +
         "' digest='" + r.digest + "'";
}

bool Same(const Reference& a, const Reference& b) {
  return a.registry == b.registry && a.repository == b.repository && a.tag == b.tag &&
         a.digest == b.digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto ref = ParseReference(text);
  if (!ref) {
    const std::string& msg = ref.error().message();
    if (msg.rfind("invalid image reference '" + text + "': ", 0) != 0) {
      Fail(text, "error does not name the reference: " + msg);
    }
    return 0;
  }
  if (!std::regex_match(ref->registry, kRegistry)) Fail(text, "bad registry: " + Show(*ref));
  if (!std::regex_match(ref->repository, kRepository)) {
    Fail(text, "bad repository: " + Show(*ref));
  }
  if (!ref->tag.empty() && !std::regex_match(ref->tag, kTag)) Fail(text, "bad tag: " + Show(*ref));
  if (!ref->digest.empty() && !std::regex_match(ref->digest, kDigest)) {
    Fail(text, "bad digest: " + Show(*ref));
  }
  if (ref->tag.empty() && ref->digest.empty()) Fail(text, "neither tag nor digest: " + Show(*ref));
  if (ref->ManifestRef() != (ref->digest.empty() ? ref->tag : ref->digest)) {
    Fail(text, "manifest reference is neither digest nor tag: " + Show(*ref));
  }
  if (ref->registry == "docker.io" && ref->repository.find('/') == std::string::npos) {
    Fail(text, "Docker Hub repository without a namespace: " + Show(*ref));
  }

  const std::string printed = ref->String();
  for (const std::string& again_text : {printed, "oci://" + printed}) {
    auto again = ParseReference(again_text);
    if (!again) Fail(text, "printed form '" + again_text + "' is refused: " + again.error().message());
    if (!Same(*ref, *again)) {
      Fail(text, "printed form '" + again_text + "' parses differently: " + Show(*ref) + " vs " +
                     Show(*again));
    }
  }
  return 0;
}
