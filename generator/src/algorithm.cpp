#include "reluforge/generator/algorithm.h"

#include "reluforge/error.h"
#include "reluforge/generator/activation_math.h"
#include "reluforge/packed_weights.h"
#include "reluforge/signature.h"

#include <map>
#include <string>

namespace reluforge::gen {

using namespace Halide;

namespace {

Type halide_type(DType d) {
    switch (d) {
    case DType::f32: return Float(32);
    case DType::f16: return Float(16);
    case DType::u8: return UInt(8);
    case DType::i32: return Int(32);
    }
    return Float(32);
}

class Builder {
public:
    Builder(const KernelSpec &spec, bool clamp_reads, int dot_lanes, bool transposed_product)
        : spec_(spec), clamp_reads_(clamp_reads), dot_lanes_(dot_lanes), transposed_product_(transposed_product) {
        for (const auto &slot : kernel_signature(spec)) {
            if (slot.output) continue;
            ImageParam p(halide_type(slot.dtype), slot.rank, slot.name);
            params_.emplace(slot.name, p);
            if (a_.inputs.empty()) first_input_ = p;
            a_.inputs.push_back(p);
            a_.images.push_back(p);
        }
    }

    Algorithm build() {
        a_.long_epilogue = is_long_chain(spec_.act);  // backward_weight's act is always identity
        switch (spec_.op) {
        case Op::forward:
            forward();
            if (spec_.weight == WeightLayout::packed) a_.cols_aligned = a_.cols % int(kWeightPanel) == 0;
            break;
        case Op::activation_backward: activation_backward(); break;
        case Op::backward_data: backward_data(); break;
        case Op::backward_weight: backward_weight(); break;
        }
        // Every output starts at 0 in each dimension, as run_kernel passes them: schedules can then
        // prove where tiles start (cols_aligned). A Tuple's other buffers follow its first.
        for (Func &out : a_.outputs) {
            OutputImageParam first = out.output_buffers()[0];
            for (int d = 0; d < first.dimensions(); d++) first.dim(d).set_min(0);
        }
        return std::move(a_);
    }

private:
    const KernelSpec &spec_;
    const bool clamp_reads_;
    const int dot_lanes_;
    const bool transposed_product_;
    Algorithm a_;
    static Expr zero(Expr) { return Expr(0.0f); }
    std::map<std::string, ImageParam> params_;
    ImageParam first_input_;
    Var &j = a_.j, &i = a_.i;

    // An input as the algorithm reads it: f16 storage widens to f32 on load.
    struct Input {
        ImageParam p;
        template <typename... Args>
        Expr operator()(Args... args) const {
            Expr e = p(args...);
            if (e.type() != Float(16)) return e;
            // Halide's x86 conversion turns NaN into Inf; the bits decide instead.
            Expr nan = (reinterpret<uint16_t>(e) & cast<uint16_t>(0x7fff)) > cast<uint16_t>(0x7c00);
            return select(nan, reinterpret<float>(Expr(uint32_t(0x7fc00000u))), cast<float>(e));
        }
        Halide::Internal::Dimension dim(int d) const { return p.dim(d); }
    };

    Input in(const char *name) { return Input{params_.at(name)}; }
    // A matrix output as it is stored: f16 storage rounds the f32 result once, at the store (NaN
    // by its bits, as on load).
    Expr stored(Expr e) const {
        if (spec_.dtype != DType::f16) return e;
        Expr nan = (reinterpret<uint32_t>(e) & Expr(uint32_t(0x7fffffffu))) > Expr(uint32_t(0x7f800000u));
        return select(nan, reinterpret(Float(16), cast<uint16_t>(0x7e00)), cast(Float(16), e));
    }
    bool prelu() const { return spec_.act.kind == Act::prelu; }
    // After dot products (set by matmul), an activation of exps and polynomials runs as a pass
    // of its own over a temporary, vectorized along the columns: in the dot form's blocks it ran
    // on vectors of the block's few columns. AMD EPYC Zen 4 (peak 115 GFLOP/s), AVX-512, 1
    // thread: chained backward_data gelu 256x1024x1024 6.75 -> 5.60 ms (relu 5.57), 256x512x512
    // 2.03 -> 1.47, 64x1024x4096 6.5-7.4 -> 6.1-6.8; silu 256x1024x1024 7.81 -> 5.73; forward
    // with W [N,K], gelu 256x1024x1024 8.40 -> 6.26 (relu 5.58), 256x512x512 2.13 -> 1.49 (relu
    // 1.43), silu 6.64 -> 5.59. The same values: the temporary holds the f32 accumulator.
    bool epilogue_as_pass() const { return a_.dot && a_.long_epilogue; }

