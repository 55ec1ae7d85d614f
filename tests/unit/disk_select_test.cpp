// Tests for the sysfs scanner, partitions by label and the install disk
// rule, over fake /sys, /dev and mountinfo trees in a temp dir (the "disks"
// under the fake /dev are sparse image files).
#include "disk/select.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>

#include "disk/gpt.hpp"
#include "disk/plan.hpp"
#include "disk/sysfs.hpp"
#include "disk_test_util.hpp"

namespace elemental::disk {
namespace {

using testing::MakeSparse;
using testing::TempDir;

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path);
  f << text;
}

class FakeSystem {
 public:
  FakeSystem() {
    paths.sysfs = tmp.path() + "/sys";
    paths.dev = tmp.path() + "/dev";
    paths.mountinfo = tmp.path() + "/mountinfo";
    std::filesystem::create_directories(paths.sysfs + "/block");
    std::filesystem::create_directories(paths.dev);
    WriteText(paths.mountinfo, "");
  }
  // A whole disk; its /dev node is a sparse image file of the same size.
  void AddDisk(const std::string& name, uint64_t bytes, const std::string& devnum,
               bool removable = false, bool ro = false, const std::string& model = "") {
    std::string d = paths.sysfs + "/block/" + name;
    WriteText(d + "/size", std::to_string(bytes / 512) + "\n");
    WriteText(d + "/dev", devnum + "\n");
    WriteText(d + "/removable", removable ? "1\n" : "0\n");
    WriteText(d + "/ro", ro ? "1\n" : "0\n");
    if (!model.empty()) WriteText(d + "/device/model", model + "\n");
    MakeSparse(paths.dev + "/" + name, bytes);
  }
  void AddPartition(const std::string& disk, int n, uint64_t start, uint64_t sectors,
                    const std::string& devnum) {
    std::string name = PartitionName(disk, n);
    std::string d = paths.sysfs + "/block/" + disk + "/" + name;
    WriteText(d + "/partition", std::to_string(n) + "\n");
    WriteText(d + "/start", std::to_string(start) + "\n");
    WriteText(d + "/size", std::to_string(sectors) + "\n");
    WriteText(d + "/dev", devnum + "\n");
  }
  // Writes the layout to the disk image and shows its partitions in sysfs
  // as the kernel would.
  GptTable Install(const std::string& disk, uint64_t bytes, int major) {
    auto plan = MakePlan(bytes, 512, PartitionSizes{4, 4, 8, 4});
    EXPECT_TRUE(plan);
    auto dev = Device::Open(paths.dev + "/" + disk, OpenOptions{true, 512});
    EXPECT_TRUE(dev);
    auto t = TableFromPlan(*plan);
    EXPECT_TRUE(t);
    EXPECT_TRUE(WriteGpt(*dev, *t));
    for (const auto& p : t->partitions) {
      AddPartition(disk, p.number, p.first_lba, p.last_lba - p.first_lba + 1,
                   std::to_string(major) + ":" + std::to_string(p.number));
    }
    return *t;
  }
  void Mount(const std::string& devnum, const std::string& where) {
    std::ofstream f(paths.mountinfo, std::ios::app);
    f << "30 1 " << devnum << " / " << where << " rw,relatime shared:1 - ext4 /dev/x rw\n";
  }

  TempDir tmp;
  SystemPaths paths;
};

TEST(DiskSysfsTest, PartitionNames) {
  EXPECT_EQ(PartitionName("sda", 1), "sda1");
  EXPECT_EQ(PartitionName("vda", 12), "vda12");
  EXPECT_EQ(PartitionName("nvme0n1", 1), "nvme0n1p1");
  EXPECT_EQ(PartitionName("loop0", 3), "loop0p3");
  EXPECT_EQ(PartitionName("mmcblk0", 2), "mmcblk0p2");
}

TEST(DiskSysfsTest, ScanListsDisksAndPartitions) {
  FakeSystem fs;
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  fs.AddPartition("vda", 1, 2048, 4096, "253:1");
  fs.AddDisk("nvme0n1", 64 * kMiB, "259:0");
  fs.AddPartition("nvme0n1", 2, 8192, 2048, "259:2");
  auto devs = ScanBlockDevices(fs.paths);
  ASSERT_TRUE(devs) << devs.error().message();
  ASSERT_EQ(devs->size(), 4u);
  EXPECT_EQ((*devs)[0].name, "nvme0n1");
  EXPECT_FALSE((*devs)[0].is_partition);
  EXPECT_EQ((*devs)[0].size_bytes, 64 * kMiB);
  EXPECT_EQ((*devs)[1].name, "nvme0n1p2");
  EXPECT_TRUE((*devs)[1].is_partition);
  EXPECT_EQ((*devs)[1].parent, "nvme0n1");
  EXPECT_EQ((*devs)[1].partition_number, 2);
  EXPECT_EQ((*devs)[1].start_sector, 8192u);
  EXPECT_EQ((*devs)[1].node, fs.paths.dev + "/nvme0n1p2");
  EXPECT_EQ((*devs)[1].devnum, "259:2");
  EXPECT_EQ((*devs)[3].name, "vda1");
  EXPECT_EQ((*devs)[3].size_bytes, 4096u * 512);
}

