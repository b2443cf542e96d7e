#include "reluforge/generator/compile.h"

#include "reluforge/generator/algorithm.h"
#include "reluforge/schedules/apply_cpu.h"

#include <Halide.h>
#include <fmt/format.h>

#include <cstdlib>
#include <map>

namespace reluforge::gen {

std::string kernel_symbol(const std::string &library, const KernelSpec &spec, Isa isa, std::size_t variant) {
    return fmt::format("rf_{}_{:016x}_{}_{}", library, hash(spec), to_string(isa), variant);
}

void compile_kernel_object(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule,
                           const std::string &symbol, const std::string &object_path) {
    Algorithm a = build_algorithm(spec);
    const Halide::Target target = sched::x86_target(isa);
    sched::apply_cpu_schedule(a, schedule, target);
    Halide::Pipeline p(a.outputs);
    Halide::Module m = p.compile_to_module(a.inputs, symbol, target);
    std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, object_path}};
    // For inspecting what a schedule became: RELUFORGE_STMT_DIR=dir writes <symbol>.stmt there.
    if (const char *dir = std::getenv("RELUFORGE_STMT_DIR")) {
        outputs[Halide::OutputFileType::stmt] = std::string(dir) + "/" + symbol + ".stmt";
    }
    m.compile(outputs);
}

void compile_x86_runtime(const std::string &object_path) {
    Halide::Target t(Halide::Target::Linux, Halide::Target::X86, 64);
    Halide::compile_standalone_runtime(object_path, t);
}

}  // namespace reluforge::gen
