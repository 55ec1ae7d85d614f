// The whole disk path on a real loop device (needs root, as the test run
// has): attach a sparse image with partition scanning, write the GPT, make
// the kernel see the partitions, make every filesystem with the host's
// tools through the disk module, check them with e2fsck/fsck.vfat, find
// partitions by label through the real /sys, mount one, detach. The loop
// device and the mount are released even when an assertion fails.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <thread>

#include "common/json.hpp"
#include "disk/device.hpp"
#include "disk/format.hpp"
#include "disk/gpt.hpp"
#include "disk/layout.hpp"
#include "disk/loop.hpp"
#include "disk/plan.hpp"
#include "disk/select.hpp"
#include "disk/sysfs.hpp"
#include "disk_test_util.hpp"

namespace elemental::disk {
namespace {

using testing::MakeSparse;
using testing::Sh;
using testing::TempDir;

bool Exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

// Polls until `path` exists or the deadline passes (device nodes appear
// asynchronously with udev; devtmpfs alone creates them synchronously).
bool WaitFor(const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class Unmounter {
 public:
  explicit Unmounter(Mounter& m) : m_(m) {}
  ~Unmounter() {
    if (target_) (void)m_.Unmount(*target_);
  }
  std::optional<std::string> target_;

 private:
  Mounter& m_;
};

TEST(DiskLoopTest, InstallLayoutOnLoopDevice) {
  ASSERT_EQ(geteuid(), 0u) << "this test attaches loop devices and needs root";
  TempDir tmp;
  std::string image = tmp.path() + "/disk.img";
  PartitionSizes sizes{64, 64, 256, 64};
  const uint64_t bytes = MinimumDiskBytes(sizes) + 64 * kMiB;
  MakeSparse(image, bytes);

  auto loop = LoopDevice::Attach(image);
  ASSERT_TRUE(loop) << loop.error().message();
  // The loop device goes away with `loop` on every exit from this test.
  ASSERT_TRUE(WaitFor(loop->path()));
  {
    std::ifstream ps("/sys/block/" + loop->name() + "/loop/partscan");
    std::string v;
    ps >> v;
    EXPECT_EQ(v, "1");
  }

  std::optional<Device> dev;
  {
    auto opened = Device::Open(loop->path(), OpenOptions{true, 512});
    ASSERT_TRUE(opened) << opened.error().message();
    dev.emplace(std::move(*opened));
  }
  EXPECT_TRUE(dev->is_block_device());
  EXPECT_EQ(dev->size_bytes(), bytes);
  auto plan = MakePlan(dev->size_bytes(), dev->sector_size(), sizes);
  ASSERT_TRUE(plan) << plan.error().message();
  auto table = TableFromPlan(*plan);
  ASSERT_TRUE(table);
  // A label no other disk on this machine has, for FindPartitionByLabel
  // over the real /sys (other tests may have COS_* loop disks attached).
  const std::string unique = "T" + std::to_string(getpid()) + "_" + loop->name();
  table->partitions[4].name = unique;
  ASSERT_TRUE(WriteGpt(*dev, *table));
  auto st = ReloadPartitions(*dev, *table);
  ASSERT_TRUE(st) << st.error().message();
  // Twice is fine (partitions already there).
  st = ReloadPartitions(*dev, *table);
  ASSERT_TRUE(st) << st.error().message();

  // Our exclusive handle on the disk would make mkfs and mount fail with
  // EBUSY: release it, as CreateLayout does.
  dev.reset();

  SystemPaths sys;  // the real /sys, /dev, /proc/self/mountinfo
  auto parts = DiskPartitions(sys, loop->name());
  ASSERT_TRUE(parts) << parts.error().message();
  ASSERT_EQ(parts->size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ((*parts)[i].node, "/dev/" + PartitionName(loop->name(), static_cast<int>(i + 1)));
    EXPECT_EQ((*parts)[i].size_bytes, plan->partitions[i].size_bytes);
    ASSERT_TRUE(WaitFor((*parts)[i].node)) << (*parts)[i].node;
  }
  EXPECT_EQ((*parts)[1].label, "COS_OEM");
  auto found = FindPartitionByLabel(sys, unique);
  ASSERT_TRUE(found) << found.error().message();
  EXPECT_EQ(*found, (*parts)[4].node);

  ExecProcessRunner runner;
  FormatTools tools{"/sbin"};
  for (size_t i = 0; i < 5; ++i) {
    const auto& p = plan->partitions[i];
    st = MakeFilesystem(runner, tools, p.fs, (*parts)[i].node, p.label);
    ASSERT_TRUE(st) << st.error().message();
  }
  for (size_t i = 1; i < 5; ++i) {
    auto fsck = Sh("e2fsck -fn " + (*parts)[i].node + " 2>&1");
    EXPECT_EQ(fsck.status, 0) << fsck.output;
    EXPECT_EQ(Sh("e2label " + (*parts)[i].node).output, plan->partitions[i].label + "\n");
  }
  auto vfat = Sh("fsck.vfat -n " + (*parts)[0].node + " 2>&1");
  EXPECT_EQ(vfat.status, 0) << vfat.output;

  // Mount COS_OEM (ext4; this kernel may lack vfat), write, unmount, check.
  SyscallMounter mounter;
  std::string mnt = tmp.path() + "/mnt";
  ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
  {
    Unmounter guard(mounter);
    st = mounter.Mount((*parts)[1].node, mnt, "ext4", false);
    ASSERT_TRUE(st) << st.error().message();
    guard.target_ = mnt;
    { std::ofstream(mnt + "/hello") << "hi\n"; }
    // A disk with a mounted partition is not repartitioned.
    auto busy = Device::Open(loop->path(), OpenOptions{true, 512});
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error().message(), "'" + loop->path() +
                                          "' is in use (a partition is mounted, or another "
                                          "program holds it)");
    auto again = CreateLayout(loop->path(), sizes);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), EBUSY);
    st = mounter.Unmount(mnt);
    ASSERT_TRUE(st) << st.error().message();
    guard.target_.reset();
  }
  auto bad = mounter.Unmount(mnt);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "unmounting '" + mnt + "': Invalid argument");
  EXPECT_NE(Sh("debugfs -R 'cat /hello' " + (*parts)[1].node + " 2>/dev/null").output.find("hi"),
            std::string::npos);
  auto fsck = Sh("e2fsck -fn " + (*parts)[1].node + " 2>&1");
  EXPECT_EQ(fsck.status, 0) << fsck.output;

  std::string name = loop->name();
  st = loop->Detach();
  ASSERT_TRUE(st) << st.error().message();
  // Autoclear/clear-fd: the backing file is gone from the device.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Exists("/sys/block/" + name + "/loop/backing_file") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Exists("/sys/block/" + name + "/loop/backing_file"));
}

