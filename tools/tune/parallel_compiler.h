// Compiles tuning candidates in child processes (reluforge-gen --object), several at a time, and
// links them through the JIT engine: Halide compiles one pipeline per process at a time.
#pragma once

#include "reluforge/detail/files.h"
#include "reluforge/jit/engine.h"

#include <optional>
#include <string>
#include <vector>

namespace reluforge::tune {

class ParallelCompiler {
public:
    // Without a reluforge-gen beside this program, or with jobs 1, compiles in this process.
    ParallelCompiler(jit::Engine &engine, int jobs);
    int jobs() const { return parallel() ? jobs_ : 1; }
    // One handle per schedule, none where reluforge-gen failed (said on stderr, naming the
    // schedule): one schedule the generator cannot compile does not end a tuning session.
    std::vector<std::optional<KernelHandle>> compile(const KernelSpec &spec, Isa isa, const std::vector<sched::CpuSchedule> &batch);

private:
    bool parallel() const { return !gen_.empty() && jobs_ > 1; }
    jit::Engine &engine_;
    int jobs_;
    std::string gen_;
    detail::TempPath dir_;  // the children's objects: a fresh directory of this process
    int counter_ = 0;
};

}  // namespace reluforge::tune
