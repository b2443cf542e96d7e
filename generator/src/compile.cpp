#include "reluforge/generator/compile.h"

#include "reluforge/generator/algorithm.h"
#include "reluforge/detail/files.h"
#include "reluforge/error.h"
#include "reluforge/generator/apply_cpu.h"
#include "reluforge/generator/apply_gpu.h"
#include "reluforge/generator/target_math.h"
#include "reluforge/signature.h"

#include <Halide.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

namespace reluforge::gen {

std::string kernel_symbol(const std::string &library, const KernelSpec &spec, Isa isa, std::size_t variant) {
    return fmt::format("rf_{}_{:016x}_{}_{}", library, hash(spec), to_string(isa), variant);
}

void compile_kernel_object(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule,
                           const std::string &symbol, const std::string &object_path) {
    const Halide::Target target = x86_target(isa);
    const bool dot = schedule.operand == sched::OperandRead::dot;
    Algorithm a = build_algorithm(spec, false, dot ? target.natural_vector_size(Halide::Float(32)) : 0,
                                  schedule.transposed_product);
    apply_cpu_schedule(a, schedule, target);
    Halide::Pipeline p(a.outputs);
    lower_target_math(p, target);
    Halide::Module m = p.compile_to_module(a.inputs, symbol, target);
    std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, object_path}};
    // For inspecting what a schedule became: RELUFORGE_STMT_DIR=dir writes <symbol>.stmt there.
    if (const char *dir = std::getenv("RELUFORGE_STMT_DIR")) {
        outputs[Halide::OutputFileType::stmt] = std::string(dir) + "/" + symbol + ".stmt";
    }
    m.compile(outputs);
}

namespace {

// Loads the plugin of an autoscheduler once; throws Error(bad_argument) when it is not installed.
void load_autoscheduler(const std::string &name) {
    static std::mutex mutex;
    static std::map<std::string, bool> loaded;
    std::lock_guard lock(mutex);
    if (loaded[name]) return;
    std::string lower = name;
    for (auto &c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    for (const char *dir : {"/usr/lib/x86_64-linux-gnu/halide14", "/usr/lib/halide14", "/usr/local/lib"}) {
        const std::string path = fmt::format("{}/libautoschedule_{}.so", dir, lower);
        if (std::filesystem::exists(path)) {
            Halide::load_plugin(path);
            loaded[name] = true;
            return;
        }
    }
    throw Error(ErrorCode::bad_argument,
                fmt::format("autoscheduler '{}': no libautoschedule_{}.so among Halide 14's plugins "
                            "(Debian's libhalide14-0-dev ships adams2019, mullapudi2016, li2018)",
                            name, lower));
}

}  // namespace

void compile_autoscheduled_object(const KernelSpec &spec, Isa isa, const std::string &autoscheduler,
                                  std::int64_t M, std::int64_t K, std::int64_t N, const std::string &symbol,
                                  const std::string &object_path) {
    load_autoscheduler(autoscheduler);
    Algorithm a = build_algorithm(spec);
    auto extent = [&](Extent e) { return int(extent_value(e, M, N, K)); };
    std::vector<ArgSlot> outputs;
    std::size_t input = 0;
    for (const ArgSlot &slot : kernel_signature(spec)) {
        if (slot.output) {
            outputs.push_back(slot);
            continue;
        }
        Halide::Region r{{0, extent(slot.cols)}};
        if (slot.rank == 2) r.push_back({0, extent(slot.rows)});
        a.images[input++].set_estimates(r);
    }
    std::size_t o = 0;
    for (Halide::Func &f : a.outputs) {
        const ArgSlot &slot = outputs.at(o);
        Halide::Region r{{0, extent(slot.cols)}};
        if (slot.rank == 2) r.push_back({0, extent(slot.rows)});
        f.set_estimates(r);
        o += std::size_t(f.outputs());
    }
    const Halide::Target target = x86_target(isa);
    Halide::Pipeline p(a.outputs);
    // This machine: its cores and last-level cache (the autoscheduler's baseline runs here).
    const long cores = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
    const long llc = ::sysconf(_SC_LEVEL3_CACHE_SIZE) > 0 ? ::sysconf(_SC_LEVEL3_CACHE_SIZE) : 16L << 20;
    p.auto_schedule(autoscheduler, target, Halide::MachineParams(int(cores), llc, 40));
    lower_target_math(p, target);
    p.compile_to_module(a.inputs, symbol, target).compile({{Halide::OutputFileType::object, object_path}});
}

std::string cuda_kernel_symbol(const std::string &library, const KernelSpec &spec, int capability) {
    return fmt::format("rf_{}_{:016x}_sm{}", library, hash(spec), capability);
}

namespace {
void compile_gpu_object(const KernelSpec &spec, const Halide::Target &target, const sched::GpuSchedule &schedule,
                        const std::string &symbol, const std::string &object_path) {
    Algorithm a = build_algorithm(spec, schedule.k_tile > 0);
    apply_gpu_schedule(a, schedule);
    Halide::Pipeline p(a.outputs);
    lower_target_math(p, target);
    std::map<Halide::OutputFileType, std::string> outputs{{Halide::OutputFileType::object, object_path}};
    if (const char *dir = std::getenv("RELUFORGE_STMT_DIR")) {
        outputs[Halide::OutputFileType::stmt] = std::string(dir) + "/" + symbol + ".stmt";
    }
    p.compile_to_module(a.inputs, symbol, target).compile(outputs);
}
}  // namespace

void check_cuda_schedule(const KernelSpec &spec, const sched::GpuSchedule &schedule) {
    if (std::string problem = sched::gpu_schedule_problem(schedule); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("GPU schedule '{}': {}", to_string(schedule), problem));
    }
    if (std::string problem = gpu_limits_problem(sched::gpu_needs(schedule, spec), cuda_limits()); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("GPU schedule '{}' does not fit CUDA's limits for '{}': {}",
                                                         to_string(schedule), to_string(spec), problem));
    }
}

