// Tests for the GPT writer and reader on sparse image files: the written
// table is checked by sgdisk -v and sfdisk --json (tools nobody here wrote)
// and read back; damaged primary copies fall back to the backup; garbage and
// hostile headers give clear errors.
#include "disk/gpt.hpp"

#include <zlib.h>

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/json.hpp"
#include "disk_test_util.hpp"

namespace elemental::disk {
namespace {

using testing::MakeSparse;
using testing::Sh;
using testing::TempDir;

// Writes a fresh table for `plan` to `image`; returns it.
GptTable WriteImage(const std::string& image, const PartitionPlan& plan) {
  OpenOptions o;
  o.writable = true;
  o.file_sector_size = plan.sector_size;
  auto dev = Device::Open(image, o);
  EXPECT_TRUE(dev) << dev.error().message();
  auto table = TableFromPlan(plan);
  EXPECT_TRUE(table) << table.error().message();
  auto st = WriteGpt(*dev, *table);
  EXPECT_TRUE(st) << st.error().message();
  return *table;
}

Expected<GptTable> ReadImage(const std::string& image, uint32_t sector_size = 512) {
  OpenOptions o;
  o.file_sector_size = sector_size;
  auto dev = Device::Open(image, o);
  if (!dev) return dev.error();
  return ReadGpt(*dev);
}

// sfdisk's view must equal the plan: labels, types, starts, sizes.
void CheckWithSfdisk(const std::string& image, const PartitionPlan& plan, const GptTable& t) {
  std::string cmd = "sfdisk --json ";
  if (plan.sector_size != 512) cmd += "--sector-size " + std::to_string(plan.sector_size) + " ";
  auto out = Sh(cmd + image);
  ASSERT_EQ(out.status, 0) << out.output;
  auto json = json::Parse(out.output);
  ASSERT_TRUE(json) << json.error().message();
  const json::Value* pt = json->Find("partitiontable");
  ASSERT_NE(pt, nullptr);
  EXPECT_EQ(pt->Find("label")->as_string(), "gpt");
  EXPECT_EQ(pt->Find("id")->as_string(), t.disk_guid.ToString());
  EXPECT_EQ(static_cast<uint64_t>(pt->Find("firstlba")->as_number()), plan.first_usable_lba);
  EXPECT_EQ(static_cast<uint64_t>(pt->Find("lastlba")->as_number()), plan.last_usable_lba);
  const auto& parts = pt->Find("partitions")->as_array();
  ASSERT_EQ(parts.size(), plan.partitions.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& want = plan.partitions[i];
    EXPECT_EQ(parts[i].Find("name")->as_string(), want.label);
    EXPECT_EQ(parts[i].Find("type")->as_string(), want.type.ToString());
    EXPECT_EQ(parts[i].Find("uuid")->as_string(), t.partitions[i].unique.ToString());
    EXPECT_EQ(static_cast<uint64_t>(parts[i].Find("start")->as_number()), want.first_lba);
    EXPECT_EQ(static_cast<uint64_t>(parts[i].Find("size")->as_number()) * plan.sector_size,
              want.size_bytes);
  }
}

void CheckWithSgdisk(const std::string& image) {
  auto out = Sh("sgdisk -v " + image);
  EXPECT_EQ(out.status, 0) << out.output;
  EXPECT_NE(out.output.find("No problems found"), std::string::npos) << out.output;
}

void CheckReadBack(const std::string& image, const PartitionPlan& plan, const GptTable& written) {
  auto t = ReadImage(image, plan.sector_size);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_FALSE(t->from_backup);
  EXPECT_EQ(t->disk_guid, written.disk_guid);
  EXPECT_EQ(t->first_usable_lba, plan.first_usable_lba);
  EXPECT_EQ(t->last_usable_lba, plan.last_usable_lba);
  ASSERT_EQ(t->partitions.size(), plan.partitions.size());
  for (size_t i = 0; i < plan.partitions.size(); ++i) {
    EXPECT_EQ(t->partitions[i].name, plan.partitions[i].label);
    EXPECT_EQ(t->partitions[i].number, plan.partitions[i].number);
    EXPECT_EQ(t->partitions[i].type, plan.partitions[i].type);
    EXPECT_EQ(t->partitions[i].unique, written.partitions[i].unique);
    EXPECT_EQ(t->partitions[i].first_lba, plan.partitions[i].first_lba);
    EXPECT_EQ(t->partitions[i].last_lba, plan.partitions[i].last_lba);
  }
  EXPECT_NE(t->FindByName("COS_SYSTEM_B"), nullptr);
}

TEST(DiskGptTest, EightGiBSparseImage) {
  TempDir tmp;
  std::string image = tmp.path() + "/disk.img";
  MakeSparse(image, 8 * kGiB);
  auto plan = MakePlan(8 * kGiB, 512);
  ASSERT_TRUE(plan) << plan.error().message();
  auto t = WriteImage(image, *plan);
  CheckWithSgdisk(image);
  CheckWithSfdisk(image, *plan, t);
  CheckReadBack(image, *plan, t);
  // Random GUIDs: all distinct, version 4.
  EXPECT_NE(t.partitions[0].unique, t.partitions[1].unique);
  EXPECT_EQ(t.disk_guid.bytes[6] >> 4, 4);
}

TEST(DiskGptTest, MinimalImageOddSize) {
  TempDir tmp;
  std::string image = tmp.path() + "/small.img";
  PartitionSizes s{1, 1, 1, 1};
  // Not a whole number of MiB: the persistent partition runs to the end.
  uint64_t bytes = MinimumDiskBytes(s) + 7 * 512;
  MakeSparse(image, bytes);
  auto plan = MakePlan(bytes, 512, s);
  ASSERT_TRUE(plan) << plan.error().message();
  auto t = WriteImage(image, *plan);
  CheckWithSgdisk(image);
  CheckWithSfdisk(image, *plan, t);
  CheckReadBack(image, *plan, t);
}

TEST(DiskGptTest, FourKSectorImage) {
  TempDir tmp;
  std::string image = tmp.path() + "/4k.img";
  MakeSparse(image, 8 * kGiB);
  auto plan = MakePlan(8 * kGiB, 4096);
  ASSERT_TRUE(plan) << plan.error().message();
  auto t = WriteImage(image, *plan);
  // sfdisk/sgdisk check a 4K table on a 4K loop device (disk_loop_test).
  CheckReadBack(image, *plan, t);
  // Read with the wrong sector size: no table there.
  EXPECT_FALSE(ReadImage(image, 512));
}

TEST(DiskGptTest, SectorSizeMismatchIsRefused) {
  TempDir tmp;
  std::string image = tmp.path() + "/d.img";
  MakeSparse(image, 8 * kGiB);
  auto plan = MakePlan(8 * kGiB, 4096);
  ASSERT_TRUE(plan);
  auto dev = Device::Open(image, OpenOptions{true, 512});
  ASSERT_TRUE(dev);
  auto t = TableFromPlan(*plan);
  ASSERT_TRUE(t);
  auto st = WriteGpt(*dev, *t);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("4096-byte sectors, the device has 512"), std::string::npos)
      << st.error().message();
}

class DiskGptDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    image_ = tmp_.path() + "/disk.img";
    bytes_ = 64 * kMiB;
    MakeSparse(image_, bytes_);
    auto plan = MakePlan(bytes_, 512, PartitionSizes{4, 4, 8, 4});
    ASSERT_TRUE(plan) << plan.error().message();
    plan_ = *plan;
    written_ = WriteImage(image_, plan_);
  }
  void Poke(uint64_t offset, const std::string& bytes) {
    FILE* f = fopen(image_.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(fseek(f, static_cast<long>(offset), SEEK_SET), 0);
    ASSERT_EQ(fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    fclose(f);
  }
  std::string Peek(uint64_t offset, size_t n) {
    std::string s(n, '\0');
    FILE* f = fopen(image_.c_str(), "rb");
    EXPECT_NE(f, nullptr);
    fseek(f, static_cast<long>(offset), SEEK_SET);
    EXPECT_EQ(fread(s.data(), 1, n, f), n);
    fclose(f);
    return s;
  }
  // Rewrites a header field and fixes its CRC, so only the field is wrong.
  void PokeHeaderField(uint64_t header_offset, size_t field, const std::string& value) {
    std::string h = Peek(header_offset, 92);
    h.replace(field, value.size(), value);
    std::memset(h.data() + 16, 0, 4);
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(h.data()), static_cast<uInt>(h.size())));
    for (int i = 0; i < 4; ++i) h[16 + i] = static_cast<char>(crc >> (8 * i));
    Poke(header_offset, h);
  }
  static std::string Le32(uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
    return s;
  }
  uint64_t BackupHeaderOffset() const { return bytes_ - 512; }

  TempDir tmp_;
  std::string image_;
  uint64_t bytes_ = 0;
  PartitionPlan plan_;
  GptTable written_;
};

