// Compiling kernels to objects and libraries, and emitting the typed header and the registration
// source that go with them.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/schedules/gpu_schedule.h"
#include "reluforge/schedules/tuning_db.h"
#include "reluforge/shape_rule.h"
#include "reluforge/spec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reluforge::gen {

// The symbol of one variant: rf_<library>_<spec hash>_<isa>_<variant index in the schedule
// table>; its argv entry adds "_argv".
std::string kernel_symbol(const std::string &library, const KernelSpec &spec, Isa isa, std::size_t variant);

// Compiles one variant with the given schedule to an object file (no Halide runtime inside).
void compile_kernel_object(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule,
                           const std::string &symbol, const std::string &object_path);

// Compiles one variant scheduled by one of Halide's autoschedulers ("Adams2019",
// "Mullapudi2016", "Li2018": the plugins Debian's Halide ships) for the shape M x K x N, instead of
// a reluforge schedule: the baseline reluforge-tune compares its winners with.
void compile_autoscheduled_object(const KernelSpec &spec, Isa isa, const std::string &autoscheduler,
                                  std::int64_t M, std::int64_t K, std::int64_t N, const std::string &symbol,
                                  const std::string &object_path);

// The symbol of a CUDA kernel: rf_<library>_<spec hash>_sm<capability>.
std::string cuda_kernel_symbol(const std::string &library, const KernelSpec &spec, int capability);

// Throws Error(bad_argument) when schedule is invalid, or exceeds CUDA's limits (gpu_limits.h)
// for spec's kernel: every CUDA device has the same limits, so they are checked before compiling
// rather than failing a launch. (OpenCL devices differ: find_kernel checks those.)
void check_cuda_schedule(const KernelSpec &spec, const sched::GpuSchedule &schedule);

// Compiles spec for a CUDA capability (host code for x86-64 with the PTX inside) to an object.
// Throws as check_cuda_schedule does.
void compile_cuda_object(const KernelSpec &spec, int capability, const sched::GpuSchedule &schedule,
                         const std::string &symbol, const std::string &object_path);

// Compiles spec for a CUDA capability with the default CUDA schedule and returns the PTX of its
// GPU kernels (the host object is compiled too, and discarded).
std::string compile_cuda_ptx(const KernelSpec &spec, int capability);

// The symbol of an OpenCL kernel: rf_<library>_<spec hash>_opencl.
std::string opencl_kernel_symbol(const std::string &library, const KernelSpec &spec);

// Compiles spec for OpenCL (host code for x86-64, the OpenCL C source inside) to an object.
void compile_opencl_object(const KernelSpec &spec, const sched::GpuSchedule &schedule, const std::string &symbol,
                           const std::string &object_path);

// The one Halide runtime every kernel links against (with its CUDA and OpenCL modules).
void compile_x86_runtime(const std::string &object_path);

struct LibraryRequest {
    std::string name;        // lib<name>.a, <name>.h, <name>_registration.cpp
    std::string cpp_namespace;
    std::vector<KernelSpec> specs;
    std::vector<Isa> isas;
    std::string output_dir;
    std::vector<int> cuda_capabilities;  // CUDA kernels too, one per capability (cuda_capability.h)
    bool opencl = false;                 // and one OpenCL kernel per spec
    std::optional<sched::GpuSchedule> gpu_schedule;  // for every GPU kernel; default: the table's
    const sched::TuningDb *tuning_db = nullptr;  // tuned variants go before the default table's
    sched::Machine machine;                      // whose records apply
    // Layer shapes (M, K, N): when given, each spec gets only the variants calls of these shapes
    // run (sched::variants_for_shapes) and its variant for every shape.
    std::vector<Shape> shapes;
};

// The schedule variants a library gets for spec on isa.
std::vector<sched::ScheduleChoice> library_variants(const LibraryRequest &req, const KernelSpec &spec, Isa isa);

// Writes the three files; each is written to a temporary name and renamed into place.
void emit_library(const LibraryRequest &req);

std::string typed_header(const LibraryRequest &req);
std::string registration_source(const LibraryRequest &req);

}  // namespace reluforge::gen
