#include "reluforge/jit/engine.h"

#include "reluforge/error.h"
#include "reluforge/detail/files.h"
#include "reluforge/detail/fnv1a.h"
#include "reluforge/detail/jit_provider.h"
#include "reluforge/detail/variants.h"
#include "reluforge/generator/compile.h"
#include "reluforge/reluforge.h"
#include "reluforge/generator/apply_cpu.h"
#include "reluforge/generator/apply_gpu.h"
#include "reluforge/schedules/default_table.h"
#include "reluforge/schedules/search_space.h"
#include "reluforge/schedules/tuning_db.h"

#include "near_memory.h"
#include "reluforge_codegen_id.h"

#include <HalideRuntime.h>
#include <fmt/format.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <unistd.h>

namespace reluforge::jit {
namespace fs = std::filesystem;

namespace {

std::string llvm_error(llvm::Error e) { return llvm::toString(std::move(e)); }

// What Halide's x86-64 Linux objects are built for.
constexpr const char *kTriple = "x86_64-unknown-linux-gnu";
constexpr const char *kDataLayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128";

// Halide's compiler makes no promise about concurrent compiles; one at a time, process-wide.
std::mutex g_halide_compile_mutex;

// Runs `compile` (which writes an object file to the path it is given) under the compile lock,
// and returns the object's bytes. The object is written to memory, so a killed process leaves no
// file behind.
std::string compile_to_object(const KernelSpec &spec, const std::function<void(const std::string &)> &compile) {
    const detail::MemoryFile file("reluforge-jit-object");
    {
        std::lock_guard lock(g_halide_compile_mutex);
        compile(file.path());
    }
    std::string object = file.contents();
    if (object.empty()) throw Error(ErrorCode::kernel_failed, "JIT: Halide produced no object for " + to_string(spec));
    return object;
}

}  // namespace

struct Engine::Impl {
    Options options;
    NearMemoryMapper memory;  // outlives the JIT, whose linked sections it holds
    std::unique_ptr<llvm::orc::LLJIT> jit;
    std::unique_ptr<DiskCache> cache;
    std::string cache_problem;  // why there is no disk cache, when there is none
    mutable std::mutex mutex;  // kernels and stats
    std::map<std::string, std::shared_future<KernelFn>> kernels;
    std::mutex link_mutex;
    Stats stats;
    std::unique_ptr<sched::TuningDb> tuning_db;
    std::vector<std::string> untuned;  // under mutex

    // Records tuned on this CPU with the threads kernels run on now (set_num_threads).
    std::vector<sched::ScheduleChoice> variants(const KernelSpec &spec, Isa isa) const {
        return sched::cpu_schedules(spec, isa, tuning_db.get(), sched::this_machine(num_threads()));
    }

    void warn(const std::string &message) {
        {
            std::lock_guard lock(mutex);
            stats.warnings++;
        }
        if (!options.quiet) fmt::print(stderr, "reluforge: warning: {}\n", message);
    }

    KernelFn link(const std::string &object, const std::string &symbol) {
        std::lock_guard lock(link_mutex);
        auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, symbol);
        if (auto e = jit->addObjectFile(std::move(buffer))) {
            throw Error(ErrorCode::kernel_failed, "JIT: cannot link " + symbol + ": " + llvm_error(std::move(e)));
        }
        auto sym = jit->lookup(symbol + "_argv");
        if (!sym) {
            throw Error(ErrorCode::kernel_failed, "JIT: " + symbol + "_argv not found: " + llvm_error(sym.takeError()));
        }
        return reinterpret_cast<KernelFn>(static_cast<std::uintptr_t>(sym->getAddress()));
    }

