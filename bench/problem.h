// One benchmark problem: a fused layer's data, and the interface every implementation offers.
#pragma once

#include <reluforge/reluforge.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bench {

struct Shape {
    int M, K, N;
};

// The activations compared, with the oneDNN/OpenBLAS equivalents each implementation builds.
struct ActCase {
    std::string name;  // reluforge activation text
    reluforge::Activation act;
};

struct Problem {
    Shape s;
    ActCase act;
    std::vector<float> x, w, b, y, z, dy, dx, dw, db, dz;  // row-major; W is [K,N]
    float slope = 0.25f;                                   // prelu (shared)
    Problem(Shape shape, ActCase a);
};

// An implementation of the forward (Y and Z) and backward (dX, dW, db from dY and Z) of a
// problem. Construction does whatever one-time work the implementation allows (packing, plans).
class Impl {
public:
    virtual ~Impl() = default;
    virtual std::string name() const = 0;
    virtual void forward(Problem &p) = 0;
    virtual void backward(Problem &p) = 0;
    virtual bool has_backward() const { return true; }
    // One backward, timed kernel by kernel: (part, ms) in order; empty where not broken down.
    virtual std::vector<std::pair<std::string, double>> backward_parts(Problem &) { return {}; }
};

std::unique_ptr<Impl> make_reluforge(Problem &p);
std::unique_ptr<Impl> make_reluforge_prepacked(Problem &p);  // forward only
std::vector<std::unique_ptr<Impl>> make_onednn(Problem &p);   // plain, prepacked
std::vector<std::unique_ptr<Impl>> make_openblas(Problem &p);
const char *openblas_core();  // nullptr when OpenBLAS is not built in
// OpenBLAS's core for this CPU when the one it picked by itself uses a narrower ISA than the
// host has (0.3.21 does not know newer CPUs: on Emerald Rapids it runs its SSE3 "Prescott"
// kernels); nullptr when its choice is right or OpenBLAS is not built in.
const char *openblas_better_core();

// Scalar float act and act' for the unfused baselines.
float act_value(const reluforge::Activation &a, float z, float slope);
float act_grad(const reluforge::Activation &a, float z, float slope);

}  // namespace bench
