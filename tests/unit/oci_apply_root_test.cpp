// Layer entries for the target root itself ("./", "/", "."): their owner,
// mode, xattrs and mtime go to the target, as `umoci unpack` does to rootfs,
// whatever entries below the root come before or after them.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "oci/apply.hpp"

namespace elemental::oci {
namespace {

struct E {
  std::string path;
  mode_t type;
  mode_t perm;
  int uid;
  int64_t mtime;
};

std::string Tar(const std::vector<E>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  std::vector<char> buf(1 << 16);
  size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.uid + 1);
    archive_entry_set_mtime(ae, e.mtime, 0);
    archive_entry_set_size(ae, 0);
    if (e.type == AE_IFDIR && e.uid == 7) {
      archive_entry_xattr_add_entry(ae, "user.root", "r", 1);
    }
    EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK) << archive_error_string(a);
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

Status ApplyTar(const std::string& target, const std::string& bytes) {
  auto pos = std::make_shared<size_t>(0);
  return ApplyLayer(target, [bytes, pos](char* out, size_t len) -> Expected<size_t> {
    size_t n = std::min(len, bytes.size() - *pos);
    std::memcpy(out, bytes.data() + *pos, n);
    *pos += n;
    return n;
  });
}

class OciApplyRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/oci-apply-root-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  struct stat Stat() {
    struct stat st {};
    EXPECT_EQ(lstat(dir_.c_str(), &st), 0);
    return st;
  }
  std::string dir_;
};

TEST_F(OciApplyRoot, RootEntryBeforeAndAfterChildren) {
  for (const std::string name : {"./", "/", "."}) {
    // Root first: the children created after it must not change its mtime.
    ASSERT_TRUE(ApplyTar(dir_, Tar({{name, AE_IFDIR, 0750, 7, 1500000000},
                                    {"f" + std::to_string(name.size()), AE_IFREG, 0644, 0, 1}})))
        << name;
    struct stat st = Stat();
    EXPECT_EQ(st.st_mode & 07777, 0750u) << name;
    EXPECT_EQ(st.st_uid, 7u);
    EXPECT_EQ(st.st_gid, 8u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1500000000);
    char v[4] = {};
    EXPECT_EQ(getxattr(dir_.c_str(), "user.root", v, sizeof(v)), 1);
    // Root last, after a child: its own time wins over the saved one.
    ASSERT_TRUE(ApplyTar(dir_, Tar({{"g" + std::to_string(name.size()), AE_IFDIR, 0755, 0, 1},
                                    {name, AE_IFDIR, 01711, 9, 1400000000}})));
    st = Stat();
    EXPECT_EQ(st.st_mode & 07777, 01711u);
    EXPECT_EQ(st.st_uid, 9u);
    EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  }
}

TEST_F(OciApplyRoot, NonDirectoryRootIsRefused) {
  for (mode_t type : {AE_IFREG, AE_IFLNK, AE_IFIFO}) {
    // "." (a regular "./" is read as a directory, as old tars meant it).
    Status st = ApplyTar(dir_, Tar({{".", type, 0644, 0, 1}}));
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("the root must be a directory"), std::string::npos)
        << st.error().message();
    EXPECT_TRUE(S_ISDIR(Stat().st_mode));
  }
}

}  // namespace
}  // namespace elemental::oci