    // The kernel under key: from the disk cache, else compiled by `compile` (given the symbol and
    // an object path), then linked.
    KernelFn produce(const KernelSpec &spec, const std::string &key, const std::string &symbol,
                     const std::function<void(const std::string &, const std::string &)> &compile) {
        std::optional<std::string> object;
        if (cache) {
            std::string problem;
            object = cache->load(key, &problem);
            if (!problem.empty()) {
                {
                    std::lock_guard lock(mutex);
                    stats.corrupt_entries++;
                }
                warn("invalid kernel cache entry " + problem + "; rebuilding it");
            }
        }
        const bool from_disk = object.has_value();
        if (!object) {
            object = compile_to_object(spec, [&](const std::string &path) { compile(symbol, path); });
            if (cache && !cache->store(key, *object)) warn("cannot write to the kernel cache in " + cache->dir().string());
        }
        KernelFn fn = link(*object, symbol);
        std::lock_guard lock(mutex);
        (from_disk ? stats.loaded_from_disk : stats.compiled)++;
        return fn;
    }

    // The kernel under key, produced once however many threads ask at the same time.
    KernelFn once(const std::string &key, const std::function<KernelFn()> &make) {
        std::promise<KernelFn> promise;
        std::shared_future<KernelFn> future;
        bool producer = false;
        {
            std::lock_guard lock(mutex);
            auto it = kernels.find(key);
            if (it != kernels.end()) {
                future = it->second;
                stats.memory_hits++;
            } else {
                future = promise.get_future().share();
                kernels.emplace(key, future);
                producer = true;
            }
        }
        if (producer) {
            try {
                promise.set_value(make());
            } catch (...) {
                promise.set_exception(std::current_exception());
                std::lock_guard lock(mutex);
                kernels.erase(key);  // a later call may try again
            }
        }
        return future.get();
    }
};

Engine::Engine(Options options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    static std::once_flag llvm_init;
    std::call_once(llvm_init, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
    });
    // Kernels arrive as objects, so no host detection or target machine is needed up front:
    // naming the triple and data layout saves about a millisecond at engine creation.
    llvm::orc::JITTargetMachineBuilder machine{llvm::Triple(kTriple)};
    NearMemoryMapper *memory = &impl_->memory;
    auto link_layer = [memory](llvm::orc::ExecutionSession &session, const llvm::Triple &)
        -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
        return std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
            session, [memory] { return std::make_unique<llvm::SectionMemoryManager>(memory); });
    };
    auto jit = llvm::orc::LLJITBuilder()
                   .setJITTargetMachineBuilder(std::move(machine))
                   .setDataLayout(llvm::DataLayout(kDataLayout))
                   .setObjectLinkingLayerCreator(std::move(link_layer))
                   .create();
    if (!jit) throw Error(ErrorCode::kernel_failed, "JIT: cannot create LLJIT: " + llvm_error(jit.takeError()));
    impl_->jit = std::move(*jit);
    // Kernels resolve the Halide runtime, libm and libc from the process (the runtime library
    // exports them).
    auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
        impl_->jit->getDataLayout().getGlobalPrefix());
    if (!process) throw Error(ErrorCode::kernel_failed, "JIT: " + llvm_error(process.takeError()));
    impl_->jit->getMainJITDylib().addGenerator(std::move(*process));

    if (!impl_->options.tuning_db.empty()) {
        try {
            impl_->tuning_db = std::make_unique<sched::TuningDb>(sched::TuningDb::load(impl_->options.tuning_db));
        } catch (const Error &e) {
            impl_->warn(std::string(e.what()) + "; JIT kernels use the default schedules");
        }
    }
    if (impl_->options.use_disk_cache) {
        impl_->cache = std::make_unique<DiskCache>(impl_->options.cache_dir, impl_->options.cache_cap_bytes);
        if (!impl_->cache->usable()) {
            impl_->cache_problem = impl_->cache->problem();
            impl_->warn("kernel cache disabled (" + impl_->cache->problem() + "); JIT kernels are kept in memory only");
            impl_->cache.reset();
        }
    }
}