    // The PReLU slope for column j: shared, or one per column.
    Expr slope_at(const char *name, Expr col) {
        if (!prelu()) return Expr();
        Input s = in(name);
        return spec_.act.slopes == PreluSlopes::shared ? s(0) : s(col);
    }

    // acc(j, i) = init(j) + Σ_r lhs(r, i) * operand(j, r) over a rows x cols result. With
    // clamped reads, rows and columns past the result read its last row and column instead: a
    // schedule may then compute whole tiles past the edge and store only what lies inside.
    void matmul(const std::function<Expr(Expr)> &init, Expr extent, Expr rows, Expr cols,
                const std::function<Expr(Expr, Expr)> &lhs, const std::function<Expr(Expr, Expr)> &operand,
                bool operand_transposed = false) {
        a_.has_matmul = true;
        a_.operand_transposed = operand_transposed;
        Var rr("k");
        Expr jc = clamp_reads_ ? clamp(j, 0, cols - 1) : Expr(j);
        Expr ic = clamp_reads_ ? clamp(i, 0, rows - 1) : Expr(i);
        a_.lhs(rr, i) = lhs(rr, ic);
        if (has_dot_products(spec_) && dot_lanes_ > 0) {
            a_.operand(j, rr) = operand(jc, rr);
            dot_products(init(jc), extent);
            return;
        }
        if (operand_transposed) {
            a_.operand_rows(rr, j) = operand(jc, rr);
            a_.operand_source(j, rr) = a_.operand_rows(rr, j);
            a_.operand(j, rr) = a_.operand_source(j, rr);
        } else {
            a_.operand(j, rr) = operand(jc, rr);
        }
        a_.r = RDom(0, extent, "r");
        a_.acc(j, i) = init(jc);
        a_.acc(j, i) += a_.lhs(a_.r.x, i) * a_.operand(j, a_.r.x);
    }

    // acc(j, i) = init + lhs(·, i)·operand(j, ·) with both read along the reduction, lane by lane.
    void dot_products(Expr init, Expr extent) {
        a_.dot = true;
        const int L = dot_lanes_;
        Var l("l");
        Expr whole = extent / L * L;
        a_.r = RDom(0, extent / L, "r");
        Expr at = a_.r.x * L + l;
        a_.lanes(l, j, i) = 0.0f;
        a_.lanes(l, j, i) += a_.lhs(at, i) * a_.operand(j, at);
        Func sum = a_.lanes;
        for (int width = L / 2; width >= 2; width /= 2) {
            Func half("lanes_" + std::to_string(width));
            // strict_float here and below: the same lanes fold to the same bits under every
            // block shape (fast math let LLVM reassociate the folds as its unrolling differed).
            half(l, j, i) = strict_float(sum(l, j, i) + sum(l + width, j, i));
            a_.dot_folds.push_back(half);
            sum = half;
        }
        RDom past(whole, extent - whole, "r_tail");
        a_.dot_tail(j, i) = 0.0f;
        a_.dot_tail(j, i) += a_.lhs(past.x, i) * a_.operand(j, past.x);
        a_.acc(j, i) = strict_float(init + (sum(0, j, i) + sum(1, j, i)) + a_.dot_tail(j, i));
    }

