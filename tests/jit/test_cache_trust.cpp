// The disk cache runs the code it holds, so it trusts only what nobody else can change: a directory
// or entry another user owns or can write is refused; anything in it that is not a regular file
// is an invalid entry, never a crash or a hang; and what killed writers leave is cleaned up.
#include "jit_test_support.h"
#include "reluforge/detail/files.h"
#include "reluforge/jit/disk_cache.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace reluforge;
using jit_test::fresh_dir;
using jit_test::quiet_options;
namespace fs = std::filesystem;

namespace {

const KernelSpec kSpec = parse_spec("forward:relu:bias=0");
constexpr uid_t kNobody = 65534;

// A correct kernel: relu on X = [1, -2], W = I.
bool kernel_works(const KernelHandle &k) {
    std::vector<float> x{1, -2}, w{1, 0, 0, 1}, y(2, 7.0f);
    run_kernel(k, {Tensor::matrix(x.data(), 1, 2), Tensor::matrix(w.data(), 2, 2), Tensor::matrix(y.data(), 1, 2)});
    return y[0] == 1.0f && y[1] == 0.0f;
}

mode_t mode_of(const fs::path &p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
}

std::size_t entries_in(const fs::path &dir) {
    std::size_t n = 0;
    for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) n++;
    return n;
}

// Sets (or with nullopt unsets) an environment variable for one scope.
class ScopedEnv {
public:
    ScopedEnv(const char *name, std::optional<std::string> value) : name_(name) {
        if (const char *old = std::getenv(name)) old_ = old;
        value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
    }
    ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

private:
    const char *name_;
    std::optional<std::string> old_;
};

// The engine refuses dir: no disk cache, one warning naming why, kernels still right, and
// nothing written into dir.
void expect_refused(const fs::path &dir, const std::string &why) {
    const std::size_t before = fs::exists(dir) ? entries_in(dir) : 0;
    jit::Engine e(quiet_options(dir));
    CHECK_FALSE(e.disk_cache_usable());
    CHECK_THAT(e.disk_cache_problem(), Catch::Contains(why));
    CHECK(e.stats().warnings == 1);
    CHECK(kernel_works(e.get(kSpec)));
    CHECK(e.stats().compiled == 1);
    if (fs::exists(dir)) CHECK(entries_in(dir) == before);
}

}  // namespace

TEST_CASE("a cache directory that others can change is refused; kernels stay in memory", "[jit][cache][trust]") {
    const fs::path root = fresh_dir("trust-dir");
    fs::create_directories(root);
    SECTION("writable by others") {
        fs::create_directories(root / "cache");
        ::chmod((root / "cache").c_str(), 0777);
        expect_refused(root / "cache", "writable by group or others (mode 777)");
    }
    SECTION("writable by the group") {
        fs::create_directories(root / "cache");
        ::chmod((root / "cache").c_str(), 0770);
        expect_refused(root / "cache", "writable by group or others (mode 770)");
    }
    SECTION("inside a directory others can write, without the sticky bit") {
        ::chmod(root.c_str(), 0777);
        expect_refused(root / "cache", "which group or others can write (mode 777)");
    }
    SECTION("owned by another user") {
        fs::path dir = "/";  // root's, when this test does not run as root
        if (::geteuid() == 0) {
            dir = root / "cache";
            fs::create_directories(dir);
            REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
        }
        expect_refused(dir, fmt::format("owned by uid {}, not by this user", ::geteuid() == 0 ? kNobody : 0));
    }
    SECTION("a planted link to another user's directory") {
        if (::geteuid() == 0) {
            fs::create_directories(root / "theirs");
            REQUIRE(::chown((root / "theirs").c_str(), kNobody, kNobody) == 0);
            fs::create_directory_symlink(root / "theirs", root / "cache");
            expect_refused(root / "cache", fmt::format("owned by uid {}", kNobody));
        }
    }
    SECTION("a private directory of this user is used, made with mode 0700 whatever the umask") {
        const mode_t old_umask = ::umask(0);
        jit::DiskCache mine(root / "mine" / "cache");
        ::umask(old_umask);
        CHECK(mine.usable());
        CHECK(mode_of(root / "mine" / "cache") == 0700);
        CHECK(mode_of(root / "mine") == 0700);
    }
}

