// reluforge_fuzz: feeds mutated inputs to the parsers (targets.h) and stops at the first defect,
// printing the input that caused it. Inputs that parse join the corpus, so mutations go deeper.
//   reluforge_fuzz all --runs 20000          the suite's smoke run (a few seconds)
//   reluforge_fuzz spec --seconds 3600       a long run (see docs/hardening.md)
#include "mutator.h"
#include "targets.h"

#include "reluforge/error.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>

namespace {

std::string escaped(const std::string &s) {
    std::string out;
    for (unsigned char c : s) out += c >= 32 && c < 127 && c != '"' && c != '\\' ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    return out;
}

// Runs one target; false at the first defect.
bool fuzz_target(const fuzz::Target &target, long runs, double seconds, unsigned seed) {
    std::vector<std::string> corpus = target.seeds();
    corpus.push_back("");
    fuzz::Mutator mutator(seed, target.dictionary);
    const auto start = std::chrono::steady_clock::now();
    long valid = 0, n = 0;
    for (; runs <= 0 || n < runs; n++) {
        if (seconds > 0 && n % 256 == 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds) {
            break;
        }
        const std::string input = n < long(corpus.size()) ? corpus[std::size_t(n)] : mutator.mutate(corpus);
        std::string defect;
        try {
            if (target.run(input)) {
                valid++;
                if (corpus.size() < 4000) corpus.push_back(input);
            }
        } catch (const fuzz::PropertyViolated &e) {
            defect = std::string("property violated: ") + e.what();
        } catch (const std::exception &e) {
            defect = fmt::format("escaped as {}: {}", typeid(e).name(), e.what());
        }
        if (!defect.empty()) {
            fmt::print("{}: DEFECT after {} inputs: {}\n  input: \"{}\"\n", target.name, n, defect, escaped(input));
            return false;
        }
    }
    fmt::print("{}: {} inputs, {} valid, corpus {}, no defect ({:.1f} s)\n", target.name, n, valid, corpus.size(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return true;
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"reluforge_fuzz: mutated inputs for reluforge's parsers (spec, shape_rule, schedule, tuning_db)"};
    std::string which = "all";
    long runs = 0;
    double seconds = 0;
    unsigned seed = 1;
    app.add_option("target", which, "a target, or all")->capture_default_str();
    app.add_option("--runs", runs, "inputs per target (0: no limit)");
    app.add_option("--seconds", seconds, "time per target (0: no limit)");
    app.add_option("--seed", seed, "the mutator's seed")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (runs <= 0 && seconds <= 0) runs = 20000;
    bool found = false, clean = true;
    for (const auto &t : fuzz::targets()) {
        if (which != "all" && which != t.name) continue;
        found = true;
        clean = fuzz_target(t, runs, seconds, seed) && clean;
    }
    if (!found) {
        fmt::print(stderr, "reluforge_fuzz: no target '{}' (spec, shape_rule, schedule, tuning_db, all)\n", which);
        return 2;
    }
    return clean ? 0 : 1;
}