    // act'(aux(col, row)) for the saved aux of spec_.save. A mask's bit of column j is bit
    // (j / 16) % 8 of byte 16 (j / 128) + j % 16 (tensor.h): where a vector's columns start at a
    // multiple of 16 (a pass's aligned groups, the tiers for cols_aligned), one shift of 16
    // adjacent bytes, loaded whole.
    Expr derivative_from_aux(const Input &aux, Expr col, Expr row, Expr slope) {
        switch (spec_.save) {
        case Save::z: return derivative(spec_.act, aux(col, row), slope);
        case Save::y: return derivative_from_y(spec_.act, aux(col, row));
        case Save::mask: {
            Func factor("mask_factor");
            auto u32 = [](Expr e) { return cast<uint32_t>(e); };
            Expr group16 = j / 16;  // j / 128 as group16 / 8: Halide proves group16 one value per vector
            Expr byte = aux(group16 / 8 * 16 + j % 16, i);
            Expr bit = ((u32(byte) >> u32(group16 % 8)) & u32(1)) != u32(0);
            factor(j, i) = derivative_from_bit(spec_.act, bit);
            a_.mask_factors.push_back(factor);
            return factor(col, row);
        }
        case Save::none: break;
        }
        return Expr(1.0f);
    }

    // tiled as the raw accumulators, an intermediate the passes after it read.
    Func raw_tiles(const char *name) {
        a_.tiled = Func(name);
        a_.tiled_is_output = false;
        a_.tiled(j, i) = a_.acc(j, i);
        return a_.tiled;
    }

    ColumnSum column_sum(const std::string &name, Type t, Expr cols, Expr rows,
                         const std::function<Expr(Expr)> &term, bool is_output = true) {
        ColumnSum c{Func(name), Func(name + "_partial"), RDom(0, rows, name + "_rows"), cols, is_output};
        c.partial(j) = cast(t, 0);
        c.partial(j) += term(c.rows.x);
        c.out(j) = c.partial(j);
        a_.column_sums.push_back(c);
        return c;
    }

    // The PReLU slope gradient from Z and dY, per column or shared.
    void slope_gradient(const std::string &name, Expr cols, Expr rows,
                        const std::function<Expr(Expr, Expr)> &z,
                        const std::function<Expr(Expr, Expr)> &dy) {
        auto term = [&](Expr row) { return prelu_slope_term(z(j, row), dy(j, row)); };
        if (spec_.act.slopes == PreluSlopes::per_column) {
            a_.outputs.push_back(column_sum(name, Float(32), cols, rows, term).out);
            return;
        }
        ColumnSum col = column_sum(name + "_columns", Float(32), cols, rows, term, false);
        Func total(name);
        RDom all(0, cols, name + "_all");
        Var x("x");
        total(x) = 0.0f;
        total(x) += col.out(all.x);
        a_.roots.push_back(total);
        a_.outputs.push_back(total);
    }

    // The columns of forward's output: W's, or for a packed W (whose panels may pad them) those
    // of Y's buffer, known once Y is defined (columns_of).
    Expr forward_columns(const Input &w) const {
        switch (spec_.weight) {
        case WeightLayout::kn: return w.dim(0).extent();
        case WeightLayout::nk: return w.dim(1).extent();
        case WeightLayout::packed: break;
        }
        return Expr();
    }
    // (build() tells Halide that every output starts at 0.)
    static Expr columns_of(const Func &y) { return y.output_buffers()[0].dim(0).extent(); }

    // W(col, r) in the spec's layout.
    Expr weight_at(const Input &w, Expr col, Expr r) const {
        switch (spec_.weight) {
        case WeightLayout::kn: return w(col, r);
        case WeightLayout::nk: return w(r, col);
        case WeightLayout::packed: break;
        }
        const int panel = int(kWeightPanel);
        return w(r * panel + col % panel, col / panel);
    }