TEST(DiskSysfsTest, GarbageAttributeIsAnError) {
  FakeSystem fs;
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  WriteText(fs.paths.sysfs + "/block/vda/size", "lots\n");
  auto devs = ScanBlockDevices(fs.paths);
  ASSERT_FALSE(devs);
  EXPECT_EQ(devs.error().message(),
            "sysfs attribute '" + fs.paths.sysfs + "/block/vda/size' is not a number");
}

TEST(DiskSysfsTest, FindPartitionByLabelUsesTheGptNotTheOrder) {
  FakeSystem fs;
  fs.AddDisk("nvme0n1", 64 * kMiB, "259:0");
  fs.Install("nvme0n1", 64 * kMiB, 259);
  fs.AddDisk("sda", 16 * kMiB, "8:0");  // no partitions: not looked at
  auto a = FindPartitionByLabel(fs.paths, "COS_SYSTEM_A");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, fs.paths.dev + "/nvme0n1p3");
  auto parts = DiskPartitions(fs.paths, "nvme0n1");
  ASSERT_TRUE(parts) << parts.error().message();
  ASSERT_EQ(parts->size(), 5u);
  EXPECT_EQ((*parts)[4].label, "COS_PERSISTENT");
  EXPECT_EQ((*parts)[4].node, fs.paths.dev + "/nvme0n1p5");
  EXPECT_EQ((*parts)[4].disk_node, fs.paths.dev + "/nvme0n1");

  auto missing = FindPartitionByLabel(fs.paths, "COS_RECOVERY");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "no partition labelled 'COS_RECOVERY' (looked at: nvme0n1)");
  EXPECT_EQ(missing.error().code(), ENOENT);
}

TEST(DiskSysfsTest, StaleKernelViewIsIgnored) {
  FakeSystem fs;
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  fs.Install("vda", 64 * kMiB, 253);
  // The kernel still shows an old partition 2 at another start.
  WriteText(fs.paths.sysfs + "/block/vda/vda2/start", "4\n");
  auto parts = DiskPartitions(fs.paths, "vda");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->size(), 4u);
  EXPECT_FALSE(FindPartitionByLabel(fs.paths, "COS_OEM"));
  EXPECT_TRUE(FindPartitionByLabel(fs.paths, "COS_GRUB"));
}

TEST(DiskSysfsTest, SameLabelOnTwoDisksIsAnError) {
  FakeSystem fs;
  fs.AddDisk("sda", 64 * kMiB, "8:0");
  fs.Install("sda", 64 * kMiB, 8);
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  fs.Install("vda", 64 * kMiB, 253);
  auto r = FindPartitionByLabel(fs.paths, "COS_OEM");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "partition label 'COS_OEM' found on more than one disk: " +
                                     fs.paths.dev + "/sda2, " + fs.paths.dev + "/vda2");
}

TEST(DiskSysfsTest, DiskWithoutGptIsSkipped) {
  FakeSystem fs;
  fs.AddDisk("sda", 64 * kMiB, "8:0");
  fs.AddPartition("sda", 1, 2048, 2048, "8:1");  // e.g. an MBR disk
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  fs.Install("vda", 64 * kMiB, 253);
  auto r = FindPartitionByLabel(fs.paths, "COS_OEM");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, fs.paths.dev + "/vda2");
}

const uint64_t kMin = 8 * kGiB;

DiskInfo Disk(const std::string& name, uint64_t bytes) {
  DiskInfo d;
  d.name = name;
  d.node = "/dev/" + name;
  d.size_bytes = bytes;
  return d;
}

TEST(DiskSelectTest, RejectReasons) {
  struct Case {
    DiskInfo disk;
    std::string want;
  };
  DiskInfo usb = Disk("sda", 32 * kGiB);
  usb.removable = true;
  DiskInfo ro = Disk("sdb", 32 * kGiB);
  ro.read_only = true;
  DiskInfo root = Disk("vda", 32 * kGiB);
  root.mounts = {"/boot", "/"};
  DiskInfo live = Disk("sdc", 32 * kGiB);
  live.mounts = {"/run/initramfs/live"};
  DiskInfo iso = Disk("vdb", 32 * kGiB);
  iso.iso9660 = true;
  DiskInfo data = Disk("vdc", 32 * kGiB);
  data.mounts = {"/data", "/var/lib/x"};
  const Case cases[] = {
      {Disk("vdd", 32 * kGiB), ""},
      {Disk("vdd", kMin), ""},
      {Disk("vdd", kMin - 1), "too small (needs at least 8192 MiB)"},
      {usb, "removable"},
      {ro, "read-only"},
      {root, "boot medium (mounted at /)"},
      {live, "boot medium (mounted at /run/initramfs/live)"},
      {iso, "boot medium (holds an ISO 9660 live image)"},
      {data, "has mounted partitions (/data, /var/lib/x)"},
      {Disk("loop0", 32 * kGiB), "virtual device (loop)"},
      {Disk("zram0", 32 * kGiB), "virtual device (zram)"},
      {Disk("ram0", 32 * kGiB), "virtual device (ram)"},
      {Disk("sr0", 32 * kGiB), "virtual device (sr)"},
      {Disk("md127", 32 * kGiB), "virtual device (md)"},
      {Disk("dm-0", 32 * kGiB), "virtual device (dm)"},
      {Disk("nbd0", 32 * kGiB), "virtual device (nbd)"},
      {Disk("mmcblk0", 32 * kGiB), ""},
      {Disk("sdd", 0), "no medium (size 0)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RejectReason(c.disk, kMin), c.want) << c.disk.name;
  }
}

TEST(DiskSelectTest, FirstFittingDiskByName) {
  DiskInfo usb = Disk("sda", 32 * kGiB);
  usb.removable = true;
  std::vector<DiskInfo> disks = {usb, Disk("sdb", 4 * kGiB), Disk("vda", 16 * kGiB),
                                 Disk("vdb", 64 * kGiB)};
  auto d = SelectDisk(disks, kMin);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->name, "vda");
}

