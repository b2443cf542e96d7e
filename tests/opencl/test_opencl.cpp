// OpenCL kernels (the GPU schedule the CUDA kernels use) against the same reference and
// tolerances as the CPU ones, on OpenCL device memory; on pocl (an OpenCL platform on the CPU)
// where there is no GPU. Kernels come from the AOT test libraries: this program links no LLVM of
// its own, as pocl loads another. It exits with 77 (skipped) and says why when no OpenCL
// platform is present.
#define CATCH_CONFIG_RUNNER
#include "support/harness.h"
#include "support/placement.h"

#include "reluforge/opencl.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

using namespace reluforge;

namespace {

struct OnOpenCL {
    OnOpenCL() { cases::set_placement({Device::opencl, DType::f32}); }
    ~OnOpenCL() { cases::set_placement({}); }
};

}  // namespace

TEST_CASE("OpenCL f32: forward matches the reference", "[opencl]") {
    OnOpenCL on;
    cases::for_each_case("opencl forward", 1, cases::check_forward);
}

TEST_CASE("OpenCL f32: backward matches the reference", "[opencl]") {
    OnOpenCL on;
    cases::for_each_case("opencl backward", 2, cases::check_backward);
}

TEST_CASE("OpenCL f32: chained backward matches the reference", "[opencl]") {
    OnOpenCL on;
    cases::for_each_case("opencl chained backward", 3, cases::check_chained);
}

TEST_CASE("an OpenCL kernel refuses host tensors and a CPU kernel OpenCL tensors", "[opencl]") {
    // A spec the test libraries hold for both: X [3,4], W [N,K] = [3,4], Y [3,3].
    std::vector<float> w(12, 1.0f), y(9);
    opencl::DeviceBuffer dx(48), dw(48), dy(36);
    const KernelSpec spec = parse_spec("forward:identity:bias=0:weight=nk");
    CHECK_THROWS_WITH(run_kernel(spec, {Tensor::matrix(dx.data(), DType::f32, 3, 4).on(Device::opencl),
                                        Tensor::matrix(w.data(), 3, 4), Tensor::matrix(y.data(), 3, 3)}),
                      Catch::Contains("argument 'w'") && Catch::Contains("is a cpu tensor"));
    const KernelHandle cpu = find_kernel(spec);
    CHECK_THROWS_WITH(run_kernel(cpu, {Tensor::matrix(dx.data(), DType::f32, 3, 4).on(Device::opencl),
                                       Tensor::matrix(dw.data(), DType::f32, 3, 4).on(Device::opencl),
                                       Tensor::matrix(dy.data(), DType::f32, 3, 3).on(Device::opencl)}),
                      Catch::Contains("runs on cpu but its tensors are opencl tensors"));
}

TEST_CASE("a spec without an OpenCL kernel says how to build one", "[opencl]") {
    CHECK_THROWS_WITH(find_kernel(parse_spec("forward:leaky_relu(slope=0.5)"), {}, Device::opencl),
                      Catch::Contains("reluforge-gen --opencl"));
}

TEST_CASE("an output aliasing an input is refused on OpenCL too", "[opencl]") {
    opencl::DeviceBuffer x(48), w(48);
    const Tensor tx = Tensor::matrix(x.data(), DType::f32, 3, 4).on(Device::opencl);
    CHECK_THROWS_WITH(run_kernel(parse_spec("forward:identity:bias=0:weight=nk"),
                                 {tx, Tensor::matrix(w.data(), DType::f32, 3, 4).on(Device::opencl),
                                  Tensor::matrix(x.data(), DType::f32, 3, 3).on(Device::opencl)}),
                      Catch::Contains("aliasing"));
}

int main(int argc, char **argv) {
    if (!opencl::available()) {
        std::printf("reluforge_opencl_tests: skipped: %s\n", opencl::unavailable_reason().c_str());
        return 77;
    }
    const opencl::DeviceInfo d = opencl::device();
    std::printf("reluforge_opencl_tests: %s on %s; cl_khr_fp16: %s (f16 storage is not tested here)\n",
                d.name.c_str(), d.platform.c_str(), d.fp16 ? "yes" : "no");
    return Catch::Session().run(argc, argv);
}