TEST_CASE("without HOME and XDG the cache is per user under TMPDIR, mode 0700", "[jit][cache][trust]") {
    const fs::path tmp = fresh_dir("trust-default");
    fs::create_directories(tmp);
    ScopedEnv a("RELUFORGE_CACHE_DIR", std::nullopt), b("XDG_CACHE_HOME", std::nullopt), c("HOME", std::nullopt),
        d("TMPDIR", tmp.string());
    const fs::path dir = jit::DiskCache::default_dir();
    CHECK(dir == tmp / fmt::format("reluforge-cache-{}", ::geteuid()));
    jit::Engine e(quiet_options(dir));
    CHECK(e.disk_cache_usable());
    CHECK(mode_of(dir) == 0700);
    // Another user who made the directory first does not get this user's kernels, nor plants any.
    if (::geteuid() == 0) {
        const fs::path planted = tmp / "planted";
        {
            ScopedEnv t("TMPDIR", planted.string());
            fs::create_directories(planted / fmt::format("reluforge-cache-{}", ::geteuid()));
            REQUIRE(::chown((planted / fmt::format("reluforge-cache-{}", ::geteuid())).c_str(), kNobody, kNobody) == 0);
            expect_refused(jit::DiskCache::default_dir(), "not by this user");
        }
    }
}

TEST_CASE("an entry another user owns or can write, or a link, is never loaded", "[jit][cache][trust]") {
    const fs::path dir = fresh_dir("trust-entry");
    std::string key;
    {
        jit::Engine e(quiet_options(dir));
        e.get(kSpec);
        key = e.cache_key(kSpec, std::min(host_isa(), isa_limit()));
    }
    const fs::path entry = jit::DiskCache::entry_path(dir, key);
    REQUIRE(fs::is_regular_file(entry));
    CHECK(mode_of(entry) == 0600);
    auto reload_expecting = [&](const std::string &why) {
        std::string stored, problem;
        CHECK_FALSE(jit::read_entry(entry, &stored, &problem).has_value());
        CHECK_THAT(problem, Catch::Contains(why));
        jit::Engine e(quiet_options(dir));
        CHECK(kernel_works(e.get(kSpec)));
        CHECK(e.stats().corrupt_entries == 1);
        CHECK(e.stats().compiled == 1);
        CHECK(e.stats().loaded_from_disk == 0);
        CHECK(jit::read_entry(entry, &stored, &problem).has_value());  // rebuilt as this user's own
    };
    SECTION("writable by others") {
        ::chmod(entry.c_str(), 0666);
        reload_expecting("writable by group or others (mode 666)");
    }
    SECTION("a symbolic link to a valid entry") {
        fs::rename(entry, dir / "elsewhere");
        fs::create_symlink(dir / "elsewhere", entry);
        reload_expecting("a symbolic link");
    }
    SECTION("owned by another user") {
        if (::geteuid() == 0) {
            REQUIRE(::chown(entry.c_str(), kNobody, kNobody) == 0);
            reload_expecting(fmt::format("owned by uid {}", kNobody));
        }
    }
}

TEST_CASE("directories, links and FIFOs named like entries are invalid entries, never a crash or hang",
          "[jit][cache][trust]") {
    const fs::path dir = fresh_dir("trust-nonfile");
    std::string key;
    {
        jit::Engine e(quiet_options(dir));
        key = e.cache_key(kSpec, std::min(host_isa(), isa_limit()));
    }
    const fs::path entry = jit::DiskCache::entry_path(dir, key);
    SECTION("a directory at a real key's path") {
        fs::create_directories(entry / "inside");
    }
    SECTION("a symbolic link to a directory at a real key's path") {
        fs::create_directories(dir / "somewhere");
        fs::create_directory_symlink(dir / "somewhere", entry);
    }
    SECTION("a FIFO at a real key's path") {
        REQUIRE(::mkfifo(entry.c_str(), 0600) == 0);
    }
    // The engine, list and inspect run on a thread with a deadline: a FIFO must not block them.
    std::atomic<bool> done{false};
    bool works = false;
    std::uint64_t invalid = 0;
    std::vector<jit::CacheEntry> listed;
    std::uint64_t total = 0;
    std::thread worker([&] {
        jit::Engine e(quiet_options(dir));
        works = kernel_works(e.get(kSpec)) && kernel_works(e.get(kSpec));
        invalid = e.stats().corrupt_entries;
        jit::DiskCache cache(dir);
        listed = cache.list();
        total = cache.total_bytes();
        done = true;
    });
    for (int ms = 0; ms < 60000 && !done; ms += 10) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(done);  // else the worker hangs on the FIFO: the test process is stuck anyway
    worker.join();
    CHECK(works);
    CHECK(invalid == 1);
    CHECK(total < (1u << 30));  // no size of -1 summed in
    // The link and the FIFO were replaced by a valid entry; the directory could not be.
    const bool replaced = fs::is_regular_file(fs::symlink_status(entry));
    for (const auto &l : listed) {
        INFO(l.path);
        if (l.path == entry) CHECK(l.problem.empty() == replaced);
    }
    // Pruning removes what it can of them; a valid entry is stored again where it could.
    jit::DiskCache cache(dir);
    cache.evict_to(1 << 30);
    if (!fs::is_directory(fs::symlink_status(entry))) {
        jit::Engine e(quiet_options(dir));
        CHECK(kernel_works(e.get(kSpec)));
        CHECK(e.stats().loaded_from_disk == 1);
    }
}

