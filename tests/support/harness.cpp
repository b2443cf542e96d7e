#include "harness.h"

#include "placement.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

namespace cases {

using namespace reluforge;
using ref::Mat;
using ref::MatD;

namespace {

constexpr double kEval = kEvalUlps * kUlp;

std::string at(const char *what, int r, int c) {
    return std::string(what) + "(" + std::to_string(r) + "," + std::to_string(c) + ")";
}

// A packed W is packed from a [K,N] one (packed_weights.h).
bool kn(const Linear &l) { return l.weight_layout() != WeightLayout::nk; }

// Weight stored as the layer wants it: [K,N] or [N,K] (packed: [K,N], packed when called).
Mat make_weight(const Linear &l, Shape s, unsigned seed) {
    Mat w = kn(l) ? Mat(s.K, s.N) : Mat(s.N, s.K);
    ref::fill_uniform(w, seed);
    return w;
}

std::vector<float> make_slopes(const Linear &l, int n) {
    if (l.activation().kind != Act::prelu) return {};
    const int count = l.activation().slopes == PreluSlopes::shared ? 1 : n;
    std::vector<float> a(count);
    for (int c = 0; c < count; c++) a[c] = 0.25f - 0.1f * float(c % 5);  // some negative
    return a;
}
double slope_of(const std::vector<float> &a, int col) {
    return a.empty() ? 0.25 : double(a.size() == 1 ? a[0] : a[col]);
}
Tensor slope_tensor(std::vector<float> &a) {
    return a.empty() ? Tensor{} : Tensor::vector(a.data(), int64_t(a.size()));
}

double max_abs_grad(const Activation &act, double z, double bound, double slope) {
    return std::max({std::abs(ref::grad(act, z, slope)), std::abs(ref::grad(act, z - bound, slope)),
                     std::abs(ref::grad(act, z + bound, slope))});
}

// Where the 1-bit predicate of act may flip within `bound` of z.
bool near_kink(const Activation &act, double z, double bound) {
    for (double kink : {0.0, 6.0}) {
        if (kink == 6.0 && act.kind != Act::relu6) continue;
        if (std::abs(z - kink) <= bound) return true;
    }
    return false;
}

// Extra error of act' rebuilt from a rounded Y (elu: y + alpha; selu; celu: y/alpha + 1).
double from_y_allowance(const Linear &l, double y) {
    const Act k = l.activation().kind;
    if (l.save() != Save::y || !std::isfinite(y) || (k != Act::elu && k != Act::selu && k != Act::celu)) return 0.0;
    const double alpha = std::abs(double(l.activation().alpha));
    return kEval * (std::abs(y) + alpha + 2.0) / std::min(1.0, alpha > 0 ? alpha : 1.0);
}

// The saved aux, built from a float Z as forward would have saved it.
struct Aux {
    Mat z;
    Mat y;
    std::vector<uint8_t> mask;
    int64_t row_bytes = 0;
    Tensor tensor(const Linear &l) {
        switch (l.save()) {
        case Save::z: return Tensor::matrix(z.v.data(), z.rows, z.cols);
        case Save::y: return Tensor::matrix(y.v.data(), y.rows, y.cols);
        case Save::mask: return Tensor::mask(mask.data(), z.rows, z.cols, row_bytes);
        case Save::none: break;
        }
        return {};
    }
};

Aux make_aux(const Linear &l, const Mat &z, const std::vector<float> &slopes) {
    Aux a{z, Mat(z.rows, z.cols), {}, mask_row_bytes(z.cols)};
    a.mask.assign(size_t(a.row_bytes * z.rows), 0);
    for (int m = 0; m < z.rows; m++) {
        for (int n = 0; n < z.cols; n++) {
            a.y(m, n) = float(ref::act(l.activation(), z(m, n), slope_of(slopes, n)));
            if (ref::mask_bit(l.activation(), z(m, n))) a.mask[size_t(m * a.row_bytes + ref::mask_byte(n))] |= uint8_t(1u << ref::mask_shift(n));
        }
    }
    return a;
}

void set_special_rows(Mat &m, bool specials) {
    if (!specials || m.rows < 3) return;
    for (int c = 0; c < m.cols; c++) {
        m(0, c) = NAN;
        m(1, c) = INFINITY;
        m(2, c) = -INFINITY;
    }
}

}  // namespace

Comparison check_forward(const Linear &l, Shape s, unsigned seed, bool specials) {
    const Activation &act = l.activation();
    Mat x(s.M, s.K), w = make_weight(l, s, seed + 1), b(1, s.N);
    ref::fill_uniform(x, seed);
    ref::fill_uniform(b, seed + 2);
    if (specials && s.M >= 3) {
        x(0, 0) = NAN;
        x(1, 0) = INFINITY;
        x(2, 0) = -INFINITY;
    }
    auto slopes = make_slopes(l, s.N);

    Mat y(s.M, s.N, -7.0f), z(s.M, s.N, -7.0f);
    const int64_t row_bytes = mask_row_bytes(s.N);
    std::vector<uint8_t> mask(size_t(row_bytes * s.M), 0xA5);  // sentinel: padding must survive
    std::vector<int32_t> counts(size_t(s.N), -1);
    ForwardArgs args;
    args.x = Tensor::matrix(x.v.data(), s.M, s.K);
    args.w = Tensor::matrix(w.v.data(), w.rows, w.cols);
    std::optional<PackedWeights> packed;
    if (l.weight_layout() == WeightLayout::packed) args.w = packed.emplace(args.w, WeightLayout::kn).tensor();
    if (l.bias()) args.b = Tensor::vector(b.v.data(), s.N);
    args.slope = slope_tensor(slopes);
    args.y = Tensor::matrix(y.v.data(), s.M, s.N);
    if (l.save() == Save::z) args.aux = Tensor::matrix(z.v.data(), s.M, s.N);
    if (l.save() == Save::y) args.aux = args.y;
    if (l.save() == Save::mask) args.aux = Tensor::mask(mask.data(), s.M, s.N, row_bytes);
    args.counts = Tensor::vector(counts.data(), s.N);
    {
        Mirror mirror;
        ForwardArgs placed = args;
        placed.x = mirror.in(args.x);
        placed.w = mirror.in(args.w);
        placed.b = mirror.in(args.b);
        placed.slope = mirror.in(args.slope);
        placed.y = mirror.out(args.y);
        placed.aux = mirror.out(args.aux);
        placed.counts = mirror.out(args.counts);
        l.forward(placed);
        mirror.finish();
    }

    MatD mag(s.M, s.N);
    MatD zr = ref::matmul(x, w, false, !kn(l), &mag);
    Comparison cmp;
    for (int n = 0; n < s.N; n++) {
        int decided_active = 0, undecided = 0;
        for (int m = 0; m < s.M; m++) {
            const double bias = l.bias() ? b(0, n) : 0.0;
            const double zz = zr(m, n) + bias;
            const double bz = ref::reduction_bound(s.K + 1, mag(m, n) + std::abs(bias));
            const double sl = slope_of(slopes, n);
            if (l.save() == Save::z) cmp.add(z(m, n), zz, bz, at("z", m, n));
            const double want = ref::act(act, zz, sl);
            const double g = max_abs_grad(act, zz, bz, sl);
            const double carried = std::isfinite(zz) ? (bz + kEval * std::abs(zz)) * g : 0.0;
            cmp.add(y(m, n), want, carried + kEval * std::abs(want) + 1e-30, at("y", m, n));
            if (l.save() == Save::mask && !near_kink(act, zz, bz)) {
                const bool bit = (mask[size_t(m * row_bytes + ref::mask_byte(n))] >> ref::mask_shift(n)) & 1;
                cmp.add(bit, ref::mask_bit(act, zz), 0, at("mask bit", m, n));
            }
            // Undecided: a kink within Z's error, or an act' that underflows in float.
            const double gz = ref::grad(act, zz, sl);
            if (std::isfinite(zz) && (near_kink(act, zz, bz) || (gz != 0.0 && std::abs(gz) < 1e-30))) undecided++;
            else if (gz != 0.0) decided_active++;
        }
        const int got = counts[size_t(n)];
        cmp.add(got >= decided_active && got <= decided_active + undecided ? 0 : 1, 0, 0,
                "counts(" + std::to_string(n) + ")=" + std::to_string(got) + " expected " +
                    std::to_string(decided_active) + "+" + std::to_string(undecided));
    }
    if (l.save() == Save::mask) {
        for (int m = 0; m < s.M; m++) {
            const int used = int(mask_bytes_per_row(s.N));
            for (int n = s.N; n < used * 8; n++) {
                const int bit = (mask[size_t(m * row_bytes + ref::mask_byte(n))] >> ref::mask_shift(n)) & 1;
                cmp.add(bit, 0, 0, at("mask bit past the columns", m, n));
            }
            for (int byte = used; byte < row_bytes; byte++) {
                cmp.add(mask[size_t(m * row_bytes + byte)], 0xA5, 0, at("mask bytes past the row", m, byte));
            }
        }
    }
    return cmp;
}

Comparison check_backward(const Linear &l, Shape s, unsigned seed, bool specials) {
    const Activation &act = l.activation();
    const bool identity = act.kind == Act::identity, prelu = act.kind == Act::prelu;
    Mat x(s.M, s.K), w = make_weight(l, s, seed + 1), z(s.M, s.N), dy(s.M, s.N);
    ref::fill_uniform(x, seed);
    ref::fill_uniform(z, seed + 3, -4.0f, 4.0f);
    ref::fill_uniform(dy, seed + 4);
    set_special_rows(z, specials);
    round_to_storage(z.v);  // the saved aux is what a forward in this storage would have kept
    auto slopes = make_slopes(l, s.N);
    Aux aux = make_aux(l, z, slopes);

    Mat dx(s.M, s.K), dw(w.rows, w.cols), dz(s.M, s.N), db(1, s.N);
    std::vector<float> dslope(slopes.size());
    BackwardArgs args;
    args.dy = Tensor::matrix(dy.v.data(), s.M, s.N);
    args.aux = aux.tensor(l);
    args.x = Tensor::matrix(x.v.data(), s.M, s.K);
    args.w = Tensor::matrix(w.v.data(), w.rows, w.cols);
    args.slope = slope_tensor(slopes);
    args.dx = Tensor::matrix(dx.v.data(), s.M, s.K);
    args.dw = Tensor::matrix(dw.v.data(), dw.rows, dw.cols);
    if (l.bias()) args.db = Tensor::vector(db.v.data(), s.N);
    if (prelu) args.dslope = slope_tensor(dslope);
    if (!identity) args.dz = Tensor::matrix(dz.v.data(), s.M, s.N);
    {
        Mirror mirror;
        BackwardArgs placed = args;
        placed.dy = mirror.in(args.dy);
        placed.aux = mirror.in(args.aux);
        placed.x = mirror.in(args.x);
        placed.w = mirror.in(args.w);
        placed.slope = mirror.in(args.slope);
        placed.dx = mirror.out(args.dx);
        placed.dw = mirror.out(args.dw);
        placed.db = mirror.out(args.db);
        placed.dslope = mirror.out(args.dslope);
        placed.dz = mirror.out(args.dz);
        l.backward(placed);
        mirror.finish();
    }

    Comparison cmp;
    MatD rdz(s.M, s.N), tol(s.M, s.N);
    for (int m = 0; m < s.M; m++) {
        for (int n = 0; n < s.N; n++) {
            const double zz = z(m, n), sl = slope_of(slopes, n), g = ref::grad(act, zz, sl);
            rdz(m, n) = dy(m, n) * g;
            const double curvature = std::isfinite(zz) ? std::abs(dy(m, n) * zz * ref::grad2(act, zz, sl)) : 0.0;
            tol(m, n) = kEval * (std::abs(rdz(m, n)) + curvature) +
                        std::abs(dy(m, n)) * from_y_allowance(l, aux.y(m, n)) + 1e-30;
            if (!identity) cmp.add(dz(m, n), rdz(m, n), tol(m, n), at("dz", m, n));
        }
    }
    // db = Σ rows dZ; dslope = Σ (z > 0 ? 0 : z dY); dX = dZ Wᵀ; dW = Xᵀ dZ.
    std::vector<double> dsl(slopes.size(), 0.0), dsl_mag(slopes.size(), 0.0);
    for (int n = 0; n < s.N; n++) {
        double sum = 0, sum_abs = 0, sum_tol = 0;
        for (int m = 0; m < s.M; m++) {
            sum += rdz(m, n);
            sum_abs += std::abs(rdz(m, n));
            sum_tol += tol(m, n);
            if (prelu) {
                const double term = z(m, n) > 0 ? 0.0 : z(m, n) * dy(m, n);
                dsl[slopes.size() == 1 ? 0 : n] += term;
                dsl_mag[slopes.size() == 1 ? 0 : n] += std::abs(term);
            }
        }
        if (l.bias()) cmp.add(db(0, n), sum, ref::reduction_bound(s.M, sum_abs) + sum_tol, at("db", 0, n));
    }
    for (size_t c = 0; c < dsl.size(); c++) {
        cmp.add(dslope[c], dsl[c], ref::reduction_bound(s.M * s.N, dsl_mag[c]), at("dslope", 0, int(c)));
    }
    // dX and dW from the reference dZ; the bounds add dZ's own tolerance, carried through.
    for (int m = 0; m < s.M; m++) {
        for (int k = 0; k < s.K; k++) {
            double sum = 0, sum_abs = 0, sum_tol = 0;
            for (int n = 0; n < s.N; n++) {
                const double wv = kn(l) ? w(k, n) : w(n, k);
                sum += rdz(m, n) * wv;
                sum_abs += std::abs(rdz(m, n) * wv);
                sum_tol += tol(m, n) * std::abs(wv);
            }
            cmp.add(dx(m, k), sum, ref::reduction_bound(s.N, sum_abs) + sum_tol, at("dx", m, k));
        }
    }
    for (int k = 0; k < s.K; k++) {
        for (int n = 0; n < s.N; n++) {
            double sum = 0, sum_abs = 0, sum_tol = 0;
            for (int m = 0; m < s.M; m++) {
                sum += x(m, k) * rdz(m, n);
                sum_abs += std::abs(x(m, k) * rdz(m, n));
                sum_tol += std::abs(x(m, k)) * tol(m, n);
            }
            const float got = kn(l) ? dw(k, n) : dw(n, k);
            cmp.add(got, sum, ref::reduction_bound(s.M, sum_abs) + sum_tol, at("dw", k, n));
        }
    }
    return cmp;
}

Comparison check_chained(const Linear &prev, Shape s, unsigned seed, bool specials) {
    const Activation &act = prev.activation();
    const bool prelu = act.kind == Act::prelu;
    const Linear top = top_of(prev);
    // The top layer maps K -> N; prev's output (the top's input) has K columns.
    Mat x(s.M, s.K), w = make_weight(top, s, seed + 1), dz(s.M, s.N), zprev(s.M, s.K);
    ref::fill_uniform(x, seed);
    ref::fill_uniform(dz, seed + 2);
    ref::fill_uniform(zprev, seed + 3, -4.0f, 4.0f);
    set_special_rows(zprev, specials);
    round_to_storage(zprev.v);
    auto slopes = make_slopes(prev, s.K);
    Aux aux = make_aux(prev, zprev, slopes);

    Mat dw(w.rows, w.cols), db(1, s.N), dzp(s.M, s.K), dbp(1, s.K);
    std::vector<float> dslope(slopes.size());
    ChainedBackwardArgs args;
    args.dz = Tensor::matrix(dz.v.data(), s.M, s.N);
    args.x = Tensor::matrix(x.v.data(), s.M, s.K);
    args.w = Tensor::matrix(w.v.data(), w.rows, w.cols);
    args.prev_aux = aux.tensor(prev);
    args.prev_slope = slope_tensor(slopes);
    args.dw = Tensor::matrix(dw.v.data(), dw.rows, dw.cols);
    args.db = Tensor::vector(db.v.data(), s.N);
    args.dz_prev = Tensor::matrix(dzp.v.data(), s.M, s.K);
    if (prev.bias()) args.db_prev = Tensor::vector(dbp.v.data(), s.K);
    if (prelu) args.dslope_prev = slope_tensor(dslope);
    {
        Mirror mirror;
        ChainedBackwardArgs placed = args;
        placed.dz = mirror.in(args.dz);
        placed.x = mirror.in(args.x);
        placed.w = mirror.in(args.w);
        placed.prev_aux = mirror.in(args.prev_aux);
        placed.prev_slope = mirror.in(args.prev_slope);
        placed.dw = mirror.out(args.dw);
        placed.db = mirror.out(args.db);
        placed.dz_prev = mirror.out(args.dz_prev);
        placed.db_prev = mirror.out(args.db_prev);
        placed.dslope_prev = mirror.out(args.dslope_prev);
        top.backward_chained(prev, placed);
        mirror.finish();
    }

    Comparison cmp;
    std::vector<double> dbp_ref(size_t(s.K), 0), dbp_abs(size_t(s.K), 0), dbp_tol(size_t(s.K), 0);
    std::vector<double> dsl(slopes.size(), 0), dsl_abs(slopes.size(), 0), dsl_tol(slopes.size(), 0);
    for (int m = 0; m < s.M; m++) {
        for (int k = 0; k < s.K; k++) {
            double sum = 0, sum_abs = 0;
            for (int n = 0; n < s.N; n++) {
                const double wv = kn(top) ? w(k, n) : w(n, k);
                sum += dz(m, n) * wv;
                sum_abs += std::abs(dz(m, n) * wv);
            }
            const double bx = ref::reduction_bound(s.N, sum_abs);
            const double zz = zprev(m, k), sl = slope_of(slopes, k), g = ref::grad(act, zz, sl);
            const double want = sum * g;
            const double curvature = std::isfinite(zz) ? std::abs(sum * zz * ref::grad2(act, zz, sl)) : 0.0;
            const double t = bx * std::abs(g) + kEval * (std::abs(want) + curvature) +
                             std::abs(sum) * from_y_allowance(prev, aux.y(m, k)) + 1e-30;
            cmp.add(dzp(m, k), want, t, at("dz_prev", m, k));
            dbp_ref[size_t(k)] += want;
            dbp_abs[size_t(k)] += std::abs(want);
            dbp_tol[size_t(k)] += t;
            if (prelu) {
                const size_t c = slopes.size() == 1 ? 0 : size_t(k);
                const double term = zz > 0 ? 0.0 : zz * sum;
                dsl[c] += term;
                dsl_abs[c] += std::abs(term);
                dsl_tol[c] += zz > 0 ? 0.0 : std::abs(zz) * bx;
            }
        }
    }
    for (int k = 0; k < s.K && prev.bias(); k++) {
        cmp.add(dbp(0, k), dbp_ref[size_t(k)], ref::reduction_bound(s.M, dbp_abs[size_t(k)]) + dbp_tol[size_t(k)], at("db_prev", 0, k));
    }
    for (size_t c = 0; c < dsl.size(); c++) {
        cmp.add(dslope[c], dsl[c], ref::reduction_bound(s.M * s.K, dsl_abs[c]) + dsl_tol[c], at("dslope_prev", 0, int(c)));
    }
    MatD dw_mag(1, 1);
    MatD rdw = ref::matmul(x, dz, true, false, &dw_mag);  // [K,N]
    for (int k = 0; k < s.K; k++) {
        for (int n = 0; n < s.N; n++) {
            cmp.add(kn(top) ? dw(k, n) : dw(n, k), rdw(k, n), ref::reduction_bound(s.M, dw_mag(k, n)), at("dw", k, n));
        }
    }
    for (int n = 0; n < s.N; n++) {
        double sum = 0, sum_abs = 0;
        for (int m = 0; m < s.M; m++) {
            sum += dz(m, n);
            sum_abs += std::abs(dz(m, n));
        }
        cmp.add(db(0, n), sum, ref::reduction_bound(s.M, sum_abs), at("db", 0, n));
    }
    return cmp;
}

void for_each_case(const char *what, unsigned seed,
                   Comparison (*check)(const Linear &, Shape, unsigned, bool)) {
    for (const auto &act : activations()) {
        for (const auto &f32_layer : layers(act)) {
            const Linear layer(f32_layer.activation(), f32_layer.bias(), f32_layer.weight_layout(), f32_layer.save(),
                               placement().dtype);
            for (const auto &shape : shapes()) {
                for (bool specials : {false, true}) {
                    auto cmp = check(layer, shape, seed++, specials);
                    INFO(what << " " << describe(layer) << " M,K,N=" << shape.M << "," << shape.K << ","
                              << shape.N << (specials ? " with NaN/Inf rows" : ""));
                    INFO(cmp.report);
                    CHECK(cmp.checked > 0);
                    CHECK(cmp.failed == 0);
                }
            }
        }
    }
}

}  // namespace cases