TEST(DiskLoopTest, ReloadOnLoopWithoutPartscanIsAClearError) {
  ASSERT_EQ(geteuid(), 0u) << "this test attaches loop devices and needs root";
  TempDir tmp;
  std::string image = tmp.path() + "/d.img";
  MakeSparse(image, 16 * kMiB);
  // losetup without -P: no partition scanning.
  auto out = Sh("losetup -f --show " + image);
  ASSERT_EQ(out.status, 0);
  std::string path = out.output.substr(0, out.output.find('\n'));
  struct Detach {
    std::string p;
    ~Detach() { Sh("losetup -d " + p); }
  } detach{path};
  auto dev = Device::Open(path, OpenOptions{true, 512});
  ASSERT_TRUE(dev) << dev.error().message();
  auto plan = MakePlan(16 * kMiB, 512, PartitionSizes{1, 1, 1, 1});
  ASSERT_TRUE(plan);
  auto table = TableFromPlan(*plan);
  ASSERT_TRUE(table);
  ASSERT_TRUE(WriteGpt(*dev, *table));
  auto st = ReloadPartitions(*dev, *table);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "re-reading the partition table of '" + path +
                                      "': the device does not support partitions (a loop "
                                      "device needs LO_FLAGS_PARTSCAN)");
}

TEST(DiskLoopTest, AttachMissingImage) {
  auto loop = LoopDevice::Attach("/nonexistent/disk.img");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().message(),
            "attaching '/nonexistent/disk.img' to a loop device: opening the image: No such file "
            "or directory");
}

}  // namespace
}  // namespace elemental::disk

