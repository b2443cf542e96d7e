#include "reluforge/spec.h"

#include "reluforge/detail/fnv1a.h"
#include "spec_text.h"

#include <algorithm>

namespace reluforge {
using namespace spec_text;

namespace {

constexpr std::pair<const char *, Op> kOps[] = {
    {"forward", Op::forward},
    {"activation_backward", Op::activation_backward},
    {"backward_data", Op::backward_data},
    {"backward_weight", Op::backward_weight},
};
constexpr std::pair<const char *, WeightLayout> kLayouts[] = {
    {"kn", WeightLayout::kn}, {"nk", WeightLayout::nk}, {"packed", WeightLayout::packed}};
constexpr std::pair<const char *, Save> kSaves[] = {
    {"none", Save::none}, {"z", Save::z}, {"y", Save::y}, {"mask", Save::mask}};
constexpr std::pair<const char *, DType> kSpecDTypes[] = {{"f32", DType::f32}, {"f16", DType::f16}};
constexpr std::pair<const char *, bool> kBools[] = {{"0", false}, {"1", true}};

// Which keys each op takes after its activation, in canonical order.
const std::vector<std::string_view> &keys_of(Op op) {
    static const std::vector<std::string_view> forward{"bias", "weight", "save", "counts", "dtype"},
        activation_backward{"bias", "save", "dtype"},
        // The chained kernel's flags describe the previous layer: its bias (db_prev) and its aux.
        backward_data{"prev_bias", "weight", "save", "dtype"}, backward_weight{"bias", "weight", "dtype"};
    switch (op) {
    case Op::forward: return forward;
    case Op::activation_backward: return activation_backward;
    case Op::backward_data: return backward_data;
    case Op::backward_weight: return backward_weight;
    }
    return forward;
}

bool op_has_activation(Op op) { return op != Op::backward_weight; }

}  // namespace

// Fields an op does not take (weight for activation_backward, say) do not distinguish specs:
// two specs are equal when their canonical texts are.
bool KernelSpec::operator==(const KernelSpec &o) const { return to_string(*this) == to_string(o); }

const char *to_string(Op op) { return name_of(op, kOps); }
const char *to_string(WeightLayout w) { return name_of(w, kLayouts); }
const char *to_string(Save s) { return name_of(s, kSaves); }
const char *to_string(DType d) {
    switch (d) {
    case DType::f32: return "f32";
    case DType::f16: return "f16";
    case DType::u8: return "u8";
    case DType::i32: return "i32";
    }
    return "?";
}

namespace {
void validate_as(const KernelSpec &s, std::string_view shown);
}  // namespace

Save default_save(const Activation &a) {
    if (a.kind == Act::identity) return Save::none;
    return has_one_bit_derivative(a) ? Save::mask : Save::z;
}

void validate(const KernelSpec &s) { validate_as(s, to_string(s)); }

void validate_for_gpu(const KernelSpec &s) {
    validate(s);
    // A packed W has no N of its own (the kernel takes it from Y), and GPU schedules' clamped
    // reads need N before Y exists.
    if (s.weight == WeightLayout::packed) fail(to_string(s), "weight=packed kernels run on the CPU; GPU kernels take W as kn or nk");
}

namespace {
void validate_as(const KernelSpec &s, std::string_view text) {
    auto check = [&](bool ok, const std::string &what) {
        if (!ok) fail(text, what);
    };
    const bool identity = s.act.kind == Act::identity;
    check_parameters(s.act, text);
    check(s.dtype == DType::f32 || s.dtype == DType::f16, "dtype must be f32 or f16");
    check(s.weight != WeightLayout::packed || s.op == Op::forward || s.op == Op::activation_backward,
          fmt::format("weight=packed is for forward kernels; {} reads W as weight=kn or weight=nk", to_string(s.op)));
    if (s.op == Op::backward_weight) {
        check(identity, "backward_weight takes dZ and has no activation");
        check(s.save == Save::none && !s.counts, "backward_weight takes no save= or counts=");
        return;
    }
    check(!s.counts || s.op == Op::forward, "counts=1 is only for forward");
    if (s.op == Op::activation_backward) check(!identity, "activation_backward needs an activation");
    if (identity) {
        check(s.save == Save::none, "identity needs nothing saved: use save=none");
        return;
    }
    if (s.op != Op::forward) {
        check(s.save != Save::none,
              fmt::format("{} needs what forward saved: save=z{}{}", to_string(s.op),
                          derivative_from_y_allowed(s.act) ? ", save=y" : "",
                          has_one_bit_derivative(s.act) ? " or save=mask" : ""));
    }
    check(s.save != Save::mask || has_one_bit_derivative(s.act),
          fmt::format("save=mask needs a piecewise-linear activation (relu, leaky_relu, relu6), "
                      "not {}", to_string(s.act.kind)));
    check(s.save != Save::y || derivative_from_y_allowed(s.act),
          fmt::format("save=y cannot give the derivative of {}; use save=z", to_string(s.act)));
    check(s.act.kind != Act::prelu || s.save == Save::z || s.save == Save::none,
          "prelu's slope gradient needs Z: use save=z");
}
}  // namespace

KernelSpec parse_spec(std::string_view text) {
    auto parts = split(text, ':');
    if (parts.empty() || parts[0].empty()) fail(text, "empty spec");
    KernelSpec s;
    s.op = lookup(text, "op", parts[0], kOps);
    size_t next = 1;
    if (op_has_activation(s.op)) {
        const bool key_value = parts.size() >= 2 && parts[1].find('=') < parts[1].find('(');
        if (parts.size() < 2 || parts[1].empty() || key_value) {
            fail(text, fmt::format("{} needs an activation after the op, e.g. {}:relu",
                                   parts[0], parts[0]));
        }
        s.act = parse_activation_in(text, parts[1]);
        next = 2;
    } else {
        s.act.kind = Act::identity;
    }
    const auto &keys = keys_of(s.op);
    std::vector<std::string_view> seen;
    for (size_t p = next; p < parts.size(); p++) {
        auto part = parts[p];
        std::string_view key, value;
        if (!key_value(part, key, value)) {
            fail(text, fmt::format("part {} '{}' must be key=value; keys for {}: {}", p + 1, part,
                                   parts[0], join(keys)));
        }
        if (s.op == Op::backward_data && key == "bias") {
            fail(text, "backward_data's bias flag is prev_bias: whether the previous layer has a bias, "
                       "whose gradient db_prev the kernel reduces");
        }
        if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
            fail(text, fmt::format("part {} '{}': unknown key '{}'; keys for {}: {}", p + 1, part,
                                   key, parts[0], join(keys)));
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
            fail(text, fmt::format("key '{}' is given twice", key));
        }
        seen.push_back(key);
        if (key == "bias" || key == "prev_bias") s.bias = lookup(text, key, value, kBools);
        if (key == "weight") s.weight = lookup(text, "weight", value, kLayouts);
        if (key == "save") s.save = lookup(text, "save", value, kSaves);
        if (key == "counts") s.counts = lookup(text, "counts", value, kBools);
        if (key == "dtype") s.dtype = lookup(text, "dtype", value, kSpecDTypes);
    }
    // An op's omitted keys take defaults; the backward ops default to what forward saves.
    if (std::find(seen.begin(), seen.end(), "save") == seen.end() && s.op != Op::forward) {
        s.save = default_save(s.act);
    }
    validate_as(s, text);
    return s;
}

