// Layer application: tar layers built in memory with libarchive's writer are
// applied to a temp directory; whiteouts, links, modes and every way out of
// the target are checked.
#include "oci/apply.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace elemental::oci {
namespace {

namespace stdfs = std::filesystem;

struct Entry {
  std::string path;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;      // file content
  std::string link;      // symlink target
  std::string hardlink;  // hard link source
  int64_t mtime = 1700000000;
  int uid = 0;
  int gid = 0;
  unsigned rmajor = 0, rminor = 0;
  std::string xattr_name, xattr_value;
};

enum class Filter { kNone, kGzip, kZstd };

std::string MakeTar(const std::vector<Entry>& entries, Filter filter = Filter::kNone) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (filter == Filter::kGzip) archive_write_add_filter_gzip(a);
  if (filter == Filter::kZstd) archive_write_add_filter_zstd(a);
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  archive_write_set_bytes_in_last_block(a, 1);
  EXPECT_EQ(archive_write_open_memory(a, buf.data(), buf.size(), &used), ARCHIVE_OK);
  for (const auto& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    archive_entry_set_mtime(ae, e.mtime, 0);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    if (!e.link.empty()) archive_entry_set_symlink(ae, e.link.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ae, e.hardlink.c_str());
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) {
      archive_entry_set_rdevmajor(ae, e.rmajor);
      archive_entry_set_rdevminor(ae, e.rminor);
    }
    if (!e.xattr_name.empty()) {
      archive_entry_xattr_add_entry(ae, e.xattr_name.c_str(), e.xattr_value.data(),
                                    e.xattr_value.size());
    }
    archive_entry_set_size(ae, e.type == AE_IFREG && e.hardlink.empty()
                                   ? static_cast<int64_t>(e.data.size()) : 0);
    EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK) << archive_error_string(a);
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

LayerReader ReaderOf(const std::string& bytes, size_t chunk = 7) {
  auto pos = std::make_shared<size_t>(0);
  return [bytes, pos, chunk](char* buf, size_t len) -> Expected<size_t> {
    size_t n = std::min({len, chunk, bytes.size() - *pos});
    std::memcpy(buf, bytes.data() + *pos, n);
    *pos += n;
    return n;
  };
}

