// Reading and writing the canonical text of specs and activations (spec.cpp, activation.cpp).
#pragma once

#include "reluforge/activation.h"
#include "reluforge/error.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reluforge::spec_text {

// Throws Error(bad_spec) quoting the whole text being parsed.
[[noreturn]] void fail(std::string_view text, const std::string &what);

std::string_view trim(std::string_view s);
// Splits at `sep` outside parentheses, each part trimmed: whitespace around separators is
// allowed everywhere in a spec ("softplus(beta=2, threshold=10)").
std::vector<std::string_view> split(std::string_view s, char sep);
// "key=value" split and trimmed; false without '='.
bool key_value(std::string_view part, std::string_view &key, std::string_view &value);
std::string join(const std::vector<std::string_view> &v);

// A float32 parameter, read the same in every C locale; subnormal values are accepted,
// non-finite and out-of-range ones refused.
float parse_float(std::string_view text, std::string_view key, std::string_view value);
// The shortest text that reads back as the same float, in every locale.
std::string float_text(float f);

// Names of an enum's values, in a table of {name, value} pairs.
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

template <typename E, size_t Count>
const char *name_of(E e, const std::pair<const char *, E> (&table)[Count]) {
    for (const auto &[name, v] : table) {
        if (v == e) return name;
    }
    return "?";
}

// The activation part of a spec; messages quote `whole`.
Activation parse_activation_in(std::string_view whole, std::string_view text);
// The one check of parameter values, for parsed specs and for specs built in code alike.
void check_parameters(const Activation &a, std::string_view shown);

}  // namespace reluforge::spec_text
