// reluforge-cache: list, inspect and clear the JIT's kernel cache.
#include "reluforge/jit/disk_cache.h"

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

using reluforge::jit::DiskCache;
namespace fs = std::filesystem;

int main(int argc, char **argv) {
    CLI::App app{"reluforge-cache: the JIT's kernel cache (default $RELUFORGE_CACHE_DIR, else "
                 "$XDG_CACHE_HOME/reluforge, else ~/.cache/reluforge)"};
    std::string dir = DiskCache::default_dir().string();
    app.add_option("-d,--dir", dir, "cache directory")->capture_default_str();
    app.require_subcommand(1);
    auto *list = app.add_subcommand("list", "one line per entry: file, size, last use, key");
    auto *inspect = app.add_subcommand("inspect", "validate every entry (or one file) and say what is wrong");
    std::string file;
    inspect->add_option("file", file, "an entry file (default: all)");
    auto *clear = app.add_subcommand("clear", "remove every entry");
    auto *prune = app.add_subcommand("prune", "evict least recently used entries down to a size");
    std::uint64_t cap_mb = DiskCache::kDefaultCapBytes >> 20;
    prune->add_option("--cap-mb", cap_mb, "size to keep, in MiB")
        ->capture_default_str()
        ->check(CLI::Range(std::uint64_t(0), std::uint64_t(~0ull >> 20)));
    CLI11_PARSE(app, argc, argv);

    if (!fs::is_directory(dir)) {
        fmt::print(stderr, "reluforge-cache: {} is not a directory (no cache yet?)\n", dir);
        return 1;
    }
    DiskCache cache(dir, ~0ull);
    if (!cache.usable()) fmt::print(stderr, "reluforge-cache: warning: the JIT will not use this cache: {}\n", cache.problem());
    if (*list) {
        std::uint64_t total = 0;
        for (const auto &e : cache.list()) {
            total += e.bytes;
            const auto age = std::chrono::duration_cast<std::chrono::seconds>(fs::file_time_type::clock::now() - e.last_used);
            fmt::print("{}  {:>9} B  used {:>6}s ago  {}\n", e.path.filename().string(), e.bytes, age.count(),
                       e.problem.empty() ? e.key : (e.temporary ? "TEMPORARY: " : "INVALID: ") + e.problem);
        }
        fmt::print("{} bytes in {}\n", total, dir);
    } else if (*inspect) {
        int bad = 0, good = 0;
        auto check = [&](const fs::path &p) {
            std::string key, problem;
            if (reluforge::jit::read_entry(p, &key, &problem) &&
                DiskCache::entry_path(p.parent_path(), key).filename() != p.filename()) {
                problem = "its name does not match its key (the engine would never load it)";
            }
            if (problem.empty()) {
                good++;
                if (!file.empty()) fmt::print("{}: valid\n  key: {}\n", p.string(), key);
            } else {
                bad++;
                fmt::print("{}: INVALID: {}\n", p.string(), problem);
            }
        };
        if (!file.empty()) {
            check(file);
        } else {
            for (const auto &e : cache.list()) {
                if (!e.temporary) check(e.path);
            }
        }
        fmt::print("{} valid, {} invalid\n", good, bad);
        return bad ? 1 : 0;
    } else if (*clear) {
        fmt::print("removed {} entries\n", cache.clear());
    } else if (*prune) {
        fmt::print("evicted {} entries\n", cache.evict_to(cap_mb << 20));
    }
    return 0;
}
