// The JIT engine: builds any kernel spec at run time with Halide, keeps the object in the disk
// cache, and links it into the process with LLVM's ORC LLJIT. JIT kernels use the runtime
// library's one Halide runtime, like AOT kernels.
#pragma once

#include "reluforge/jit/disk_cache.h"
#include "reluforge/isa.h"
#include "reluforge/registry.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/schedules/gpu_schedule.h"

#include <cstdint>
#include <cstdlib>
#include <vector>
#include <memory>
#include <string>

namespace reluforge::jit {

struct Options {
    std::filesystem::path cache_dir = DiskCache::default_dir();
    std::uint64_t cache_cap_bytes = DiskCache::kDefaultCapBytes;
    bool use_disk_cache = true;
    bool quiet = false;  // no warnings on stderr (they are still counted)
    // A tuning database (reluforge-tune): its winners for this machine become schedule variants
    // ahead of the default table's. Default: $RELUFORGE_TUNING_DB, if set.
    std::string tuning_db = std::getenv("RELUFORGE_TUNING_DB") ? std::getenv("RELUFORGE_TUNING_DB") : "";
};

struct Stats {
    std::uint64_t compiled = 0;          // built with Halide in this engine
    std::uint64_t loaded_from_disk = 0;  // read from the cache instead
    std::uint64_t memory_hits = 0;       // already linked in this engine
    std::uint64_t corrupt_entries = 0;   // cache entries found invalid (and rebuilt)
    std::uint64_t warnings = 0;
};

class Engine {
public:
    explicit Engine(Options options = {});
    // Frees the engine's kernels: none of its KernelHandles may run after this. Kernels of
    // other engines and of AOT libraries keep running.
    ~Engine();
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    // The kernel for spec and isa with the default table's schedule for a call of the given
    // shape (an unknown shape gets the variant for every shape): linked already, loaded from the
    // disk cache, or compiled. Threads asking for the same new kernel wait for one compile.
    // Throws Error.
    KernelHandle get(const KernelSpec &spec, Isa isa, const Shape &shape = {});
    KernelHandle get(const KernelSpec &spec);  // the best ISA here, up to the limit
    // The shape rules of spec's variants on isa, in the order they are tried: the tuning
    // database's, then the default table's (sched::default_cpu_schedules).
    std::vector<std::string> shape_rules(const KernelSpec &spec, Isa isa) const;
    // Variant `variant` of that list.
    KernelHandle get_variant(const KernelSpec &spec, Isa isa, std::size_t variant);
    // The kernel compiled with any valid schedule (tuning); throws Error(bad_argument) for an
    // invalid one.
    KernelHandle get_scheduled(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule);

    // Links an object compiled elsewhere (reluforge-gen --object) for spec, isa and schedule, and
    // keeps it as that kernel.
    KernelHandle link_object(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule,
                             const std::string &object_path, const std::string &symbol);

    // The CUDA kernel for a build capability (cuda_capability.h), with the default CUDA schedule
    // or a given one. Compiling needs no GPU; running it does.
    KernelHandle get_cuda(const KernelSpec &spec, int capability);
    KernelHandle get_cuda(const KernelSpec &spec, int capability, const sched::GpuSchedule &schedule);

    // The kernel spec scheduled by one of Halide's autoschedulers for the shape M x K x N (the
    // baseline of reluforge-tune); compiled once per engine, never cached on disk.
    KernelHandle get_autoscheduled(const KernelSpec &spec, Isa isa, const std::string &autoscheduler,
                                   std::int64_t M, std::int64_t K, std::int64_t N);

    Stats stats() const;
    // What decides reuse: reluforge's version and code-generator sources, Halide and LLVM
    // versions, spec, target and schedule.
    std::string cache_key(const KernelSpec &spec, Isa isa, const Shape &shape = {}) const;
    std::string cache_key(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule) const;
    std::string cache_key(const KernelSpec &spec, int cuda_capability, const sched::GpuSchedule &schedule) const;
    // Kernels compiled with a default-table schedule although a tuning database is loaded
    // ("<spec> on <isa> for '<shape rule>'"); each is also logged once.
    std::vector<std::string> untuned_kernels() const;
    bool disk_cache_usable() const;
    std::string disk_cache_problem() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Creates the process-wide engine (once; later calls return it) and lets the runtime JIT
// kernels under the kernel policy.
Engine &enable(const Options &options = {});

}  // namespace reluforge::jit
