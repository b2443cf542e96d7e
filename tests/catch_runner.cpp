// Catch2's implementation, compiled once for every test program; each brings its main (the plain
// one, test_main.cpp, or its own that checks for a device first) and calls run_catch.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/catch_runner.h"

int run_catch(int argc, char **argv) { return Catch::Session().run(argc, argv); }
