// Every check the runtime makes on tensors before a kernel runs, and the errors it throws.
#include "reluforge/cuda.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace reluforge;

namespace {

struct Fixture {
    static constexpr int M = 5, K = 4, N = 9;
    std::vector<float> x = std::vector<float>(M * K, 1.0f), w = std::vector<float>(K * N, 1.0f),
                       b = std::vector<float>(N, 0.0f), y = std::vector<float>(M * N, 0.0f);
    std::vector<uint8_t> mask = std::vector<uint8_t>(size_t(mask_row_bytes(N) * M));
    Linear layer{Activation{Act::relu}, true, WeightLayout::kn, Save::mask};

    ForwardArgs args() {
        ForwardArgs a;
        a.x = Tensor::matrix(x.data(), M, K);
        a.w = Tensor::matrix(w.data(), K, N);
        a.b = Tensor::vector(b.data(), N);
        a.y = Tensor::matrix(y.data(), M, N);
        a.aux = Tensor::mask(mask.data(), M, N);
        return a;
    }
};

void expect_error(const std::function<void()> &f, ErrorCode code, const std::string &message) {
    try {
        f();
        FAIL("no error thrown; expected: " << message);
    } catch (const Error &e) {
        INFO(e.what());
        CHECK(e.code() == code);
        CHECK_THAT(e.what(), Catch::Contains(message));
    }
}

}  // namespace

TEST_CASE("good tensors pass", "[errors]") {
    Fixture f;
    REQUIRE_NOTHROW(f.layer.forward(f.args()));
    CHECK(f.y[0] == 4.0f);  // relu(1*1*4 + 0)
}

TEST_CASE("bad tensors are refused with an error naming the problem", "[errors]") {
    Fixture f;
    auto run = [&](auto mutate) {
        return [&f, mutate] {
            ForwardArgs a = f.args();
            mutate(a);
            f.layer.forward(a);
        };
    };
    expect_error(run([](ForwardArgs &a) { a.x.data = nullptr; }), ErrorCode::null_data, "argument 'x'");
    expect_error(run([](ForwardArgs &a) { a.w.dtype = DType::f16; }), ErrorCode::bad_dtype, "'w' of kernel 'forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' has dtype f16, expected f32");
    expect_error(run([](ForwardArgs &a) { a.w.shape[0] = 3; }), ErrorCode::shape_mismatch, "'w'");
    expect_error(run([](ForwardArgs &a) { a.w.shape[0] = 3; }), ErrorCode::shape_mismatch, "K = 4");
    expect_error(run([](ForwardArgs &a) { a.b.shape[0] = 8; }), ErrorCode::shape_mismatch, "'b'");
    expect_error(run([](ForwardArgs &a) { a.y.shape[0] = 4; }), ErrorCode::shape_mismatch, "M = 5");
    expect_error(run([&](ForwardArgs &a) { a.b = Tensor::matrix(f.b.data(), 1, 9); }), ErrorCode::shape_mismatch, "has rank 2, expected 1");
    expect_error(run([](ForwardArgs &a) { a.x.stride[1] = 2; }), ErrorCode::bad_layout, "innermost stride 2");
    expect_error(run([](ForwardArgs &a) { a.x.stride[0] = 3; }), ErrorCode::bad_layout, "row stride 3 smaller than its 4 columns");
    expect_error(run([&](ForwardArgs &a) { a.aux = Tensor::mask(f.mask.data(), 5, 9, 32); }), ErrorCode::bad_layout, "not a multiple of 64");
    expect_error(run([&](ForwardArgs &a) { a.aux = Tensor::mask(f.mask.data(), 5, 129); }), ErrorCode::shape_mismatch, "'mask'");
    expect_error(run([&](ForwardArgs &a) { a.y = Tensor::matrix(f.x.data(), 5, 9); }), ErrorCode::aliasing, "output 'y' of kernel");
    expect_error(run([&](ForwardArgs &a) { a.y = Tensor::matrix(f.x.data(), 5, 9); }), ErrorCode::aliasing, "overlaps input 'x'");
    expect_error(run([&](ForwardArgs &a) { a.aux.data = f.y.data() + 3; a.aux.dtype = DType::u8; }), ErrorCode::aliasing, "output 'y' of kernel 'forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' overlaps output 'mask'");
    expect_error(run([](ForwardArgs &a) { a.w.device = Device::cuda; }), ErrorCode::wrong_device,
                 "argument 'w' of kernel 'forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' is a cuda tensor "
                 "but the earlier arguments are cpu tensors");
    expect_error(run([](ForwardArgs &a) { a.b = Tensor{}; }), ErrorCode::bad_argument, "'b' of kernel");
    expect_error(run([](ForwardArgs &a) { a.b = Tensor{}; }), ErrorCode::bad_argument, "is missing: expected f32 [N]");
    expect_error(run([](ForwardArgs &a) { a.x.shape[0] = 0; a.y.shape[0] = 0; }), ErrorCode::shape_mismatch, "must be >= 1");
    expect_error(run([](ForwardArgs &a) { a.b.shape[0] = 3; }), ErrorCode::shape_mismatch,
                 "argument 'b' of kernel 'forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' must be [N] but its "
                 "length is 3 where N = 9 (from earlier arguments)");
    expect_error(run([](ForwardArgs &a) { a.w.shape[0] = 3; }), ErrorCode::shape_mismatch,
                 "must be [K,N] but its row extent is 3 where K = 4");
}