TEST(DiskSelectTest, NoneFitsListsEveryCandidate) {
  DiskInfo usb = Disk("sda", 32 * kGiB);
  usb.removable = true;
  usb.model = "SanDisk Ultra";
  DiskInfo root = Disk("vda", 16 * kGiB);
  root.mounts = {"/"};
  std::vector<DiskInfo> disks = {Disk("loop0", 0), usb, root, Disk("vdb", 2 * kGiB)};
  auto d = SelectDisk(disks, kMin);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(),
            "no disk fits the install (needs at least 8192 MiB): loop0 (0 MiB): virtual device "
            "(loop); sda (32768 MiB, SanDisk Ultra): removable; vda (16384 MiB): boot medium "
            "(mounted at /); vdb (2048 MiB): too small (needs at least 8192 MiB)");
  auto none = SelectDisk({}, kMin);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message(), "no disk fits the install: no disks found");
}

TEST(DiskSelectTest, ScanDisksOverFakeSysfs) {
  FakeSystem fs;
  fs.AddDisk("sda", 64 * kMiB, "8:0", /*removable=*/true, false, "Flash Drive");
  fs.AddDisk("sdb", 64 * kMiB, "8:16", false, /*ro=*/true);
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  fs.AddPartition("vda", 1, 2048, 4096, "253:1");
  fs.Mount("253:1", "/");
  fs.AddDisk("vdb", 64 * kMiB, "253:16");
  // vdb holds live media: "CD001" at byte 32769.
  {
    std::fstream f(fs.paths.dev + "/vdb", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(32769);
    f.write("CD001", 5);
  }
  fs.AddDisk("vdc", 32 * kMiB, "253:32");
  fs.AddDisk("vdd", 64 * kMiB, "253:48");
  fs.AddDisk("loop0", 64 * kMiB, "7:0");
  auto disks = ScanDisks(fs.paths);
  ASSERT_TRUE(disks) << disks.error().message();
  ASSERT_EQ(disks->size(), 7u);
  EXPECT_EQ((*disks)[1].name, "sda");
  EXPECT_TRUE((*disks)[1].removable);
  EXPECT_EQ((*disks)[1].model, "Flash Drive");
  EXPECT_TRUE((*disks)[2].read_only);
  EXPECT_EQ((*disks)[3].mounts, std::vector<std::string>{"/"});
  EXPECT_TRUE((*disks)[4].iso9660);
  auto chosen = ChooseInstallDisk("", 48 * kMiB, fs.paths);
  ASSERT_TRUE(chosen) << chosen.error().message();
  EXPECT_EQ(*chosen, fs.paths.dev + "/vdd");
  auto none = ChooseInstallDisk("", 128 * kMiB, fs.paths);
  ASSERT_FALSE(none);
  for (const char* name : {"loop0", "sda", "sdb", "vda", "vdb", "vdc", "vdd"}) {
    EXPECT_NE(none.error().message().find(std::string(name) + " ("), std::string::npos) << name;
  }
}

TEST(DiskSelectTest, DeviceGivenByIdLink) {
  FakeSystem fs;
  fs.AddDisk("vda", 64 * kMiB, "253:0");
  std::string byid = fs.paths.dev + "/disk/by-id";
  std::filesystem::create_directories(byid);
  ASSERT_EQ(symlink("../../vda", (byid + "/virtio-serial123").c_str()), 0);
  auto r = ChooseInstallDisk(byid + "/virtio-serial123", kMin, fs.paths);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, fs.paths.dev + "/vda");
  auto missing = ResolveDevice(byid + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "install device '" + byid + "/nope': No such file or directory");
  auto dir = ResolveDevice(byid);
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message().find("is neither a block device nor an image file"),
            std::string::npos);
}

}  // namespace
}  // namespace elemental::disk
