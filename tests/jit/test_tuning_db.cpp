// The tuning database: records round-trip, are only ever added, are written atomically, a corrupt
// file is refused by name and left alone, and only verified winners measured on this machine and
// target become schedule variants (of reluforge-gen's libraries and of the JIT engine).
#include "jit_test_support.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"
#include "reluforge/schedules/search_space.h"
#include "reluforge/schedules/tuning_db.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

using namespace reluforge;
using namespace reluforge::sched;
namespace fs = std::filesystem;

namespace {

const char *kSpec = "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32";

TuningRecord record(const std::string &schedule, double ms, const Machine &m, bool verified = true,
                    const std::string &target = "avx512", const std::string &bucket = "k<=127,k>=64,m<=1023,m>=512,n<=1023,n>=512") {
    TuningRecord r;
    r.spec = kSpec;
    r.target = target;
    r.bucket = bucket;
    r.shape = "512x64x512";
    r.schedule = schedule;
    r.median_ms = ms;
    r.default_ms = 1.0;
    r.verified = verified;
    r.confirmed = true;
    r.machine = m;
    r.reluforge_version = version;
    r.date = "2026-11-22T00:00:00Z";
    return r;
}

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("shape buckets are power-of-two octaves of M, N and K", "[tuning]") {
    CHECK(shape_bucket({512, 512, 64}) == "k<=127,k>=64,m<=1023,m>=512,n<=1023,n>=512");
    CHECK(shape_bucket({1, 1000, 0}) == "m<=1,m>=1,n<=1023,n>=512");  // no K: activation_backward
    CHECK(ShapeRule::parse(shape_bucket({700, 600, 100})).holds({700, 600, 100}));
    CHECK_FALSE(ShapeRule::parse(shape_bucket({700, 600, 100})).holds({700, 600, 128}));
}

TEST_CASE("the database round-trips, only grows, and is written atomically", "[tuning]") {
    const fs::path dir = jit_test::fresh_dir("tuning-db");
    fs::create_directories(dir);
    const std::string path = (dir / "db.json").string();
    const Machine m = this_machine(num_threads());
    CHECK(TuningDb::load(path).records().empty());  // missing: empty
    TuningDb db;
    db.add(record("cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block", 0.5, m));
    db.add(record("cpu:block=2x12:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block", 0.7, m));
    db.save(path);
    TuningDb again = TuningDb::load(path);
    REQUIRE(again.records().size() == 2);
    CHECK(again.records()[0].schedule == db.records()[0].schedule);
    CHECK(again.records()[1].median_ms == 0.7);
    CHECK(again.records()[0].machine == m);
    // Merging adds what is new, once.
    TuningDb other;
    other.add(record("cpu:block=3x8:task_rows=64:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block", 0.9, m));
    other.add(db.records()[0]);
    again.merge(other);
    again.merge(other);
    CHECK(again.records().size() == 3);
    // No temporary file is left beside it (only the lock file concurrent writers share).
    for (const auto &e : fs::directory_iterator(dir)) {
        CHECK((e.path().filename() == "db.json" || e.path().filename() == "db.json.lock"));
    }
}

TEST_CASE("two writers that loaded the same database lose none of each other's records", "[tuning]") {
    const fs::path dir = jit_test::fresh_dir("tuning-two-writers");
    fs::create_directories(dir);
    const std::string path = (dir / "db.json").string();
    const Machine m = this_machine(num_threads());
    const std::string schedule = "cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    TuningDb first = TuningDb::load(path), second = TuningDb::load(path);
    first.add(record(schedule, 0.5, m));
    second.add(record(schedule, 0.6, m));
    first.save(path);
    second.save(path);  // wrote its one record over the first's before merging under the lock
    CHECK(TuningDb::load(path).records().size() == 2);
}

TEST_CASE("processes saving to one database at once lose no record", "[tuning]") {
    const fs::path dir = jit_test::fresh_dir("tuning-processes");
    fs::create_directories(dir);
    const std::string path = (dir / "db.json").string();
    constexpr int kProcesses = 4, kRecords = 20;
    std::vector<pid_t> children;
    for (int p = 0; p < kProcesses; p++) {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // As a tuning session does: its own database, saved after every measurement.
            int status = 0;
            try {
                TuningDb db = TuningDb::load(path);
                for (int r = 0; r < kRecords; r++) {
                    db.add(record("cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block",
                                  1.0 + p + r / 100.0, this_machine(num_threads())));
                    db.save(path);
                }
            } catch (const std::exception &e) {
                std::fprintf(stderr, "writer %d: %s\n", p, e.what());
                status = 1;
            }
            ::_exit(status);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    CHECK(TuningDb::load(path).records().size() == std::size_t(kProcesses * kRecords));
    for (const auto &e : fs::directory_iterator(dir)) {
        CHECK((e.path().filename() == "db.json" || e.path().filename() == "db.json.lock"));
    }
}

TEST_CASE("a corrupt database is refused by name and left as it was", "[tuning]") {
    const fs::path dir = jit_test::fresh_dir("tuning-corrupt");
    fs::create_directories(dir);
    const fs::path path = dir / "db.json";
    const std::pair<const char *, const char *> bad[] = {
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 1, \"records\": [", "is corrupt"},
        {"{\"format\": \"something-else\", \"version\": 1, \"records\": []}", "not a reluforge-tuning-db file"},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 9, \"records\": []}", "format version 9"},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 1e30, \"records\": []}", "format version 1e+30"},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 1.5, \"records\": []}", "format version 1.5"},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": \"1\", \"records\": []}", "format version \"1\""},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 1, \"records\": [{\"spec\": \"forward:relu\"}]}", "record 0"},
        {"{\"format\": \"reluforge-tuning-db\", \"version\": 1, \"records\": [{\"spec\": \"forward:relux\", \"target\": \"avx512\","
         " \"bucket\": \"\", \"shape\": \"1x1x1\", \"schedule\": \"cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed\","
         " \"median_ms\": 1, \"default_ms\": 1, \"verified\": true, \"machine\": {\"cpu_model\": \"x\", \"isa\": \"avx2\"},"
         " \"reluforge_version\": \"0.1.0\", \"date\": \"d\"}]}", "relux"},
    };
    for (const auto &[text, message] : bad) {
        INFO(text);
        { std::ofstream(path) << text; }
        try {
            TuningDb::load(path.string());
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(e.code() == ErrorCode::corrupt_file);
            CHECK_THAT(e.what(), Catch::Contains(path.string()) && Catch::Contains(message));
        }
        CHECK(slurp(path) == text);
    }
}

