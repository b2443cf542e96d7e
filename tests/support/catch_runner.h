// Runs the program's Catch2 test cases with its command line (Catch2's Session is declared only
// where its implementation is compiled: catch_runner.cpp).
#pragma once

int run_catch(int argc, char **argv);