    void forward() {
        Input x = in("x"), w = in("w");
        Expr K = x.dim(0).extent(), M = x.dim(1).extent();
        Expr N = forward_columns(w);
        if (clamp_reads_) validate_for_gpu(spec_);  // GPU schedules: no weight=packed
        auto init = [&](Expr col) { return spec_.bias ? in("b")(col) : Expr(0.0f); };
        matmul(init, K, M, N, [&](Expr r, Expr row) { return x(r, row); },
               [&](Expr col, Expr r) { return weight_at(w, col, r); }, reads_weight_transposed(spec_));
        a_.rows = M;
        a_.few_rows_likely = true;
        Expr slope = slope_at("slope", j);

        // Y decides the mask's bits as Z does where Y keeps Z's sign and NaN (relu, relu6,
        // leaky_relu with a slope >= 0: derivative_from_y_allowed) and is stored as f32 (an f16 Y
        // rounds a tiny positive Z to 0): then the mask is a pass over Y, and Z need not be kept.
        // AMD EPYC Zen 4 (peak 117 GFLOP/s), 1 thread, relu saving the mask, Z kept -> mask from
        // Y, two rounds: 16384x32x128 2.11-2.21 -> 1.75-1.81 ms, 8192x64x256 3.35-3.53 ->
        // 2.93-2.99, 1024^3 20.2 -> 20.0; 512^3 and 256x128x128 even (2.51-2.53, 0.085-0.086).
        const bool mask_from_y = spec_.save == Save::mask && spec_.dtype == DType::f32 && derivative_from_y_allowed(spec_.act);
        const bool raw_needed = (spec_.save == Save::mask && !mask_from_y) || spec_.counts || epilogue_as_pass();
        if (!raw_needed) {
            a_.tiled = Func(spec_.save == Save::z ? "y_z" : "y");
            if (spec_.save == Save::z) {
                Expr z = a_.acc(j, i);
                a_.tiled(j, i) = Tuple(stored(activation(spec_.act, z, slope)), stored(z));
            } else {
                a_.tiled(j, i) = stored(activation(spec_.act, a_.acc(j, i), slope));
            }
            a_.cols = N.defined() ? N : columns_of(a_.tiled);
            a_.outputs.push_back(a_.tiled);
            if (mask_from_y) mask_pass(a_.tiled, a_.cols);
            return;
        }
        // Mask and counts read Z again, and a long epilogue after dot products runs apart: keep Z
        // in a temporary and derive the outputs in passes.
        Func z = raw_tiles("z_tiles");
        Func y(spec_.save == Save::z ? "y_z" : "y");
        if (spec_.save == Save::z) {
            y(j, i) = Tuple(stored(activation(spec_.act, z(j, i), slope)), stored(z(j, i)));
        } else {
            y(j, i) = stored(activation(spec_.act, z(j, i), slope));
        }
        if (!N.defined()) N = columns_of(y);
        a_.cols = N;
        a_.passes.push_back({y, N});
        a_.outputs.push_back(y);
        if (spec_.save == Save::mask) mask_pass(z, N);
        if (spec_.counts) {
            a_.outputs.push_back(column_sum("counts", Int(32), N, M, [&](Expr row) {
                                     return select(is_nonzero(derivative(spec_.act, z(j, row), slope)), 1, 0);
                                 }).out);
        }
    }

    // The bit mask of forward's saved aux, a pass over source (Z, or Y where mask_from_y) with N
    // columns, in tensor.h's format: bit b of byte 16g + l in a row is mask_bit of column 128g +
    // 16b + l, and 0 past N. Where N % 16 == 0, each bit of a vector of bytes is one whole
    // vector of the source (clamped below N - 16, which only ever moves vectors past N, whose bits
    // are 0); else each lane reads its own column. Intel Xeon (family 6 model 167, peak 248
    // GFLOP/s), 1 thread, forward relu with W [K,N] saving the mask, the format of a byte per 8
    // columns (8 values gathered per lane) -> this: 256x128x128 0.055-0.066 -> 0.050 ms,
    // 16384x32x128 1.46-1.51 -> 1.24, 8192x64x256 2.13-2.18 -> 1.84-1.89, 256x128x10 0.019 ->
    // 0.016, 1024x512x1000 5.73-5.86 -> 5.47-5.50; 256x100x100 0.053 -> 0.055-0.058 (128 columns'
    // bits where there were 100).
    void mask_pass(Func source, Expr N) {
        Func mask("mask");
        Expr group = j / 16, lane = j % 16;
        Expr aligned = N % 16 == 0;
        Expr byte = cast<uint8_t>(0);
        for (int b = 0; b < 8; b++) {
            Expr first = group * 128 + b * 16, col = first + lane;
            // In range either way; bounds inference cannot see it through the select.
            Expr at = unsafe_promise_clamped(select(aligned, min(first, N - 16) + lane, min(col, N - 1)), 0, N - 1);
            Expr bit = select(aligned, first < N, col < N) && mask_bit(spec_.act, source(at, i));
            byte = byte | select(bit, cast<uint8_t>(1 << b), cast<uint8_t>(0));
        }
        // Under 16 columns only bit 0 of the first N bytes is used: one read per byte.
        Expr narrow = N < 16;
        Expr first_bit = lane < N && mask_bit(spec_.act, source(min(lane, N - 1), i));
        mask(j, i) = select(narrow, select(first_bit, cast<uint8_t>(1), cast<uint8_t>(0)), byte);
        // Whole groups of 16 bytes (from byte 0, as every output): a vector of them starts at a
        // multiple of 16.
        Expr bytes = 16 * ((N + 127) / 128);
        mask.output_buffer().dim(0).set_extent(bytes);
        a_.passes.push_back({mask, bytes, Expr(), {aligned, narrow}});
        a_.outputs.push_back(mask);
    }

