#include "parallel_compiler.h"

#include "reluforge/error.h"

#include <fmt/format.h>

#include <filesystem>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace reluforge::tune {

namespace {
std::string generator_beside_this_program() {
    char self[4096] = {};
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return "";
    const auto gen = std::filesystem::path(std::string(self, size_t(n))).parent_path() / "reluforge-gen";
    std::error_code ec;
    return std::filesystem::exists(gen, ec) ? gen.string() : "";
}


// Tuners killed before they could remove their directories leave them in the same place; a live
// tuner's is flock'ed and stays.
detail::TempPath fresh_work_directory() {
    detail::remove_stale_temporaries(detail::temp_dir(), "reluforge-tune-", "", std::chrono::seconds(60));
    return detail::TempPath::directory("reluforge-tune-");
}
}  // namespace

ParallelCompiler::ParallelCompiler(jit::Engine &engine, int jobs)
    : engine_(engine), jobs_(jobs), gen_(generator_beside_this_program()), dir_(fresh_work_directory()) {}

std::vector<std::optional<KernelHandle>> ParallelCompiler::compile(const KernelSpec &spec, Isa isa,
                                                                   const std::vector<sched::CpuSchedule> &batch) {
    std::vector<std::optional<KernelHandle>> out;
    auto failed = [&](const sched::CpuSchedule &s, const std::string &why) {
        fmt::print(stderr, "\nreluforge-tune: {} did not compile ({}); skipped\n", sched::to_string(s), why);
        out.emplace_back();
    };
    if (!parallel()) {
        for (const auto &s : batch) {
            try {
                out.emplace_back(engine_.get_scheduled(spec, isa, s));
            } catch (const Error &e) {
                failed(s, e.what());
            }
        }
        return out;
    }
    struct Child {
        pid_t pid;
        std::string object, symbol;
    };
    std::vector<Child> children;
    for (const auto &s : batch) {
        Child c{0, (dir_.path() / fmt::format("{}.o", counter_)).string(), fmt::format("rf_tune_{}_{}", ::getpid(), counter_)};
        counter_++;
        const std::vector<std::string> args{gen_, "--object", c.object, "--symbol", c.symbol, "--schedule",
                                            sched::to_string(s), "--spec", to_string(spec), "--target", to_string(isa)};
        std::vector<char *> argv;
        for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
        argv.push_back(nullptr);
        if (::posix_spawn(&c.pid, gen_.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
            throw Error(ErrorCode::kernel_failed, "cannot start " + gen_);
        }
        children.push_back(c);
    }
    for (std::size_t k = 0; k < children.size(); k++) {
        int status = 0;
        ::waitpid(children[k].pid, &status, 0);  // every child is waited for, failed or not
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed(batch[k], "reluforge-gen failed; its error is above");
        } else {
            out.emplace_back(engine_.link_object(spec, isa, batch[k], children[k].object, children[k].symbol));
        }
    }
    return out;
}

}  // namespace reluforge::tune
