// Several processes, each with several threads, on one kernel cache and on one tuning database,
// some killed with SIGKILL at random moments: nothing wrong is ever run, no saved record is lost,
// and nothing is left behind once the cleaner has run.
#include "jit_test_support.h"
#include "reluforge/jit/disk_cache.h"
#include "reluforge/reluforge.h"
#include "reluforge/schedules/tuning_db.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <set>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char **environ;

using namespace reluforge;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSpecs = {"forward:relu:bias=0", "forward:identity:bias=0", "forward:relu6:bias=0",
                                         "forward:leaky_relu(slope=0.25):bias=0"};

pid_t spawn_probe(const fs::path &cache, int threads) {
    std::vector<std::string> args{RELUFORGE_JIT_PROBE, cache.string(), "--threads=" + std::to_string(threads)};
    args.insert(args.end(), kSpecs.begin(), kSpecs.end());
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&quiet);
    return rc == 0 ? pid : -1;
}

// Exit status of pid, or -signal when a signal ended it.
int wait_for(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

sched::TuningRecord record(int writer, int n) {
    sched::TuningRecord r;
    r.spec = "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32";
    r.target = "avx2";
    r.bucket = "k<=127,k>=64,m<=127,m>=64,n<=127,n>=64";
    r.shape = "96x64x80";
    r.schedule = "cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    r.median_ms = writer + n / 1000.0;
    r.default_ms = 1e9;
    r.verified = r.confirmed = true;
    r.machine = sched::this_machine(num_threads());
    r.reluforge_version = version;
    r.date = "2026-12-02T00:00:00Z";
    return r;
}

}  // namespace

TEST_CASE("processes and threads on one cache, some killed, run only right kernels and leave nothing",
          "[jit][cache][processes]") {
    const fs::path dir = jit_test::fresh_dir("many-cache");
    std::mt19937 random(20261202);
    for (int round = 0; round < 4; round++) {
        // Rounds 0-2 start from an empty cache, so that kills fall among compiles and writes.
        if (round < 3) jit::DiskCache(dir).clear();
        std::vector<pid_t> probes;
        for (int p = 0; p < 4; p++) probes.push_back(spawn_probe(dir, 3));
        for (pid_t pid : probes) REQUIRE(pid > 0);
        // Two probes die at a random moment of their compiles or writes.
        std::map<pid_t, bool> killed;
        if (round < 3) {
            std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<>(20, 600)(random)));
            for (int k : {round % 2, round % 2 + 2}) {
                ::kill(probes[k], SIGKILL);
                killed[probes[k]] = true;
            }
        }
        for (pid_t pid : probes) {
            const int status = wait_for(pid);
            INFO("round " << round << ", probe " << pid);
            if (killed[pid]) CHECK((status == 0 || status == -SIGKILL));
            else CHECK(status == 0);  // it ran every kernel and each gave the known result
        }
    }
    jit::DiskCache cache(dir);
    cache.remove_stale_temporaries(std::chrono::seconds(0));  // every writer is gone now
    int entries = 0;
    for (const auto &e : cache.list()) {
        INFO(e.path);
        CHECK_FALSE(e.temporary);
        CHECK(e.problem.empty());
        entries++;
    }
    CHECK(entries == int(kSpecs.size()));
    // A last process gets all of them from the disk.
    const pid_t last = spawn_probe(dir, 2);
    CHECK(wait_for(last) == 0);
}

TEST_CASE("processes and threads saving to one tuning database, some killed, lose no saved record",
          "[tuning][processes]") {
    const fs::path dir = jit_test::fresh_dir("many-db");
    fs::create_directories(dir);
    const std::string path = (dir / "db.json").string();
    constexpr int kProcesses = 4, kThreads = 2, kRecords = 15;
    // Each thread reports every save that returned through its process's pipe.
    int pipes[kProcesses][2];
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; p++) {
        REQUIRE(::pipe(pipes[p]) == 0);
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(pipes[p][0]);
            std::vector<std::thread> threads;
            std::atomic<int> failures{0};
            for (int t = 0; t < kThreads; t++) {
                threads.emplace_back([&, t] {
                    try {
                        sched::TuningDb db = sched::TuningDb::load(path);
                        for (int n = 0; n < kRecords; n++) {
                            const unsigned char id = static_cast<unsigned char>(t * kRecords + n);
                            db.add(record(p, id));
                            db.save(path);
                            (void)!::write(pipes[p][1], &id, 1);
                        }
                    } catch (const std::exception &e) {
                        std::fprintf(stderr, "writer %d.%d: %s\n", p, t, e.what());
                        failures++;
                    }
                });
            }
            for (auto &th : threads) th.join();
            ::_exit(failures ? 1 : 0);
        }
        ::close(pipes[p][1]);
        children.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    ::kill(children[1], SIGKILL);
    ::kill(children[3], SIGKILL);
    for (int p = 0; p < kProcesses; p++) {
        const int status = wait_for(children[p]);
        if (p == 1 || p == 3) CHECK((status == 0 || status == -SIGKILL));
        else CHECK(status == 0);
    }
    const sched::TuningDb db = sched::TuningDb::load(path);  // whole and parseable
    std::set<std::pair<double, int>> present;
    for (const auto &r : db.records()) present.insert({r.median_ms, 0});
    for (int p = 0; p < kProcesses; p++) {
        unsigned char id;
        int reported = 0;
        while (::read(pipes[p][0], &id, 1) == 1) {
            reported++;
            INFO("writer " << p << ", record " << int(id));
            CHECK(present.count({record(p, id).median_ms, 0}) == 1);
        }
        ::close(pipes[p][0]);
        if (p == 0 || p == 2) CHECK(reported == kThreads * kRecords);
    }
    // Only the database and its lock file: a killed writer's temporary is removed by the next save.
    sched::TuningDb().save(path);
    CHECK(sched::TuningDb::load(path).records().size() == db.records().size());
    for (const auto &e : fs::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        INFO(name);
        CHECK((name == "db.json" || name == "db.json.lock"));
    }
}
