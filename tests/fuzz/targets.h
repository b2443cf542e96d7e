// What the fuzzer feeds: the parsers of text that users and files hand to reluforge. Each target
// accepts any input: it returns true when the input is valid, false when it is refused with a
// reluforge::Error, and throws PropertyViolated when a valid input breaks a promise (its
// canonical text does not parse back to itself, say). Any other exception, crash or sanitizer
// report is a defect.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace fuzz {

struct PropertyViolated : std::logic_error {
    using std::logic_error::logic_error;
};

struct Target {
    const char *name;
    bool (*run)(const std::string &input);
    std::vector<std::string> (*seeds)();
    std::vector<std::string> dictionary;
};

const std::vector<Target> &targets();

}  // namespace fuzz
