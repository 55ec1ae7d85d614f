// Logging implementation: one mutex-protected sink, secrets scrubbed per line.
#include "common/log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

namespace elemental::log {
namespace {

struct State {
  std::mutex mu;
  bool debug = false;
  std::vector<std::string> secrets;
  Sink sink;
};

State& state() {
  static State s;
  return s;
}

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}

std::string ScrubLocked(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    size_t pos = 0;
    while ((pos = text.find(s, pos)) != std::string::npos) {
      text.replace(pos, s.size(), "[REDACTED]");
      pos += 10;
    }
  }
  return text;
}

}  // namespace

void EnableDebug(bool on) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().debug = on;
}

bool DebugEnabled() {
  std::lock_guard<std::mutex> lock(state().mu);
  return state().debug;
}

void AddSecret(std::string_view secret) {
  if (secret.size() < 8) return;
  std::lock_guard<std::mutex> lock(state().mu);
  for (const auto& s : state().secrets) {
    if (s == secret) return;
  }
  state().secrets.emplace_back(secret);
}

void SetSink(Sink sink) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().sink = std::move(sink);
}

void ResetSink() { SetSink(nullptr); }

std::string Scrub(std::string text) {
  std::lock_guard<std::mutex> lock(state().mu);
  return ScrubLocked(std::move(text), state().secrets);
}

void Write(Level level, std::string_view message) {
  std::lock_guard<std::mutex> lock(state().mu);
  std::string body = ScrubLocked(std::string(message), state().secrets);
  if (state().sink) {
    state().sink(level, body);
    return;
  }
  char ts[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %-5s %s\n", ts, LevelName(level), body.c_str());
  std::fflush(stderr);
}

}  // namespace elemental::log
