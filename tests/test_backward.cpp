// Backward of one layer (dZ, db, dslope, dX, dW) for every activation and saved aux.
#include "support/harness.h"

#include "reluforge/registry.h"

#include <catch2/catch.hpp>

TEST_CASE("backward matches the reference for every activation, aux and shape", "[backward]") {
    cases::for_each_case("backward", 100, cases::check_backward);
}

namespace {
// Runs a test on n kernel threads, and puts back the count it found.
struct ThreadsRestored {
    int before = reluforge::num_threads();
    explicit ThreadsRestored(int n) { reluforge::set_num_threads(n); }
    ~ThreadsRestored() { reluforge::set_num_threads(before); }
};
}  // namespace

// One CPU thread, rows enough for several blocks of backward_block_rows and a last one shorter:
// dZ block by block, dW, db and dslope summed over the blocks (runtime/src/backward_row_blocks.cpp).
TEST_CASE("backward by row blocks matches the reference", "[backward]") {
    using namespace reluforge;
    const ThreadsRestored restore(1);
    const cases::Shape shape{2600, 37, 130};
    unsigned seed = 900;
    for (const char *text : {"relu", "prelu(slopes=per_column)", "prelu(slopes=shared)", "gelu(approximate=none)", "elu(alpha=0.5)", "hardswish"}) {
        for (const Linear &layer : cases::layers(parse_activation(text))) {
            INFO(cases::describe(layer));
            std::vector<float> probe(1);
            BackwardArgs shape_only;
            shape_only.dy = Tensor::matrix(probe.data(), shape.M, shape.N);
            shape_only.x = Tensor::matrix(probe.data(), shape.M, shape.K);
            const std::int64_t rows = layer.backward_block_rows(shape_only);
            REQUIRE(rows > 0);
            REQUIRE(shape.M % rows != 0);
            REQUIRE(shape.M / rows >= 2);
            for (bool specials : {false, true}) {
                const auto cmp = cases::check_backward(layer, shape, seed++, specials);
                INFO(cmp.report);
                CHECK(cmp.checked > 0);
                CHECK(cmp.failed == 0);
            }
        }
    }
}

// Where dZ is not asked for, the blocks write it to scratch: the same kernels, so the same bits as
// with dZ given. Two threads take the whole matrix at once.
TEST_CASE("backward by row blocks gives the same bits with dZ in scratch, and runs whole on two threads", "[backward]") {
    using namespace reluforge;
    const ThreadsRestored restore(1);
    const int M = 5000, K = 20, N = 70;  // blocks of 2048 rows, the last of 904
    ref::Mat x(M, K), w(K, N), dy(M, N), z(M, N);
    ref::fill_uniform(x, 1);
    ref::fill_uniform(w, 2);
    ref::fill_uniform(dy, 3);
    ref::fill_uniform(z, 4, -4.0f, 4.0f);
    for (const char *text : {"prelu(slopes=per_column)", "silu", "gelu(approximate=tanh)"}) {
        const Activation act = parse_activation(text);
        INFO(text);
        const Linear layer = cases::layers(act).front();  // W [K,N], bias, saving Z
        REQUIRE(layer.save() == Save::z);
        std::vector<float> slopes(act.kind == Act::prelu ? N : 0, 0.25f);
        struct Outputs {
            std::vector<float> dx, dw, db, dslope, dz;
        };
        auto run = [&](bool want_dz) {
            Outputs o{std::vector<float>(size_t(M) * K), std::vector<float>(size_t(K) * N), std::vector<float>(N),
                      std::vector<float>(slopes.size()), std::vector<float>(size_t(M) * N)};
            BackwardArgs a;
            a.dy = Tensor::matrix(dy.v.data(), M, N);
            a.aux = Tensor::matrix(z.v.data(), M, N);
            a.x = Tensor::matrix(x.v.data(), M, K);
            a.w = Tensor::matrix(w.v.data(), K, N);
            if (!slopes.empty()) {
                a.slope = Tensor::vector(slopes.data(), N);
                a.dslope = Tensor::vector(o.dslope.data(), N);
            }
            a.dx = Tensor::matrix(o.dx.data(), M, K);
            a.dw = Tensor::matrix(o.dw.data(), K, N);
            a.db = Tensor::vector(o.db.data(), N);
            if (want_dz) a.dz = Tensor::matrix(o.dz.data(), M, N);
            layer.backward(a);
            return std::make_pair(o, layer.backward_block_rows(a));
        };
        set_num_threads(1);
        const auto [with_dz, blocks_with_dz] = run(true);
        const auto [scratch_dz, blocks_scratch] = run(false);
        CHECK(blocks_with_dz > 0);
        CHECK(blocks_scratch == blocks_with_dz);
        CHECK(with_dz.dx == scratch_dz.dx);
        CHECK(with_dz.dw == scratch_dz.dw);
        CHECK(with_dz.db == scratch_dz.db);
        CHECK(with_dz.dslope == scratch_dz.dslope);
        set_num_threads(2);
        const auto [whole, blocks_whole] = run(true);
        CHECK(blocks_whole == 0);
        CHECK(whole.dx == with_dz.dx);  // dX's rows do not depend on the blocks
        CHECK(whole.dz == with_dz.dz);
    }
}
