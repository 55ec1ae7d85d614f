// Logging: leveled lines on stderr, with secrets scrubbed.
//
// The agent logs to stderr as "<RFC3339 time> <LEVEL> <message>". Debug lines
// appear only after EnableDebug(). Any string registered with AddSecret()
// (registration tokens, JWTs, private key PEM) is replaced by "[REDACTED]"
// in every line before it is written, as a last line of defence: code should
// not log secrets in the first place.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace elemental::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void EnableDebug(bool on = true);
bool DebugEnabled();

// Registers a secret to scrub from all later log lines. Strings shorter than
// 8 characters are ignored (they would scrub ordinary words).
void AddSecret(std::string_view secret);

// Replaces where lines go (default: stderr). Tests use it to capture output.
using Sink = std::function<void(Level, const std::string& line)>;
void SetSink(Sink sink);
void ResetSink();

void Write(Level level, std::string_view message);
inline void Debug(std::string_view m) { if (DebugEnabled()) Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

// Scrubs registered secrets from a string (exposed for tests and for text
// that leaves the agent by other ways, such as condition messages).
std::string Scrub(std::string text);

}  // namespace elemental::log
