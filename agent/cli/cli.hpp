// The command line: `elemental-agent [--config PATH] [--debug] COMMAND`.
//
// Commands as upstream: register [--install], install, run, reset, version.
#pragma once

namespace elemental::cli {

// Runs the program; returns the process exit code (0 success, 1 failure,
// 2 usage error).
int Main(int argc, char** argv);

}  // namespace elemental::cli
