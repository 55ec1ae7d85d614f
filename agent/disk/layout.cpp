// CreateLayout / OpenLayout / FormatLayout (see layout.hpp).
#include "disk/layout.hpp"

#include <climits>
#include <cstdlib>

#include "disk/device.hpp"
#include "disk/gpt.hpp"

namespace elemental::disk {

namespace {

const char* const kLabels[] = {kLabelEsp, kLabelOem, kLabelSystemA, kLabelSystemB,
                               kLabelPersistent};

FsType FsFor(const std::string& label) {
  return label == kLabelEsp ? FsType::kVfat : FsType::kExt4;
}

std::string BaseName(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Fills in layout.partitions from the table, with nodes for block devices.
Status Describe(const Device& dev, const GptTable& table, const SystemPaths& paths,
                DiskLayout* layout) {
  std::vector<LabeledPartition> nodes;
  if (dev.is_block_device()) {
    auto found = DiskPartitions(paths, BaseName(dev.path()));
    if (!found) return found.error();
    nodes = *found;
  }
  layout->disk = dev.path();
  layout->sector_size = table.sector_size;
  layout->partitions.clear();
  for (const char* label : kLabels) {
    const GptPartition* g = table.FindByName(label);
    if (g == nullptr) return Error("'" + dev.path() + "' has no " + label + " partition");
    LayoutPartition p;
    p.label = label;
    p.fs = FsFor(label);
    p.number = g->number;
    p.size_bytes = (g->last_lba - g->first_lba + 1) * table.sector_size;
    if (dev.is_block_device()) {
      for (const auto& n : nodes) {
        if (n.number == g->number) p.node = n.node;
      }
      if (p.node.empty()) {
        return Error("the kernel shows no partition " + std::to_string(g->number) + " (" + label +
                     ") of '" + dev.path() + "'");
      }
    }
    layout->partitions.push_back(p);
  }
  return Status::Ok();
}

Expected<std::string> RealPath(const std::string& p) {
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf) == nullptr) return ErrnoError("resolving '" + p + "'", errno);
  return std::string(buf);
}

}  // namespace

const LayoutPartition* DiskLayout::Find(const std::string& label) const {
  for (const auto& p : partitions) {
    if (p.label == label) return &p;
  }
  return nullptr;
}

Expected<DiskLayout> CreateLayout(const std::string& disk, const PartitionSizes& sizes,
                                  const SystemPaths& paths) {
  const std::string what = "partitioning '" + disk + "'";
  auto real = RealPath(disk);
  if (!real) return real.error().Wrap(what);
  auto dev = Device::Open(*real, OpenOptions{true, 512});
  if (!dev) return dev.error().Wrap(what);
  auto plan = MakePlan(dev->size_bytes(), dev->sector_size(), sizes);
  if (!plan) return plan.error().Wrap(what);
  auto table = TableFromPlan(*plan);
  if (!table) return table.error().Wrap(what);
  if (auto st = WriteGpt(*dev, *table); !st) return st.error().Wrap(what);
  if (auto st = ReloadPartitions(*dev, *table); !st) return st.error().Wrap(what);
  DiskLayout layout;
  if (auto st = Describe(*dev, *table, paths, &layout); !st) return st.error().Wrap(what);
  return layout;
}

Expected<DiskLayout> OpenLayout(const std::string& disk, const SystemPaths& paths) {
  const std::string what = "reading the layout of '" + disk + "'";
  auto real = RealPath(disk);
  if (!real) return real.error().Wrap(what);
  auto dev = Device::Open(*real);
  if (!dev) return dev.error().Wrap(what);
  auto table = ReadGpt(*dev);
  if (!table) return table.error().Wrap(what);
  DiskLayout layout;
  if (auto st = Describe(*dev, *table, paths, &layout); !st) {
    if (!dev->is_block_device()) return st.error().Wrap(what);
    // A kernel without a GPT parser, or a loop device attached just now,
    // shows no partitions yet: add them, then look again.
    if (auto added = ReloadPartitions(*dev, *table); !added) {
      return Error(what + ": " + st.error().message() + "; " + added.error().message());
    }
    if (auto again = Describe(*dev, *table, paths, &layout); !again) {
      return again.error().Wrap(what);
    }
  }
  return layout;
}

Status FormatPartition(ProcessRunner& runner, const FormatTools& tools, const DiskLayout& layout,
                       const std::string& label) {
  const LayoutPartition* p = layout.Find(label);
  if (p == nullptr) return Error("formatting: the layout of '" + layout.disk + "' has no " + label);
  if (p->node.empty()) {
    return Error("formatting " + label + ": '" + layout.disk +
                 "' is an image file; its partitions have no device nodes (attach it to a loop "
                 "device)");
  }
  return MakeFilesystem(runner, tools, p->fs, p->node, p->label);
}

Status FormatLayout(ProcessRunner& runner, const FormatTools& tools, const DiskLayout& layout) {
  for (const auto& p : layout.partitions) {
    if (auto st = FormatPartition(runner, tools, layout, p.label); !st) return st;
  }
  return Status::Ok();
}

}  // namespace elemental::disk
