// reluforge demo: a three-layer stack (gelu, relu, identity) run forward and backward with fused
// AOT kernels, checked against a double-precision reference, and timed next to unfused baselines
// (the same matmul kernel followed by a separate activation pass).
#include <reluforge/reluforge.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace reluforge;

namespace {

constexpr int kBatch = 256, kIn = 512, kHidden = 512, kOut = 64;

struct Matrix {
    int rows, cols;
    std::vector<float> v;
    Matrix(int r, int c) : rows(r), cols(c), v(size_t(r) * c) {}
    float &operator()(int r, int c) { return v[size_t(r) * cols + c]; }
    float operator()(int r, int c) const { return v[size_t(r) * cols + c]; }
    Tensor t() { return Tensor::matrix(v.data(), rows, cols); }
    Tensor row() { return Tensor::vector(v.data(), cols); }  // a [1,n] matrix as a vector
};

Matrix random_matrix(int r, int c, float scale, unsigned seed) {
    Matrix m(r, c);
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> d(-scale, scale);
    for (auto &x : m.v) x = d(gen);
    return m;
}

double median_ms(const std::function<void()> &f, int reps = 15) {
    f();  // warm up
    std::vector<double> t;
    for (int r = 0; r < reps; r++) {
        auto start = std::chrono::steady_clock::now();
        f();
        t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// The reference: plain double precision, formulas of docs/numerics.md.
double act_ref(Act a, double z) {
    if (a == Act::relu) return z > 0 ? z : 0.0;
    if (a == Act::gelu) return 0.5 * z * std::erfc(-z / std::sqrt(2.0));
    return z;
}
double grad_ref(Act a, double z) {
    if (a == Act::relu) return z <= 0 ? 0.0 : 1.0;
    if (a == Act::gelu) return 0.5 * std::erfc(-z / std::sqrt(2.0)) + z * std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
    return 1.0;
}

// Worst |got - want| / bound over a layer output, with docs/numerics.md's bound for a length-k
// reduction scaled by |act'| plus a few ulps for the activation's own rounding.
struct Check {
    std::string name;
    double worst = 0;
    void add(double got, double want, double bound) {
        worst = std::max(worst, std::abs(got - want) / bound);
    }
    bool ok() const { return worst <= 1.0; }
};

Check check_forward(const char *name, Act act, const Matrix &x, const Matrix &w, const Matrix &b, const Matrix &y) {
    Check c{name};
    for (int m = 0; m < x.rows; m++) {
        for (int n = 0; n < w.cols; n++) {
            double z = b(0, n), mag = std::abs(b(0, n));
            for (int k = 0; k < x.cols; k++) {
                z += double(x(m, k)) * w(k, n);
                mag += std::abs(double(x(m, k)) * w(k, n));
            }
            const double bound = 4.0 * (x.cols + 3) * std::ldexp(1.0, -24) * mag * std::max(1.0, std::abs(grad_ref(act, z))) +
                                 16 * std::ldexp(1.0, -24) * std::abs(act_ref(act, z)) + 1e-30;
            c.add(y(m, n), act_ref(act, z), bound);
        }
    }
    return c;
}

// dZ_prev = (dZ · Wᵀ) ⊙ act'(z_prev), from the kernel's own dZ and what forward saved.
Check check_chained(const char *name, const Matrix &dz, const Matrix &w,
                    const std::function<double(int, int)> &grad, const Matrix &got) {
    Check c{name};
    for (int m = 0; m < dz.rows; m++) {
        for (int k = 0; k < w.rows; k++) {
            double s = 0, mag = 0;
            for (int n = 0; n < dz.cols; n++) {
                s += double(dz(m, n)) * w(k, n);
                mag += std::abs(double(dz(m, n)) * w(k, n));
            }
            // act' has its own rounding: where it crosses zero (gelu' at z = -0.75) only an
            // absolute allowance, the size of its terms, makes sense.
            const double g = grad(m, k), ulp = std::ldexp(1.0, -24);
            c.add(got(m, k), s * g, 4.0 * (dz.cols + 2) * ulp * mag * std::abs(g) + 16 * ulp * std::abs(s) * (std::abs(g) + 1.0) + 1e-30);
        }
    }
    return c;
}

}  // namespace

int main() {
    fmt::print("reluforge {} demo: batch {}, layers {} -> {} (gelu) -> {} (relu) -> {} (identity)\n",
               version, kBatch, kIn, kHidden, kHidden, kOut);
    const Linear l1(parse_activation("gelu"), true, WeightLayout::kn);  // saves Z
    const Linear l2(parse_activation("relu"), true, WeightLayout::kn);  // saves the bit mask
    const Linear l3(parse_activation("identity"), true, WeightLayout::kn);
    fmt::print("CPU kernels: {} (best this CPU runs; {} threads)\n",
               to_string(find_kernel(l1.forward_spec()).isa), num_threads());

    Matrix x = random_matrix(kBatch, kIn, 1.0f, 1);
    Matrix w1 = random_matrix(kIn, kHidden, std::sqrt(6.0f / kIn), 2), b1 = random_matrix(1, kHidden, 0.1f, 3);
    Matrix w2 = random_matrix(kHidden, kHidden, std::sqrt(6.0f / kHidden), 4), b2 = random_matrix(1, kHidden, 0.1f, 5);
    Matrix w3 = random_matrix(kHidden, kOut, std::sqrt(6.0f / kHidden), 6), b3 = random_matrix(1, kOut, 0.1f, 7);
    Matrix y1(kBatch, kHidden), z1(kBatch, kHidden), y2(kBatch, kHidden), y3(kBatch, kOut);
    std::vector<uint8_t> mask2(size_t(mask_row_bytes(kHidden) * kBatch));
    Tensor mask2_t = Tensor::mask(mask2.data(), kBatch, kHidden);

    auto fwd1 = [&] { l1.forward({x.t(), w1.t(), b1.row(), {}, y1.t(), z1.t(), {}}); };
    auto fwd2 = [&] { l2.forward({y1.t(), w2.t(), b2.row(), {}, y2.t(), mask2_t, {}}); };
    auto fwd3 = [&] { l3.forward({y2.t(), w3.t(), b3.row(), {}, y3.t(), {}, {}}); };
    fwd1();
    fwd2();
    fwd3();

    // Backward from a given dL/dY3 through the chain.
    Matrix dy3 = random_matrix(kBatch, kOut, 1.0f, 8), dz2(kBatch, kHidden), dz1(kBatch, kHidden);
    Matrix dw3(kHidden, kOut), db3(1, kOut), dw2(kHidden, kHidden), db2(1, kHidden), dw1(kIn, kHidden), db1(1, kHidden);
    auto bwd3 = [&] {
        ChainedBackwardArgs a;
        a.dz = dy3.t(); a.x = y2.t(); a.w = w3.t(); a.prev_aux = mask2_t;
        a.dw = dw3.t(); a.db = db3.row(); a.dz_prev = dz2.t(); a.db_prev = db2.row();
        l3.backward_chained(l2, a);
    };
    auto bwd2 = [&] {
        ChainedBackwardArgs a;
        a.dz = dz2.t(); a.x = y1.t(); a.w = w2.t(); a.prev_aux = z1.t();
        a.dw = dw2.t(); a.dz_prev = dz1.t(); a.db_prev = db1.row();
        l2.backward_chained(l1, a);
    };
    auto bwd1 = [&] { run_kernel(l1.backward_weight_spec(false), {x.t(), dz1.t(), dw1.t()}); };
    bwd3();
    bwd2();
    bwd1();

    std::vector<Check> checks{check_forward("forward gelu", Act::gelu, x, w1, b1, y1),
                              check_forward("forward relu", Act::relu, y1, w2, b2, y2),
                              check_forward("forward identity", Act::identity, y2, w3, b3, y3)};
    auto relu_grad_from_mask = [&](int m, int k) {
        return double((mask2[size_t(m * mask_row_bytes(kHidden) + mask_bit_byte(k))] >> mask_bit_shift(k)) & 1);
    };
    auto gelu_grad = [&](int m, int k) { return grad_ref(Act::gelu, z1(m, k)); };
    checks.push_back(check_chained("backward dZ2 (relu' chained)", dy3, w3, relu_grad_from_mask, dz2));
    checks.push_back(check_chained("backward dZ1 (gelu' chained)", dz2, w2, gelu_grad, dz1));
    bool all_ok = true;
    fmt::print("\n{:<32} {:>12}  {}\n", "check against the reference", "worst/bound", "");
    for (const auto &c : checks) {
        fmt::print("{:<32} {:>12.3f}  {}\n", c.name, c.worst, c.ok() ? "ok" : "FAILED");
        all_ok &= c.ok();
    }

    // Unfused baselines: the plain matmul kernel, then a separate float pass over memory.
    auto act_f = [](Act a, float z) {
        if (a == Act::relu) return z > 0 ? z : 0.0f;
        return 0.5f * z * std::erfc(-z * 0.70710678f);
    };
    auto grad_f = [](Act a, float z) {
        if (a == Act::relu) return z <= 0 ? 0.0f : 1.0f;
        return 0.5f * std::erfc(-z * 0.70710678f) + z * std::exp(-0.5f * z * z) * 0.39894228f;
    };
    const Linear plain(parse_activation("identity"), true, WeightLayout::kn);
    Matrix tmp(kBatch, kHidden), tmp_dx(kBatch, kHidden);
    auto unfused_fwd = [&](Matrix &in, Matrix &w, Matrix &b, Matrix &out, Act act) {
        plain.forward({in.t(), w.t(), b.row(), {}, tmp.t(), {}, {}});
        for (size_t k = 0; k < tmp.v.size(); k++) out.v[k] = act_f(act, tmp.v[k]);
    };
    auto unfused_bwd = [&](Matrix &dz, Matrix &w, Matrix &zprev, Matrix &dzprev, Matrix &dbprev, Act prev) {
        run_kernel(plain.backward_data_spec(), {dz.t(), w.t(), tmp_dx.t()});
        std::fill(dbprev.v.begin(), dbprev.v.end(), 0.0f);
        for (int m = 0; m < dz.rows; m++) {
            for (int k = 0; k < w.rows; k++) {
                const float g = tmp_dx(m, k) * grad_f(prev, zprev(m, k));
                dzprev(m, k) = g;
                dbprev(0, k) += g;
            }
        }
    };
    Matrix y1u(kBatch, kHidden), y2u(kBatch, kHidden), dz1u(kBatch, kHidden), db1u(1, kHidden);
    // And the floor the default schedule must clear: a plain triple loop in the order -O3
    // vectorizes (i, k, j), bias and relu in the same loop nest.
    auto triple_loop = [&](const Matrix &in, const Matrix &w, const Matrix &b, Matrix &out) {
        for (int m = 0; m < in.rows; m++) {
            float *row = &out.v[size_t(m) * out.cols];
            for (int n = 0; n < out.cols; n++) row[n] = b(0, n);
            for (int k = 0; k < in.cols; k++) {
                const float a = in(m, k);
                const float *wk = &w.v[size_t(k) * w.cols];
                for (int n = 0; n < out.cols; n++) row[n] += a * wk[n];
            }
            for (int n = 0; n < out.cols; n++) row[n] = row[n] > 0 ? row[n] : 0.0f;
        }
    };
    struct Row {
        const char *kernel;
        double fused, unfused;
    };
    const Row rows[] = {
        {"forward gelu  256x512x512", median_ms(fwd1), median_ms([&] { unfused_fwd(x, w1, b1, y1u, Act::gelu); })},
        {"forward relu  256x512x512", median_ms(fwd2), median_ms([&] { unfused_fwd(y1, w2, b2, y2u, Act::relu); })},
        {"  vs a triple loop (-O3)", median_ms(fwd2), median_ms([&] { triple_loop(y1, w2, b2, y2u); })},
        {"forward identity 256x512x64", median_ms(fwd3), median_ms(fwd3)},
        {"backward chained into gelu'", median_ms(bwd2), median_ms([&] { unfused_bwd(dz2, w2, z1, dz1u, db1u, Act::gelu); })},
        {"backward weight 512x256x512", median_ms(bwd1), median_ms(bwd1)},
    };
    fmt::print("\n{:<30} {:>10} {:>12} {:>8}\n", "kernel (median of 15)", "fused ms", "baseline ms", "speedup");
    for (const auto &r : rows) {
        fmt::print("{:<30} {:>10.3f} {:>12.3f} {:>7.2f}x\n", r.kernel, r.fused, r.unfused, r.unfused / r.fused);
    }
    fmt::print("\n{}\n", all_ok ? "demo: all results match the reference" : "demo: MISMATCH against the reference");
    return all_ok ? 0 : 1;
}
