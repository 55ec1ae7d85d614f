// Post actions: power off or reboot through the plugin.
#include "phase/post.hpp"

#include "common/log.hpp"

namespace elemental::phase {

bool HandlePost(plugin::OsPlugin& plugin, const api::PostAction& post) {
  if (post.power_off) {
    log::Info("Powering off system");
    if (auto st = plugin.PowerOff(); !st) log::Error("Powering off system: " + st.error().message());
    return true;
  }
  if (post.reboot) {
    log::Info("Rebooting system");
    if (auto st = plugin.Reboot(); !st) log::Error("Rebooting system: " + st.error().message());
    return true;
  }
  return false;
}

}  // namespace elemental::phase