TEST_CASE("an entry whose name does not match its key is listed as invalid", "[cache][trust]") {
    const fs::path dir = fresh_dir("trust-name");
    jit::DiskCache cache(dir);
    REQUIRE(cache.store("a key", "payload"));
    fs::rename(jit::DiskCache::entry_path(dir, "a key"), dir / "0123456789abcdef.rfk");
    const auto listed = cache.list();
    REQUIRE(listed.size() == 1);
    CHECK_THAT(listed[0].problem, Catch::Contains("does not match its key"));
}

TEST_CASE("what a killed writer leaves in the cache is removed by pruning, a live writer's never",
          "[cache][trust]") {
    const fs::path dir = fresh_dir("trust-stale");
    jit::DiskCache cache(dir);
    REQUIRE(cache.usable());
    // A child writes a temporary the way store() does, holds it, and is killed with SIGKILL.
    auto writer = [&](const std::string &name) {
        int ready[2];
        REQUIRE(::pipe(ready) == 0);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            const int fd = ::open((dir / name).c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
            ::flock(fd, LOCK_EX);
            (void)!::write(fd, "half an entry", 13);
            (void)!::write(ready[1], "x", 1);
            for (;;) ::pause();
        }
        char c;
        (void)!::read(ready[0], &c, 1);
        ::close(ready[0]);
        ::close(ready[1]);
        return pid;
    };
    auto age = [&](const std::string &name) {
        fs::last_write_time(dir / name, fs::file_time_type::clock::now() - std::chrono::hours(2));
    };
    const pid_t killed = writer(".0123456789abcdef.rfk.tmp.AAAAAA");
    const pid_t live = writer(".1123456789abcdef.rfk.tmp.BBBBBB");
    ::kill(killed, SIGKILL);
    ::waitpid(killed, nullptr, 0);
    age(".0123456789abcdef.rfk.tmp.AAAAAA");
    age(".1123456789abcdef.rfk.tmp.BBBBBB");
    std::ofstream(dir / ".2123456789abcdef.rfk.tmp.CCCCCC") << "a writer that has just begun";

    // Listed (so the cap and the user see them), then only the dead writer's is removed.
    int temporaries = 0;
    for (const auto &e : cache.list()) temporaries += e.temporary;
    CHECK(temporaries == 3);
    CHECK(cache.total_bytes() > 0);
    CHECK(cache.clear() == 0);  // no entries; the temporaries are not entries
    CHECK_FALSE(fs::exists(dir / ".0123456789abcdef.rfk.tmp.AAAAAA"));
    CHECK(fs::exists(dir / ".1123456789abcdef.rfk.tmp.BBBBBB"));
    CHECK(fs::exists(dir / ".2123456789abcdef.rfk.tmp.CCCCCC"));

    ::kill(live, SIGKILL);
    ::waitpid(live, nullptr, 0);
    CHECK(cache.remove_stale_temporaries() == 1);
    CHECK_FALSE(fs::exists(dir / ".1123456789abcdef.rfk.tmp.BBBBBB"));
}

TEST_CASE("the JIT writes no object file while it compiles: a killed process leaves none", "[jit][trust]") {
    const fs::path tmp = fresh_dir("trust-jit-objects");
    fs::create_directories(tmp);
    ScopedEnv env("TMPDIR", tmp.string());
    jit::Options o;
    o.use_disk_cache = false;
    o.quiet = true;
    jit::Engine e(o);
    std::atomic<bool> done{false};
    std::atomic<int> seen{0};
    std::thread watcher([&] {
        while (!done) {
            seen = std::max<int>(seen, int(entries_in(tmp)));
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    bool works = false;
    std::string error;
    try {
        works = kernel_works(e.get(kSpec));
    } catch (const std::exception &x) {
        error = x.what();
    }
    CHECK(error == "");
    done = true;
    watcher.join();
    CHECK(works);
    CHECK(seen == 0);
}
