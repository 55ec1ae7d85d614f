// The compiled-in plugin table. See registry.hpp.
#include "plugin/registry.hpp"

#include "plugin/dummy.hpp"
#include "plugin/elemental/real.hpp"

namespace elemental::plugin {
namespace {

constexpr const char* kElementalPlugin = "elemental.so";
constexpr const char* kDummyPlugin = "dummy.so";

std::string FileName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::vector<std::string> KnownPlugins() { return {kElementalPlugin, kDummyPlugin}; }

Expected<std::unique_ptr<OsPlugin>> LoadPlugin(const std::string& os_plugin) {
  const std::string name = FileName(os_plugin);
  if (name == kDummyPlugin) {
    return std::unique_ptr<OsPlugin>(std::make_unique<DummyPlugin>());
  }
  if (name == kElementalPlugin) {
    return native::MakeNativePlugin();
  }
  std::string known;
  for (const auto& k : KnownPlugins()) known += (known.empty() ? "" : ", ") + k;
  return Error("unknown OS plugin '" + os_plugin + "': known plugins are " + known +
               " (selected by file name)");
}

}  // namespace elemental::plugin
