// Writes what the test kernels are built from, one item per line, to a file:
//   list_test_specs every|harness <group> <groups> <file> [f16]
//       group i of n of the kernel specs whose every variant the tests need (every), or of the
//       others (harness); with "f16", the same specs with f16 storage
//   list_test_specs all 0 1 <file> [f16]   every spec the tests run
//   list_test_specs shapes <file>           the harness's shapes, MxKxN (reluforge-gen --shapes-file)
// A file that already holds the same list is left untouched, so that relinking this tool (any
// runtime change) does not make ninja regenerate every test kernel (its custom commands restat
// their outputs).
#include "support/cases.h"

#include "reluforge/detail/files.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

int write_if_changed(const std::string &path, const std::string &text) {
    std::ostringstream old;
    old << std::ifstream(path).rdbuf();
    if (old.str() == text) return 0;
    if (const std::string problem = reluforge::detail::write_file_atomically(path, text); !problem.empty()) {
        std::cerr << "list_test_specs: " << problem << "\n";
        return 1;
    }
    return 0;
}

std::vector<reluforge::KernelSpec> specs_of(const std::string &set) {
    const auto every = cases::every_variant_specs();
    if (set == "every") return every;
    std::vector<reluforge::KernelSpec> out;
    for (const auto &spec : cases::kernel_specs()) {
        const bool in_every = std::find(every.begin(), every.end(), spec) != every.end();
        if (set == "all" || !in_every) out.push_back(spec);
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    const std::string set = argc > 1 ? argv[1] : "";
    std::ostringstream list;
    if (set == "shapes" && argc == 3) {
        for (const auto &s : cases::shapes()) list << s.M << "x" << s.K << "x" << s.N << "\n";
        return write_if_changed(argv[2], list.str());
    }
    const bool f16 = argc == 6 && std::strcmp(argv[5], "f16") == 0;
    if ((set != "every" && set != "harness" && set != "all") || (argc != 5 && !f16)) {
        std::cerr << "usage: list_test_specs every|harness|all <group> <groups> <file> [f16] | shapes <file>\n";
        return 2;
    }
    const int group = std::atoi(argv[2]), groups = std::atoi(argv[3]);
    const auto specs = specs_of(set);
    for (size_t k = 0; k < specs.size(); k++) {
        reluforge::KernelSpec spec = specs[k];
        if (f16) spec.dtype = reluforge::DType::f16;
        if (static_cast<int>(k % groups) == group) list << reluforge::to_string(spec) << "\n";
    }
    return write_if_changed(argv[4], list.str());
}
