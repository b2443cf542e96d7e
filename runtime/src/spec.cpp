#include "reluforge/spec.h"

#include "reluforge/error.h"
#include "reluforge/fnv1a.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace reluforge {
namespace {

[[noreturn]] void fail(std::string_view text, const std::string &what) {
    throw Error(ErrorCode::bad_spec, fmt::format("bad kernel spec '{}': {}", text, what));
}

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

// Splits at `sep` outside parentheses, each part trimmed: whitespace around separators is
// allowed everywhere in a spec ("softplus(beta=2, threshold=10)").
std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    int depth = 0;  // separators inside parentheses belong to the activation
    for (size_t k = 0; k <= s.size(); k++) {
        if (k < s.size() && s[k] == '(') depth++;
        if (k < s.size() && s[k] == ')') depth--;
        if (k == s.size() || (s[k] == sep && depth == 0)) {
            parts.push_back(trim(s.substr(start, k - start)));
            start = k + 1;
        }
    }
    return parts;
}

// "key=value" split and trimmed; false without '='.
bool key_value(std::string_view part, std::string_view &key, std::string_view &value) {
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return false;
    key = trim(part.substr(0, eq));
    value = trim(part.substr(eq + 1));
    return true;
}

template <typename E, size_t Count>
E lookup(std::string_view text, std::string_view what, std::string_view value,
         const std::pair<const char *, E> (&table)[Count]) {
    for (const auto &[name, e] : table) {
        if (value == name) return e;
    }
    std::string allowed;
    for (const auto &entry : table) allowed += (allowed.empty() ? "" : ", ") + std::string(entry.first);
    fail(text, fmt::format("{} '{}' is not one of: {}", what, value, allowed));
}

constexpr std::pair<const char *, Op> kOps[] = {
    {"forward", Op::forward},
    {"activation_backward", Op::activation_backward},
    {"backward_data", Op::backward_data},
    {"backward_weight", Op::backward_weight},
};
constexpr std::pair<const char *, Act> kActs[] = {
    {"identity", Act::identity}, {"relu", Act::relu}, {"leaky_relu", Act::leaky_relu},
    {"prelu", Act::prelu},       {"elu", Act::elu},   {"selu", Act::selu},
    {"celu", Act::celu},         {"relu6", Act::relu6}, {"gelu", Act::gelu},
    {"silu", Act::silu},         {"mish", Act::mish}, {"softplus", Act::softplus},
    {"hardswish", Act::hardswish},
};
constexpr std::pair<const char *, WeightLayout> kLayouts[] = {{"kn", WeightLayout::kn},
                                                              {"nk", WeightLayout::nk}};
constexpr std::pair<const char *, Save> kSaves[] = {
    {"none", Save::none}, {"z", Save::z}, {"y", Save::y}, {"mask", Save::mask}};
constexpr std::pair<const char *, DType> kSpecDTypes[] = {{"f32", DType::f32}, {"f16", DType::f16}};
constexpr std::pair<const char *, bool> kBools[] = {{"0", false}, {"1", true}};
constexpr std::pair<const char *, GeluApprox> kGelu[] = {{"none", GeluApprox::none},
                                                         {"tanh", GeluApprox::tanh}};
constexpr std::pair<const char *, PreluSlopes> kPrelu[] = {{"shared", PreluSlopes::shared},
                                                           {"per_column", PreluSlopes::per_column}};

template <typename E, size_t Count>
const char *name_of(E e, const std::pair<const char *, E> (&table)[Count]) {
    for (const auto &[name, v] : table) {
        if (v == e) return name;
    }
    return "?";
}

// Parameters are float32. from_chars reads the same text in every C locale (strtof would take
// "0,01" under de_DE and refuse "0.01"); subnormal values are finite and accepted.
float parse_float(std::string_view text, std::string_view key, std::string_view value) {
    const char *first = value.data(), *last = value.data() + value.size();
    if (first != last && *first == '+') first++;
    float f = 0.0f;
    const auto [end, ec] = std::from_chars(first, last, f);
    if (ec == std::errc::result_out_of_range) {
        fail(text, fmt::format("parameter {}='{}' is out of float32's range", key, value));
    }
    if (value.empty() || ec != std::errc() || end != last || !std::isfinite(f)) {
        fail(text, fmt::format("parameter {}='{}' is not a finite number", key, value));
    }
    return f;
}

