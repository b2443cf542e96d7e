// One call of a kernel to time: its tensors, random inputs and zeroed outputs, and the timing.
#pragma once

#include "reluforge/reluforge.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace reluforge::tune {

struct ProblemShape {
    std::int64_t M, K, N;
    std::string text() const;  // "MxKxN"
};

// "MxKxN"; throws Error(bad_argument) for another text, extents below 1, or a problem whose
// tensors would not fit (more than 2^31 elements in one, or more than half of this machine's
// memory in all).
ProblemShape parse_shape(const std::string &text, const KernelSpec &spec);

// Tensors for one call of spec at a shape: random inputs, zeroed outputs.
class Workspace {
public:
    Workspace(const KernelSpec &spec, ProblemShape s, unsigned seed);
    const std::vector<Tensor> &tensors() const { return tensors_; }
    std::vector<std::uint8_t> outputs() const;  // every output, byte for byte

private:
    struct Buffer {
        bool output = false;
        std::vector<float> floats;
        std::vector<std::uint8_t> bytes;
    };
    std::deque<Buffer> buffers_;  // stable addresses
    std::vector<Tensor> tensors_;
};

// Median time of a kernel in ms after a warm-up run. Stops after 3 runs when even the fastest
// took `give_up` ms or more (an obvious loser); *runs says how many ran.
double measure(const KernelHandle &k, const Workspace &w, int reps, double give_up, int *runs);

}  // namespace reluforge::tune