class OciApply : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/oci-apply-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ + "/rootfs";
    stdfs::create_directory(root_);
    // Something outside the target that layers must never reach.
    std::ofstream(dir_ + "/outside") << "precious";
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  Status Apply(const std::vector<Entry>& entries, Filter f = Filter::kNone) {
    return ApplyLayer(root_, ReaderOf(MakeTar(entries, f)));
  }
  std::string Read(const std::string& rel) {
    std::ifstream in(root_ + "/" + rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exists(const std::string& rel) {
    struct stat st;
    return lstat((root_ + "/" + rel).c_str(), &st) == 0;
  }
  // Lists everything in dir_ except the target, to prove nothing leaked.
  std::vector<std::string> OutsideFiles() {
    std::vector<std::string> out;
    for (const auto& e : stdfs::recursive_directory_iterator(dir_)) {
      std::string p = e.path().string();
      if (p.rfind(root_, 0) != 0) out.push_back(p.substr(dir_.size()));
    }
    return out;
  }

  std::string dir_, root_;
};

TEST_F(OciApply, FilesDirsModesOwnersTimes) {
  for (Filter f : {Filter::kNone, Filter::kGzip, Filter::kZstd}) {
    stdfs::remove_all(root_);
    stdfs::create_directory(root_);
    auto st = Apply({{.path = "etc", .type = AE_IFDIR, .perm = 0755, .mtime = 1600000000},
                     {.path = "etc/hosts", .perm = 0640, .data = "127.0.0.1 x\n", .uid = 1234,
                      .gid = 5678},
                     {.path = "usr/bin/su", .perm = 04755, .data = "bin"},
                     {.path = "tmp", .type = AE_IFDIR, .perm = 01777},
                     {.path = "sg", .perm = 02755, .data = ""}},
                    f);
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_EQ(Read("etc/hosts"), "127.0.0.1 x\n");
    struct stat s;
    ASSERT_EQ(lstat((root_ + "/etc/hosts").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 0640u);
    EXPECT_EQ(s.st_uid, 1234u);
    EXPECT_EQ(s.st_gid, 5678u);
    EXPECT_EQ(s.st_mtim.tv_sec, 1700000000);
    ASSERT_EQ(lstat((root_ + "/etc").c_str(), &s), 0);
    EXPECT_EQ(s.st_mtim.tv_sec, 1600000000);  // kept although etc/hosts came later
    ASSERT_EQ(lstat((root_ + "/usr/bin/su").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 04755u);
    ASSERT_EQ(lstat((root_ + "/tmp").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 01777u);
    ASSERT_EQ(lstat((root_ + "/sg").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 02755u);
  }
}

TEST_F(OciApply, LinksDevicesAndXattrs) {
  auto st = Apply({{.path = "bin/busybox", .perm = 0755, .data = "BB"},
                   {.path = "bin/sh", .type = AE_IFLNK, .perm = 0777, .link = "busybox"},
                   {.path = "bin/ls", .hardlink = "bin/busybox"},
                   {.path = "abs", .type = AE_IFLNK, .link = "/etc/passwd"},
                   {.path = "dev/null", .type = AE_IFCHR, .perm = 0666, .rmajor = 1, .rminor = 3},
                   {.path = "fifo", .type = AE_IFIFO, .perm = 0600},
                   {.path = "ping", .perm = 0755, .data = "p",
                    .xattr_name = "user.test", .xattr_value = "v1"}});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(stdfs::read_symlink(root_ + "/bin/sh"), "busybox");
  EXPECT_EQ(stdfs::read_symlink(root_ + "/abs"), "/etc/passwd");
  struct stat a, b;
  ASSERT_EQ(lstat((root_ + "/bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(lstat((root_ + "/bin/ls").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  ASSERT_EQ(lstat((root_ + "/dev/null").c_str(), &a), 0);
  EXPECT_TRUE(S_ISCHR(a.st_mode));
  EXPECT_EQ(major(a.st_rdev), 1u);
  EXPECT_EQ(minor(a.st_rdev), 3u);
  ASSERT_EQ(lstat((root_ + "/fifo").c_str(), &a), 0);
  EXPECT_TRUE(S_ISFIFO(a.st_mode));
  char val[16] = {};
  ssize_t n = lgetxattr((root_ + "/ping").c_str(), "user.test", val, sizeof(val));
  if (n >= 0) EXPECT_EQ(std::string(val, static_cast<size_t>(n)), "v1");  // tmpfs may lack user.*

  // A later layer hard-links to a file from this one.
  st = Apply({{.path = "bin/cat", .hardlink = "bin/busybox"}});
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_EQ(lstat((root_ + "/bin/cat").c_str(), &b), 0);
  ASSERT_EQ(lstat((root_ + "/bin/busybox").c_str(), &a), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(OciApply, WhiteoutsAndOpaqueDirs) {
  ASSERT_TRUE(Apply({{.path = "a/x", .data = "1"},
                     {.path = "a/y", .data = "2"},
                     {.path = "b/z", .data = "3"},
                     {.path = "c/keep", .data = "4"},
                     {.path = "file", .data = "5"}}));
  auto st = Apply({{.path = "a/.wh.x", .data = ""},
                   {.path = "b/new", .data = "n"},  // same layer: survives the opaque marker
                   {.path = "b/.wh..wh..opq", .data = ""},
                   {.path = ".wh.file", .data = ""},
                   {.path = ".wh.missing", .data = ""},
                   {.path = ".wh.c", .data = ""}});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_FALSE(Exists("a/x"));
  EXPECT_TRUE(Exists("a/y"));
  EXPECT_FALSE(Exists("a/.wh.x"));
  EXPECT_FALSE(Exists("b/z"));
  EXPECT_TRUE(Exists("b/new"));
  EXPECT_FALSE(Exists("b/.wh..wh..opq"));
  EXPECT_FALSE(Exists("file"));
  EXPECT_FALSE(Exists("c"));
}

TEST_F(OciApply, ReplacesFileWithDirAndBack) {
  ASSERT_TRUE(Apply({{.path = "p", .data = "file"}, {.path = "q/inner", .data = "i"}}));
  auto st = Apply({{.path = "p", .type = AE_IFDIR, .perm = 0755},
                   {.path = "q", .type = AE_IFLNK, .link = "p"}});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(stdfs::is_directory(root_ + "/p"));
  EXPECT_TRUE(stdfs::is_symlink(root_ + "/q"));
}

TEST_F(OciApply, SymlinksAreResolvedInsideTheTarget) {
  // lib -> /usr/lib (absolute, as merged-/usr images have) then a file via lib/.
  auto st = Apply({{.path = "usr/lib", .type = AE_IFDIR, .perm = 0755},
                   {.path = "lib", .type = AE_IFLNK, .link = "/usr/lib"},
                   {.path = "lib/libc.so", .data = "c"}});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(Read("usr/lib/libc.so"), "c");
  // An absolute link to a host directory also stays in the target.
  std::string host = dir_ + "/hostdir";
  stdfs::create_directory(host);
  st = Apply({{.path = "h", .type = AE_IFLNK, .link = host}, {.path = "h/f", .data = "x"}});
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(stdfs::is_empty(host));
  EXPECT_EQ(Read(host.substr(1) + "/f"), "x");
}

TEST_F(OciApply, EveryEscapeIsRejected) {
  struct Case {
    const char* name;
    std::vector<Entry> entries;
  };
  std::vector<Case> cases = {
      {"dotdot", {{.path = "../evil", .data = "x"}}},
      {"nested dotdot", {{.path = "a/../../evil", .data = "x"}}},
      {"absolute", {{.path = "/evil", .data = "x"}}},
      {"symlink parent outside",
       {{.path = "up", .type = AE_IFLNK, .link = "../"}, {.path = "up/evil", .data = "x"}}},
      {"symlink chain outside",
       {{.path = "d", .type = AE_IFDIR},
        {.path = "d/l", .type = AE_IFLNK, .link = "../../"},
        {.path = "d/l/evil", .data = "x"}}},
      {"hardlink outside", {{.path = "hl", .hardlink = "../outside"}}},
      {"hardlink via symlink outside",
       {{.path = "up", .type = AE_IFLNK, .link = ".."}, {.path = "hl", .hardlink = "up/outside"}}},
      {"whiteout outside", {{.path = "../.wh.outside", .data = ""}}},
      {"whiteout through symlink",
       {{.path = "up", .type = AE_IFLNK, .link = ".."}, {.path = "up/.wh.outside", .data = ""}}},
  };
  const auto before = OutsideFiles();
  for (const auto& c : cases) {
    stdfs::remove_all(root_);
    stdfs::create_directory(root_);
    auto st = Apply(c.entries);
    ASSERT_FALSE(st) << c.name;
    EXPECT_NE(st.error().message().find("layer entry"), std::string::npos) << c.name;
    EXPECT_EQ(OutsideFiles(), before) << c.name;
    std::ifstream in(dir_ + "/outside");
    std::string s;
    in >> s;
    EXPECT_EQ(s, "precious") << c.name;
    struct stat o;
    ASSERT_EQ(stat((dir_ + "/outside").c_str(), &o), 0);
    EXPECT_EQ(o.st_nlink, 1u) << c.name;
  }
}

TEST_F(OciApply, ReaderErrorsAndGarbage) {
  auto st = ApplyLayer(root_, [](char*, size_t) -> Expected<size_t> {
    return Error("connection reset");
  });
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("connection reset"), std::string::npos);
  st = ApplyLayer(root_, ReaderOf(std::string(2048, 'z')));
  EXPECT_FALSE(st);
  st = ApplyLayer(dir_ + "/missing", ReaderOf(MakeTar({{.path = "a", .data = "b"}})));
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("opening target"), std::string::npos);
}

// A tar header block built by hand (ustar/GNU layout), checksum filled in.
std::string TarHeader(const std::string& name, char type, size_t size) {
  std::string h(512, '\0');
  auto put = [&](size_t off, const std::string& v) { h.replace(off, v.size(), v); };
  put(0, name);
  put(100, "0000644");
  put(108, "0000000");
  put(116, "0000000");
  char num[16];
  std::snprintf(num, sizeof(num), "%011zo", size);
  put(124, num);
  put(136, "00000000000");
  h[156] = type;
  put(257, std::string("ustar  ", 8));  // GNU magic and version
  put(148, "        ");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(num, sizeof(num), "%06o", sum);
  put(148, std::string(num, 7));
  return h;
}

// Found by tests/fuzz/fuzz_apply: a GNU long-name entry whose name data is
// missing makes libarchive fail without a message, which crashed the error
// path (a null message). The layer now fails with a clear error.
TEST_F(OciApply, ArchiveFailureWithoutMessage) {
  const std::string layer = TarHeader("././@LongLink", 'L', 153);
  auto st = ApplyLayer(root_, ReaderOf(layer));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(),
            "reading layer: malformed or truncated layer (libarchive gave no reason)");
  EXPECT_TRUE(stdfs::is_empty(root_));
}

}  // namespace
}  // namespace elemental::oci
