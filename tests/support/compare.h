// Element-by-element comparison of kernel results against the reference, collecting the first
// failures so that one CHECK reports them.
#pragma once

#include <cmath>
#include <string>

namespace cases {

constexpr double kUlp = 5.9604644775390625e-08;  // 2^-24

// Allowance for an activation's own rounding (docs/numerics.md's Y bound has none): treat the
// evaluation as if z carried `kEvalUlps` more units of relative error and the result as well.
constexpr double kEvalUlps = 16;

// Storage rounding (placement.h): with f16 storage every bound is measured in units of 2^-11
// instead of 2^-24 (docs/numerics.md's bounds with f16's unit roundoff), and the stored result adds
// its own rounding, relative to its magnitude.
inline double g_bound_scale = 1.0;
inline double g_result_rounding = 0.0;
inline double g_result_absolute = 0.0;

struct Comparison {
    int checked = 0, failed = 0;
    std::string report;

    // Non-finite references must match by class; finite ones within bound.
    void add(double got, double want, double bound, const std::string &where) {
        checked++;
        bound = bound * g_bound_scale + g_result_rounding * std::abs(want) + g_result_absolute;
        bool ok;
        if (std::isnan(want)) ok = std::isnan(got);
        else if (std::isinf(want)) ok = got == want;
        else ok = std::isfinite(got) && std::abs(got - want) <= bound;
        if (!ok && ++failed <= 5) {
            char buf[160];
            std::snprintf(buf, sizeof buf, ": got %.9g (%a) want %.9g bound %.3g\n", got, got, want, bound);
            report += where + buf;
        }
    }
    void exact(float got, float want, const std::string &where) {
        checked++;
        bool ok = (std::isnan(got) && std::isnan(want)) || got == want;
        if (!ok && ++failed <= 5) {
            report += where + ": got " + hex(got) + " want " + hex(want) + " (bit-exact)\n";
        }
    }
    static std::string hex(double x) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%a", x);
        return buf;
    }
};

}  // namespace cases
