#include "reluforge/schedules/tuning_db.h"

#include "reluforge/detail/files.h"
#include "reluforge/error.h"
#include "reluforge/schedules/cpu_schedule.h"
#include "reluforge/schedules/search_space.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

namespace reluforge::sched {

using nlohmann::json;

Machine this_machine(int threads) {
    static const std::string cpu_model = [] {
        std::ifstream cpuinfo("/proc/cpuinfo");
        for (std::string line; std::getline(cpuinfo, line);) {
            if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
        }
        return std::string();
    }();
    return {cpu_model, to_string(host_isa()), threads};
}

std::string shape_bucket(const Shape &s) {
    auto octave = [](char dim, std::int64_t v) {
        std::int64_t lo = 1;
        while (lo * 2 <= v) lo *= 2;
        return fmt::format("{}>={},{}<={}", dim, lo, dim, lo * 2 - 1);
    };
    std::string rule;
    for (auto [dim, v] : {std::pair{'m', s.m}, {'n', s.n}, {'k', s.k}}) {
        if (v > 0) rule += (rule.empty() ? "" : ",") + octave(dim, v);  // 0: the kernel has no such extent
    }
    return ShapeRule::parse(rule).text();
}

namespace {

const char *kFormat = "reluforge-tuning-db";
constexpr int kFormatVersion = 1;

json to_json(const TuningRecord &r) {
    return {{"spec", r.spec},
            {"target", r.target},
            {"bucket", r.bucket},
            {"shape", r.shape},
            {"schedule", r.schedule},
            {"median_ms", r.median_ms},
            {"default_ms", r.default_ms},
            {"verified", r.verified},
            {"confirmed", r.confirmed},
            {"machine", {{"cpu_model", r.machine.cpu_model}, {"isa", r.machine.isa}, {"threads", r.machine.threads}}},
            {"reluforge_version", r.reluforge_version},
            {"date", r.date}};
}

TuningRecord from_json(const json &j) {
    TuningRecord r;
    r.spec = j.at("spec").get<std::string>();
    r.target = j.at("target").get<std::string>();
    r.bucket = j.at("bucket").get<std::string>();
    r.shape = j.at("shape").get<std::string>();
    r.schedule = j.at("schedule").get<std::string>();
    r.median_ms = j.at("median_ms").get<double>();
    r.default_ms = j.at("default_ms").get<double>();
    r.verified = j.at("verified").get<bool>();
    r.confirmed = j.value("confirmed", false);
    r.machine.cpu_model = j.at("machine").at("cpu_model").get<std::string>();
    r.machine.isa = j.at("machine").at("isa").get<std::string>();
    r.machine.threads = j.at("machine").value("threads", 0);
    if (r.machine.threads < 0) throw std::runtime_error(fmt::format("machine.threads {} is negative", r.machine.threads));
    r.reluforge_version = j.at("reluforge_version").get<std::string>();
    r.date = j.at("date").get<std::string>();
    // The texts must mean something to this version.
    to_string(parse_spec(r.spec));
    parse_isa(r.target);
    ShapeRule::parse(r.bucket);
    parse_cpu_schedule(r.schedule);
    return r;
}

// What makes two records the same measurement (merging keeps one of them).
std::string measurement_key(const TuningRecord &r) {
    return fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{:a}", r.spec, r.target, r.bucket, r.schedule,
                       r.machine.cpu_model, r.machine.isa, r.machine.threads, r.shape, r.date, r.median_ms);
}

}  // namespace

TuningDb TuningDb::load(const std::string &path) {
    TuningDb db;
    // One open decides: a file that another writer renames into place between two checks is
    // neither missing nor unreadable.
    std::FILE *file = std::fopen(path.c_str(), "rb");
    if (!file) {
        if (errno == ENOENT) return db;
        throw Error(ErrorCode::corrupt_file, fmt::format("tuning database {}: cannot be read: {}", path, std::strerror(errno)));
    }
    std::string text;
    char buffer[1 << 16];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
    const bool read_error = std::ferror(file);
    std::fclose(file);
    if (read_error) throw Error(ErrorCode::corrupt_file, fmt::format("tuning database {}: cannot be read", path));
    return parse(text, path);
}

TuningDb TuningDb::parse(const std::string &text, const std::string &name) {
    TuningDb db;
    std::size_t index = 0;
    try {
        const json j = json::parse(text);
        if (j.value("format", "") != kFormat) throw std::runtime_error(fmt::format("not a {} file", kFormat));
        const json version = j.value("version", json());
        if (!version.is_number_integer() || version.get<std::int64_t>() != kFormatVersion) {
            throw std::runtime_error(fmt::format("format version {}, this reluforge reads {}", version.dump(), kFormatVersion));
        }
        for (const json &r : j.at("records")) {
            db.records_.push_back(from_json(r));
            index++;
        }
    } catch (const std::exception &e) {
        throw Error(ErrorCode::corrupt_file,
                    fmt::format("tuning database {} is corrupt (record {}): {}; the file was left as it is",
                                name, index, e.what()));
    }
    return db;
}