TEST_CASE("only verified winners of this machine and target become variants", "[tuning]") {
    const Machine here = this_machine(num_threads()), elsewhere{"Some Other CPU", "avx2"};
    const std::string fast = "cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    const std::string faster_unverified = "cpu:block=1x8:task_rows=8:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    const std::string faster_elsewhere = "cpu:block=2x6:task_rows=12:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    TuningDb db;
    db.add(record(fast, 0.5, here));
    db.add(record("cpu:block=2x12:task_rows=48:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block", 0.8, here));
    db.add(record(faster_unverified, 0.1, here, false));
    db.add(record(faster_elsewhere, 0.2, elsewhere, true, "avx512", "k<=63,k>=32,m<=1023,m>=512,n<=1023,n>=512"));
    db.add(record(faster_elsewhere, 0.2, here, true, "avx2"));
    // Records are untrusted: sizes whose products overflow int, and a block for more registers
    // than the target has, are refused however fast they claim to be.
    const std::string huge = "cpu:block=46341x46341:task_rows=46341:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    db.add(record(huge, 0.01, here));
    db.add(record("cpu:block=6x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block", 0.02, here));
    std::vector<std::string> skipped;
    const auto tuned = db.tuned(parse_spec(kSpec), Isa::avx512, here, &skipped);
    REQUIRE(tuned.size() == 1);
    CHECK(to_string(tuned[0].schedule) == fast);
    CHECK(tuned[0].shape_rule == "k<=127,k>=64,m<=1023,m>=512,n<=1023,n>=512");
    REQUIRE(skipped.size() == 3);
    CHECK_THAT(skipped[0], Catch::Contains("block=46341x46341") && Catch::Contains("sizes must stay within") &&
                               Catch::Contains("not used"));
    CHECK_THAT(skipped[1], Catch::Contains("block=6x6") && Catch::Contains("needs 43 vector registers"));
    CHECK_THAT(skipped[2], Catch::Contains("Some Other CPU") && Catch::Contains("not used"));
    // Tuned variants come first, the default table's after them.
    const auto all = cpu_schedules(parse_spec(kSpec), Isa::avx512, &db, here);
    CHECK(all.size() == tuned.size() + default_cpu_schedules(parse_spec(kSpec), Isa::avx512).size());
    CHECK(all.front().shape_rule == tuned[0].shape_rule);
    CHECK(all.back().shape_rule == "");
}