// fmt writes the shortest text that reads back as the same float, in every locale.
std::string float_text(float f) { return fmt::format("{}", f); }

// Which keys each op takes after its activation, in canonical order.
std::vector<std::string_view> keys_of(Op op) {
    switch (op) {
    case Op::forward: return {"bias", "weight", "save", "counts", "dtype"};
    case Op::activation_backward: return {"bias", "save", "dtype"};
    // The chained kernel's flags describe the previous layer: its bias (db_prev) and its aux.
    case Op::backward_data: return {"prev_bias", "weight", "save", "dtype"};
    case Op::backward_weight: return {"bias", "weight", "dtype"};
    }
    return {};
}

bool op_has_activation(Op op) { return op != Op::backward_weight; }

std::string join(const std::vector<std::string_view> &v) {
    std::string s;
    for (auto x : v) s += (s.empty() ? "" : ", ") + std::string(x);
    return s;
}

}  // namespace

// Parameters an activation does not take (slope for gelu, say) do not distinguish activations:
// two are equal when their canonical texts are.
bool Activation::operator==(const Activation &o) const { return to_string(*this) == to_string(o); }

// Fields an op does not take (weight for activation_backward, say) do not distinguish specs:
// two specs are equal when their canonical texts are.
bool KernelSpec::operator==(const KernelSpec &o) const { return to_string(*this) == to_string(o); }

const char *to_string(Op op) { return name_of(op, kOps); }
const char *to_string(Act act) { return name_of(act, kActs); }
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
Activation parse_activation_in(std::string_view whole, std::string_view text);
void check_parameters(const Activation &a, std::string_view shown);
void validate_as(const KernelSpec &s, std::string_view shown);
}  // namespace

Activation parse_activation(std::string_view text) { return parse_activation_in(text, text); }

namespace {
Activation parse_activation_in(std::string_view whole, std::string_view text) {
    text = trim(text);
    Activation a;
    std::string_view name = text, params;
    const bool parenthesized = text.find('(') != std::string_view::npos;
    if (parenthesized) {
        if (text.back() != ')') fail(whole, "activation parameters must end with ')'");
        const auto open = text.find('(');
        name = trim(text.substr(0, open));
        params = trim(text.substr(open + 1, text.size() - open - 2));
    }
    a.kind = lookup(whole, "activation", name, kActs);

    std::vector<std::string_view> allowed;
    switch (a.kind) {
    case Act::leaky_relu: allowed = {"slope"}; break;
    case Act::prelu: allowed = {"slopes"}; break;
    case Act::elu:
    case Act::celu: allowed = {"alpha"}; break;
    case Act::gelu: allowed = {"approximate"}; break;
    case Act::softplus: allowed = {"beta", "threshold"}; break;
    default: break;
    }
    if (params.empty() && parenthesized && allowed.empty()) {
        return a;  // "relu()" is accepted as "relu"
    }
    std::vector<std::string_view> seen;
    for (auto p : params.empty() ? std::vector<std::string_view>{} : split(params, ',')) {
        std::string_view key, value;
        if (!key_value(p, key, value)) {
            fail(whole, fmt::format("activation parameter '{}' must be key=value", p));
        }
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(whole, allowed.empty()
                           ? fmt::format("activation {} takes no parameters (got '{}')", name, key)
                           : fmt::format("activation {} has no parameter '{}'; allowed: {}", name,
                                         key, join(allowed)));
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
            fail(whole, fmt::format("parameter '{}' is given twice", key));
        }
        seen.push_back(key);
        if (key == "slope") a.slope = parse_float(whole, key, value);
        if (key == "alpha") a.alpha = parse_float(whole, key, value);
        if (key == "beta") a.beta = parse_float(whole, key, value);
        if (key == "threshold") a.threshold = parse_float(whole, key, value);
        if (key == "approximate") a.approximate = lookup(whole, "gelu approximate", value, kGelu);
        if (key == "slopes") a.slopes = lookup(whole, "prelu slopes", value, kPrelu);
    }
    check_parameters(a, whole);
    return a;
}

