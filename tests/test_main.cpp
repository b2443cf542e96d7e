// The main of the test programs that need no setup before Catch2 runs.
#include "support/catch_runner.h"

int main(int argc, char **argv) { return run_catch(argc, argv); }
