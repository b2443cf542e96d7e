#include "spec_text.h"

#include <charconv>
#include <cmath>

namespace reluforge::spec_text {

void fail(std::string_view text, const std::string &what) {
    throw Error(ErrorCode::bad_spec, fmt::format("bad kernel spec '{}': {}", text, what));
}

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

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

bool key_value(std::string_view part, std::string_view &key, std::string_view &value) {
    auto eq = part.find('=');
    if (eq == std::string_view::npos) return false;
    key = trim(part.substr(0, eq));
    value = trim(part.substr(eq + 1));
    return true;
}

std::string join(const std::vector<std::string_view> &v) {
    std::string s;
    for (auto x : v) s += (s.empty() ? "" : ", ") + std::string(x);
    return s;
}

// from_chars, unlike strtof, ignores the C locale (strtof takes "0,01" under de_DE and refuses
// "0.01").
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

std::string float_text(float f) { return fmt::format("{}", f); }

}  // namespace reluforge::spec_text