TEST_CASE("records apply only where kernels run on the thread count they were tuned on", "[tuning]") {
    const Machine one = this_machine(1), four = this_machine(4), unrecorded = this_machine(0);
    const std::string on_one = "cpu:block=4x6:task_rows=48:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block";
    const std::string on_four = "cpu:block=2x12:task_rows=96:pass_rows=16:order=panels:lhs=inline:operand=packed:acc=block";
    TuningDb db;
    db.add(record(on_one, 0.5, one));
    db.add(record(on_four, 0.4, four));
    for (const auto &[machine, expected] : {std::pair{one, on_one}, {four, on_four}}) {
        const auto tuned = db.tuned(parse_spec(kSpec), Isa::avx512, machine);
        REQUIRE(tuned.size() == 1);
        CHECK(to_string(tuned[0].schedule) == expected);
    }
    std::vector<std::string> skipped;
    CHECK(db.tuned(parse_spec(kSpec), Isa::avx512, this_machine(2), &skipped).empty());
    REQUIRE(skipped.size() == 1);
    CHECK_THAT(skipped[0], Catch::Contains("tuned on 4 thread(s), kernels here run on 2; not used"));

    // A record of a reluforge-tune that did not record its thread count reads as 0 and is not used.
    const fs::path dir = jit_test::fresh_dir("tuning-threads");
    fs::create_directories(dir);
    const std::string path = (dir / "db.json").string();
    TuningDb with_old;
    with_old.add(record(on_one, 0.3, unrecorded));
    with_old.save(path);
    nlohmann::json old = nlohmann::json::parse(slurp(path));
    REQUIRE(old.at("records").at(0).at("machine").erase("threads") == 1);
    const TuningDb loaded = TuningDb::parse(old.dump(), "old.json");
    REQUIRE(loaded.records().size() == 1);
    CHECK(loaded.records()[0].machine.threads == 0);
    skipped.clear();
    CHECK(loaded.tuned(parse_spec(kSpec), Isa::avx512, one, &skipped).empty());
    REQUIRE(skipped.size() == 1);
    CHECK_THAT(skipped[0], Catch::Contains("do not say how many threads") && Catch::Contains("tune again"));
    // The count round-trips, and a negative one is refused.
    const fs::path counted = dir / "counted.json";
    db.save(counted.string());
    const TuningDb again = TuningDb::load(counted.string());
    REQUIRE(again.records().size() == 2);
    CHECK((again.records()[0].machine == one || again.records()[0].machine == four));
    CHECK_FALSE(again.records()[0].machine == again.records()[1].machine);
    nlohmann::json negative = nlohmann::json::parse(slurp(counted));
    negative.at("records").at(0).at("machine")["threads"] = -4;
    CHECK_THROWS_WITH(TuningDb::parse(negative.dump(), "negative.json"), Catch::Contains("machine.threads -4 is negative"));
}

TEST_CASE("the search space holds valid schedules, the default table's among them", "[tuning]") {
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        for (const char *text : {kSpec, "backward_weight:bias=1", "backward_data:identity:prev_bias=0:weight=kn",
                                 "activation_backward:gelu:save=z"}) {
            const KernelSpec spec = parse_spec(text);
            const auto space = cpu_search_space(spec, isa);
            INFO(text << " " << to_string(isa));
            CHECK(space.size() > 4);
            for (const auto &s : space) CHECK(cpu_schedule_problem(s, vector_registers(isa)) == "");
            for (const auto &d : default_cpu_schedules(spec, isa)) {
                CHECK(std::find(space.begin(), space.end(), d.schedule) != space.end());
            }
        }
    }
}

