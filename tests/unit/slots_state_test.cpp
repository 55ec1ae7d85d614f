// `elemental-agent state`: the YAML against golden files (byte for byte),
// and the command's flags, exit codes and errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cerrno>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "cli/state.hpp"
#include "common/fs.hpp"
#include "slots/render.hpp"
#include "slots/store.hpp"
#include "slots_fault_file_ops.hpp"
#include "slots_fixtures.hpp"

namespace elemental::slots {
namespace {

// Compares with testdata/<name>; ELEMENTAL_UPDATE_GOLDEN=1 rewrites the file
// from `actual` instead (then read the diff before committing it).
void ExpectGolden(const std::string& actual, const std::string& name) {
  std::string path = std::string(ELEMENTAL_TEST_DATA_DIR) + "/" + name;
  if (const char* u = std::getenv("ELEMENTAL_UPDATE_GOLDEN"); u != nullptr && std::string(u) == "1") {
    ASSERT_TRUE(fs::WriteFileDurable(path, actual, 0644));
  }
  auto text = fs::ReadFile(path);
  ASSERT_TRUE(text) << path;
  EXPECT_EQ(actual, *text) << name;
}

std::string Golden(const std::string& name) {
  auto text = fs::ReadFile(std::string(ELEMENTAL_TEST_DATA_DIR) + "/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : std::string();
}

std::vector<LayoutEntry> Layout() {
  return {{"COS_GRUB", "/dev/vda1", 67108864, "vfat"},
          {"COS_OEM", "/dev/vda2", 67108864, "ext4"},
          {"COS_SYSTEM_A", "/dev/vda3", 2147483648ULL, "ext4"},
          {"COS_SYSTEM_B", "/dev/vda4", 2147483648ULL, "ext4"},
          {"COS_PERSISTENT", "/dev/vda5", 6442450944ULL, "ext4"}};
}

Record RolledBackWithHistory() {
  Record r = testing::TryingB(0);
  Expected<Loaded> l = Loaded{r, {}};
  r = *DecideBoot(l, testing::Now()).write;
  r.sequence = 12;
  return r;
}

TEST(SlotsState, GoldenTryingWithLayout) {
  Record r = testing::TryingB(2);
  r.sequence = 7;
  ExpectGolden(RenderState(Loaded{r, {}}, Layout()), "state_trying.yaml");
}

TEST(SlotsState, GoldenRollbackWithDamagedCopy) {
  Loaded l{RolledBackWithHistory(), {"slot-record.1: checksum mismatch"}};
  ExpectGolden(RenderState(l, std::nullopt), "state_rollback.yaml");
}

TEST(SlotsState, GoldenNotInstalled) {
  ExpectGolden(RenderState(Loaded{}, std::vector<LayoutEntry>{}), "state_none.yaml");
}

TEST(SlotsState, ResetFlagsShownWhenPending) {
  Record r = RequestReset(testing::OnB(), true, false);
  std::string y = RenderState(Loaded{r, {}}, std::nullopt);
  EXPECT_NE(y.find("resetPending: true\nresetPersistent: true\nresetOem: false\n"), std::string::npos)
      << y;
}

TEST(SlotsStateCommand, ReadsTheStateDir) {
  testing::FaultFileOps ops;
  Store store(ops, "/mnt/oem/state");
  Record r = testing::TryingB(2);
  ASSERT_TRUE(store.Save(r));
  r.sequence = 7;  // as in the golden file
  std::string out, err;
  EXPECT_EQ(cli::StateMain({"state", "--state-dir", "/mnt/oem/state"}, ops, Layout(), out, err), 0)
      << err;
  std::string expect = Golden("state_trying.yaml");
  // Only the sequence differs (1 here, 7 in the golden file).
  size_t at = expect.find("sequence: 7\n");
  ASSERT_NE(at, std::string::npos);
  expect.replace(at, 12, "sequence: 1\n");
  EXPECT_EQ(out, expect);
  EXPECT_EQ(err, "");
}

TEST(SlotsStateCommand, FlagsAndErrors) {
  testing::FaultFileOps ops;
  std::string out, err;
  // Default directory, no record: not installed, exit 0.
  EXPECT_EQ(cli::StateMain({"--debug", "state"}, ops, std::nullopt, out, err), 0);
  EXPECT_EQ(out, "installed: false\n");
  out.clear();
  EXPECT_EQ(cli::StateMain({"state", "--state-dir=/x", "--config", "/c.yaml"}, ops, std::nullopt, out, err), 0);
  EXPECT_EQ(out, "installed: false\n");
  // Both copies damaged: exit 1 with the store's message.
  ops.SetFile(std::string(kDefaultStateDir) + "/slot-record.0", "x");
  ops.SetFile(std::string(kDefaultStateDir) + "/slot-record.1", "y");
  out.clear();
  EXPECT_EQ(cli::StateMain({"state"}, ops, std::nullopt, out, err), 1);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err,
            "Error: both copies of the slot state record in '/oem/elemental/state' are damaged: "
            "slot-record.0: bad header: no line break; slot-record.1: bad header: no line break\n");
  err.clear();
  EXPECT_EQ(cli::StateMain({"state", "--state-dir"}, ops, std::nullopt, out, err), 2);
  EXPECT_EQ(err, "Error: flag needs an argument: --state-dir\n");
  err.clear();
  EXPECT_EQ(cli::StateMain({"state", "--bogus"}, ops, std::nullopt, out, err), 2);
  EXPECT_EQ(err, "Error: unknown flag: --bogus\nRun 'elemental-agent --help' for usage.\n");
  err.clear();
  EXPECT_EQ(cli::StateMain({"state", "extra"}, ops, std::nullopt, out, err), 2);
  EXPECT_EQ(err, "Error: unexpected argument \"extra\" for \"elemental-agent state\"\n");
  out.clear();
  EXPECT_EQ(cli::StateMain({"state", "--help"}, ops, std::nullopt, out, err), 0);
  EXPECT_NE(out.find("elemental-agent state [flags]"), std::string::npos) << out;
  EXPECT_NE(out.find("--state-dir string"), std::string::npos) << out;
}

TEST(SlotsStateCommand, SlotCommand) {
  EXPECT_EQ(cli::SlotCommand({"state"}), "state");
  EXPECT_EQ(cli::SlotCommand({"--debug", "state", "--state-dir", "/x"}), "state");
  EXPECT_EQ(cli::SlotCommand({"--config", "/c", "state"}), "state");
  EXPECT_EQ(cli::SlotCommand({"--config=/c", "state"}), "state");
  EXPECT_EQ(cli::SlotCommand({"boot-decision", "--state-dir", "/x"}), "boot-decision");
  EXPECT_EQ(cli::SlotCommand({"--config", "state", "run"}), "");
  EXPECT_EQ(cli::SlotCommand({"run", "state"}), "");
  EXPECT_EQ(cli::SlotCommand({}), "");
}

// Parses the YAML `boot-decision` prints into key → value.
std::map<std::string, std::string> DecisionFields(const std::string& out) {
  std::map<std::string, std::string> m;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string line = out.substr(pos, nl - pos);
    pos = nl == std::string::npos ? out.size() : nl + 1;
    size_t colon = line.find(": ");
    if (colon != std::string::npos) m[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return m;
}

TEST(SlotsBootDecisionCommand, NoRecordMeansInstall) {
  testing::FaultFileOps ops;
  std::string out, err;
  EXPECT_EQ(cli::BootDecisionMain({"boot-decision", "--state-dir", "/oem/s"}, ops, testing::Now(),
                                  out, err),
            0)
      << err;
  auto f = DecisionFields(out);
  EXPECT_EQ(f["action"], "install");
  EXPECT_EQ(f["slot"], "none");
  EXPECT_EQ(f["rolledBack"], "false");
}

TEST(SlotsBootDecisionCommand, CountsTriesThenRollsBackAndWritesEachStep) {
  testing::FaultFileOps ops;
  Store store(ops, "/oem/s");
  Record r = testing::TryingB(2);
  ASSERT_TRUE(store.Save(r));
  const std::vector<std::string> args = {"boot-decision", "--state-dir=/oem/s"};
  for (int boot = 0; boot < 2; ++boot) {
    std::string out, err;
    ASSERT_EQ(cli::BootDecisionMain(args, ops, testing::Now(), out, err), 0) << err;
    auto f = DecisionFields(out);
    EXPECT_EQ(f["action"], "boot") << out;
    EXPECT_EQ(f["slot"], "B") << "boot " << boot;
    auto loaded = store.Load();
    ASSERT_TRUE(loaded && loaded->record);
    ASSERT_TRUE(loaded->record->pending_try);
    EXPECT_EQ(loaded->record->pending_try->tries_left, 1 - boot);
  }
  std::string out, err;
  ASSERT_EQ(cli::BootDecisionMain(args, ops, testing::Now(), out, err), 0) << err;
  auto f = DecisionFields(out);
  EXPECT_EQ(f["slot"], "A") << out;
  EXPECT_EQ(f["rolledBack"], "true");
  EXPECT_NE(f["message"].find("v2"), std::string::npos) << out;
  auto loaded = store.Load();
  ASSERT_TRUE(loaded && loaded->record);
  EXPECT_FALSE(loaded->record->pending_try);
  ASSERT_TRUE(loaded->record->last_rollback);
  // Booting again after the rollback: A, nothing more to roll back.
  out.clear();
  ASSERT_EQ(cli::BootDecisionMain(args, ops, testing::Now(), out, err), 0);
  f = DecisionFields(out);
  EXPECT_EQ(f["slot"], "A");
  EXPECT_EQ(f["rolledBack"], "false");
}

TEST(SlotsBootDecisionCommand, UnwritableRecordBootsTheFallbackNotTheTry) {
  testing::FaultFileOps ops;
  Store store(ops, "/oem/s");
  Record r = testing::TryingB(2);
  ASSERT_TRUE(store.Save(r));
  ops.FailAt(ops.steps() + 1, EIO);  // the next write step fails
  std::string out, err;
  ASSERT_EQ(cli::BootDecisionMain({"boot-decision", "--state-dir", "/oem/s"}, ops, testing::Now(),
                                  out, err),
            0);
  auto f = DecisionFields(out);
  EXPECT_EQ(f["action"], "boot");
  EXPECT_EQ(f["slot"], "A") << out;
  EXPECT_NE(err.find("writing the slot state record"), std::string::npos) << err;
}

TEST(SlotsBootDecisionCommand, UsageErrors) {
  testing::FaultFileOps ops;
  std::string out, err;
  EXPECT_EQ(cli::BootDecisionMain({"boot-decision", "--state-dir"}, ops, testing::Now(), out, err),
            2);
  EXPECT_EQ(cli::BootDecisionMain({"boot-decision", "x"}, ops, testing::Now(), out, err), 2);
  EXPECT_NE(err.find("for \"elemental-agent boot-decision\""), std::string::npos) << err;
  out.clear();
  EXPECT_EQ(cli::BootDecisionMain({"boot-decision", "-h"}, ops, testing::Now(), out, err), 0);
  EXPECT_NE(out.find("elemental-agent boot-decision [flags]"), std::string::npos) << out;
}

TEST(SlotsStateCommand, MainOnARealDirectory) {
  char tmpl[] = "/tmp/elemental-state-cmd-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/state";
  Store store(PosixFileOps(), dir);
  Record r = testing::Installed();
  ASSERT_TRUE(store.Save(r));
  std::vector<std::string> args = {"elemental-agent", "state", "--state-dir", dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  int rc = cli::Main(static_cast<int>(args.size()), argv.data());
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out.rfind("installed: true\nformatVersion: 1\nsequence: 1\nslots:\n  A:\n    state: good\n"
                      "    active: true\n",
                      0),
            0u)
      << out;
  std::filesystem::remove_all(tmpl);
}

TEST(SlotsStateCommand, ListedInHelp) {
  std::vector<std::string> args = {"elemental-agent", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(cli::Main(2, argv.data()), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  // Names are padded to the longest ("boot-decision") plus one space, as cobra does.
  EXPECT_NE(out.find("  state         Prints the A/B slot state record"), std::string::npos) << out;
  EXPECT_NE(out.find("  boot-decision Decides which slot"), std::string::npos) << out;
  EXPECT_NE(out.find("  register      Registers this Elemental host"), std::string::npos) << out;
}

}  // namespace
}  // namespace elemental::slots
