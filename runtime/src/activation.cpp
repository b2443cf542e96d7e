#include "reluforge/activation.h"

#include "spec_text.h"

#include <algorithm>
#include <cmath>

namespace reluforge {
using namespace spec_text;

const std::vector<ActivationInfo> &activation_table() {
    static const std::vector<ActivationInfo> table = {
        {Act::identity, "identity", {}, false, FromY::never},
        {Act::relu, "relu", {}, true, FromY::always},
        {Act::leaky_relu, "leaky_relu", {"slope"}, true, FromY::parameter_nonnegative},  // y > 0 exactly when z > 0
        {Act::prelu, "prelu", {"slopes"}, false, FromY::never},  // its slope gradient needs Z
        {Act::elu, "elu", {"alpha"}, false, FromY::parameter_nonnegative},  // act' = y + α below zero
        {Act::selu, "selu", {}, false, FromY::always},
        {Act::celu, "celu", {"alpha"}, false, FromY::always},  // act' = y/α + 1 below zero
        {Act::relu6, "relu6", {}, true, FromY::always},
        {Act::gelu, "gelu", {"approximate"}, false, FromY::never},
        {Act::silu, "silu", {}, false, FromY::never},
        {Act::mish, "mish", {}, false, FromY::never},
        {Act::softplus, "softplus", {"beta", "threshold"}, false, FromY::never},
        {Act::hardswish, "hardswish", {}, false, FromY::never},
    };
    return table;
}

const ActivationInfo &info(Act act) { return activation_table().at(static_cast<size_t>(act)); }

namespace {
constexpr std::pair<const char *, GeluApprox> kGelu[] = {{"none", GeluApprox::none}, {"tanh", GeluApprox::tanh}};
constexpr std::pair<const char *, PreluSlopes> kPrelu[] = {{"shared", PreluSlopes::shared},
                                                           {"per_column", PreluSlopes::per_column}};

void set_parameter(Activation &a, std::string_view whole, std::string_view key, std::string_view value) {
    if (key == "slope") a.slope = parse_float(whole, key, value);
    if (key == "alpha") a.alpha = parse_float(whole, key, value);
    if (key == "beta") a.beta = parse_float(whole, key, value);
    if (key == "threshold") a.threshold = parse_float(whole, key, value);
    if (key == "approximate") a.approximate = lookup(whole, "gelu approximate", value, kGelu);
    if (key == "slopes") a.slopes = lookup(whole, "prelu slopes", value, kPrelu);
}

std::string parameter_text(const Activation &a, std::string_view key) {
    if (key == "slope") return float_text(a.slope);
    if (key == "alpha") return float_text(a.alpha);
    if (key == "beta") return float_text(a.beta);
    if (key == "threshold") return float_text(a.threshold);
    if (key == "approximate") return name_of(a.approximate, kGelu);
    if (key == "slopes") return name_of(a.slopes, kPrelu);
    return "?";
}

// The activation's one float parameter, for FromY::parameter_nonnegative.
float the_parameter(const Activation &a) { return a.kind == Act::leaky_relu ? a.slope : a.alpha; }
}  // namespace

namespace spec_text {

Activation parse_activation_in(std::string_view whole, std::string_view text) {
    text = trim(text);
    std::string_view name = text, params;
    const bool parenthesized = text.find('(') != std::string_view::npos;
    if (parenthesized) {
        if (text.back() != ')') fail(whole, "activation parameters must end with ')'");
        const auto open = text.find('(');
        name = trim(text.substr(0, open));
        params = trim(text.substr(open + 1, text.size() - open - 2));
    }
    const auto &table = activation_table();
    const auto row = std::find_if(table.begin(), table.end(), [&](const ActivationInfo &r) { return name == r.name; });
    if (row == table.end()) {
        std::vector<std::string_view> names;
        for (const auto &r : table) names.push_back(r.name);
        fail(whole, fmt::format("activation '{}' is not one of: {}", name, join(names)));
    }
    Activation a;
    a.kind = row->kind;
    const std::vector<std::string_view> allowed(row->params.begin(), row->params.end());
    std::vector<std::string_view> seen;
    for (auto p : params.empty() ? std::vector<std::string_view>{} : split(params, ',')) {
        std::string_view key, value;
        if (!key_value(p, key, value)) fail(whole, fmt::format("activation parameter '{}' must be key=value", p));
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            fail(whole, allowed.empty() ? fmt::format("activation {} takes no parameters (got '{}')", name, key)
                                        : fmt::format("activation {} has no parameter '{}'; allowed: {}", name, key,
                                                      join(allowed)));
        }
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
            fail(whole, fmt::format("parameter '{}' is given twice", key));
        }
        seen.push_back(key);
        set_parameter(a, whole, key, value);
    }
    check_parameters(a, whole);
    return a;
}

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

}  // namespace spec_text

Activation parse_activation(std::string_view text) { return parse_activation_in(text, text); }

std::string to_string(const Activation &a) {
    const ActivationInfo &row = info(a.kind);
    std::string out = row.name;
    for (const char *key : row.params) {
        out += fmt::format("{}{}={}", out.size() == std::string_view(row.name).size() ? "(" : ",", key,
                           parameter_text(a, key));
    }
    return row.params.empty() ? out : out + ")";
}

const char *to_string(Act act) { return info(act).name; }

// Parameters an activation does not take (slope for gelu, say) do not distinguish activations:
// two are equal when their canonical texts are.
bool Activation::operator==(const Activation &o) const { return to_string(*this) == to_string(o); }

bool has_one_bit_derivative(const Activation &a) { return info(a.kind).one_bit_derivative; }

bool derivative_from_y_allowed(const Activation &a) {
    switch (info(a.kind).from_y) {
    case FromY::never: return false;
    case FromY::always: return true;
    case FromY::parameter_nonnegative: return the_parameter(a) >= 0.0f;
    }
    return false;
}

}  // namespace reluforge