// Halide's worker threads belong to the shared runtime library and serve every kernel of the
// process; between parallel loops they wait in the runtime's own code, never in an engine's.
// So an engine leaves them running: shutting the pool down here hung any other thread that was
// running a kernel at the time.
Engine::~Engine() = default;

namespace {
// What every key holds before the target and schedule: whose code, which compilers, which spec.
std::string key_prefix(const KernelSpec &spec) {
    return fmt::format("reluforge {} ({})|halide {}|llvm {}|{}", version, RELUFORGE_CODEGEN_ID, RELUFORGE_HALIDE_VERSION,
                       LLVM_VERSION_STRING, to_string(spec));
}
}  // namespace

std::string Engine::cache_key(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule) const {
    // Halide's target strings take tens of microseconds to build: once per ISA.
    static const std::string targets[] = {gen::x86_target(Isa::sse41).to_string(),
                                          gen::x86_target(Isa::avx2).to_string(),
                                          gen::x86_target(Isa::avx512).to_string()};
    return fmt::format("{}|{}|{}", key_prefix(spec), targets[static_cast<int>(isa)], sched::to_string(schedule));
}

std::string Engine::cache_key(const KernelSpec &spec, Isa isa, const Shape &shape) const {
    const auto table = impl_->variants(spec, isa);
    return cache_key(spec, isa, table[sched::variant_for(table, shape)].schedule);
}

KernelHandle Engine::get(const KernelSpec &spec) { return get(spec, std::min(host_isa(), isa_limit())); }

KernelHandle Engine::get(const KernelSpec &spec, Isa isa, const Shape &shape) {
    return get_variant(spec, isa, sched::variant_for(impl_->variants(spec, isa), shape));
}

std::vector<std::string> Engine::shape_rules(const KernelSpec &spec, Isa isa) const {
    std::vector<std::string> rules;
    for (const auto &choice : impl_->variants(spec, isa)) rules.push_back(choice.shape_rule);
    return rules;
}

std::vector<std::string> Engine::untuned_kernels() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->untuned;
}

KernelHandle Engine::get_variant(const KernelSpec &spec, Isa isa, std::size_t variant) {
    const auto table = impl_->variants(spec, isa);
    if (variant >= table.size()) {
        throw Error(ErrorCode::bad_argument, fmt::format("spec '{}' has {} schedule variants on {}, not {}",
                                                         to_string(spec), table.size(), to_string(isa), variant + 1));
    }
    KernelHandle h = get_scheduled(spec, isa, table[variant].schedule);
    h.shape_rule = table[variant].shape_rule;
    if (impl_->tuning_db && variant + sched::default_cpu_schedules(spec, isa).size() >= table.size()) {
        // A default-table variant although a database is loaded: say so once per kernel.
        const std::string line = fmt::format("{} on {} for '{}'", to_string(spec), to_string(isa), h.shape_rule);
        bool first = false;
        {
            std::lock_guard lock(impl_->mutex);
            if (std::find(impl_->untuned.begin(), impl_->untuned.end(), line) == impl_->untuned.end()) {
                impl_->untuned.push_back(line);
                first = true;
            }
        }
        if (first && !impl_->options.quiet) fmt::print(stderr, "reluforge: untuned kernel (default schedule): {}\n", line);
    }
    return h;
}

KernelHandle Engine::get_scheduled(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule) {
    if (std::string problem = sched::cpu_schedule_problem(schedule, sched::vector_registers(isa)); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, fmt::format("schedule '{}' for {}: {}", sched::to_string(schedule), to_string(isa), problem));
    }
    const std::string key = cache_key(spec, isa, schedule);
    const KernelFn fn = impl_->once(key, [&] {
        const std::string symbol = fmt::format("rf_jit_{:016x}_{}", fnv1a64(key), to_string(isa));
        return impl_->produce(spec, key, symbol, [&](const std::string &sym, const std::string &path) {
            gen::compile_kernel_object(spec, isa, schedule, sym, path);
        });
    });
    return {spec, isa, "", fn, true};
}

