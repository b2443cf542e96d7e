// Writes the kernel specs the tests need, one per line, to a file: all of them, or group i of n;
// with a fourth argument "f16", the same specs with f16 storage. A file that already holds the
// same list is left untouched, so that relinking this tool (any runtime change) does not make
// ninja regenerate every test kernel (its custom commands restat their outputs).
#include "support/cases.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

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
    // Written beside the file under a fresh name, then renamed over it: atomic.
    std::string temporary = path + ".XXXXXX";
    const int fd = mkstemp(temporary.data());
    if (fd < 0) return 1;
    const std::string text = list.str();
    const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    if (close(fd) != 0 || !written || std::rename(temporary.c_str(), path.c_str()) != 0) {
        std::remove(temporary.c_str());
        return 1;
    }
    return 0;
}