namespace elemental::disk {
namespace {

// 4096-byte logical sectors: the sector size comes from BLKSSZGET, and
// sfdisk/sgdisk (which read the device's sector size) accept the table.
TEST(DiskLoopTest, FourKSectorLoopDevice) {
  ASSERT_EQ(geteuid(), 0u) << "this test attaches loop devices and needs root";
  TempDir tmp;
  std::string image = tmp.path() + "/4k.img";
  const uint64_t bytes = 8 * kGiB;
  MakeSparse(image, bytes);
  LoopOptions o;
  o.block_size = 4096;
  auto loop = LoopDevice::Attach(image, o);
  ASSERT_TRUE(loop) << loop.error().message();
  ASSERT_TRUE(WaitFor(loop->path()));
  {
    auto dev = Device::Open(loop->path(), OpenOptions{true, 512});
    ASSERT_TRUE(dev) << dev.error().message();
    EXPECT_EQ(dev->sector_size(), 4096u);
    auto plan = MakePlan(dev->size_bytes(), dev->sector_size());
    ASSERT_TRUE(plan) << plan.error().message();
    auto table = TableFromPlan(*plan);
    ASSERT_TRUE(table);
    ASSERT_TRUE(WriteGpt(*dev, *table));
    auto sg = Sh("sgdisk -v " + loop->path());
    EXPECT_EQ(sg.status, 0) << sg.output;
    EXPECT_NE(sg.output.find("No problems found"), std::string::npos) << sg.output;
    auto sf = Sh("sfdisk --json " + loop->path());
    ASSERT_EQ(sf.status, 0) << sf.output;
    auto json = json::Parse(sf.output);
    ASSERT_TRUE(json) << json.error().message();
    const json::Value* pt = json->Find("partitiontable");
    ASSERT_NE(pt, nullptr);
    EXPECT_EQ(pt->Find("sectorsize")->as_number(), 4096);
    EXPECT_EQ(pt->Find("label")->as_string(), "gpt");
    const auto& sparts = pt->Find("partitions")->as_array();
    ASSERT_EQ(sparts.size(), plan->partitions.size());
    for (size_t i = 0; i < sparts.size(); ++i) {
      const auto& p = plan->partitions[i];
      EXPECT_EQ(sparts[i].Find("name")->as_string(), p.label);
      EXPECT_EQ(sparts[i].Find("type")->as_string(), p.type.ToString());
      EXPECT_EQ(static_cast<uint64_t>(sparts[i].Find("start")->as_number()), p.first_lba);
      EXPECT_EQ(static_cast<uint64_t>(sparts[i].Find("size")->as_number()),
                p.last_lba - p.first_lba + 1);
    }
    auto back = ReadGpt(*dev);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->sector_size, 4096u);
    EXPECT_EQ(back->partitions.size(), 5u);
    auto st = ReloadPartitions(*dev, *table);
    ASSERT_TRUE(st) << st.error().message();
    auto parts = DiskPartitions(SystemPaths{}, loop->name());
    ASSERT_TRUE(parts) << parts.error().message();
    ASSERT_EQ(parts->size(), 5u);
    EXPECT_EQ((*parts)[2].label, "COS_SYSTEM_A");
    EXPECT_EQ((*parts)[2].size_bytes, 3072 * kMiB);
  }
  ASSERT_TRUE(loop->Detach());
}

}  // namespace
}  // namespace elemental::disk

namespace elemental::disk {
namespace {

// The calls the plugin makes, on a loop device: CreateLayout, FormatLayout,
// then OpenLayout finds the same nodes (as after a reboot or with noFormat).
TEST(DiskLoopTest, LayoutCallsOnLoopDevice) {
  ASSERT_EQ(geteuid(), 0u) << "this test attaches loop devices and needs root";
  TempDir tmp;
  std::string image = tmp.path() + "/disk.img";
  PartitionSizes sizes{64, 16, 32, 16};
  MakeSparse(image, MinimumDiskBytes(sizes));
  auto loop = LoopDevice::Attach(image);
  ASSERT_TRUE(loop) << loop.error().message();
  ASSERT_TRUE(WaitFor(loop->path()));
  auto layout = CreateLayout(loop->path(), sizes);
  ASSERT_TRUE(layout) << layout.error().message();
  ASSERT_EQ(layout->partitions.size(), 5u);
  for (const auto& p : layout->partitions) ASSERT_TRUE(WaitFor(p.node)) << p.node;
  EXPECT_EQ(layout->Find("COS_SYSTEM_A")->node, "/dev/" + PartitionName(loop->name(), 3));
  // `device` must be a whole disk.
  auto whole = ChooseInstallDisk(loop->path(), 0);
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(*whole, loop->path());
  const std::string part = layout->Find("COS_OEM")->node;
  auto partition = ChooseInstallDisk(part, 0);
  ASSERT_FALSE(partition);
  EXPECT_EQ(partition.error().message(),
            "install device '" + part + "' is a partition ('" + part + "'), not a whole disk");
  ExecProcessRunner runner;
  auto st = FormatLayout(runner, FormatTools{"/sbin"}, *layout);
  ASSERT_TRUE(st) << st.error().message();
  for (const auto& p : layout->partitions) {
    auto label = Sh("blkid -p -o value -s LABEL " + p.node);
    EXPECT_EQ(label.output, p.label + "\n") << p.node;
    auto type = Sh("blkid -p -o value -s TYPE " + p.node);
    EXPECT_EQ(type.output, std::string(FsTypeName(p.fs)) + "\n") << p.node;
  }
  auto fsck = Sh("e2fsck -fn " + layout->Find("COS_PERSISTENT")->node + " 2>&1");
  EXPECT_EQ(fsck.status, 0) << fsck.output;
  auto opened = OpenLayout(loop->path());
  ASSERT_TRUE(opened) << opened.error().message();
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(opened->partitions[i].node, layout->partitions[i].node);
  }
}

}  // namespace
}  // namespace elemental::disk
