#include "fashion_mnist.h"

#include <zlib.h>

#include <memory>
#include <stdexcept>

namespace mlp {
namespace {

// The whole decompressed content of a .gz file.
std::vector<std::uint8_t> read_gzip(const std::string &path) {
    std::unique_ptr<gzFile_s, int (*)(gzFile)> f(gzopen(path.c_str(), "rb"), gzclose);
    if (!f) throw std::runtime_error("cannot open " + path);
    std::vector<std::uint8_t> out;
    std::uint8_t chunk[1 << 16];
    int n;
    while ((n = gzread(f.get(), chunk, sizeof chunk)) > 0) out.insert(out.end(), chunk, chunk + n);
    if (n < 0) throw std::runtime_error("corrupt gzip data in " + path);
    return out;
}

std::uint32_t big_endian(const std::vector<std::uint8_t> &b, size_t at) {
    return std::uint32_t(b[at]) << 24 | std::uint32_t(b[at + 1]) << 16 | std::uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// An idx file: magic 0x0000 08 <rank>, then rank big-endian extents, then unsigned bytes.
std::vector<std::uint8_t> read_idx(const std::string &path, std::uint32_t rank, std::vector<std::uint32_t> &extents) {
    std::vector<std::uint8_t> b = read_gzip(path);
    if (b.size() < 4 + 4 * rank || big_endian(b, 0) != (0x0800u | rank)) {
        throw std::runtime_error(path + " is not an idx file of rank " + std::to_string(rank));
    }
    size_t count = 1;
    for (std::uint32_t d = 0; d < rank; d++) {
        extents.push_back(big_endian(b, 4 + 4 * d));
        count *= extents.back();
    }
    const size_t header = 4 + 4 * rank;
    if (b.size() != header + count) {
        throw std::runtime_error(path + " holds " + std::to_string(b.size() - header) + " bytes of data, expected " +
                                 std::to_string(count));
    }
    return std::vector<std::uint8_t>(b.begin() + header, b.end());
}

}  // namespace

Dataset load_fashion_mnist(const std::string &dir, const std::string &prefix) {
    std::vector<std::uint32_t> image_dims, label_dims;
    const auto pixels = read_idx(dir + "/" + prefix + "-images-idx3-ubyte.gz", 3, image_dims);
    const auto labels = read_idx(dir + "/" + prefix + "-labels-idx1-ubyte.gz", 1, label_dims);
    if (image_dims[0] != label_dims[0]) {
        throw std::runtime_error(prefix + ": " + std::to_string(image_dims[0]) + " images but " +
                                 std::to_string(label_dims[0]) + " labels");
    }
    Dataset d;
    d.rows = int(image_dims[0]);
    d.cols = int(image_dims[1] * image_dims[2]);
    d.images.resize(pixels.size());
    for (size_t k = 0; k < pixels.size(); k++) d.images[k] = pixels[k] / 255.0f;
    d.labels = labels;
    for (auto l : d.labels) {
        if (l > 9) throw std::runtime_error(prefix + ": label " + std::to_string(l) + " is not a class 0-9");
    }
    return d;
}

}  // namespace mlp
