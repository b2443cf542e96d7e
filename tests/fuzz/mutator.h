// A seeded mutator for the fuzz targets: byte flips, edits, dictionary tokens, numeric edge values
// and splices of corpus entries, 1 to 4 at a time. The same seed gives the same inputs.
#pragma once

#include <random>
#include <string>
#include <vector>

namespace fuzz {

class Mutator {
public:
    Mutator(unsigned seed, std::vector<std::string> dictionary);
    // A mutation of one corpus entry, sometimes spliced with another.
    std::string mutate(const std::vector<std::string> &corpus);
    std::mt19937_64 &random() { return random_; }

private:
    void edit(std::string &s, const std::vector<std::string> &corpus);
    std::size_t below(std::size_t n) { return n ? std::uniform_int_distribution<std::size_t>(0, n - 1)(random_) : 0; }

    std::mt19937_64 random_;
    std::vector<std::string> dictionary_;
};

}  // namespace fuzz
