// Clock: time and sleeping behind an interface, so retry loops and token
// timestamps can be driven by tests.
#pragma once

#include <chrono>

namespace elemental {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() = 0;
  virtual void Sleep(std::chrono::nanoseconds d) = 0;
};

// The real clock (system_clock, std::this_thread::sleep_for).
Clock& SystemClock();

}  // namespace elemental