    void activation_backward() {
        Input dy = in("dy");
        Input aux = in(spec_.save == Save::y ? "y" : spec_.save == Save::z ? "z" : "mask");
        Expr N = dy.dim(0).extent(), M = dy.dim(1).extent();
        a_.cols = N;
        a_.rows = M;
        Expr slope = slope_at("slope", j);
        a_.tiled = Func("dz");
        a_.tiled(j, i) = stored(strict_float(dy(j, i) * derivative_from_aux(aux, j, i, slope)));
        a_.outputs.push_back(a_.tiled);
        Func dz = a_.tiled;
        if (spec_.bias) {
            a_.outputs.push_back(column_sum("db", Float(32), N, M, [&](Expr row) { return dz(j, row); }).out);
        }
        if (prelu()) {
            slope_gradient("dslope", N, M, [&](Expr c, Expr r) { return aux(c, r); },
                           [&](Expr c, Expr r) { return dy(c, r); });
        }
    }

    void backward_data() {
        Input dz = in("dz"), w = in("w");
        const bool kn = spec_.weight == WeightLayout::kn;
        Expr N = dz.dim(0).extent(), M = dz.dim(1).extent();
        Expr K = kn ? w.dim(1).extent() : w.dim(0).extent();
        const bool chained = spec_.act.kind != Act::identity;
        // dX itself, for the slope gradient; set below.
        std::function<Expr(Expr, Expr)> dx_at;
        if (transposed_product_ && kn && !clamp_reads_) {
            // dXᵀ(m, k) = Σ_n W[k,n] dZ[m,n]: W's rows as the left operand, read along the
            // reduction, and dZᵀ as the right one (CpuSchedule::transposed_product).
            a_.transposed_product = true;
            Var c("c"), n("n");
            a_.operand_rows(n, c) = dz(n, c);
            a_.operand_source(c, n) = a_.operand_rows(n, c);
            Func dzt = a_.operand_source;
            matmul(zero, N, K, M, [&](Expr r, Expr row) { return w(r, row); },
                   [&](Expr col, Expr r) { return dzt(col, r); });
            a_.cols = M;
            a_.rows = K;
            Func dxt = raw_tiles("dxt");
            Func out(chained ? "dz_prev" : "dx");
            Expr e = dxt(i, j);
            if (chained) e = strict_float(e * derivative_from_aux(in("prev_aux"), j, i, slope_at("prev_slope", j)));
            out(j, i) = stored(e);
            a_.passes.push_back({out, K, M});
            dx_at = [dxt](Expr c, Expr r) { return dxt(r, c); };
        } else {
            matmul(zero, N, M, K, [&](Expr r, Expr row) { return dz(r, row); },
                   [&](Expr col, Expr r) { return kn ? w(r, col) : w(col, r); }, reads_weight_transposed(spec_));
            a_.cols = K;
            a_.rows = M;
            if (!chained) {
                a_.tiled = Func("dx");
                a_.tiled(j, i) = stored(a_.acc(j, i));
            } else if (!prelu() && !epilogue_as_pass()) {
                Input aux = in("prev_aux");
                // Tiers for aligned columns read a mask's bits one word per vector; Z or Y loads
                // the same either way, and the tiers would only double the code (and the compile
                // time: chained gelu over Z 13 -> 7 s on AVX-512). Only CPU schedules of register
                // blocks have them.
                const bool tiers = spec_.save == Save::mask && !a_.dot && !clamp_reads_;
                a_.tiled = Func("dz_prev");
                a_.tiled(j, i) = stored(strict_float(a_.acc(j, i) * derivative_from_aux(aux, j, i, Expr())));
                if (tiers) a_.cols_aligned = K % 16 == 0;
            } else {
                // The slope gradient needs dX itself, and a long epilogue after dot products runs
                // apart: keep dX in a temporary.
                Input aux = in("prev_aux");
                Func dx = raw_tiles("dx_tiles");
                Func out("dz_prev");
                out(j, i) = stored(strict_float(dx(j, i) * derivative_from_aux(aux, j, i, slope_at("prev_slope", j))));
                a_.passes.push_back({out, K});
            }
            Func dx = a_.tiled;
            dx_at = [dx](Expr c, Expr r) { return dx(c, r); };
        }
        Func result = a_.tiled_is_output ? a_.tiled : a_.passes.back().f;
        a_.outputs.push_back(result);
        if (spec_.bias) {
            a_.outputs.push_back(column_sum("db_prev", Float(32), K, M, [&](Expr row) { return result(j, row); }).out);
        }
        if (a_.cols_aligned.defined()) {
            // The outputs' columns are W's K (run_kernel checks it), and Halide is told so: then
            // K % 16 == 0 tells it that the tiles, which span the columns its consumers read,
            // start at multiples of 16.
            for (Func &out : a_.outputs) out.output_buffer().dim(0).set_extent(K);
        }
        if (prelu()) {
            Input aux = in("prev_aux");
            slope_gradient("dslope_prev", K, M, [&](Expr c, Expr r) { return aux(c, r); }, dx_at);
        }
    }