std::string to_string(const KernelSpec &s) {
    // Appended piece by piece: run_kernel prints the spec on every call (it names the kernel in
    // the registry), and formatting each key took most of a small call's overhead.
    std::string out = to_string(s.op);
    out.reserve(96);
    if (op_has_activation(s.op)) out.append(":").append(to_string(s.act));
    for (auto key : keys_of(s.op)) {
        const char *value = key == "bias" || key == "prev_bias" ? (s.bias ? "1" : "0")
                            : key == "weight"                   ? to_string(s.weight)
                            : key == "save"                     ? to_string(s.save)
                            : key == "counts"                   ? (s.counts ? "1" : "0")
                                                                : to_string(s.dtype);
        out.append(":").append(key).append("=").append(value);
    }
    return out;
}

std::uint64_t hash(const KernelSpec &spec) { return fnv1a64(to_string(spec)); }

std::string identifier(const KernelSpec &spec) {
    std::string id;
    for (char c : to_string(spec)) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            id += c;
        } else if (c == '-') {
            id += "m";  // keep slope=-0.5 apart from slope=0.5
        } else if (c == '.') {
            id += "p";
        } else if (!id.empty() && id.back() != '_') {
            id += '_';
        }
    }
    while (!id.empty() && id.back() == '_') id.pop_back();
    return id;
}

}  // namespace reluforge
