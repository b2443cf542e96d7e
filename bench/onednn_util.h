// What the oneDNN comparisons share: the eltwise algorithm of an activation and 2-D f32
// memory descriptors.
#pragma once

#include <reluforge/reluforge.h>

#include <dnnl.hpp>

namespace bench {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

// oneDNN's eltwise algorithm for an activation (with its alpha); false where it has none.
inline bool eltwise_of(const reluforge::Activation &a, float slope, algorithm *alg, float *alpha) {
    using reluforge::Act;
    *alpha = 0.0f;
    switch (a.kind) {
    case Act::relu: *alg = algorithm::eltwise_relu; return true;
    case Act::leaky_relu: *alg = algorithm::eltwise_relu; *alpha = a.slope; return true;
    case Act::prelu: *alg = algorithm::eltwise_relu; *alpha = slope; return true;  // shared slope
    case Act::elu: *alg = algorithm::eltwise_elu; *alpha = a.alpha; return true;
    case Act::gelu:
        *alg = a.approximate == reluforge::GeluApprox::tanh ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf;
        return true;
    case Act::silu: *alg = algorithm::eltwise_swish; *alpha = 1.0f; return true;
    case Act::identity:
    case Act::selu:
    case Act::celu:
    case Act::relu6:
    case Act::mish:
    case Act::softplus:
    case Act::hardswish: return false;  // not compared (yet)
    }
    return false;
}

inline memory::desc md(memory::dim r, memory::dim c, tag t = tag::ab) { return memory::desc({r, c}, dt::f32, t); }


}  // namespace bench