    void backward_weight() {
        Input x = in("x"), dz = in("dz");
        const bool kn = spec_.weight == WeightLayout::kn;
        Expr M = x.dim(1).extent(), K = x.dim(0).extent(), N = dz.dim(0).extent();
        // kn: dW[K,N] is dw(n, k) = Σ_m x(k, m) dz(n, m); nk: dW[N,K] is dw(k, n) likewise. Over
        // [K,N] weights the transposed product computes dWᵀ, the [N,K] layout's product (vectors
        // along K however few dW's columns are), and writes dW from it
        // (CpuSchedule::transposed_product).
        a_.lhs_transposed = true;
        a_.transposed_product = kn && transposed_product_ && !clamp_reads_;
        const bool dz_left = !kn || a_.transposed_product;  // dZᵀ·X, else Xᵀ·dZ
        Var c("c"), m("m");
        Func lhs_rows = a_.lhs_rows;
        lhs_rows(c, m) = dz_left ? dz(c, m) : x(c, m);
        a_.rows = dz_left ? N : K;
        a_.cols = dz_left ? K : N;
        matmul(zero, M, a_.rows, a_.cols, [&](Expr r, Expr row) { return lhs_rows(row, r); },
               [&](Expr col, Expr r) { return dz_left ? x(col, r) : dz(col, r); });
        if (a_.transposed_product) {
            Func dwt = raw_tiles("dwt"), dw("dw");
            dw(j, i) = stored(dwt(i, j));
            a_.passes.push_back({dw, N, K});
            a_.outputs.push_back(dw);
        } else {
            a_.tiled = Func("dw");
            a_.tiled(j, i) = stored(a_.acc(j, i));
            a_.outputs.push_back(a_.tiled);
        }
        if (spec_.bias) {
            a_.outputs.push_back(column_sum("db", Float(32), N, M, [&](Expr row) { return dz(j, row); }).out);
        }
    }
};

}  // namespace

Algorithm build_algorithm(const KernelSpec &spec, bool clamp_matmul_reads, int dot_lanes, bool transposed_product) {
    validate(spec);
    return Builder(spec, clamp_matmul_reads, dot_lanes, transposed_product).build();
}

}  // namespace reluforge::gen
