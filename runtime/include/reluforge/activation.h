// The activations: their names, parameters and what backward can rebuild act' from, one row
// each in activation_table(). Their math (forward and derivative) is one small definition each
// in generator/src/activation_math.cpp; docs/numerics.md states both.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace reluforge {

enum class Act {
    identity, relu, leaky_relu, prelu, elu, selu, celu, relu6, gelu, silu, mish, softplus, hardswish
};
enum class GeluApprox { none, tanh };
enum class PreluSlopes { shared, per_column };

// An activation and its parameters (float32). Parameters that do not belong to `kind` are
// ignored: equality is that of the canonical text. The defaults here are the spec defaults.
struct Activation {
    Act kind = Act::relu;
    float slope = 0.01f;                       // leaky_relu
    float alpha = 1.0f;                        // elu, celu
    float beta = 1.0f, threshold = 20.0f;      // softplus
    GeluApprox approximate = GeluApprox::none; // gelu
    PreluSlopes slopes = PreluSlopes::shared;  // prelu (the slopes themselves are a tensor)

    bool operator==(const Activation &o) const;
    bool operator!=(const Activation &o) const { return !(*this == o); }
};

// Whether act' can be computed from Y instead of Z.
enum class FromY {
    never,
    always,
    parameter_nonnegative,  // when the activation's one parameter is >= 0 (leaky_relu, elu)
};

struct ActivationInfo {
    Act kind;
    const char *name;                 // in specs, file names and the tuning database
    std::vector<const char *> params; // its parameters, in canonical order
    bool one_bit_derivative;          // act' takes two values split by a predicate: a bit mask will do
    FromY from_y;
};

// Every activation, in the order of Act.
const std::vector<ActivationInfo> &activation_table();
const ActivationInfo &info(Act act);

// "gelu(approximate=tanh)": parses and validates; throws Error(bad_spec).
Activation parse_activation(std::string_view text);
std::string to_string(const Activation &act);
const char *to_string(Act act);

bool has_one_bit_derivative(const Activation &act);  // may save a bit mask instead of Z
bool derivative_from_y_allowed(const Activation &act);

}  // namespace reluforge
