// KernelSpec: the one name of a kernel. Its canonical text form is used everywhere (CLI, CMake,
// symbol names, caches, tuning databases, error messages); parse_spec and to_string are the only
// places that read or write it, and parse_spec(to_string(s)) == s for every valid spec.
//
// Canonical form, fields separated by ':' (keys after the activation may come in any order when
// parsing, and omitted keys take their defaults; printing always writes every key, in this order):
//
//   forward:<act>:bias=<0|1>:weight=<kn|nk|packed>:save=<none|z|y|mask>:counts=<0|1>:dtype=<f32|f16>
//   activation_backward:<act>:bias=<0|1>:save=<z|y|mask>:dtype=<...>
//   backward_data:<act>:prev_bias=<0|1>:weight=<kn|nk>:save=<...>:dtype=<...>
//   backward_weight:bias=<0|1>:weight=<kn|nk>:dtype=<...>
//
// <act> is an activation with all of its parameters, e.g. relu, leaky_relu(slope=0.01),
// gelu(approximate=tanh), softplus(beta=1,threshold=20). For backward_data it is the activation
// of the previous layer, applied in the epilogue (identity gives the plain dX = dZ·Wᵀ); prev_bias
// (KernelSpec::bias) and save then describe that previous layer. Whitespace around separators
// is allowed; activation parameters are float32 and read and written the same in every locale.
#pragma once

#include "reluforge/activation.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace reluforge {

enum class Op { forward, activation_backward, backward_data, backward_weight };
// W is [K,N] row-major, [N,K] (torch.nn.Linear), or packed once by pack_weights for many forward
// calls (packed_weights.h; forward kernels only).
enum class WeightLayout { kn, nk, packed };
enum class Save { none, z, y, mask };         // what forward keeps for backward
enum class DType { f32, f16, u8, i32 };

struct KernelSpec {
    Op op = Op::forward;
    Activation act;
    bool bias = true;  // backward_data: the previous layer's bias (prev_bias=), reduced into db_prev
    WeightLayout weight = WeightLayout::kn;
    Save save = Save::none;
    bool counts = false;
    DType dtype = DType::f32;

    bool operator==(const KernelSpec &o) const;
    bool operator!=(const KernelSpec &o) const { return !(*this == o); }
};

// Parses and validates; throws Error(bad_spec) naming the offending part and what is allowed.
KernelSpec parse_spec(std::string_view text);
// Throws Error(bad_spec) when the fields contradict each other (say save=mask for gelu).
void validate(const KernelSpec &spec);
// validate, and also throws Error(bad_spec) for a spec that GPU kernels do not implement:
// weight=packed runs on the CPU only. find_kernel, reluforge-gen and the algorithm all ask here.
void validate_for_gpu(const KernelSpec &spec);

std::string to_string(const KernelSpec &spec);
const char *to_string(Op op);
const char *to_string(WeightLayout w);
const char *to_string(Save s);
const char *to_string(DType d);

// 64-bit FNV-1a of the canonical text: stable across processes, platforms and versions.
std::uint64_t hash(const KernelSpec &spec);
// A C identifier derived from the canonical text, unique per spec (used in generated headers).
std::string identifier(const KernelSpec &spec);

// What a training forward should keep for backward: nothing for identity, a bit mask where
// act' has one bit, else Z.
Save default_save(const Activation &act);

}  // namespace reluforge
