// elemental-agent entry point: hands argv to the testable cli::Main.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return elemental::cli::Main(argc, argv); }