TEST_F(DiskGptDamageTest, CorruptPrimaryHeaderUsesBackup) {
  Poke(512 + 40, "XXXX");  // first usable LBA: CRC no longer matches
  auto t = ReadImage(image_);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->from_backup);
  EXPECT_EQ(t->primary_problem, "header checksum mismatch");
  ASSERT_EQ(t->partitions.size(), 5u);
  EXPECT_EQ(t->partitions[2].name, "COS_SYSTEM_A");
  EXPECT_EQ(t->disk_guid, written_.disk_guid);
}

TEST_F(DiskGptDamageTest, WipedPrimaryUsesBackup) {
  Poke(512, std::string(512 * 33, '\0'));  // header and whole primary entry array
  auto t = ReadImage(image_);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->from_backup);
  EXPECT_EQ(t->primary_problem, "no GPT signature at LBA 1");
  EXPECT_EQ(t->partitions.size(), 5u);
}

TEST_F(DiskGptDamageTest, CorruptPrimaryEntriesUsesBackup) {
  Poke(1024 + 56, "Z");  // first entry's name
  auto t = ReadImage(image_);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->from_backup);
  EXPECT_EQ(t->primary_problem, "partition entries checksum mismatch");
  EXPECT_EQ(t->partitions[0].name, "COS_GRUB");
}

