// The disk cache: reuse across engines and processes, corrupt entries rebuilt, the size cap,
// and an unusable directory degrading to memory only.
#include "reluforge/jit/disk_cache.h"
#include "jit_test_support.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <HalideRuntime.h>
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <unistd.h>

using namespace reluforge;
using jit_test::fresh_dir;
using jit_test::quiet_options;
namespace fs = std::filesystem;

namespace {

const KernelSpec kSpec = parse_spec("forward:leaky_relu(slope=0.5):bias=0");

// relu-family forward on X = [1, -2], W = I: [1, -1] for leaky_relu(0.5).
bool kernel_works(KernelFn fn) {
    std::vector<float> x{1, -2}, w{1, 0, 0, 1}, y(2);
    halide_dimension_t dx[2] = {{0, 2, 1}, {0, 1, 2}}, dw[2] = {{0, 2, 1}, {0, 2, 2}}, dy[2] = {{0, 2, 1}, {0, 1, 2}};
    halide_buffer_t bx{}, bw{}, by{};
    for (auto [b, d, p] : {std::tuple{&bx, dx, x.data()}, {&bw, dw, w.data()}, {&by, dy, y.data()}}) {
        b->host = reinterpret_cast<uint8_t *>(p);
        b->type = halide_type_t(halide_type_float, 32);
        b->dimensions = 2;
        b->dim = d;
    }
    void *args[] = {&bx, &bw, &by};
    return fn(args) == 0 && y[0] == 1.0f && y[1] == -1.0f;
}

std::string run(const std::string &command) {
    std::string out;
    FILE *p = ::popen(command.c_str(), "r");
    if (!p) return out;
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    return status == 0 ? out : "FAILED(" + std::to_string(status) + "): " + out;
}

}  // namespace

TEST_CASE("a second engine loads from the cache instead of compiling", "[jit][cache]") {
    const fs::path dir = fresh_dir("reuse");
    {
        jit::Engine first(quiet_options(dir));
        CHECK(kernel_works(first.get(kSpec).fn));
        CHECK(first.stats().compiled == 1);
        CHECK(first.stats().loaded_from_disk == 0);
    }
    jit::Engine second(quiet_options(dir));
    CHECK(kernel_works(second.get(kSpec).fn));
    CHECK(second.stats().compiled == 0);
    CHECK(second.stats().loaded_from_disk == 1);
}

TEST_CASE("a second process loads from the cache instead of compiling", "[jit][cache]") {
    const fs::path dir = fresh_dir("process");
    const std::string probe = std::string(RELUFORGE_JIT_PROBE) + " " + dir.string() + " 'forward:relu:bias=0' 'forward:identity:bias=0'";
    CHECK(run(probe) == "compiled=2 loaded=0\n");
    CHECK(run(probe) == "compiled=0 loaded=2\n");
}

TEST_CASE("truncated, bit-flipped and foreign entries are rebuilt, never loaded", "[jit][cache]") {
    const fs::path dir = fresh_dir("corrupt");
    std::string key;
    {
        jit::Engine e(quiet_options(dir));
        e.get(kSpec);
        key = e.cache_key(kSpec, std::min(host_isa(), isa_limit()));
    }
    const fs::path entry = jit::DiskCache::entry_path(dir, key);
    REQUIRE(fs::exists(entry));
    const auto size = fs::file_size(entry);

    auto corrupt_and_reload = [&](const std::function<void()> &damage) {
        damage();
        jit::Engine e(quiet_options(dir));
        CHECK(kernel_works(e.get(kSpec).fn));
        CHECK(e.stats().corrupt_entries == 1);
        CHECK(e.stats().compiled == 1);
        std::string stored_key, problem;
        CHECK(jit::read_entry(entry, &stored_key, &problem).has_value());  // rewritten, valid
        CHECK(stored_key == key);
    };
    SECTION("truncated") { corrupt_and_reload([&] { fs::resize_file(entry, size / 2); }); }
    SECTION("a flipped bit in the payload") {
        corrupt_and_reload([&] {
            std::fstream f(entry, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(static_cast<std::streamoff>(size - 100));
            char c = 0;
            f.read(&c, 1);
            f.seekp(static_cast<std::streamoff>(size - 100));
            c ^= 0x10;
            f.write(&c, 1);
        });
    }
    SECTION("an entry of another key under this name") {
        corrupt_and_reload([&] {
            jit::DiskCache other(dir / "other");
            other.store("some other key", "payload");
            fs::rename(jit::DiskCache::entry_path(dir / "other", "some other key"), entry);
        });
    }
    SECTION("not a cache entry at all") {
        corrupt_and_reload([&] { std::ofstream(entry, std::ios::trunc) << "hello"; });
    }
}

TEST_CASE("the cache keeps its size cap by evicting the least recently used", "[cache]") {
    const fs::path dir = fresh_dir("cap");
    const std::string payload(3000, 'x');
    jit::DiskCache roomy(dir, 1 << 20);
    for (int k = 0; k < 6; k++) {
        REQUIRE(roomy.store("key " + std::to_string(k), payload));
        // Entries differ in age by more than the file system's time resolution.
        fs::last_write_time(jit::DiskCache::entry_path(dir, "key " + std::to_string(k)),
                            fs::file_time_type::clock::now() - std::chrono::seconds(100 - k));
    }
    roomy.load("key 2");  // a hit makes key 2 the most recently used
    jit::DiskCache cache(dir, 10'000);  // room for three entries
    cache.store("key 6", payload);
    CHECK(cache.total_bytes() <= 10'000);
    CHECK(cache.load("key 6").has_value());
    CHECK(cache.load("key 2").has_value());
    CHECK_FALSE(cache.load("key 0").has_value());
    CHECK(cache.list().size() == 3);
}

TEST_CASE("an unusable cache directory degrades to memory only, with a warning", "[jit][cache]") {
    const fs::path file = fresh_dir("not-a-dir");
    std::ofstream(file) << "a file where the cache directory would go";
    for (const fs::path &dir : {file / "cache", fs::path("/proc/reluforge-cache")}) {
        jit::Engine e(quiet_options(dir));
        CHECK_FALSE(e.disk_cache_usable());
        CHECK_THAT(e.disk_cache_problem(), Catch::Contains(dir.string()));
        CHECK(e.stats().warnings == 1);
        CHECK(kernel_works(e.get(kSpec).fn));
        CHECK(e.stats().compiled == 1);
    }
}

TEST_CASE("four processes sharing a fresh cache all get correct kernels", "[jit][cache]") {
    const fs::path dir = fresh_dir("four");
    const std::string probe = std::string(RELUFORGE_JIT_PROBE) + " " + dir.string() +
                              " 'forward:relu:bias=0' 'forward:identity:bias=0' 'forward:relu6:bias=0' 'forward:leaky_relu(slope=0.25):bias=0'";
    std::vector<std::future<std::string>> runs;
    for (int p = 0; p < 4; p++) runs.push_back(std::async(std::launch::async, [&] { return run(probe); }));
    for (auto &r : runs) CHECK(r.get().rfind("compiled=", 0) == 0);
    jit::DiskCache cache(dir);
    const auto entries = cache.list();
    CHECK(entries.size() == 4);
    for (const auto &e : entries) CHECK(e.problem.empty());
    CHECK(run(probe) == "compiled=0 loaded=4\n");
}