// The one check of parameter values, for parsed specs and for specs built in code alike: a
// kernel is only built from a spec whose canonical text parses back to it.
void check_parameters(const Activation &a, std::string_view shown) {
    auto finite = [&](const char *key, float v) {
        if (!std::isfinite(v)) fail(shown, fmt::format("parameter {}={} is not a finite number", key, v));
    };
    switch (a.kind) {
    case Act::leaky_relu: finite("slope", a.slope); break;
    case Act::elu: finite("alpha", a.alpha); break;
    case Act::celu:
        finite("alpha", a.alpha);
        if (a.alpha == 0.0f) fail(shown, "celu needs alpha != 0");
        break;
    case Act::softplus:
        finite("beta", a.beta);
        finite("threshold", a.threshold);
        if (a.beta == 0.0f) fail(shown, "softplus needs beta != 0");
        break;
    case Act::gelu:
        if (a.approximate != GeluApprox::none && a.approximate != GeluApprox::tanh) {
            fail(shown, "gelu approximate must be none or tanh");
        }
        break;
    case Act::prelu:
        if (a.slopes != PreluSlopes::shared && a.slopes != PreluSlopes::per_column) {
            fail(shown, "prelu slopes must be shared or per_column");
        }
        break;
    case Act::identity:
    case Act::relu:
    case Act::selu:
    case Act::relu6:
    case Act::silu:
    case Act::mish:
    case Act::hardswish: break;
    }
}
}  // namespace

std::string to_string(const Activation &a) {
    switch (a.kind) {
    case Act::leaky_relu: return fmt::format("leaky_relu(slope={})", float_text(a.slope));
    case Act::prelu: return fmt::format("prelu(slopes={})", name_of(a.slopes, kPrelu));
    case Act::elu: return fmt::format("elu(alpha={})", float_text(a.alpha));
    case Act::celu: return fmt::format("celu(alpha={})", float_text(a.alpha));
    case Act::gelu: return fmt::format("gelu(approximate={})", name_of(a.approximate, kGelu));
    case Act::softplus:
        return fmt::format("softplus(beta={},threshold={})", float_text(a.beta),
                           float_text(a.threshold));
    default: return to_string(a.kind);
    }
}

bool has_one_bit_derivative(const Activation &a) {
    return a.kind == Act::relu || a.kind == Act::leaky_relu || a.kind == Act::relu6;
}

bool derivative_from_y_allowed(const Activation &a) {
    switch (a.kind) {
    case Act::relu:
    case Act::relu6:
    case Act::selu:
    case Act::celu: return true;
    case Act::leaky_relu: return a.slope >= 0.0f;  // y > 0 exactly when z > 0
    case Act::elu: return a.alpha >= 0.0f;         // act' = y + alpha below zero
    default: return false;
    }
}

Save default_save(const Activation &a) {
    if (a.kind == Act::identity) return Save::none;
    return has_one_bit_derivative(a) ? Save::mask : Save::z;
}

std::vector<Act> all_activations() {
    return {Act::relu, Act::leaky_relu, Act::prelu, Act::elu,  Act::selu,     Act::celu,
            Act::relu6, Act::gelu,      Act::silu,  Act::mish, Act::softplus, Act::hardswish,
            Act::identity};
}

void validate(const KernelSpec &s) { validate_as(s, to_string(s)); }

namespace {
void validate_as(const KernelSpec &s, std::string_view text) {
    auto check = [&](bool ok, const std::string &what) {
        if (!ok) fail(text, what);
    };
    const bool identity = s.act.kind == Act::identity;
    check_parameters(s.act, text);
    check(s.dtype == DType::f32 || s.dtype == DType::f16, "dtype must be f32 or f16");
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
    const auto keys = keys_of(s.op);
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
    std::string out = to_string(s.op);
    if (op_has_activation(s.op)) out += ":" + to_string(s.act);
    for (auto key : keys_of(s.op)) {
        if (key == "bias" || key == "prev_bias") out += fmt::format(":{}={}", key, s.bias ? 1 : 0);
        if (key == "weight") out += fmt::format(":weight={}", to_string(s.weight));
        if (key == "save") out += fmt::format(":save={}", to_string(s.save));
        if (key == "counts") out += fmt::format(":counts={}", s.counts ? 1 : 0);
        if (key == "dtype") out += fmt::format(":dtype={}", to_string(s.dtype));
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
