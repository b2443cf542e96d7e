// CUDA kernels against the same reference and tolerances as the CPU ones, on device memory, in f32
// and with f16 storage; kernels come from the JIT (capability: the highest Halide 14 targets that
// this GPU runs). The program exits with 77 (skipped) and says why when no GPU is present.
#include "support/catch_runner.h"
#include "support/harness.h"
#include "support/placement.h"

#include "reluforge/cuda.h"
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

using namespace reluforge;

namespace {

struct OnCuda {
    explicit OnCuda(DType dtype) { cases::set_placement({Device::cuda, dtype}); }
    ~OnCuda() { cases::set_placement({}); }
};

}  // namespace

TEST_CASE("the device is described", "[cuda]") {
    const cuda::DeviceInfo d = cuda::device();
    INFO(d.name);
    CHECK(d.capability >= 30);
    CHECK(d.multiprocessors > 0);
    CHECK(find_kernel(parse_spec("forward:relu"), {}, Device::cuda).cuda_capability == cuda_build_capability(d.capability));
}

TEST_CASE("CUDA f32: forward matches the reference", "[cuda]") {
    OnCuda on(DType::f32);
    cases::for_each_case("cuda forward", 1, cases::check_forward);
}

TEST_CASE("CUDA f32: backward matches the reference", "[cuda]") {
    OnCuda on(DType::f32);
    cases::for_each_case("cuda backward", 2, cases::check_backward);
}

TEST_CASE("CUDA f32: chained backward matches the reference", "[cuda]") {
    OnCuda on(DType::f32);
    cases::for_each_case("cuda chained backward", 3, cases::check_chained);
}

TEST_CASE("CUDA f16: forward, backward and chained backward match the reference", "[cuda][f16]") {
    OnCuda on(DType::f16);
    cases::for_each_case("cuda f16 forward", 11, cases::check_forward);
    cases::for_each_case("cuda f16 backward", 12, cases::check_backward);
    cases::for_each_case("cuda f16 chained backward", 13, cases::check_chained);
}

TEST_CASE("a CUDA kernel refuses host tensors and a CPU kernel device tensors", "[cuda]") {
    std::vector<float> x(12, 1.0f), w(12, 1.0f), y(9);
    cuda::DeviceBuffer dx(48), dw(48), dy(36);
    const KernelSpec spec = parse_spec("forward:relu:bias=0");
    CHECK_THROWS_WITH(run_kernel(spec, {Tensor::matrix(dx.data(), DType::f32, 3, 4).on(Device::cuda),
                                        Tensor::matrix(w.data(), 4, 3), Tensor::matrix(y.data(), 3, 3)}),
                      Catch::Contains("argument 'w'") && Catch::Contains("is a cpu tensor"));
    const KernelHandle cpu = find_kernel(spec);
    CHECK_THROWS_WITH(run_kernel(cpu, {Tensor::matrix(dx.data(), DType::f32, 3, 4).on(Device::cuda),
                                       Tensor::matrix(dw.data(), DType::f32, 4, 3).on(Device::cuda),
                                       Tensor::matrix(dy.data(), DType::f32, 3, 3).on(Device::cuda)}),
                      Catch::Contains("runs on cpu but its tensors are cuda tensors"));
}

TEST_CASE("kernels run on the stream the host app hands over", "[cuda]") {
    cuda::Stream stream;
    cuda::set_stream(stream.get());
    CHECK(cuda::stream() == stream.get());
    {
        OnCuda on(DType::f32);
        const auto cmp = cases::check_forward(Linear(Activation{Act::relu}), {33, 17, 65}, 7, false);
        INFO(cmp.report);
        CHECK(cmp.checked > 0);
        CHECK(cmp.failed == 0);
    }
    cuda::set_context(nullptr, nullptr);  // back to the primary context and its default stream
    CHECK(cuda::stream() == nullptr);
}

int main(int argc, char **argv) {
    if (!cuda::available()) {
        std::printf("reluforge_cuda_tests: skipped: %s\n", cuda::unavailable_reason().c_str());
        return 77;
    }
    const auto cache = std::filesystem::temp_directory_path() / ("reluforge-test-cuda-" + std::to_string(::getpid()));
    jit::Options options;
    options.cache_dir = cache;
    options.quiet = true;
    jit::enable(options);
    const cuda::DeviceInfo d = cuda::device();
    std::printf("reluforge_cuda_tests: %s (capability %d, %d SMs), kernels built for sm_%d\n", d.name.c_str(),
                d.capability, d.multiprocessors, cuda_build_capability(d.capability));
    return run_catch(argc, argv);
}