TEST_F(DiskGptDamageTest, BothCopiesDamagedIsAClearError) {
  Poke(512 + 40, "XXXX");
  Poke(BackupHeaderOffset(), "NOT GPT!");
  auto t = ReadImage(image_);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message(),
            "no valid GPT on '" + image_ +
                "': primary: header checksum mismatch; backup: no GPT signature at LBA " +
                std::to_string(bytes_ / 512 - 1));
}

TEST_F(DiskGptDamageTest, HostileHeaderFieldsAreRejected) {
  Poke(BackupHeaderOffset(), std::string(512, '\0'));  // only the primary counts now
  struct Case {
    size_t field;
    std::string value;
    std::string want;
  };
  const Case cases[] = {
      {80, Le32(0xFFFFFFFF), "entry count 4294967295 is invalid"},
      {80, Le32(0), "entry count 0 is invalid"},
      {84, Le32(0xFFFFFFF0), "entry size 4294967280 is invalid"},
      {84, Le32(4), "entry size 4 is invalid"},
      {12, Le32(100000), "header size 100000 is invalid"},
      {72, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8), "entry array at LBA"},
      {48, std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8), "usable range"},
      {24, Le32(7) + Le32(0), "header says it is at LBA 7, found at 1"},
  };
  std::string good = Peek(512, 512);
  for (const auto& c : cases) {
    Poke(512, good);
    if (c.field == 12) {
      // The size is checked before the CRC, which it would cover.
      Poke(512 + 12, c.value);
    } else {
      PokeHeaderField(512, c.field, c.value);
    }
    auto t = ReadImage(image_);
    ASSERT_FALSE(t) << c.want;
    EXPECT_NE(t.error().message().find(c.want), std::string::npos) << t.error().message();
    EXPECT_EQ(t.error().message().rfind("no valid GPT on '", 0), 0u) << t.error().message();
  }
}

TEST_F(DiskGptDamageTest, EntryOutsideUsableAreaIsRejected) {
  Poke(BackupHeaderOffset(), std::string(512, '\0'));
  // Entry 1 ends far beyond the disk; fix the entries CRC and the header CRC.
  Poke(1024 + 40, std::string("\xff\xff\xff\xff\xff\xff\xff\x0f", 8));
  std::string entries = Peek(1024, 128 * 128);
  uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(entries.data()), static_cast<uInt>(entries.size())));
  PokeHeaderField(512, 88, Le32(crc));
  auto t = ReadImage(image_);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("partition 1 ('COS_GRUB') LBA range 2048-"),
            std::string::npos)
      << t.error().message();
}