void TuningDb::save(const std::string &path) const {
    // Another process may have saved since this one loaded: what the file holds now is merged in,
    // under a lock, so no writer's records are lost.
    const detail::FileLock lock(path);
    // Every writer writes under this lock, so a temporary found now is a killed writer's.
    const std::filesystem::path file(path);
    detail::remove_stale_temporaries(file.has_parent_path() ? file.parent_path() : ".",
                                     "." + file.filename().string() + ".tmp.", "", std::chrono::seconds(0));
    TuningDb merged = load(path);
    merged.merge(*this);
    json records = json::array();
    for (const auto &r : merged.records_) records.push_back(to_json(r));
    const json j = {{"format", kFormat}, {"version", kFormatVersion}, {"records", records}};
    if (std::string problem = detail::write_file_atomically(path, j.dump(1) + "\n"); !problem.empty()) {
        throw Error(ErrorCode::bad_argument, "tuning database: " + problem);
    }
}

void TuningDb::add(TuningRecord r) { records_.push_back(std::move(r)); }

void TuningDb::merge(const TuningDb &other) {
    std::set<std::string> known;
    for (const auto &mine : records_) known.insert(measurement_key(mine));
    for (const auto &r : other.records_) {
        if (known.insert(measurement_key(r)).second) records_.push_back(r);
    }
}

bool TuningDb::measured(const std::string &spec, const std::string &target, const std::string &bucket,
                        const std::string &schedule, const Machine &machine) const {
    for (const auto &r : records_) {
        if (r.spec == spec && r.target == target && r.bucket == bucket && r.schedule == schedule && r.machine == machine) {
            return true;
        }
    }
    return false;
}

std::vector<ScheduleChoice> TuningDb::tuned(const KernelSpec &spec, Isa target, const Machine &machine,
                                            std::vector<std::string> *skipped) const {
    const std::string text = to_string(spec), isa = to_string(target);
    std::map<std::string, const TuningRecord *> best, elsewhere;
    for (const auto &r : records_) {
        if (r.spec != text || r.target != isa || !r.verified || !r.confirmed) continue;
        // A record is untrusted input: a schedule that cannot be applied on this target (one
        // edited by hand, say, with sizes past every bound) is never compiled.
        if (std::string problem = cpu_schedule_problem(parse_cpu_schedule(r.schedule), vector_registers(target));
            !problem.empty()) {
            if (skipped) {
                skipped->push_back(fmt::format("{} on {} for {}: schedule '{}' is invalid ({}); not used", text, isa,
                                               r.bucket, r.schedule, problem));
            }
            continue;
        }
        auto &slot = r.machine == machine ? best[r.bucket] : elsewhere[r.bucket];
        if (!slot || r.median_ms < slot->median_ms) slot = &r;
    }
    std::vector<ScheduleChoice> out;
    for (const auto &[bucket, r] : best) {
        // A winner that is the default table's own choice adds nothing.
        const CpuSchedule s = parse_cpu_schedule(r->schedule);
        if (r->median_ms < r->default_ms) out.push_back({bucket, s});
    }
    if (skipped) {
        for (const auto &[bucket, r] : elsewhere) {
            if (best.count(bucket)) continue;
            const Machine &m = r->machine;
            if (m.cpu_model != machine.cpu_model || m.isa != machine.isa) {
                skipped->push_back(fmt::format("{} on {} for {}: tuned on '{}' ({}), not this machine ('{}'); not used",
                                               text, isa, bucket, m.cpu_model, m.isa, machine.cpu_model));
            } else if (m.threads == 0) {
                skipped->push_back(fmt::format("{} on {} for {}: its records do not say how many threads they were "
                                               "tuned on (reluforge-tune before it recorded that); not used: tune again",
                                               text, isa, bucket));
            } else {
                skipped->push_back(fmt::format("{} on {} for {}: tuned on {} thread(s), kernels here run on {}; not used",
                                               text, isa, bucket, m.threads, machine.threads));
            }
        }
    }
    return out;
}

std::vector<ScheduleChoice> cpu_schedules(const KernelSpec &spec, Isa isa, const TuningDb *db, const Machine &machine) {
    std::vector<ScheduleChoice> out;
    if (db) out = db->tuned(spec, isa, machine);
    for (auto &choice : default_cpu_schedules(spec, isa)) out.push_back(std::move(choice));
    return out;
}

}  // namespace reluforge::sched
