// Shape rules: which calls a kernel variant is for. The default schedule table (and tuning)
// can give one spec several variants, each compiled with its own schedule; a call runs the first
// variant whose rule holds for its M, N and K on this CPU.
#pragma once

#include "reluforge/isa.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reluforge {

// The extents of one call: M rows of the batch, N outputs and K inputs of the layer; 0 where the
// kernel has no such extent (activation_backward has no K) or the shape is not known.
struct Shape {
    std::int64_t m = 0, n = 0, k = 0;
};

// A layer's shape as the tools take it, "MxKxN" (256x784x1024: 256 rows, 784 inputs, 1024
// outputs), each extent at least 1 and below 2^31. Throws Error(bad_argument) naming the text.
Shape parse_layer_shape(std::string_view text);

// A conjunction of bounds, in canonical text "k<=64" or "m>=1024,n<=64": dimensions m, n, k,
// operators <= and >=, and "m%4=0" (m a multiple of 4: register blocks that divide the rows, a
// row stride that is a multiple of a cache set's span), sorted by dimension then operator. ""
// holds for every shape. A bound on an extent that is 0 (unknown) does not hold. An optional
// first clause "cpu=zen5" (a CpuKind's name) restricts the rule to one kind of CPU, so that one
// AOT library carries each kind's variant and chooses at run time.
class ShapeRule {
public:
    ShapeRule() = default;
    // Throws Error(bad_argument) naming the part that does not parse.
    static ShapeRule parse(std::string_view text);

    bool holds(const Shape &s) const { return holds(s, host_cpu().kind); }
    bool holds(const Shape &s, CpuKind cpu) const;
    const std::string &text() const { return text_; }
    bool any() const { return text_.empty(); }

private:
    enum class Op { at_most, at_least, multiple_of };  // <=, >=, %value=0
    struct Bound {
        char dim;  // 'm', 'n' or 'k'
        Op op;
        std::int64_t value;
    };
    std::optional<CpuKind> cpu_;
    std::vector<Bound> bounds_;
    std::string text_;
};

}  // namespace reluforge