TEST_F(DiskGptDamageTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  std::string good = Peek(0, 512 * 34);
  Poke(BackupHeaderOffset(), std::string(512, '\0'));
  int rejected = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bad = good;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) {
      bad[512 + rng() % 92] = static_cast<char>(rng());
    }
    Poke(0, bad);
    if (i % 2 == 0) {
      // Make the CRC right so the field checks are what stops it.
      PokeHeaderField(512, 0, bad.substr(512, 8));
    }
    auto t = ReadImage(image_);
    if (!t) {
      ++rejected;
      EXPECT_EQ(t.error().message().rfind("no valid GPT on '", 0), 0u);
    }
  }
  EXPECT_GT(rejected, 0);
  // All-garbage disk.
  std::string noise(512 * 40, '\0');
  for (auto& c : noise) c = static_cast<char>(rng());
  Poke(0, noise);
  auto t = ReadImage(image_);
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("primary: no GPT signature at LBA 1"), std::string::npos);
}

TEST(DiskGptTest, OldIsoSignatureInTheGapIsErased) {
  TempDir tmp;
  std::string image = tmp.path() + "/old-iso.img";
  MakeSparse(image, 8 * kGiB);
  {
    FILE* f = fopen(image.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fseek(f, 32769, SEEK_SET);
    fwrite("CD001", 1, 5, f);
    fclose(f);
  }
  auto plan = MakePlan(8 * kGiB, 512);
  ASSERT_TRUE(plan);
  WriteImage(image, *plan);
  FILE* f = fopen(image.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  char buf[5] = {1, 1, 1, 1, 1};
  fseek(f, 32769, SEEK_SET);
  ASSERT_EQ(fread(buf, 1, 5, f), 5u);
  fclose(f);
  EXPECT_EQ(std::string(buf, 5), std::string(5, '\0'));
}

TEST(DiskGptTest, TinyAndEmptyFiles) {
  TempDir tmp;
  std::string image = tmp.path() + "/empty.img";
  MakeSparse(image, 0);
  auto t = ReadImage(image);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message(), "no valid GPT on '" + image + "': the disk is too small");
  auto missing = ReadImage(tmp.path() + "/missing.img");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("No such file or directory"), std::string::npos);
}

TEST(DiskGptTest, NonAsciiNamesRoundTripAndLongNamesAreRefused) {
  TempDir tmp;
  std::string image = tmp.path() + "/n.img";
  PartitionSizes s{1, 1, 1, 1};
  MakeSparse(image, MinimumDiskBytes(s));
  auto plan = MakePlan(MinimumDiskBytes(s), 512, s);
  ASSERT_TRUE(plan);
  auto t = TableFromPlan(*plan);
  ASSERT_TRUE(t);
  t->partitions[0].name = "Données-\xF0\x9F\x92\xBE";  // U+1F4BE needs a surrogate pair
  auto dev = Device::Open(image, OpenOptions{true, 512});
  ASSERT_TRUE(dev);
  ASSERT_TRUE(WriteGpt(*dev, *t));
  auto back = ReadGpt(*dev);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->partitions[0].name, t->partitions[0].name);
  t->partitions[0].name = std::string(37, 'x');
  auto st = WriteGpt(*dev, *t);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("longer than 36 UTF-16 code units"), std::string::npos);
}

TEST(DiskGuidTest, ParseFormatAndDiskOrder) {
  auto g = Guid::Parse("c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->ToString(), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  auto d = g->ToDisk();
  EXPECT_EQ(d[0], 0x28);
  EXPECT_EQ(d[3], 0xC1);
  EXPECT_EQ(d[4], 0x1F);
  EXPECT_EQ(d[6], 0xD2);
  EXPECT_EQ(d[8], 0xBA);
  EXPECT_EQ(Guid::FromDisk(d.data()), *g);
  EXPECT_FALSE(Guid::Parse("C12A7328F81F-11D2-BA4B-00A0C93EC93B-"));
  EXPECT_FALSE(Guid::Parse("G12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
  EXPECT_FALSE(Guid::Parse(""));
}

}  // namespace
}  // namespace elemental::disk
