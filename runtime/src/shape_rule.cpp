#include "reluforge/shape_rule.h"

#include "reluforge/detail/variants.h"
#include "reluforge/error.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <numeric>

namespace reluforge {

ShapeRule ShapeRule::parse(std::string_view text) {
    ShapeRule rule;
    const std::string_view whole = text;
    auto fail = [&](std::string_view part, const char *why) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("shape rule '{}': '{}' {} (expected bounds like 'k<=64' or "
                                "'m>=1024,n<=64' on m, n, k with <=, >= or %<d>=0, and at most one 'cpu=<kind>')",
                                whole, part, why));
    };
    while (!text.empty()) {
        const std::size_t comma = text.find(',');
        const std::string_view part = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        if (comma != std::string_view::npos && text.empty()) fail(part, "is followed by a trailing comma");
        if (part.substr(0, 4) == "cpu=") {
            CpuKind kind{};
            try {
                kind = parse_cpu_kind(part.substr(4));
            } catch (const Error &) {
                fail(part, "names no CPU kind (zen3, zen4, zen5, intel_avx512 or other)");
            }
            if (rule.cpu_ && *rule.cpu_ != kind) fail(part, "is a second CPU kind (a rule is for one)");
            rule.cpu_ = kind;
            continue;
        }
        if (part.size() < 4) fail(part, "is too short");
        if (part[0] != 'm' && part[0] != 'n' && part[0] != 'k') fail(part, "does not start with m, n or k");
        const std::string_view op = part.substr(1, 2);
        const bool modulus = part[1] == '%';
        if (op != "<=" && op != ">=" && !modulus) fail(part, "has no <=, >= or %");
        std::int64_t value = 0;
        const char *first = part.data() + (modulus ? 2 : 3), *last = part.data() + part.size();
        if (modulus) {
            const std::size_t eq = part.find('=');
            if (part.substr(eq == std::string_view::npos ? part.size() : eq) != "=0") fail(part, "is not '<dim>%<divisor>=0'");
            last = part.data() + eq;
        }
        auto [end, ec] = std::from_chars(first, last, value);
        if (ec != std::errc{} || end != last || value < 1) fail(part, "has no positive integer bound");
        if (modulus && value >= (std::int64_t(1) << 31)) fail(part, "has a divisor above any extent");
        rule.bounds_.push_back({part[0], modulus ? Op::multiple_of : op == "<=" ? Op::at_most : Op::at_least, value});
    }
    // Canonical: one bound per dimension and operator (the tightest; two divisors become their
    // least common multiple), in a fixed order, so that equal rules have equal text whatever
    // order or repetition they were written in.
    std::sort(rule.bounds_.begin(), rule.bounds_.end(), [](const Bound &a, const Bound &b) {
        if (a.dim != b.dim) return a.dim < b.dim;
        if (a.op != b.op) return a.op < b.op;
        return a.op == Op::at_most ? a.value < b.value : a.value > b.value;  // tightest first
    });
    std::vector<Bound> merged;
    for (const Bound &b : rule.bounds_) {
        if (merged.empty() || merged.back().dim != b.dim || merged.back().op != b.op) {
            merged.push_back(b);
        } else if (b.op == Op::multiple_of) {
            merged.back().value = std::lcm(merged.back().value, b.value);
            if (merged.back().value >= (std::int64_t(1) << 31)) fail(whole, "has divisors whose common multiple no extent reaches");
        }
    }
    rule.bounds_ = std::move(merged);
    if (rule.cpu_) rule.text_ = fmt::format("cpu={}", to_string(*rule.cpu_));
    for (const Bound &b : rule.bounds_) {
        const std::string_view sep = rule.text_.empty() ? "" : ",";
        rule.text_ += b.op == Op::multiple_of ? fmt::format("{}{}%{}=0", sep, b.dim, b.value)
                                              : fmt::format("{}{}{}{}", sep, b.dim, b.op == Op::at_most ? "<=" : ">=", b.value);
    }
    return rule;
}

Shape parse_layer_shape(std::string_view text) {
    std::int64_t extents[3] = {};
    std::string_view rest = text;
    bool ok = true;
    for (int d = 0; d < 3 && ok; d++) {
        if (d > 0) {
            ok = !rest.empty() && rest[0] == 'x';
            rest.remove_prefix(ok ? 1 : 0);
        }
        auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), extents[d]);
        ok = ok && ec == std::errc{} && extents[d] >= 1 && extents[d] < (std::int64_t(1) << 31);
        rest.remove_prefix(std::size_t(end - rest.data()));
    }
    if (!ok || !rest.empty()) {
        throw Error(ErrorCode::bad_argument,
                    fmt::format("shape '{}' is not MxKxN with extents from 1 to 2^31-1 (e.g. 256x784x1024)", text));
    }
    return Shape{extents[0], extents[2], extents[1]};
}

bool ShapeRule::holds(const Shape &s, CpuKind cpu) const {
    if (cpu_ && *cpu_ != cpu) return false;
    for (const Bound &b : bounds_) {
        const std::int64_t v = b.dim == 'm' ? s.m : b.dim == 'n' ? s.n : s.k;
        const bool ok = b.op == Op::at_most ? v <= b.value : b.op == Op::at_least ? v >= b.value : v % b.value == 0;
        if (v == 0 || !ok) return false;
    }
    return true;
}

}  // namespace reluforge

namespace reluforge {
namespace {
std::atomic<bool> g_forcing{false};
std::string g_forced_rule;  // set only while no kernels run (tests)
}  // namespace

std::size_t select_variant(const std::vector<ShapeRule> &rules, const Shape &shape) {
    if (g_forcing) {
        for (std::size_t v = 0; v < rules.size(); v++) {
            if (rules[v].text() == g_forced_rule) return v;
        }
    }
    return select_variant(rules, shape, host_cpu().kind);
}

std::size_t select_variant(const std::vector<ShapeRule> &rules, const Shape &shape, CpuKind cpu) {
    for (std::size_t v = 0; v + 1 < rules.size(); v++) {
        if (rules[v].holds(shape, cpu)) return v;
    }
    return rules.size() - 1;
}

void force_shape_rule(std::optional<std::string> rule) {
    g_forcing = false;
    if (rule) {
        g_forced_rule = ShapeRule::parse(*rule).text();
        g_forcing = true;
    }
}

}  // namespace reluforge
