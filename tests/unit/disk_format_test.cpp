// Tests for process execution and the mkfs command lines (with a fake
// runner), and one real run of the host's mke2fs/mkfs.fat on image files
// checked by e2fsck and fsck.vfat.
#include "disk/format.hpp"

#include <gtest/gtest.h>

#include "disk_test_util.hpp"

namespace elemental::disk {
namespace {

using testing::MakeSparse;
using testing::Sh;
using testing::TempDir;

class FakeRunner : public ProcessRunner {
 public:
  Expected<ProcessResult> Run(const std::vector<std::string>& argv) override {
    calls.push_back(argv);
    return result;
  }
  std::vector<std::vector<std::string>> calls;
  ProcessResult result;
};

TEST(DiskFormatTest, CommandLines) {
  FakeRunner r;
  FormatTools tools{"/opt/tools"};
  ASSERT_TRUE(MakeFilesystem(r, tools, FsType::kExt4, "/dev/vda2", "COS_OEM"));
  ASSERT_TRUE(MakeFilesystem(r, tools, FsType::kVfat, "/dev/vda1", "COS_GRUB"));
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0], (std::vector<std::string>{"/opt/tools/mke2fs", "-t", "ext4", "-F", "-q",
                                                  "-L", "COS_OEM", "/dev/vda2"}));
  EXPECT_EQ(r.calls[1], (std::vector<std::string>{"/opt/tools/mkfs.fat", "-F", "32", "-n",
                                                  "COS_GRUB", "/dev/vda1"}));
}

TEST(DiskFormatTest, FailureCarriesToolOutput) {
  FakeRunner r;
  r.result.exit_status = 1;
  r.result.output = "mke2fs: Device size reported to be zero.\n";
  auto st = MakeFilesystem(r, FormatTools{"/t"}, FsType::kExt4, "/dev/vda3", "COS_SYSTEM_A");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "making ext4 on '/dev/vda3' (COS_SYSTEM_A): '/t/mke2fs' exited with status 1: "
            "mke2fs: Device size reported to be zero.");
}

TEST(DiskFormatTest, ExecRunnerCapturesOutputAndStatus) {
  ExecProcessRunner r;
  auto ok = r.Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->exit_status, 3);
  EXPECT_EQ(ok->output, "out\nerr\n");
  auto killed = r.Run({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->exit_status, 128 + 9);
  auto missing = r.Run({"/nonexistent/mke2fs", "-V"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "running '/nonexistent/mke2fs': No such file or directory");
  auto tools = MakeFilesystem(r, FormatTools{"/nonexistent"}, FsType::kVfat, "/x", "COS_GRUB");
  ASSERT_FALSE(tools);
  EXPECT_EQ(tools.error().message(),
            "making vfat on '/x' (COS_GRUB): running '/nonexistent/mkfs.fat': No such file or "
            "directory");
}

// The host's tools (e2fsprogs, dosfstools) on plain image files.
TEST(DiskFormatTest, HostToolsMakeCheckableFilesystems) {
  TempDir tmp;
  ExecProcessRunner r;
  FormatTools tools{"/sbin"};
  std::string ext4 = tmp.path() + "/ext4.img";
  std::string fat = tmp.path() + "/fat.img";
  MakeSparse(ext4, 64 * kMiB);
  MakeSparse(fat, 64 * kMiB);
  auto st = MakeFilesystem(r, tools, FsType::kExt4, ext4, "COS_OEM");
  ASSERT_TRUE(st) << st.error().message();
  st = MakeFilesystem(r, tools, FsType::kVfat, fat, "COS_GRUB");
  ASSERT_TRUE(st) << st.error().message();
  auto fsck = Sh("e2fsck -fn " + ext4 + " 2>&1");
  EXPECT_EQ(fsck.status, 0) << fsck.output;
  auto label = Sh("e2label " + ext4);
  EXPECT_EQ(label.output, "COS_OEM\n");
  auto vfat = Sh("fsck.vfat -n " + fat + " 2>&1");
  EXPECT_EQ(vfat.status, 0) << vfat.output;
  auto blkid = Sh("blkid -o value -s LABEL " + fat);
  EXPECT_EQ(blkid.output, "COS_GRUB\n");
}

}  // namespace
}  // namespace elemental::disk
