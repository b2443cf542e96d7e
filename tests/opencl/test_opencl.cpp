// OpenCL kernels (the GPU schedule the CUDA kernels use) against the same reference and
// tolerances as the CPU ones, on OpenCL device memory; on pocl (an OpenCL platform on the CPU)
// where there is no GPU. Kernels come from the AOT test libraries: this program links no LLVM of
// its own, as pocl loads another. It exits with 77 (skipped) and says why when no OpenCL
// platform is present.
#include "support/catch_runner.h"
#include "support/harness.h"
#include "support/placement.h"

#include "reluforge/detail/variants.h"
#include "reluforge/opencl.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

using namespace reluforge;

namespace {

struct OnOpenCL {
    explicit OnOpenCL(DType dtype = DType::f32) { cases::set_placement({Device::opencl, dtype}); }
    ~OnOpenCL() { cases::set_placement({}); }
};

std::vector<VariantInfo> opencl_variants() {
    std::vector<VariantInfo> out;
    for (const auto &v : registered_variants()) {
        if (v.device == Device::opencl) out.push_back(v);
    }
    return out;
}

std::string work_group_refusal(std::int64_t allowed) {
    return "work-groups of 256 work-items where the device allows " + std::to_string(allowed);
}

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

TEST_CASE("OpenCL f16: forward, backward and chained backward match the reference", "[opencl][f16]") {
    if (!opencl::device().fp16) {
        WARN("f16 storage not run: the device does not report cl_khr_fp16");
        return;
    }
#ifndef RELUFORGE_TEST_OPENCL_F16
    FAIL("the device reports cl_khr_fp16: configure with -DRELUFORGE_TEST_OPENCL_F16=ON to build its f16 kernels");
#endif
    OnOpenCL on(DType::f16);
    cases::for_each_case("opencl f16 forward", 11, cases::check_forward);
    cases::for_each_case("opencl f16 backward", 12, cases::check_backward);
    cases::for_each_case("opencl f16 chained backward", 13, cases::check_chained);
}

TEST_CASE("the registry lists the OpenCL kernels with what their schedule asks of the device", "[opencl]") {
    const auto variants = opencl_variants();
    REQUIRE(variants.size() >= 192);  // every test spec
    const GpuLimits limits = opencl::device().limits;
    INFO("device limits: " << limits.max_work_items << " work-items, " << limits.max_extent_x << "x"
                           << limits.max_extent_y << ", " << limits.local_bytes << " bytes of local memory");
    for (const auto &v : variants) {
        INFO(v.spec);
        CHECK(v.cuda_capability == 0);
        if (v.spec.find("(alpha=0.75)") != std::string::npos || v.spec.find("(slope=0.25)") != std::string::npos) {
            // test_kernels_small_gpu_blocks: 8x8 threads, passes of 16x8 and column sums of 128;
            // two 8-deep panels of 32.
            CHECK(v.gpu_needs.work_items == 128);
            CHECK(v.gpu_needs.local_bytes == 2048);
        } else {
            // The default schedule: 16x16 threads per matmul block, passes of 32x8, column sums
            // of 256; staged panels of 8 KiB where there is a matmul.
            CHECK(v.gpu_needs.work_items == 256);
            CHECK(v.gpu_needs.local_bytes == (v.spec.rfind("activation_backward", 0) == 0 ? 0 : 8192));
        }
        CHECK(gpu_limits_problem(v.gpu_needs, limits) == "");
    }
}

TEST_CASE("a device with smaller work-groups than a kernel's schedule refuses it by name", "[limits]") {
    const opencl::DeviceInfo d = opencl::device();
    if (d.limits.max_work_items >= 256) {
        FAIL("device " << d.name << " allows work-groups of " << d.limits.max_work_items
                       << ": run this case with POCL_MAX_WORK_GROUP_SIZE=128 (ctest opencl.device_limits)");
    }
    const KernelSpec spec = parse_spec("forward:identity:bias=0:weight=nk");
    try {
        find_kernel(spec, {3, 4, 3}, Device::opencl);
        FAIL("a kernel needing 256 work-items per group was accepted by a device allowing " << d.limits.max_work_items);
    } catch (const Error &e) {
        CHECK(e.code() == ErrorCode::no_kernel);
        CHECK_THAT(e.what(), Catch::Contains("does not fit device '" + d.name + "'") &&
                                 Catch::Contains(work_group_refusal(d.limits.max_work_items)) &&
                                 Catch::Contains("reluforge-gen --gpu-schedule"));
    }
    // run_kernel says the same.
    opencl::DeviceBuffer x(48), w(48), y(36);
    CHECK_THROWS_WITH(run_kernel(spec, {Tensor::matrix(x.data(), DType::f32, 3, 4).on(Device::opencl),
                                        Tensor::matrix(w.data(), DType::f32, 3, 4).on(Device::opencl),
                                        Tensor::matrix(y.data(), DType::f32, 3, 3).on(Device::opencl)}),
                      Catch::Contains("does not fit device"));
}

TEST_CASE("kernels built with a GPU schedule of smaller blocks run on that device", "[limits]") {
    // test_kernels_small_gpu_blocks: gpu:block=32x32:thread=4x4:k=8:pass=16x8, 128 work-items at most.
    OnOpenCL on;
    const Linear layers[] = {Linear(parse_activation("elu(alpha=0.75)"), true, WeightLayout::kn, Save::z),
                             Linear(parse_activation("leaky_relu(slope=0.25)"), false, WeightLayout::nk, Save::mask)};
    unsigned seed = 40;
    for (const Linear &layer : layers) {
        for (const auto &shape : cases::shapes()) {
            for (bool specials : {false, true}) {
                const auto cmp = cases::check_forward(layer, shape, seed++, specials);
                INFO(cases::describe(layer) << " M,K,N=" << shape.M << "," << shape.K << "," << shape.N);
                INFO(cmp.report);
                CHECK(cmp.checked > 0);
                CHECK(cmp.failed == 0);
            }
        }
    }
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
    std::printf("reluforge_opencl_tests: %s on %s; cl_khr_fp16: %s; work-groups up to %lld work-items, "
                "%lld bytes of local memory\n",
                d.name.c_str(), d.platform.c_str(), d.fp16 ? "yes" : "no", (long long)d.limits.max_work_items,
                (long long)d.limits.local_bytes);
    return run_catch(argc, argv);
}
