// Tests for the partition plan: default and overridden sizes, 1 MiB
// alignment, 512- and 4096-byte sectors, and the "too small" error.
#include "disk/plan.hpp"

#include <gtest/gtest.h>

namespace elemental::disk {
namespace {

TEST(DiskPlanTest, DefaultsOnEightGiB) {
  auto plan = MakePlan(8 * kGiB, 512);
  ASSERT_TRUE(plan) << plan.error().message();
  ASSERT_EQ(plan->partitions.size(), 5u);
  const char* labels[] = {kLabelEsp, kLabelOem, kLabelSystemA, kLabelSystemB, kLabelPersistent};
  const uint64_t sizes_mib[] = {64, 64, 3072, 3072};
  for (size_t i = 0; i < 5; ++i) {
    const auto& p = plan->partitions[i];
    EXPECT_EQ(p.label, labels[i]);
    EXPECT_EQ(p.number, static_cast<int>(i + 1));
    EXPECT_EQ(p.first_lba % 2048, 0u) << p.label;  // 1 MiB aligned
    EXPECT_EQ(p.size_bytes, (p.last_lba - p.first_lba + 1) * 512) << p.label;
    if (i < 4) EXPECT_EQ(p.size_bytes, sizes_mib[i] * kMiB) << p.label;
    if (i > 0) EXPECT_GT(p.first_lba, plan->partitions[i - 1].last_lba);
  }
  EXPECT_EQ(plan->partitions[0].first_lba, 2048u);
  EXPECT_EQ(plan->partitions[0].fs, FsType::kVfat);
  EXPECT_EQ(plan->partitions[0].type, kEspTypeGuid);
  EXPECT_EQ(plan->partitions[1].type, kLinuxFilesystemTypeGuid);
  EXPECT_EQ(plan->partitions[4].fs, FsType::kExt4);
  // 128 entries of 128 bytes = 32 sectors after the header.
  EXPECT_EQ(plan->first_usable_lba, 34u);
  EXPECT_EQ(plan->disk_sectors, 8 * kGiB / 512);
  EXPECT_EQ(plan->last_usable_lba, plan->disk_sectors - 34);
  EXPECT_EQ(plan->partitions[4].last_lba, plan->last_usable_lba);
  EXPECT_EQ(plan->Find("COS_OEM"), &plan->partitions[1]);
  EXPECT_EQ(plan->Find("nope"), nullptr);
}

TEST(DiskPlanTest, OverriddenSizes) {
  PartitionSizes s;
  s.esp_mib = 100;
  s.system_mib = 500;
  auto plan = MakePlan(4 * kGiB, 512, s);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->partitions[0].size_bytes, 100 * kMiB);
  EXPECT_EQ(plan->partitions[1].size_bytes, 64 * kMiB);  // default kept
  EXPECT_EQ(plan->partitions[2].size_bytes, 500 * kMiB);
  EXPECT_EQ(plan->partitions[3].size_bytes, 500 * kMiB);
  EXPECT_EQ(plan->partitions[3].first_lba, (1 + 100 + 64 + 500) * 2048u);
}

TEST(DiskPlanTest, FourKSectors) {
  auto plan = MakePlan(8 * kGiB, 4096);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->first_usable_lba, 6u);  // 16 KiB of entries = 4 sectors
  EXPECT_EQ(plan->partitions[0].first_lba, 256u);
  EXPECT_EQ(plan->last_usable_lba, plan->disk_sectors - 6);
  for (const auto& p : plan->partitions) EXPECT_EQ(p.first_lba % 256, 0u) << p.label;
}

TEST(DiskPlanTest, MinimumFitsExactly) {
  PartitionSizes s{1, 1, 1, 1};
  uint64_t min = MinimumDiskBytes(s);
  EXPECT_EQ(min, 7 * kMiB);  // 1 + 1 + 2 x 1 + 1 + 2 for the tables
  auto plan = MakePlan(min, 512, s);
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_GE(plan->partitions[4].size_bytes, kMiB);
  EXPECT_FALSE(MakePlan(min - 512, 512, s));
}

TEST(DiskPlanTest, TooSmallSaysWhatIsNeeded) {
  auto plan = MakePlan(4 * kGiB, 512);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(),
            "disk of 4096 MiB is too small for the layout: it needs at least 7298 MiB (ESP 64 + "
            "OEM 64 + 2 x system 3072 + persistent at least 1024 + 2 MiB for the partition "
            "tables)");
  EXPECT_FALSE(MakePlan(0, 512));
}

TEST(DiskPlanTest, BadSectorSizeAndHugeSizes) {
  auto plan = MakePlan(8 * kGiB, 1024);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().message(), "sector size 1024 is not supported (512 or 4096)");
  PartitionSizes s;
  s.system_mib = ~uint64_t{0};
  EXPECT_FALSE(MakePlan(~uint64_t{0}, 512, s));
}

}  // namespace
}  // namespace elemental::disk