// A relu Linear saves a bit mask by default: handing it an f32 Z says what to do instead.
TEST_CASE("an f32 tensor where a bit mask is expected names both ways out", "[errors]") {
    Fixture f;
    std::vector<float> z(size_t(Fixture::M * Fixture::N));
    ForwardArgs a = f.args();
    a.aux = Tensor::matrix(z.data(), Fixture::M, Fixture::N);
    expect_error([&] { f.layer.forward(a); }, ErrorCode::bad_dtype,
                 "bad dtype: argument 'mask' of kernel 'forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' has "
                 "dtype f32, expected u8: the spec saves a bit mask, one bit per element (Tensor::mask over "
                 "[M, mask_row_bytes(N)] bytes); to keep Z as f32 instead, use save=z in the spec (Save::z for a Linear)");
    // With save=z the same tensors pass every check (this build has no such kernel to run).
    Linear saving_z(Activation{Act::relu}, true, WeightLayout::kn, Save::z);
    expect_error([&] { saving_z.forward(a); }, ErrorCode::no_kernel, "no kernel registered for spec 'forward:relu:bias=1:weight=kn:save=z");
}

TEST_CASE("host memory declared as CUDA tensors is refused", "[errors][cuda]") {
    Fixture f;
    ForwardArgs a = f.args();
    for (Tensor *t : {&a.x, &a.w, &a.b, &a.y, &a.aux}) *t = t->on(Device::cuda);
    if (cuda::available()) {
        // A driver sees that the pointers are not device memory.
        expect_error([&] { f.layer.forward(a); }, ErrorCode::wrong_device, "its pointer is not CUDA device memory");
    } else {
        expect_error([&] { f.layer.forward(a); }, ErrorCode::no_device, "was given CUDA tensors");
        expect_error([&] { cuda::DeviceBuffer buffer(64); }, ErrorCode::no_device, cuda::unavailable_reason());
        CHECK_THAT(cuda::unavailable_reason(), Catch::Contains("CUDA driver"));
    }
}

TEST_CASE("run_kernel checks the argument count, the spec and that a kernel exists", "[errors]") {
    Fixture f;
    ForwardArgs a = f.args();
    expect_error([&] { run_kernel("forward:relu:bias=1:weight=kn:save=mask", {a.x, a.w, a.b, a.y}); },
                 ErrorCode::bad_argument, "takes 5 tensors (x, w, b, y, mask), got 4");
    expect_error([&] { run_kernel("forward:relu:bogus=1", {a.x}); }, ErrorCode::bad_spec, "unknown key 'bogus'");
    // Tensors are checked first (their shape picks the variant), then the kernel is looked up.
    expect_error([&] { run_kernel("forward:softplus(beta=3,threshold=20):bias=0", {a.x, a.w, a.y}); },
                 ErrorCode::no_kernel, "no kernel registered for spec 'forward:softplus(beta=3,threshold=20):bias=0:weight=kn:save=none:counts=0:dtype=f32'");
}

