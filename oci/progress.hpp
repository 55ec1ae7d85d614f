// Turning Pull's per-chunk Progress callbacks into steady log lines:
// at most one line per interval (2 s by default) while a layer streams, plus
// one when each layer ends. Time comes from a Clock so tests drive it.
//
//   long:  "layer 3/5 sha256:abcdef123456: 120.0/300.0 MB (45.2 MB/s)"
//   short: "pulling layer 3/5: 120/300 MB"   (for host condition messages)
//
// MB are 10^6 bytes. The rate of a line in the middle of a layer is over the
// time since the previous line; a layer's last line gives its average.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/clock.hpp"
#include "oci/pull.hpp"

namespace elemental::oci {

// "layer 3/5 sha256:abcdef123456: 120.0/300.0 MB (45.2 MB/s)"; without the
// rate when `bytes_per_second` < 0, without the total when it is unknown.
std::string FormatProgressLong(const Progress& p, double bytes_per_second);

// "pulling layer 3/5: 120/300 MB".
std::string FormatProgressShort(const Progress& p);

class ProgressReporter {
 public:
  enum class Style { kLong, kShort };
  using Emit = std::function<void(const std::string& line)>;

  ProgressReporter(Emit emit, Clock& clock, Style style = Style::kLong,
                   std::chrono::milliseconds interval = std::chrono::seconds(2));

  // Feed every Progress from PullOptions::progress here.
  void Update(const Progress& p);

 private:
  Emit emit_;
  Clock& clock_;
  Style style_;
  std::chrono::milliseconds interval_;
  size_t layer_ = static_cast<size_t>(-1);
  std::string digest_;
  bool ended_ = false;  // the current layer's last line was written
  std::chrono::system_clock::time_point layer_start_;
  std::chrono::system_clock::time_point last_line_;
  int64_t last_done_ = 0;
  int64_t first_done_ = 0;
};

}  // namespace elemental::oci
