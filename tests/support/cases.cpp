#include "cases.h"

#include <algorithm>

namespace cases {

using namespace reluforge;

std::vector<Shape> shapes() {
    // 19x21x20 and 37x19x10: outputs narrower than a panel, one vector wide and narrower than
    // one, over more rows than a block. 70x19x10: forward over [K,N] weights as the transposed
    // product (default_table.cpp), Zᵀ a whole panel wide and more.
    return {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {2, 70, 3}, {65, 66, 97}, {19, 21, 20}, {37, 19, 10}, {70, 19, 10}};
}

std::vector<Activation> activations() {
    std::vector<Activation> out;
    for (const char *text : {"relu", "leaky_relu(slope=0.01)", "prelu(slopes=shared)",
                             "prelu(slopes=per_column)", "elu(alpha=1)", "elu(alpha=0.5)", "selu",
                             "celu(alpha=2)", "relu6", "gelu(approximate=none)",
                             "gelu(approximate=tanh)", "silu", "mish", "softplus(beta=1,threshold=20)",
                             "softplus(beta=2,threshold=10)", "hardswish", "identity"}) {
        out.push_back(parse_activation(text));
    }
    return out;
}

std::vector<Linear> layers(const Activation &act) {
    const bool identity = act.kind == Act::identity;
    std::vector<Linear> out{Linear(act, true, WeightLayout::kn),
                            Linear(act, false, WeightLayout::nk, identity ? Save::none : Save::z)};
    if (derivative_from_y_allowed(act)) out.emplace_back(act, true, WeightLayout::kn, Save::y);
    return out;
}

Linear top_of(const Linear &prev) {
    return Linear(Activation{Act::identity}, true, prev.weight_layout(), std::nullopt, prev.dtype());
}

std::vector<Activation> every_variant_activations() {
    return {parse_activation("relu"), parse_activation("gelu(approximate=tanh)"),
            parse_activation("prelu(slopes=per_column)")};
}

std::vector<KernelSpec> kernel_specs(const std::vector<Activation> &acts) {
    std::vector<KernelSpec> specs;
    auto add = [&](const KernelSpec &s) {
        if (std::find(specs.begin(), specs.end(), s) == specs.end()) specs.push_back(s);
    };
    for (const auto &act : acts) {
        for (const auto &layer : layers(act)) {
            for (const auto &s : layer.kernel_specs()) add(s);
            add(layer.forward_spec(false));
            add(layer.forward_spec(true, true));
            const Linear top = top_of(layer);
            add(top.chained_backward_data_spec(layer, layer.bias()));
            add(top.backward_weight_spec(true));
        }
    }
    return specs;
}

std::vector<KernelSpec> every_variant_specs() {
    std::vector<KernelSpec> specs = kernel_specs(every_variant_activations());
    // test_dispatch checks which rules gelu (erf) has on each ISA.
    const KernelSpec erf_chained = parse_spec("backward_data:gelu:prev_bias=1:weight=kn:save=z");
    if (std::find(specs.begin(), specs.end(), erf_chained) == specs.end()) specs.push_back(erf_chained);
    return specs;
}

std::string describe(const Linear &l) {
    return to_string(l.activation()) + (l.bias() ? " bias" : " no-bias") + " weight=" +
           to_string(l.weight_layout()) + " save=" + to_string(l.save());
}

}  // namespace cases
