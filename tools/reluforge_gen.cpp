// reluforge-gen: the ahead-of-time generator. Compiles kernel specs for x86 ISA variants into one
// static library, a typed C++ header and the registration source that lets the runtime find them.
#include "reluforge/error.h"
#include "reluforge/generator/compile.h"
#include "reluforge/generator/apply_cuda.h"
#include "reluforge/signature.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace {

bool valid_identifier(const std::string &s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    }
    return true;
}

std::vector<std::string> read_specs_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) throw reluforge::Error(reluforge::ErrorCode::bad_argument, "cannot read specs file " + path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
        if (b != std::string::npos) out.push_back(line.substr(b, e - b + 1));
    }
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    using namespace reluforge;
    CLI::App app{
        "reluforge-gen: compile fused activation kernels ahead of time.\n\n"
        "Writes lib<name>.a (every spec for every target), <name>.h (a typed function per spec)\n"
        "and <name>_registration.cpp (compile and link it into your program: it registers the\n"
        "kernels so that reluforge::run_kernel and reluforge::Linear find them by spec). The\n"
        "program also links reluforge's runtime library, which carries the one Halide runtime all\n"
        "kernels share. At run time the best target this CPU supports is chosen per kernel.\n\n"
        "Spec syntax (canonical form; omitted keys take defaults):\n"
        "  forward:<act>:bias=0|1:weight=kn|nk:save=none|z|y|mask:counts=0|1:dtype=f32|f16\n"
        "  activation_backward:<act>:bias=0|1:save=z|y|mask:dtype=f32|f16\n"
        "  backward_data:<prev act>:prev_bias=0|1:weight=kn|nk:save=none|z|y|mask:dtype=f32|f16\n"
        "  (backward_data's activation, prev_bias and save describe the previous layer)\n"
        "  backward_weight:bias=0|1:weight=kn|nk:dtype=f32|f16\n"
        "dtype=f16 stores matrices as IEEE half (accumulating in f32; bias and slopes stay f32).\n"
        "Activations: identity relu leaky_relu(slope=0.01) prelu(slopes=shared|per_column)\n"
        "  elu(alpha=1) selu celu(alpha=1) relu6 gelu(approximate=none|tanh) silu mish\n"
        "  softplus(beta=1,threshold=20) hardswish\n"
        "Parameters are float32 (slope=0.01 is 0.0099999998f, as in a float32 PyTorch model).\n"
        "Whitespace around : , = and parentheses is allowed. The numerics: docs/numerics.md.\n\n"
        "Example:\n"
        "  reluforge-gen -n mykernels -o gen -s forward:relu:save=mask -s activation_backward:relu\n"};
    std::vector<std::string> spec_texts, target_names{"avx512", "avx2", "sse41"};
    std::string name, ns, out_dir, specs_file, signature_of;
    bool runtime_only = false, canonical_only = false;
    app.add_option("-s,--spec", spec_texts, "kernel spec (repeatable)");
    app.add_option("--specs-file", specs_file, "file with one spec per line ('#' starts a comment)")
        ->check(CLI::ExistingFile);
    app.add_option("-t,--target", target_names,
                   "x86 targets to build, any of avx512, avx2, sse41 (default: all three)")
        ->delimiter(',');
    app.add_option("-n,--name", name, "library name: lib<name>.a, <name>.h, <name>_registration.cpp");
    app.add_option("--namespace", ns, "C++ namespace of the typed header (default: the name)");
    app.add_option("-o,--output-dir", out_dir, "directory for the outputs (created if missing)");
    app.add_flag("--runtime", runtime_only,
                 "write the shared Halide runtime (halide_runtime_x86.o) to the output directory instead");
    app.add_flag("--canonical", canonical_only, "print each spec in canonical form and exit");
    app.add_option("--signature", signature_of, "print the tensors a spec's kernel takes and exit");
    std::string object_path, object_symbol, object_schedule;
    app.add_option("--object", object_path,
                   "compile one kernel (one --spec, one --target) with --schedule into this object file "
                   "(reluforge-tune compiles candidates this way, several at once)");
    app.add_option("--symbol", object_symbol, "with --object: the kernel's symbol");
    app.add_option("--schedule", object_schedule, "with --object: the CPU schedule, in canonical text");
    std::string ptx_dir;
    std::vector<int> cuda_capabilities;
    app.add_option("--cuda-capability", cuda_capabilities,
                   "also build CUDA kernels for these capabilities (any of 30 32 35 50 61 70 75 80 86; newer GPUs "
                   "such as Hopper run the PTX of 86; comma-separated)")
        ->delimiter(',');
    app.add_option("--ptx-dir", ptx_dir,
                   "write the CUDA PTX of each spec (default CUDA schedule) to <dir>/<identifier>.sm<cap>.ptx "
                   "for each --cuda-capability (default 80) instead of building a library");
    std::string tuning_db_path;
    app.add_option("--tuning-db", tuning_db_path,
                   "tuning database (reluforge-tune): its winners measured on this machine become variants "
                   "ahead of the default table's");
    CLI11_PARSE(app, argc, argv);

    try {
        if (!signature_of.empty()) {
            const KernelSpec spec = parse_spec(signature_of);
            fmt::print("{}\n", to_string(spec));
            for (const auto &s : kernel_signature(spec)) {
                fmt::print("  {:7} {:12} {} {}\n", s.output ? "output" : "input", s.name, to_string(s.dtype),
                           shape_text(s));
            }
            return 0;
        }
        if (!specs_file.empty()) {
            for (auto &s : read_specs_file(specs_file)) spec_texts.push_back(s);
        }
        std::vector<KernelSpec> specs;
        for (const auto &text : spec_texts) {
            KernelSpec s = parse_spec(text);
            if (std::find(specs.begin(), specs.end(), s) == specs.end()) specs.push_back(s);
        }
        if (canonical_only) {
            for (const auto &s : specs) fmt::print("{}\n", to_string(s));
            return 0;
        }
        if (!object_path.empty()) {
            if (specs.size() != 1 || target_names.size() != 1 || object_symbol.empty() || object_schedule.empty()) {
                throw Error(ErrorCode::bad_argument, "--object takes one --spec, one --target, --symbol and --schedule");
            }
            gen::compile_kernel_object(specs[0], parse_isa(target_names[0]), sched::parse_cpu_schedule(object_schedule),
                                       object_symbol, object_path);
            return 0;
        }
        if (!ptx_dir.empty()) {
            if (specs.empty()) throw Error(ErrorCode::bad_argument, "no specs given: use --spec or --specs-file");
            std::filesystem::create_directories(ptx_dir);
            if (cuda_capabilities.empty()) cuda_capabilities.push_back(80);
            for (int capability : cuda_capabilities) {
                for (const auto &spec : specs) {
                    const std::string ptx = gen::compile_cuda_ptx(spec, capability);
                    const std::string path = fmt::format("{}/{}.sm{}.ptx", ptx_dir, identifier(spec), capability);
                    std::ofstream(path, std::ios::binary) << ptx;
                }
                fmt::print("reluforge-gen: PTX of {} kernels (sm_{}) -> {}\n", specs.size(), capability, ptx_dir);
            }
            return 0;
        }
        if (out_dir.empty()) throw Error(ErrorCode::bad_argument, "--output-dir is required");
        if (runtime_only) {
            std::filesystem::create_directories(out_dir);
            gen::compile_x86_runtime(out_dir + "/halide_runtime_x86.o");
            return 0;
        }
        if (specs.empty()) throw Error(ErrorCode::bad_argument, "no specs given: use --spec or --specs-file");
        if (!valid_identifier(name) || name.find(':') != std::string::npos) {
            throw Error(ErrorCode::bad_argument,
                        fmt::format("--name '{}' must be a C identifier (letters, digits, _)", name));
        }
        if (ns.empty()) ns = name;
        if (!valid_identifier(ns)) {
            throw Error(ErrorCode::bad_argument, fmt::format("--namespace '{}' is not a C++ namespace", ns));
        }
        std::vector<Isa> isas;
        for (const auto &t : target_names) {
            Isa isa = parse_isa(t);
            if (std::find(isas.begin(), isas.end(), isa) == isas.end()) isas.push_back(isa);
        }
        // Refused before any kernel compiles, with the capabilities Halide 14 targets.
        for (int capability : cuda_capabilities) gen::cuda_target(capability);
        gen::LibraryRequest request{name, ns, specs, isas, out_dir};
        request.cuda_capabilities = cuda_capabilities;
        sched::TuningDb db;
        if (!tuning_db_path.empty()) {
            if (!std::filesystem::exists(tuning_db_path)) {
                throw Error(ErrorCode::bad_argument, fmt::format("--tuning-db {}: no such file", tuning_db_path));
            }
            db = sched::TuningDb::load(tuning_db_path);
            request.tuning_db = &db;
            request.machine = sched::this_machine();
            // Which kernels run tuned schedules, which only the default table's, and which
            // records were left out (another machine).
            int tuned = 0, untuned = 0;
            for (const auto &spec : specs) {
                for (Isa isa : isas) {
                    std::vector<std::string> skipped;
                    const auto variants = db.tuned(spec, isa, request.machine, &skipped);
                    for (const auto &line : skipped) fmt::print("reluforge-gen: {}\n", line);
                    if (variants.empty()) {
                        untuned++;
                        fmt::print("reluforge-gen: untuned (default schedules): {} on {}\n", to_string(spec), to_string(isa));
                    } else {
                        tuned++;
                        for (const auto &v : variants) {
                            fmt::print("reluforge-gen: tuned: {} on {} for {}: {}\n", to_string(spec), to_string(isa),
                                       v.shape_rule, sched::to_string(v.schedule));
                        }
                    }
                }
            }
            fmt::print("reluforge-gen: {} kernels tuned, {} untuned, from {}\n", tuned, untuned, tuning_db_path);
        }
        gen::emit_library(request);
        fmt::print("reluforge-gen: {} kernels x {} targets -> {}/lib{}.a\n", specs.size(),
                   isas.size() + cuda_capabilities.size(), out_dir, name);
        return 0;
    } catch (const Error &e) {
        fmt::print(stderr, "reluforge-gen: error: {}\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fmt::print(stderr, "reluforge-gen: error: {}\n", e.what());
        return 1;
    }
}
