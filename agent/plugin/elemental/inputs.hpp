// The native plugin's inputs, decoded from the schemaless JSON the API sends
// (ElementalMachineRegistration `elemental.install` / `elemental.reset`, the
// host's `osVersionManagement`). Field names are upstream's
// (internal/agent/elementalcli); unknown fields are ignored as upstream's
// json.Unmarshal does, wrong types are errors naming the field.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/expected.hpp"
#include "common/json.hpp"

namespace elemental::plugin::native {

// Partition sizes in MiB, as elemental-toolkit's `partitions.<name>.size`.
// 0 = the default (persistent: the rest of the disk).
struct PartitionSizes {
  uint64_t grub_mib = 0;
  uint64_t oem_mib = 0;
  uint64_t system_mib = 0;  // each of COS_SYSTEM_A and COS_SYSTEM_B
  uint64_t persistent_mib = 0;
};

struct InstallInput {
  std::string device;      // path or /dev/disk/by-* link; "" = the selection rule
  bool no_format = false;  // keep the existing partitions (found by label)
  std::string system_uri;  // oci://... (or bare reference) of the OS image
  std::vector<std::string> config_urls;  // extra cloud-configs to copy to COS_OEM (files)
  bool debug = false;
  PartitionSizes partitions;
};

struct ResetInput {
  bool enabled = false;
  bool reset_persistent = false;
  bool reset_oem = false;
  std::string system_uri;  // "" = reinstall what the slots had
  bool debug = false;
};

struct OsVersionInput {
  std::string image_uri;  // "" = nothing to do
  bool debug = false;
  // SHA-256 (hex) of the whole osVersionManagement JSON, as upstream computes
  // it: the value recorded with the slot so the same request is not applied
  // twice.
  std::string correlation_id;
};

Expected<InstallInput> ParseInstallInput(const json::Value& v);
Expected<ResetInput> ParseResetInput(const json::Value& v);
Expected<OsVersionInput> ParseOsVersionInput(const json::Value& v);

}  // namespace elemental::plugin::native
