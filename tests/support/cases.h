// The layers and shapes the tests run, and the kernel specs they need (list_test_specs prints
// them for the build, so the generated kernels and the tests cannot drift apart).
#pragma once

#include "reluforge/linear.h"

#include <string>
#include <vector>

namespace cases {

struct Shape {
    int M, K, N;
};

// Off the vector width and tile on purpose; 65x66x97 takes the full-tile path of every op.
std::vector<Shape> shapes();
// The twelve activations (some with two parameter sets), then identity.
std::vector<reluforge::Activation> activations();
// A: weight [K,N], bias, default save. B: weight [N,K], no bias, save=z. C: save=y where allowed.
std::vector<reluforge::Linear> layers(const reluforge::Activation &act);
// The layer above `prev` in chained-backward tests: identity, same weight layout.
reluforge::Linear top_of(const reluforge::Linear &prev);
std::vector<reluforge::KernelSpec> kernel_specs();
std::string describe(const reluforge::Linear &layer);

}  // namespace cases
