#include "placement.h"

#include "compare.h"

#include <cmath>
#include <cstring>

namespace cases {

using namespace reluforge;

namespace {
Placement g_placement;

bool converts(const Tensor &t) { return g_placement.dtype == DType::f16 && t.dtype == DType::f32 && t.rank == 2; }

std::int64_t elements(const Tensor &t) {
    return t.rank == 2 ? (t.shape[0] - 1) * t.stride[0] + t.shape[1] : t.shape[0];
}
}  // namespace

void set_placement(Placement p) {
    g_placement = p;
    const bool f16 = p.dtype == DType::f16;
    g_bound_scale = f16 ? 8192.0 : 1.0;          // 2^-11 / 2^-24
    g_result_rounding = f16 ? 0x1p-10 : 0.0;     // the stored result, and the stored input it came from
    g_result_absolute = f16 ? 0x1p-24 : 0.0;     // subnormal results: half's smallest spacing
}
Placement placement() { return g_placement; }

std::uint16_t to_half(float f) {
    std::uint32_t x;
    std::memcpy(&x, &f, 4);
    const std::uint32_t sign = (x >> 16) & 0x8000u;
    const std::uint32_t abs = x & 0x7fffffffu;
    if (abs >= 0x7f800000u) return std::uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    const double a = std::fabs(double(f));
    if (a >= 65520.0) return std::uint16_t(sign | 0x7c00u);  // rounds past the largest half
    // Scale so that one unit in the last place of the half result is 1, then round to even.
    int e;
    std::frexp(a, &e);                       // a = m 2^e, m in [0.5, 1)
    const int exp = std::max(e - 1, -14);    // the half's exponent (subnormals share -14)
    const double scaled = std::nearbyint(std::ldexp(a, 10 - exp));
    const double rounded = std::ldexp(scaled, exp - 10);
    if (rounded == 0.0) return std::uint16_t(sign);
    int re;
    std::frexp(rounded, &re);
    const int rexp = re - 1;
    if (rexp < -14) return std::uint16_t(sign | std::uint32_t(std::ldexp(rounded, 24)));  // subnormal
    const std::uint32_t mant = std::uint32_t(std::ldexp(rounded, 10 - rexp)) - 1024u;
    return std::uint16_t(sign | std::uint32_t(rexp + 15) << 10 | mant);
}

float from_half(std::uint16_t h) {
    const int sign = h & 0x8000 ? -1 : 1;
    const int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return mant ? NAN : sign * INFINITY;
    if (exp == 0) return float(sign * std::ldexp(double(mant), -24));
    return float(sign * std::ldexp(double(mant + 1024), exp - 25));
}

void round_to_storage(std::vector<float> &values) {
    if (g_placement.dtype != DType::f16) return;
    for (float &v : values) v = from_half(to_half(v));
}

Mirror::Copy &Mirror::place(const Tensor &host) {
    auto it = copies_.find(host.data);
    if (it != copies_.end()) return it->second;
    Copy &c = copies_[host.data];
    c.host = host;
    c.placed = host;
    const std::int64_t n = elements(host);
    const void *bytes = host.data;
    std::size_t size = std::size_t(n * element_size(host.dtype));
    if (converts(host)) {
        float *f = static_cast<float *>(host.data);
        c.halves.resize(std::size_t(n));
        for (std::int64_t k = 0; k < n; k++) c.halves[std::size_t(k)] = to_half(f[k]);
        c.placed.dtype = DType::f16;
        c.placed.data = c.halves.data();
        bytes = c.halves.data();
        size = std::size_t(n) * 2;
    }
    if (g_placement.device == Device::cuda) {
        c.device = std::make_unique<cuda::DeviceBuffer>(size);
        c.device->copy_from_host(bytes, size);
        c.placed.data = c.device->data();
        c.placed.device = Device::cuda;
    }
    if (g_placement.device == Device::opencl) {
        c.opencl = std::make_unique<opencl::DeviceBuffer>(size);
        c.opencl->copy_from_host(bytes, size);
        c.placed.data = c.opencl->data();
        c.placed.device = Device::opencl;
    }
    return c;
}

Tensor Mirror::in(const Tensor &host) {
    if (!host.given()) return host;
    Copy &c = place(host);
    if (converts(host)) {
        float *f = static_cast<float *>(host.data);
        for (std::size_t k = 0; k < c.halves.size(); k++) f[k] = from_half(c.halves[k]);
    }
    return c.placed;
}

Tensor Mirror::out(const Tensor &host) {
    if (!host.given()) return host;
    Copy &c = place(host);
    c.output = true;
    return c.placed;
}

void Mirror::finish() {
    if (g_placement.device == Device::cuda) cuda::synchronize();
    for (auto &[ptr, c] : copies_) {
        if (!c.output) continue;
        void *target = c.halves.empty() ? c.host.data : static_cast<void *>(c.halves.data());
        if (c.device) c.device->copy_to_host(target, c.device->size());
        if (c.opencl) c.opencl->copy_to_host(target, c.opencl->size());  // after the kernels: one in-order queue
        if (!c.halves.empty()) {
            float *f = static_cast<float *>(c.host.data);
            for (std::size_t k = 0; k < c.halves.size(); k++) f[k] = from_half(c.halves[k]);
        }
    }
}

}  // namespace cases
