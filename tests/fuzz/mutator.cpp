#include "mutator.h"

#include <algorithm>

namespace fuzz {
namespace {
// Numbers that break careless parsing and arithmetic.
const char *const kEdgeNumbers[] = {"0",          "-0",         "-1",       "1e30",     "-1e30",       "1e-45",
                                    "nan",        "inf",        "-inf",     "2147483647", "2147483648", "-2147483649",
                                    "4294967296", "46341",      "9223372036854775807", "18446744073709551616",
                                    "0x10",       "1.5",        "1e309",    "00000000000000000000001", ""};
const char kPunctuation[] = ":=,()x<>-+.eE \t\n\"{}[]\\\0\xff";
}  // namespace

Mutator::Mutator(unsigned seed, std::vector<std::string> dictionary)
    : random_(seed), dictionary_(std::move(dictionary)) {}

void Mutator::edit(std::string &s, const std::vector<std::string> &corpus) {
    const std::size_t at = below(s.size() + 1);
    switch (below(8)) {
    case 0:  // flip a bit
        if (!s.empty()) s[below(s.size())] ^= char(1u << below(8));
        break;
    case 1:  // a punctuation character in place of one
        if (!s.empty()) s[below(s.size())] = kPunctuation[below(sizeof kPunctuation - 1)];
        break;
    case 2:  // a dictionary token
        if (!dictionary_.empty()) s.insert(at, dictionary_[below(dictionary_.size())]);
        break;
    case 3: {  // delete a range
        const std::size_t n = below(std::min<std::size_t>(s.size() - std::min(at, s.size()), 16) + 1);
        s.erase(std::min(at, s.size()), n);
        break;
    }
    case 4: {  // duplicate a range
        if (s.empty()) break;
        const std::size_t from = below(s.size()), n = below(std::min<std::size_t>(s.size() - from, 32) + 1);
        s.insert(at, s.substr(from, n));
        break;
    }
    case 5: {  // a number replaced by an edge value
        const std::size_t digit = s.find_first_of("0123456789", at);
        if (digit == std::string::npos) break;
        const std::size_t end = s.find_first_not_of("0123456789.eE-+", digit);
        s.replace(digit, (end == std::string::npos ? s.size() : end) - digit, kEdgeNumbers[below(std::size(kEdgeNumbers))]);
        break;
    }
    case 6: {  // splice: a piece of another entry
        const std::string &other = corpus[below(corpus.size())];
        if (other.empty()) break;
        const std::size_t from = below(other.size());
        s.insert(at, other.substr(from, below(other.size() - from) + 1));
        break;
    }
    default:  // truncate
        s.resize(at);
        break;
    }
}

std::string Mutator::mutate(const std::vector<std::string> &corpus) {
    std::string s = corpus[below(corpus.size())];
    for (std::size_t n = 1 + below(4); n > 0; n--) edit(s, corpus);
    if (s.size() > 4096) s.resize(4096);
    return s;
}

}  // namespace fuzz
