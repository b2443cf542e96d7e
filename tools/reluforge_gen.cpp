// reluforge-gen: the ahead-of-time generator. Compiles kernel specs for x86 ISA variants (and CUDA
// capabilities) into one static library, a typed C++ header and the registration source that lets
// the runtime find them. Other modes: the shared Halide runtime, one object (reluforge-tune's
// candidates), PTX, a spec's signature or canonical text.
#include "reluforge/error.h"
#include "reluforge/generator/apply_gpu.h"
#include "reluforge/generator/compile.h"
#include "reluforge/isa.h"
#include "reluforge/signature.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string_view>

using namespace reluforge;

namespace {

struct Options {
    std::vector<std::string> spec_texts, target_names{"avx512", "avx2", "sse41"}, shape_texts;
    std::string name, ns, out_dir, specs_file, shapes_file, signature_of;
    bool runtime_only = false, canonical_only = false;
    std::string object_path, object_symbol, object_schedule;
    std::string ptx_dir;
    std::vector<int> cuda_capabilities;
    bool opencl = false;
    std::string gpu_schedule;
    std::string tuning_db_path;
    int threads = default_thread_count();
};

void add_options(CLI::App &app, Options &o) {
    app.add_option("-s,--spec", o.spec_texts, "kernel spec (repeatable)");
    app.add_option("--specs-file", o.specs_file, "file with one spec per line ('#' starts a comment)")
        ->check(CLI::ExistingFile);
    app.add_option("-t,--target", o.target_names, "x86 targets to build, any of avx512, avx2, sse41 (default: all three)")
        ->delimiter(',');
    app.add_option("--shape", o.shape_texts,
                   "a layer shape MxKxN the program calls (repeatable, comma-separated): build only the "
                   "variants calls of the given shapes run, on any kind of CPU, and each kernel's variant for "
                   "every shape; a smaller library, built faster. Calls of other shapes run on these variants")
        ->delimiter(',');
    app.add_option("--shapes-file", o.shapes_file, "file with one MxKxN shape per line ('#' starts a comment)")
        ->check(CLI::ExistingFile);
    app.add_option("-n,--name", o.name, "library name: lib<name>.a, <name>.h, <name>_registration.cpp");
    app.add_option("--namespace", o.ns, "C++ namespace of the typed header (default: the name)");
    app.add_option("-o,--output-dir", o.out_dir, "directory for the outputs (created if missing)");
    app.add_flag("--runtime", o.runtime_only,
                 "write the shared Halide runtime (halide_runtime_x86.o) to the output directory instead");
    app.add_flag("--canonical", o.canonical_only, "print each spec in canonical form and exit");
    app.add_option("--signature", o.signature_of, "print the tensors a spec's kernel takes and exit");
    app.add_option("--object", o.object_path,
                   "compile one kernel (one --spec, one --target) with --schedule into this object file "
                   "(reluforge-tune compiles candidates this way, several at once)");
    app.add_option("--symbol", o.object_symbol, "with --object: the kernel's symbol");
    app.add_option("--schedule", o.object_schedule, "with --object: the CPU schedule, in canonical text");
    app.add_option("--cuda-capability", o.cuda_capabilities,
                   "also build CUDA kernels for these capabilities (any of 30 32 35 50 61 70 75 80 86; newer GPUs "
                   "such as Hopper run the PTX of 86; comma-separated)")
        ->delimiter(',');
    app.add_flag("--opencl", o.opencl,
                 "also build an OpenCL kernel of each spec (the GPU schedule of the CUDA kernels; run on "
                 "OpenCL tensors, reluforge/opencl.h)");
    app.add_option("--gpu-schedule", o.gpu_schedule,
                   "the GPU schedule of every CUDA and OpenCL kernel, in canonical text (default: the table's, "
                   "gpu:block=64x64:thread=4x4:k=16:pass=32x8); CUDA kernels are checked against CUDA's limits "
                   "here, OpenCL ones against their device's before they run");
    app.add_option("--ptx-dir", o.ptx_dir,
                   "write the CUDA PTX of each spec (default CUDA schedule) to <dir>/<identifier>.sm<cap>.ptx "
                   "for each --cuda-capability (default 80) instead of building a library");
    app.add_option("--tuning-db", o.tuning_db_path,
                   "tuning database (reluforge-tune): its winners measured on this machine become variants "
                   "ahead of the default table's");
    app.add_option("--threads", o.threads,
                   "with --tuning-db: the threads the program runs its kernels on; only records tuned on that "
                   "many are used (default: the runtime's default, HL_NUM_THREADS if set, else one per core)")
        ->check(CLI::PositiveNumber);
}

[[noreturn]] void refuse(const std::string &message) { throw Error(ErrorCode::bad_argument, message); }

// A C++ identifier that is not a keyword (it names a namespace and a library in generated code).
bool valid_identifier(std::string_view s) {
    static const std::set<std::string_view> keywords = {
        "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
        "char", "char8_t", "char16_t", "char32_t", "class", "compl", "concept", "const", "consteval", "constexpr",
        "constinit", "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete",
        "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for",
        "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq",
        "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register", "reinterpret_cast",
        "requires", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
        "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename",
        "union", "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq"};
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || keywords.count(s)) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// "a::b::c": each part an identifier.
bool valid_namespace(std::string_view s) {
    for (size_t start = 0;;) {
        const size_t colons = s.find("::", start);
        if (!valid_identifier(s.substr(start, colons == std::string_view::npos ? colons : colons - start))) return false;
        if (colons == std::string_view::npos) return true;
        start = colons + 2;
    }
}

// The lines of a file of specs or shapes, '#' comments and blank lines dropped.
std::vector<std::string> read_list_file(const std::string &path) {
    std::ifstream in(path);
    if (!in) refuse("cannot read " + path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        auto hash = line.find('#');
        if (hash != std::string::npos) line.resize(hash);
        auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
        if (b != std::string::npos) out.push_back(line.substr(b, e - b + 1));
    }
    return out;
}

// The specs of --spec and --specs-file, parsed, each once (by canonical text).
std::vector<KernelSpec> read_specs(const Options &o) {
    std::vector<std::string> texts = o.spec_texts;
    if (!o.specs_file.empty()) {
        for (auto &s : read_list_file(o.specs_file)) texts.push_back(std::move(s));
    }
    std::vector<KernelSpec> specs;
    std::set<std::string> seen;
    for (const auto &text : texts) {
        KernelSpec s = parse_spec(text);
        if (seen.insert(to_string(s)).second) specs.push_back(s);
    }
    return specs;
}

void print_signature(const std::string &text) {
    const KernelSpec spec = parse_spec(text);
    fmt::print("{}\n", to_string(spec));
    for (const auto &s : kernel_signature(spec)) {
        fmt::print("  {:7} {:12} {} {}\n", s.output ? "output" : "input", s.name, to_string(s.dtype), shape_text(s));
    }
}

void write_object(const Options &o, const std::vector<KernelSpec> &specs) {
    if (specs.size() != 1 || o.target_names.size() != 1 || o.object_symbol.empty() || o.object_schedule.empty()) {
        refuse("--object takes one --spec, one --target, --symbol and --schedule");
    }
    gen::compile_kernel_object(specs[0], parse_isa(o.target_names[0]), sched::parse_cpu_schedule(o.object_schedule),
                               o.object_symbol, o.object_path);
}

void write_ptx(const Options &o, const std::vector<KernelSpec> &specs) {
    if (specs.empty()) refuse("no specs given: use --spec or --specs-file");
    std::filesystem::create_directories(o.ptx_dir);
    const std::vector<int> capabilities = o.cuda_capabilities.empty() ? std::vector<int>{80} : o.cuda_capabilities;
    for (int capability : capabilities) {
        for (const auto &spec : specs) {
            const std::string path = fmt::format("{}/{}.sm{}.ptx", o.ptx_dir, identifier(spec), capability);
            std::ofstream(path, std::ios::binary) << gen::compile_cuda_ptx(spec, capability);
        }
        fmt::print("reluforge-gen: PTX of {} kernels (sm_{}) -> {}\n", specs.size(), capability, o.ptx_dir);
    }
}

// The library's name, namespace, targets and capabilities, refused before anything compiles.
gen::LibraryRequest library_request(const Options &o, const std::vector<KernelSpec> &specs) {
    if (specs.empty()) refuse("no specs given: use --spec or --specs-file");
    if (!valid_identifier(o.name)) {
        refuse(fmt::format("--name '{}' must be a C++ identifier (letters, digits, _; not a keyword)", o.name));
    }
    const std::string ns = o.ns.empty() ? o.name : o.ns;
    if (!valid_namespace(ns)) {
        refuse(fmt::format("--namespace '{}' is not a C++ namespace (identifiers joined by ::, no keywords)", ns));
    }
    std::vector<Isa> isas;
    for (const auto &t : o.target_names) {
        const Isa isa = parse_isa(t);
        if (std::find(isas.begin(), isas.end(), isa) == isas.end()) isas.push_back(isa);
    }
    for (int capability : o.cuda_capabilities) gen::cuda_target(capability);  // names Halide 14's list
    if (!o.cuda_capabilities.empty() || o.opencl) {
        for (const auto &spec : specs) validate_for_gpu(spec);  // before anything compiles
    }
    gen::LibraryRequest request{o.name, ns, specs, isas, o.out_dir};
    std::vector<std::string> shape_texts = o.shape_texts;
    if (!o.shapes_file.empty()) {
        const std::vector<std::string> listed = read_list_file(o.shapes_file);
        if (listed.empty()) refuse(fmt::format("--shapes-file {} lists no shapes", o.shapes_file));
        shape_texts.insert(shape_texts.end(), listed.begin(), listed.end());
    }
    for (const auto &text : shape_texts) request.shapes.push_back(parse_layer_shape(text));
    request.cuda_capabilities = o.cuda_capabilities;
    request.opencl = o.opencl;
    if (!o.gpu_schedule.empty()) {
        if (o.cuda_capabilities.empty() && !o.opencl) refuse("--gpu-schedule needs GPU kernels: --cuda-capability or --opencl");
        request.gpu_schedule = sched::parse_gpu_schedule(o.gpu_schedule);
    }
    return request;
}

// Which kernels run tuned schedules, which only the default table's, and which records were left
// out (another machine or target).
void report_tuning(const gen::LibraryRequest &request, const std::string &db_path) {
    int tuned = 0, untuned = 0;
    for (const auto &spec : request.specs) {
        for (Isa isa : request.isas) {
            std::vector<std::string> skipped;
            const auto variants = request.tuning_db->tuned(spec, isa, request.machine, &skipped);
            for (const auto &line : skipped) fmt::print("reluforge-gen: {}\n", line);
            if (variants.empty()) {
                untuned++;
                fmt::print("reluforge-gen: untuned (default schedules): {} on {}\n", to_string(spec), to_string(isa));
            }
            for (const auto &v : variants) {
                fmt::print("reluforge-gen: tuned: {} on {} for {}: {}\n", to_string(spec), to_string(isa), v.shape_rule,
                           sched::to_string(v.schedule));
            }
            tuned += !variants.empty();
        }
    }
    fmt::print("reluforge-gen: {} kernels tuned, {} untuned, from {}\n", tuned, untuned, db_path);
}

void write_library(const Options &o, const std::vector<KernelSpec> &specs) {
    gen::LibraryRequest request = library_request(o, specs);
    sched::TuningDb db;
    if (!o.tuning_db_path.empty()) {
        if (!std::filesystem::exists(o.tuning_db_path)) refuse(fmt::format("--tuning-db {}: no such file", o.tuning_db_path));
        db = sched::TuningDb::load(o.tuning_db_path);
        request.tuning_db = &db;
        request.machine = sched::this_machine(o.threads);
        report_tuning(request, o.tuning_db_path);
    }
    gen::emit_library(request);
    fmt::print("reluforge-gen: {} kernels x {} targets -> {}/lib{}.a\n", specs.size(),
               request.isas.size() + request.cuda_capabilities.size() + (request.opencl ? 1 : 0), o.out_dir, o.name);
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{
        "reluforge-gen: compile fused activation kernels ahead of time.\n\n"
        "Writes lib<name>.a (every spec for every target), <name>.h (a typed function per spec)\n"
        "and <name>_registration.cpp (compile and link it into your program: it registers the\n"
        "kernels so that reluforge::run_kernel and reluforge::Linear find them by spec). The\n"
        "program also links reluforge's runtime library, which carries the one Halide runtime all\n"
        "kernels share. At run time the best target this CPU supports is chosen per kernel.\n\n"
        "Spec syntax (canonical form; omitted keys take defaults):\n"
        "  forward:<act>:bias=0|1:weight=kn|nk|packed:save=none|z|y|mask:counts=0|1:dtype=f32|f16\n"
        "  (weight=packed: W packed by reluforge::pack_weights; CPU targets only)\n"
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
    Options o;
    add_options(app, o);
    CLI11_PARSE(app, argc, argv);
    try {
        if (!o.signature_of.empty()) {
            print_signature(o.signature_of);
            return 0;
        }
        const std::vector<KernelSpec> specs = read_specs(o);
        const bool library = !o.canonical_only && o.object_path.empty() && o.ptx_dir.empty() && !o.runtime_only;
        if (!library && (!o.shape_texts.empty() || !o.shapes_file.empty())) {
            refuse("--shape and --shapes-file choose the variants of a library; this mode builds none");
        }
        if (o.canonical_only) {
            for (const auto &s : specs) fmt::print("{}\n", to_string(s));
        } else if (!o.object_path.empty()) {
            write_object(o, specs);
        } else if (!o.ptx_dir.empty()) {
            write_ptx(o, specs);
        } else if (o.out_dir.empty()) {
            refuse("--output-dir is required");
        } else if (o.runtime_only) {
            std::filesystem::create_directories(o.out_dir);
            gen::compile_x86_runtime(o.out_dir + "/halide_runtime_x86.o");
        } else {
            write_library(o, specs);
        }
        return 0;
    } catch (const Error &e) {
        fmt::print(stderr, "reluforge-gen: error: {}\n", e.what());
        return 2;
    } catch (const std::exception &e) {
        fmt::print(stderr, "reluforge-gen: error: {}\n", e.what());
        return 1;
    }
}
