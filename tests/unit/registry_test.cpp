// Tests for choosing the compiled-in OS plugin from `agent.osPlugin`.
// Plugins are only created and inspected here, never asked to act.
#include "plugin/registry.hpp"

#include <gtest/gtest.h>

#include "plugin/dummy.hpp"
#include "plugin/elemental/elemental.hpp"

namespace elemental::plugin {
namespace {

TEST(RegistryTest, DummySelectedByFullPath) {
  auto p = LoadPlugin("/usr/lib/elemental/plugins/dummy.so");
  ASSERT_TRUE(p) << p.error().message();
  ASSERT_NE(p->get(), nullptr);
  EXPECT_NE(dynamic_cast<DummyPlugin*>(p->get()), nullptr);
}

TEST(RegistryTest, OnlyTheFileNameCounts) {
  for (const std::string v : {"dummy.so", "/opt/other/dir/dummy.so", "./dummy.so"}) {
    auto p = LoadPlugin(v);
    ASSERT_TRUE(p) << v << ": " << p.error().message();
    EXPECT_NE(dynamic_cast<DummyPlugin*>(p->get()), nullptr) << v;
  }
}

TEST(RegistryTest, NativePluginIsChosenByFileName) {
  for (const std::string v : {"/usr/lib/elemental/plugins/elemental.so", "elemental.so"}) {
    auto p = LoadPlugin(v);
    ASSERT_TRUE(p) << v << ": " << p.error().message();
    EXPECT_NE(dynamic_cast<native::NativePlugin*>(p->get()), nullptr) << v;
  }
}

TEST(RegistryTest, UnknownPluginListsTheKnownOnes) {
  auto p = LoadPlugin("/usr/lib/elemental/plugins/custom.so");
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message(),
            "unknown OS plugin '/usr/lib/elemental/plugins/custom.so': known plugins are elemental.so, "
            "dummy.so (selected by file name)");
  for (const std::string v : {"", "dummy", "/usr/lib/elemental/plugins/dummy.so/", "Dummy.so", "dummy.so.1"}) {
    auto q = LoadPlugin(v);
    ASSERT_FALSE(q) << v;
    EXPECT_NE(q.error().message().find("unknown OS plugin '" + v + "'"), std::string::npos)
        << q.error().message();
  }
}

TEST(RegistryTest, KnownPlugins) {
  EXPECT_EQ(KnownPlugins(), (std::vector<std::string>{"elemental.so", "dummy.so"}));
}

}  // namespace
}  // namespace elemental::plugin
