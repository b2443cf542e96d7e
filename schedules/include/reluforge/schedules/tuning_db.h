// The tuning database: one JSON file of measured schedules, one record per measured (spec, target,
// shape bucket, schedule), as reluforge-tune writes it and reluforge-gen and the JIT read it.
#pragma once

#include "reluforge/isa.h"
#include "reluforge/schedules/default_table.h"
#include "reluforge/spec.h"

#include <string>
#include <vector>

namespace reluforge::sched {

// What a record was measured on. Records only apply on a machine with the same description: a
// schedule's best choice depends on the threads its kernels share the machine with, too.
struct Machine {
    std::string cpu_model;  // /proc/cpuinfo's model name
    std::string isa;        // the best ISA it runs
    int threads = 0;        // threads the kernels ran on; 0: not recorded (records before it was)
    bool operator==(const Machine &o) const {
        return cpu_model == o.cpu_model && isa == o.isa && threads == o.threads;
    }
};
// This CPU, running kernels on `threads` threads.
Machine this_machine(int threads);

struct TuningRecord {
    std::string spec;      // canonical text
    std::string target;    // avx512, avx2, sse41
    std::string bucket;    // canonical ShapeRule text: the shapes the record stands for
    std::string shape;     // MxKxN measured
    std::string schedule;  // canonical CpuSchedule text
    double median_ms = 0;
    double default_ms = 0;  // the default table's schedule, same shape, same session
    bool verified = false;  // its results matched the reference
    // The session's winner, timed again alternating with the default schedule (median_ms and
    // default_ms are then from that head-to-head run; where no candidate beat the default, the
    // default itself, median_ms == default_ms). Only confirmed records faster than their default
    // become variants.
    bool confirmed = false;
    Machine machine;
    std::string reluforge_version;
    std::string date;  // UTC, ISO 8601
};

// The shape bucket of a call: M, N and K each within a power-of-two octave, [2^a, 2^(a+1)).
std::string shape_bucket(const Shape &s);

class TuningDb {
public:
    // A missing file is an empty database; one that does not parse throws Error(corrupt_file)
    // naming the file and the problem (the file is left as it is).
    static TuningDb load(const std::string &path);
    // The database in text (a file's contents); name says where it came from in errors.
    static TuningDb parse(const std::string &text, const std::string &name);
    // Merges this database's records with what path holds now (another tuner may have saved
    // since), under an flock on "<path>.lock", and writes the union to a temporary file beside
    // path, then renames it over path: concurrent writers lose no record, and a crash leaves the
    // previous file whole. A corrupt file at path throws Error(corrupt_file) and is left as it is.
    void save(const std::string &path) const;

    void add(TuningRecord r);  // adds; never replaces or removes a record
    void merge(const TuningDb &other);  // adds other's records this one does not hold
    const std::vector<TuningRecord> &records() const { return records_; }
    bool measured(const std::string &spec, const std::string &target, const std::string &bucket,
                  const std::string &schedule, const Machine &machine) const;

    // The fastest confirmed, verified schedule per bucket for spec on target, from records of `machine`,
    // as variants to try before the default table's. Records of other machines or targets are
    // never used; `skipped` (if given) gets one line per bucket that was left out for that.
    std::vector<ScheduleChoice> tuned(const KernelSpec &spec, Isa target, const Machine &machine,
                                      std::vector<std::string> *skipped = nullptr) const;

private:
    std::vector<TuningRecord> records_;
};

// The variants of spec on isa: the database's tuned ones (if any) before the default table's.
std::vector<ScheduleChoice> cpu_schedules(const KernelSpec &spec, Isa isa, const TuningDb *db,
                                          const Machine &machine);

}  // namespace reluforge::sched
