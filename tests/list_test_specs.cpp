// Writes the kernel specs the tests need, one per line, to a file: all of them, or group i of n.
#include "support/cases.h"

#include <cstdlib>
#include <fstream>

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    const int group = std::atoi(argv[1]), groups = std::atoi(argv[2]);
    std::ofstream out(argv[3]);
    const auto specs = cases::kernel_specs();
    for (size_t k = 0; k < specs.size(); k++) {
        if (static_cast<int>(k % groups) == group) out << reluforge::to_string(specs[k]) << "\n";
    }
    return out ? 0 : 1;
}
