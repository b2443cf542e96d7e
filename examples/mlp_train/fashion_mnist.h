// Fashion-MNIST from Debian's dataset-fashion-mnist package (idx files, gzip).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mlp {

struct Dataset {
    int rows = 0, cols = 0;        // images: rows x (28 * 28)
    std::vector<float> images;     // pixels scaled to [0, 1]
    std::vector<std::uint8_t> labels;
};

// Where Debian's package puts the files.
inline constexpr const char *kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

// Loads <dir>/<prefix>-images-idx3-ubyte.gz and <prefix>-labels-idx1-ubyte.gz (prefix "train" or
// "t10k"). Throws std::runtime_error naming the file and the problem.
Dataset load_fashion_mnist(const std::string &dir, const std::string &prefix);

}  // namespace mlp