TEST_CASE("run_kernel tells apart specs that differ in one field, however many it has seen", "[errors]") {
    // Each thread keeps the text and signature of the last eight specs it ran: twelve specs in
    // turn, each differing from another in one field (a float parameter's bits among them), must
    // each be checked as itself. The error names the spec and its argument count.
    Fixture f;
    const std::pair<KernelSpec, const char *> specs[] = {
        {parse_spec("forward:relu:bias=1"), "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32' takes 4"},
        {parse_spec("forward:relu:bias=0"), "forward:relu:bias=0:weight=kn:save=none:counts=0:dtype=f32' takes 3"},
        {parse_spec("forward:relu:bias=1:save=mask"), "forward:relu:bias=1:weight=kn:save=mask:counts=0:dtype=f32' takes 5"},
        {parse_spec("forward:relu:bias=1:counts=1"), "forward:relu:bias=1:weight=kn:save=none:counts=1:dtype=f32' takes 5"},
        {parse_spec("forward:relu:bias=1:weight=nk"), "forward:relu:bias=1:weight=nk:save=none:counts=0:dtype=f32' takes 4"},
        {parse_spec("forward:relu:bias=1:dtype=f16"), "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f16' takes 4"},
        {parse_spec("forward:leaky_relu(slope=0.5)"), "forward:leaky_relu(slope=0.5):bias=1"},
        {parse_spec("forward:leaky_relu(slope=0.25)"), "forward:leaky_relu(slope=0.25):bias=1"},
        {parse_spec("forward:leaky_relu(slope=0)"), "forward:leaky_relu(slope=0):bias=1"},
        {parse_spec("forward:leaky_relu(slope=-0)"), "forward:leaky_relu(slope=-0):bias=1"},
        {parse_spec("forward:prelu(slopes=per_column)"), "forward:prelu(slopes=per_column):bias=1:weight=kn:save=none:counts=0:dtype=f32' takes 5"},
        {parse_spec("backward_weight:bias=1"), "backward_weight:bias=1:weight=kn:dtype=f32' takes 4"},
    };
    for (int round = 0; round < 3; round++) {
        for (const auto &[spec, message] : specs) {
            expect_error([&] { run_kernel(spec, {Tensor::matrix(f.x.data(), Fixture::M, Fixture::K)}); },
                         ErrorCode::bad_argument, message);
        }
    }
}

TEST_CASE("layer-level misuse is refused", "[errors]") {
    Fixture f;
    Linear with_y(Activation{Act::relu}, true, WeightLayout::kn, Save::y);
    ForwardArgs a = f.args();
    a.aux = Tensor::matrix(f.b.data(), 1, 9);
    expect_error([&] { with_y.forward(a); }, ErrorCode::bad_argument, "saves Y for backward");
    expect_error([&] { Linear(Activation{Act::gelu}, true, WeightLayout::kn, Save::mask); }, ErrorCode::bad_spec, "save=mask needs");
    expect_error([] { set_num_threads(-1); }, ErrorCode::bad_argument, "thread count -1");
    expect_error([] { parse_isa("avx1024"); }, ErrorCode::bad_argument, "allowed: avx512, avx2, sse41");
}

TEST_CASE("a negative leading dimension and an invalid device value are refused by name", "[errors]") {
    Fixture f;
    ForwardArgs a = f.args();
    a.x = Tensor::matrix(f.x.data(), 4, 3, -3);
    CHECK(a.x.stride[0] == -3);  // kept as given, not silently made packed
    expect_error([&] { f.layer.forward(a); }, ErrorCode::bad_layout, "argument 'x' of kernel");
    expect_error([&] { f.layer.forward(a); }, ErrorCode::bad_layout, "row stride -3: it must be positive");
    a = f.args();
    a.w.device = static_cast<Device>(7);
    expect_error([&] { f.layer.forward(a); }, ErrorCode::wrong_device, "argument 'w' of kernel");
    expect_error([&] { f.layer.forward(a); }, ErrorCode::wrong_device, "device value 7, which is none of Device::cpu, Device::cuda and Device::opencl");
    CHECK(std::string(to_string(static_cast<Device>(7))) == "invalid");
}

TEST_CASE("Linear::backward checks dy before it allocates the dZ scratch", "[errors]") {
    Fixture f;
    std::vector<float> dy(f.M * f.N, 1.0f), dx(f.M * f.K), dw(f.K * f.N), db(f.N);
    auto backward = [&](std::int64_t rows, std::int64_t cols) {
        return [&f, &dy, &dx, &db, rows, cols] {
            BackwardArgs a;
            a.db = Tensor::vector(db.data(), f.N);
            a.dy = Tensor::matrix(dy.data(), rows, cols);
            a.aux = Tensor::mask(f.mask.data(), f.M, f.N);
            a.w = Tensor::matrix(f.w.data(), f.K, f.N);
            a.dx = Tensor::matrix(dx.data(), f.M, f.K);
            f.layer.backward(a);
        };
    };
    REQUIRE_NOTHROW(backward(f.M, f.N)());
    // Each of these threw std::length_error, allocated 8.6 GB, or overflowed before the check.
    expect_error(backward(-1, f.N), ErrorCode::shape_mismatch, "argument 'dy'");
    expect_error(backward(-1, f.N), ErrorCode::shape_mismatch, "row extent -1: must be >= 1");
    expect_error(backward(46341, 46341), ErrorCode::bad_layout, "more than 2^31 elements");
    expect_error(backward(std::int64_t(1) << 31, std::int64_t(1) << 31), ErrorCode::bad_layout, "more than 2^31 elements");
    // A dy that fits but disagrees with the saved mask: refused before any scratch is made.
    expect_error(backward(f.M + 1, f.N), ErrorCode::shape_mismatch, "argument 'mask'");
}