TEST_CASE("the quick space is a dozen valid neighbours of the default, without it", "[tuning]") {
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        for (const char *text : {kSpec, "backward_weight:bias=1", "forward:gelu:bias=1", "activation_backward:gelu:save=z",
                                 "backward_data:identity"}) {
            const KernelSpec spec = parse_spec(text);
            for (const auto &d : default_cpu_schedules(spec, isa)) {
                const auto quick = cpu_quick_space(spec, isa, d.schedule);
                INFO(text << " " << to_string(isa) << " around " << to_string(d.schedule));
                CHECK(quick.size() >= 3);
                CHECK(quick.size() <= 16);
                CHECK(std::find(quick.begin(), quick.end(), d.schedule) == quick.end());
                for (const auto &s : quick) CHECK(cpu_schedule_problem(s, vector_registers(isa)) == "");
                // Dot-product schedules read only their sizes and chunks: no two candidates (nor
                // a candidate and the default) may differ in nothing else.
                auto sizes = [](const CpuSchedule &s) {
                    return std::tuple{s.block_vectors, s.block_rows, s.task_rows, s.pass_rows, s.reduction_block};
                };
                for (std::size_t a = 0; a < quick.size(); a++) {
                    if (quick[a].operand != OperandRead::dot) continue;
                    CHECK_FALSE((d.schedule.operand == OperandRead::dot && sizes(d.schedule) == sizes(quick[a])));
                    for (std::size_t b = a + 1; b < quick.size(); b++) {
                        CHECK_FALSE((quick[b].operand == OperandRead::dot && sizes(quick[a]) == sizes(quick[b])));
                    }
                }
            }
        }
    }
}

TEST_CASE("backward_data over [K,N] weights searches the transposed product and the dot products", "[tuning]") {
    const KernelSpec data = parse_spec("backward_data:identity:weight=kn"), nk = parse_spec("backward_data:identity:weight=nk");
    auto has = [](const std::vector<CpuSchedule> &space, bool product, OperandRead read) {
        return std::any_of(space.begin(), space.end(),
                           [&](const CpuSchedule &s) { return s.transposed_product == product && s.operand == read; });
    };
    const CpuSchedule dot{6, 4, 48, 16, false, false, OperandRead::dot};
    CHECK(has(cpu_quick_space(data, Isa::avx512, dot), true, OperandRead::packed));
    CpuSchedule product{4, 6, 48, 16, false};
    product.transposed_product = true;
    const auto around_product = cpu_quick_space(data, Isa::avx512, product);
    CHECK(has(around_product, false, OperandRead::dot));
    CHECK(has(around_product, true, OperandRead::direct));
    CHECK(has(cpu_search_space(data, Isa::avx2), true, OperandRead::direct));
    // Elsewhere the field changes nothing, and no candidate sets it.
    CHECK_FALSE(has(cpu_search_space(nk, Isa::avx512), true, OperandRead::packed));
    CHECK_FALSE(has(cpu_quick_space(nk, Isa::avx512, CpuSchedule{}), true, OperandRead::packed));
}

TEST_CASE("the JIT engine runs tuned variants for their bucket and reports untuned kernels", "[tuning][jit]") {
    const fs::path dir = jit_test::fresh_dir("tuning-engine");
    fs::create_directories(dir);
    const Machine here = this_machine(num_threads());
    const Isa isa = host_isa();
    TuningDb db;
    db.add(record("cpu:block=2x6:task_rows=12:pass_rows=16:order=rows:lhs=inline:operand=packed:acc=block", 0.5, here, true, to_string(isa)));
    db.save((dir / "db.json").string());
    jit::Options o = jit_test::quiet_options(dir / "cache");
    o.tuning_db = (dir / "db.json").string();
    jit::Engine engine(o);
    const KernelSpec spec = parse_spec(kSpec);
    CHECK(engine.get(spec, isa, {600, 600, 100}).shape_rule == "k<=127,k>=64,m<=1023,m>=512,n<=1023,n>=512");
    CHECK(engine.untuned_kernels().empty());
    // The default table's variant for the shape: on Zen 3 its 3x4 blocks into 512+ columns.
    const std::string table_rule = host_cpu().kind == CpuKind::zen3 && isa == Isa::avx2 ? "cpu=zen3,k>=65,n>=512" : "";
    CHECK(engine.get(spec, isa, {4000, 600, 100}).shape_rule == table_rule);
    REQUIRE(engine.untuned_kernels().size() == 1);
    CHECK_THAT(engine.untuned_kernels()[0], Catch::Contains(kSpec));

    // A corrupt database: a warning, and the default schedules.
    { std::ofstream(dir / "bad.json") << "{ not json"; }
    jit::Options bad = jit_test::quiet_options(dir / "cache2");
    bad.tuning_db = (dir / "bad.json").string();
    jit::Engine fallback(bad);
    CHECK(fallback.stats().warnings == 1);
    CHECK(fallback.get(spec, isa, {600, 600, 100}).shape_rule == table_rule);
}
