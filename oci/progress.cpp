// Rate-limited progress lines (see progress.hpp).
#include "oci/progress.hpp"

#include <cstdio>

namespace elemental::oci {
namespace {

std::string Fixed1(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

std::string Counter(const Progress& p) {
  return "layer " + std::to_string(p.layer + 1) + "/" + std::to_string(p.layers);
}

std::string ShortDigest(const std::string& d) {
  auto colon = d.find(':');
  if (colon == std::string::npos) return d.substr(0, 12);
  return d.substr(0, colon + 1 + 12);
}

double Seconds(std::chrono::system_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::string FormatProgressLong(const Progress& p, double bytes_per_second) {
  std::string s = Counter(p) + " " + ShortDigest(p.digest) + ": " + Fixed1(p.done / 1e6);
  if (p.total > 0) s += "/" + Fixed1(p.total / 1e6);
  s += " MB";
  if (bytes_per_second >= 0) s += " (" + Fixed1(bytes_per_second / 1e6) + " MB/s)";
  return s;
}

std::string FormatProgressShort(const Progress& p) {
  std::string s = "pulling " + Counter(p) + ": " + std::to_string(p.done / 1000000);
  if (p.total > 0) s += "/" + std::to_string(p.total / 1000000);
  return s + " MB";
}

ProgressReporter::ProgressReporter(Emit emit, Clock& clock, Style style,
                                   std::chrono::milliseconds interval)
    : emit_(std::move(emit)), clock_(clock), style_(style), interval_(interval) {}

void ProgressReporter::Update(const Progress& p) {
  const auto now = clock_.Now();
  if (p.layer != layer_ || p.digest != digest_) {
    layer_ = p.layer;
    digest_ = p.digest;
    ended_ = false;
    // The clock starts at the first chunk; its bytes came before, so they
    // do not count towards the rates.
    layer_start_ = now;
    last_line_ = now;
    last_done_ = p.done;
    first_done_ = p.done;
  }
  if (ended_) return;
  const bool end = p.total > 0 && p.done >= p.total;
  if (!end && now - last_line_ < interval_) return;
  double rate = -1;
  if (end) {
    double s = Seconds(now - layer_start_);
    if (s > 0) rate = static_cast<double>(p.done - first_done_) / s;
    ended_ = true;
  } else {
    double s = Seconds(now - last_line_);
    if (s > 0) rate = static_cast<double>(p.done - last_done_) / s;
  }
  last_line_ = now;
  last_done_ = p.done;
  emit_(style_ == Style::kLong ? FormatProgressLong(p, rate) : FormatProgressShort(p));
}

}  // namespace elemental::oci
