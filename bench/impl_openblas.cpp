// OpenBLAS: sgemm, then a separate bias + activation pass; backward: an act' pass with db, then
// two sgemms.
#include "problem.h"

#include <reluforge/isa.h>

#include <cblas.h>

#include <cctype>
#include <string>
#include <string_view>

namespace bench {
namespace {

class OpenBlas : public Impl {
public:
    std::string name() const override { return "openblas"; }
    void forward(Problem &p) override {
        const int M = p.s.M, K = p.s.K, N = p.s.N;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, p.x.data(), K, p.w.data(), N, 0.0f, p.y.data(), N);
        for (int m = 0; m < M; m++) {
            float *row = &p.y[size_t(m) * N];
            for (int n = 0; n < N; n++) row[n] = act_value(p.act.act, row[n] + p.b[size_t(n)], p.slope);
        }
    }
    void backward(Problem &p) override {
        const int M = p.s.M, K = p.s.K, N = p.s.N;
        std::fill(p.db.begin(), p.db.end(), 0.0f);
        for (int m = 0; m < M; m++) {
            for (int n = 0; n < N; n++) {
                const size_t k = size_t(m) * N + n;
                p.dz[k] = p.dy[k] * act_grad(p.act.act, p.z[k], p.slope);
                p.db[size_t(n)] += p.dz[k];
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, N, 1.0f, p.dz.data(), N, p.w.data(), N, 0.0f, p.dx.data(), K);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, N, M, 1.0f, p.x.data(), K, p.dz.data(), N, 0.0f, p.dw.data(), N);
    }
};

}  // namespace

std::vector<std::unique_ptr<Impl>> make_openblas(Problem &) {
    std::vector<std::unique_ptr<Impl>> out;
    out.push_back(std::make_unique<OpenBlas>());
    return out;
}

const char *openblas_core() { return openblas_get_corename(); }

const char *openblas_better_core() {
    using reluforge::Isa;
    std::string core = openblas_get_corename();  // "Haswell" in Debian's dynamic builds
    for (char &c : core) c = char(std::tolower(static_cast<unsigned char>(c)));
    // OpenBLAS 0.3.21's x86-64 cores by the widest vectors their sgemm uses.
    auto core_isa = [&] {
        for (std::string_view c : {"skylakex", "cooperlake", "sapphirerapids"}) {
            if (core == c) return Isa::avx512;
        }
        for (std::string_view c : {"haswell", "zen"}) {
            if (core == c) return Isa::avx2;
        }
        return Isa::sse41;
    };
    const Isa host = reluforge::host_isa();
    if (core_isa() >= host) return nullptr;
    return host == Isa::avx512 ? "SkylakeX" : host == Isa::avx2 ? "Haswell" : nullptr;
}

}  // namespace bench
