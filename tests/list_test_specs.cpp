// Writes the kernel specs the tests need, one per line, to a file: all of them, or group i of n;
// with a fourth argument "f16", the same specs with f16 storage.
#include "support/cases.h"

#include <cstdlib>
#include <cstring>
#include <fstream>

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 5 && std::strcmp(argv[4], "f16") == 0)) return 2;
    const int group = std::atoi(argv[1]), groups = std::atoi(argv[2]);
    std::ofstream out(argv[3]);
    const auto specs = cases::kernel_specs();
    for (size_t k = 0; k < specs.size(); k++) {
        reluforge::KernelSpec spec = specs[k];
        if (argc == 5) spec.dtype = reluforge::DType::f16;
        if (static_cast<int>(k % groups) == group) out << reluforge::to_string(spec) << "\n";
    }
    return out ? 0 : 1;
}