std::string Engine::cache_key(const KernelSpec &spec, int capability, const sched::GpuSchedule &schedule) const {
    return fmt::format("{}|{}|{}", key_prefix(spec), gen::cuda_target(capability).to_string(), sched::to_string(schedule));
}

KernelHandle Engine::get_cuda(const KernelSpec &spec, int capability) {
    return get_cuda(spec, capability, sched::default_gpu_schedule(spec));
}

KernelHandle Engine::get_cuda(const KernelSpec &spec, int capability, const sched::GpuSchedule &schedule) {
    gen::check_cuda_schedule(spec, schedule);  // before the cache: a bad schedule is never looked up
    const std::string key = cache_key(spec, capability, schedule);  // throws for an unknown capability
    const KernelFn fn = impl_->once(key, [&] {
        const std::string symbol = fmt::format("rf_jit_{:016x}_sm{}", fnv1a64(key), capability);
        return impl_->produce(spec, key, symbol, [&](const std::string &sym, const std::string &path) {
            gen::compile_cuda_object(spec, capability, schedule, sym, path);
        });
    });
    KernelHandle h{spec, Isa::sse41, "", fn, true};
    h.device = Device::cuda;
    h.cuda_capability = capability;
    return h;
}

KernelHandle Engine::link_object(const KernelSpec &spec, Isa isa, const sched::CpuSchedule &schedule,
                                  const std::string &object_path, const std::string &symbol) {
    const std::string object = detail::read_file(object_path);
    if (object.empty()) throw Error(ErrorCode::kernel_failed, "JIT: no object in " + object_path);
    const KernelFn fn = impl_->link(object, symbol);
    std::promise<KernelFn> ready;
    ready.set_value(fn);
    std::lock_guard lock(impl_->mutex);
    impl_->kernels.emplace(cache_key(spec, isa, schedule), ready.get_future().share());
    return {spec, isa, "", fn, true};
}

KernelHandle Engine::get_autoscheduled(const KernelSpec &spec, Isa isa, const std::string &autoscheduler,
                                       std::int64_t M, std::int64_t K, std::int64_t N) {
    const std::string key = fmt::format("{}|{}|{}x{}x{}", cache_key(spec, isa, sched::CpuSchedule{}), autoscheduler, M, K, N);
    const std::string symbol = fmt::format("rf_auto_{:016x}_{}", fnv1a64(key), to_string(isa));
    const std::string object = compile_to_object(spec, [&](const std::string &path) {
        gen::compile_autoscheduled_object(spec, isa, autoscheduler, M, K, N, symbol, path);
    });
    return {spec, isa, "", impl_->link(object, symbol), true};
}

Stats Engine::stats() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

bool Engine::disk_cache_usable() const { return impl_->cache != nullptr; }
std::string Engine::disk_cache_problem() const {
    return impl_->cache_problem;
}

namespace {
std::mutex g_global_mutex;
Engine *g_engine = nullptr;

std::vector<std::string> provide_rules(const KernelSpec &spec, Isa isa) { return g_engine->shape_rules(spec, isa); }
KernelFn provide(const KernelSpec &spec, Isa isa, std::size_t variant) { return g_engine->get_variant(spec, isa, variant).fn; }
KernelFn provide_cuda(const KernelSpec &spec, int capability) { return g_engine->get_cuda(spec, capability).fn; }
}  // namespace

Engine &enable(const Options &options) {
    std::lock_guard lock(g_global_mutex);
    if (!g_engine) {
        // Never destroyed: kernels handed out stay valid until the process ends, and Halide's
        // own exit handler stops its threads.
        g_engine = new Engine(options);
        set_jit_provider({provide_rules, provide, provide_cuda});
    }
    return *g_engine;
}

}  // namespace reluforge::jit
