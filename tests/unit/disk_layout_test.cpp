// Tests for the plugin-facing layout calls on image files (the loop-device
// variant is in disk_loop_test.cpp).
#include "disk/layout.hpp"

#include <gtest/gtest.h>

#include "disk/device.hpp"
#include "disk/gpt.hpp"
#include "disk_test_util.hpp"

namespace elemental::disk {
namespace {

using testing::MakeSparse;
using testing::Sh;
using testing::TempDir;

class RecordingRunner : public ProcessRunner {
 public:
  Expected<ProcessResult> Run(const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return ProcessResult{};
  }
  std::vector<std::vector<std::string>> calls;
};

TEST(DiskLayoutTest, CreateAndOpenOnImageFile) {
  TempDir tmp;
  std::string image = tmp.path() + "/disk.img";
  MakeSparse(image, 8 * kGiB);
  auto layout = CreateLayout(image);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->disk, image);
  ASSERT_EQ(layout->partitions.size(), 5u);
  EXPECT_EQ(layout->partitions[0].label, "COS_GRUB");
  EXPECT_EQ(layout->partitions[0].fs, FsType::kVfat);
  EXPECT_EQ(layout->Find("COS_SYSTEM_B")->number, 4);
  EXPECT_EQ(layout->Find("COS_SYSTEM_B")->size_bytes, 3072 * kMiB);
  EXPECT_EQ(layout->Find("COS_OEM")->node, "");  // image file: no nodes
  auto sg = Sh("sgdisk -v " + image);
  EXPECT_NE(sg.output.find("No problems found"), std::string::npos) << sg.output;

  auto opened = OpenLayout(image);
  ASSERT_TRUE(opened) << opened.error().message();
  ASSERT_EQ(opened->partitions.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(opened->partitions[i].label, layout->partitions[i].label);
    EXPECT_EQ(opened->partitions[i].size_bytes, layout->partitions[i].size_bytes);
  }
  RecordingRunner r;
  auto st = FormatLayout(r, FormatTools{}, *opened);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("is an image file; its partitions have no device nodes"),
            std::string::npos);
  EXPECT_TRUE(r.calls.empty());
  st = FormatPartition(r, FormatTools{}, *opened, "COS_RECOVERY");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "formatting: the layout of '" + image + "' has no COS_RECOVERY");
}

TEST(DiskLayoutTest, FormatLayoutRunsOneMkfsPerPartition) {
  DiskLayout l;
  l.disk = "/dev/vda";
  const char* labels[] = {kLabelEsp, kLabelOem, kLabelSystemA, kLabelSystemB, kLabelPersistent};
  for (int i = 0; i < 5; ++i) {
    LayoutPartition p;
    p.label = labels[i];
    p.fs = i == 0 ? FsType::kVfat : FsType::kExt4;
    p.number = i + 1;
    p.node = "/dev/vda" + std::to_string(i + 1);
    l.partitions.push_back(p);
  }
  RecordingRunner r;
  ASSERT_TRUE(FormatLayout(r, FormatTools{"/bin"}, l));
  ASSERT_EQ(r.calls.size(), 5u);
  EXPECT_EQ(r.calls[0][0], "/bin/mkfs.fat");
  EXPECT_EQ(r.calls[0].back(), "/dev/vda1");
  EXPECT_EQ(r.calls[3][0], "/bin/mke2fs");
  EXPECT_EQ(r.calls[3][6], "COS_SYSTEM_B");
  EXPECT_EQ(r.calls[3].back(), "/dev/vda4");
}

TEST(DiskLayoutTest, Errors) {
  TempDir tmp;
  std::string image = tmp.path() + "/small.img";
  MakeSparse(image, 1 * kGiB);
  auto small = CreateLayout(image);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().message().rfind("partitioning '" + image +
                                              "': disk of 1024 MiB is too small for the layout",
                                          0),
            0u)
      << small.error().message();
  auto none = OpenLayout(image);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message().rfind("reading the layout of '" + image + "': no valid GPT", 0),
            0u)
      << none.error().message();
  // A GPT without COS_OEM.
  auto plan = MakePlan(1 * kGiB, 512, PartitionSizes{4, 4, 8, 4});
  ASSERT_TRUE(plan);
  auto t = TableFromPlan(*plan);
  ASSERT_TRUE(t);
  t->partitions[1].name = "data";
  auto dev = Device::Open(image, OpenOptions{true, 512});
  ASSERT_TRUE(dev);
  ASSERT_TRUE(WriteGpt(*dev, *t));
  auto noOem = OpenLayout(image);
  ASSERT_FALSE(noOem);
  EXPECT_EQ(noOem.error().message(),
            "reading the layout of '" + image + "': '" + image + "' has no COS_OEM partition");
  auto missing = CreateLayout(tmp.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "partitioning '" + tmp.path() + "/nope': resolving '" +
                                           tmp.path() + "/nope': No such file or directory");
}

}  // namespace
}  // namespace elemental::disk
