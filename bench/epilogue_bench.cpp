// reluforge-epilogue-bench: what each activation and derivative costs per element, computed as
// the kernels compute them (the same strict_float expressions and target lowering), apart from
// any matmul or memory traffic: an L2-resident vector, 4 vectors in flight as in the kernels'
// long epilogues, JIT-compiled for each ISA this CPU runs. Medians; the relu column is the floor
// of a load, a compare and a store.
//
//   build/bench/reluforge-epilogue-bench [--acts gelu,silu] [--isa avx512] [--reps 15]
#include "reluforge/generator/activation_math.h"
#include "reluforge/generator/apply_cpu.h"
#include "reluforge/generator/target_math.h"
#include "reluforge/error.h"
#include "reluforge/isa.h"
#include "reluforge/spec.h"

#include <CLI/CLI.hpp>
#include <Halide.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace reluforge;

namespace {

constexpr int kElements = 1 << 14;  // 64 KiB in, 64 KiB out
constexpr int kCallsPerRep = 256;

// act(z), or act'(z) with derivative, over kElements floats.
Halide::Pipeline epilogue(const Activation &act, bool derivative, Halide::ImageParam &z, Isa isa) {
    Halide::Func f("epilogue");
    Halide::Var x("x"), xo("xo"), xi("xi");
    f(x) = derivative ? gen::derivative(act, z(x)) : gen::activation(act, z(x));
    const Halide::Target target = gen::x86_target(isa).without_feature(Halide::Target::NoRuntime);
    const int vec = target.natural_vector_size(Halide::Float(32));
    // Four vectors at once, as apply_cpu.cpp computes long epilogues (kLongEpilogueVectors).
    f.split(x, xo, xi, 4 * vec).vectorize(xi, vec).unroll(xi);
    Halide::Pipeline p(f);
    gen::lower_target_math(p, target);
    p.compile_jit(target);
    return p;
}

double median_ns_per_element(Halide::Pipeline &p, Halide::Buffer<float> &out, int reps) {
    std::vector<double> ns;
    p.realize(out);  // warm
    for (int r = 0; r < reps; r++) {
        const auto start = std::chrono::steady_clock::now();
        for (int c = 0; c < kCallsPerRep; c++) p.realize(out);
        const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
        ns.push_back(took.count() / (double(kCallsPerRep) * kElements));
    }
    std::sort(ns.begin(), ns.end());
    return ns[ns.size() / 2];
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"reluforge-epilogue-bench: ns per element of each activation and derivative, as the kernels compute them"};
    std::vector<std::string> acts{"relu", "leaky_relu", "elu", "selu", "celu", "gelu", "gelu(approximate=tanh)",
                                  "silu", "mish", "softplus", "hardswish"};
    std::vector<std::string> isas;
    int reps = 15;
    app.add_option("--acts", acts, "activations (spec syntax)")->delimiter(',');
    app.add_option("--isa", isas, "ISAs to compile for (default: each this CPU runs)")->delimiter(',');
    app.add_option("--reps", reps, "timed repetitions (medians are reported)")->check(CLI::PositiveNumber);
    CLI11_PARSE(app, argc, argv);
    try {
        std::vector<Isa> targets;
        if (isas.empty()) {
            for (Isa isa : {Isa::avx512, Isa::avx2, Isa::sse41}) {
                if (isa <= host_isa()) targets.push_back(isa);
            }
        } else {
            for (const std::string &name : isas) {
                const Isa isa = parse_isa(name);
                if (isa > host_isa()) throw reluforge::Error(ErrorCode::bad_argument, fmt::format("this CPU does not run {}", name));
                targets.push_back(isa);
            }
        }
        // Both signs and the kinks, in [-8, 8): where every result is a normal float (a subnormal
        // result costs a microcode assist per lane, tens of times a normal one; the tests cover
        // them for their values, not their speed).
        Halide::Buffer<float> z(kElements), out(kElements);
        for (int i = 0; i < kElements; i++) z(i) = -8.0f + 16.0f * float((i * 7919) % kElements) / kElements;
        std::vector<Activation> parsed;
        for (const std::string &text : acts) parsed.push_back(parse_spec("forward:" + text).act);
        fmt::print("{:<26}", "ns per element");
        for (Isa isa : targets) fmt::print(" {:>9} {:>9}", to_string(isa), "act'");
        fmt::print("\n");
        for (std::size_t a = 0; a < acts.size(); a++) {
            const Activation &act = parsed[a];
            fmt::print("{:<26}", acts[a]);
            for (Isa isa : targets) {
                for (bool derivative : {false, true}) {
                    Halide::ImageParam in(Halide::Float(32), 1, "z");
                    Halide::Pipeline p = epilogue(act, derivative, in, isa);
                    in.set(z);
                    fmt::print(" {:9.3f}", median_ns_per_element(p, out, reps));
                }
            }
            fmt::print("\n");
        }
    } catch (const std::exception &e) {
        fmt::print(stderr, "reluforge-epilogue-bench: {}\n", e.what());
        return 1;
    }
}
