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
// The activations test_dispatch runs every schedule variant of: a short epilogue over a mask, a
// long one over Z, and a slope gradient per column.
std::vector<reluforge::Activation> every_variant_activations();
// The layer above `prev` in chained-backward tests: identity, same weight layout.
reluforge::Linear top_of(const reluforge::Linear &prev);
// The kernels the tests of these activations' layers run.
std::vector<reluforge::KernelSpec> kernel_specs(const std::vector<reluforge::Activation> &acts = activations());
// The kernels whose every variant the tests run or whose registered variants test_dispatch
// checks; the others' tests call only shapes(), and their libraries hold only the variants those
// run (reluforge-gen --shape).
std::vector<reluforge::KernelSpec> every_variant_specs();
std::string describe(const reluforge::Linear &layer);

}  // namespace cases