void compile_cuda_object(const KernelSpec &spec, int capability, const sched::GpuSchedule &schedule,
                         const std::string &symbol, const std::string &object_path) {
    check_cuda_schedule(spec, schedule);
    compile_gpu_object(spec, cuda_target(capability), schedule, symbol, object_path);
}

std::string opencl_kernel_symbol(const std::string &library, const KernelSpec &spec) {
    return fmt::format("rf_{}_{:016x}_opencl", library, hash(spec));
}

void compile_opencl_object(const KernelSpec &spec, const sched::GpuSchedule &schedule, const std::string &symbol,
                           const std::string &object_path) {
    compile_gpu_object(spec, opencl_target(spec.dtype), schedule, symbol, object_path);
}

std::string compile_cuda_ptx(const KernelSpec &spec, int capability) {
    const detail::MemoryFile object("reluforge-ptx-object");
    compile_cuda_object(spec, capability, sched::default_gpu_schedule(spec), "rf_cuda_kernel", object.path());
    const std::string bytes = object.contents();
    // Halide embeds the PTX in the host object as one NUL-terminated string.
    const std::string marker = "// Generated by LLVM NVPTX Back-End";
    const std::size_t begin = bytes.find(marker);
    if (begin == std::string::npos) {
        throw Error(ErrorCode::kernel_failed, "no PTX in the CUDA object of " + to_string(spec));
    }
    return bytes.substr(begin, bytes.find('\0', begin) - begin);
}

void compile_x86_runtime(const std::string &object_path) {
    // With the CUDA and OpenCL modules: GPU kernels call into them; each loads its driver
    // (libcuda, libOpenCL) on first use only.
    Halide::Target t(Halide::Target::Linux, Halide::Target::X86, 64);
    t.set_features({Halide::Target::CUDA, Halide::Target::OpenCL, Halide::Target::CLHalf});
    Halide::compile_standalone_runtime(object_path, t);
}

}  // namespace reluforge::gen
