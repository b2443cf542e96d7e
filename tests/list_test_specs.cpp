// Writes the kernel specs the tests need, one per line, to a file: all of them, or group i of n;
// with a fourth argument "f16", the same specs with f16 storage. A file that already holds the
// same list is left untouched, so that relinking this tool (any runtime change) does not make
// ninja regenerate every test kernel (its custom commands restat their outputs).
#include "support/cases.h"

#include "reluforge/detail/files.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 5 && std::strcmp(argv[4], "f16") == 0)) return 2;
    const int group = std::atoi(argv[1]), groups = std::atoi(argv[2]);
    const std::string path = argv[3];
    std::ostringstream list;
    const auto specs = cases::kernel_specs();
    for (size_t k = 0; k < specs.size(); k++) {
        reluforge::KernelSpec spec = specs[k];
        if (argc == 5) spec.dtype = reluforge::DType::f16;
        if (static_cast<int>(k % groups) == group) list << reluforge::to_string(spec) << "\n";
    }
    std::ostringstream old;
    old << std::ifstream(path).rdbuf();
    if (old.str() == list.str()) return 0;
    if (const std::string problem = reluforge::detail::write_file_atomically(path, list.str()); !problem.empty()) {
        std::cerr << "list_test_specs: " << problem << "\n";
        return 1;
    }
    return 0;
}
