// reluforge-cuda-bench: reluforge's CUDA kernels side by side with cuBLASLt's fused epilogues
// (RELU_BIAS, GELU_BIAS, DRELU_BGRAD) and with cuBLAS sgemm followed by a separate bias+activation
// kernel, in one process, on one stream, alternating. Medians of CUDA-event timings; GFLOP/s, the
// ratios, and the percentage of the GPU's fp32 FMA peak measured here by an FMA-chain kernel.
// fp32 without TF32 (CUBLAS_COMPUTE_32F); --f16 adds f16 storage against cuBLASLt f16, which uses
// tensor cores (Halide 14 emits none).
#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <CLI/CLI.hpp>
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nvrtc.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace reluforge;

void check(cudaError_t e, const char *what) {
    if (e != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(e)));
}
void check(cublasStatus_t s, const char *what) {
    if (s != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(fmt::format("{}: cuBLAS status {}", what, int(s)));
}
void check(nvrtcResult r, const char *what) {
    if (r != NVRTC_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, nvrtcGetErrorString(r)));
}

// The separate epilogue of the cuBLAS baseline, and the FMA-chain kernel that measures the peak.
constexpr const char *kKernels = R"(
extern "C" __global__ void bias_act(float *y, const float *b, int rows, int cols, int gelu) {
    const long i = long(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= long(rows) * cols) return;
    float z = y[i] + b[i % cols];
    if (gelu) z = 0.5f * z * (1.0f + tanhf(0.7978845608f * (z + 0.044715f * z * z * z)));
    else z = z > 0.0f ? z : 0.0f;
    y[i] = z;
}
extern "C" __global__ void fma_chains(float *out, int iterations) {
    float a[8];
    for (int k = 0; k < 8; k++) a[k] = threadIdx.x * 1e-3f + k;
    for (int it = 0; it < iterations; it++)
        for (int k = 0; k < 8; k++) a[k] = fmaf(a[k], 0.999999f, 1e-7f);
    float s = 0;
    for (int k = 0; k < 8; k++) s += a[k];
    if (s == 12345.678f) out[0] = s;
}
)";

// Loaded through the runtime API (cudaLibrary*), so that the program starts without a driver.
struct Kernels {
    cudaLibrary_t library{};
    cudaKernel_t bias_act{}, fma_chains{};
    Kernels() {
        nvrtcProgram prog;
        check(nvrtcCreateProgram(&prog, kKernels, "bench.cu", 0, nullptr, nullptr), "nvrtcCreateProgram");
        const char *opts[] = {"--use_fast_math"};
        if (nvrtcCompileProgram(prog, 1, opts) != NVRTC_SUCCESS) {
            size_t n = 0;
            nvrtcGetProgramLogSize(prog, &n);
            std::string log(n, '\0');
            nvrtcGetProgramLog(prog, log.data());
            throw std::runtime_error("nvrtc: " + log);
        }
        size_t n = 0;
        check(nvrtcGetPTXSize(prog, &n), "nvrtcGetPTXSize");
        std::string ptx(n, '\0');
        check(nvrtcGetPTX(prog, ptx.data()), "nvrtcGetPTX");
        nvrtcDestroyProgram(&prog);
        check(cudaLibraryLoadData(&library, ptx.data(), nullptr, nullptr, 0, nullptr, nullptr, 0), "cudaLibraryLoadData");
        check(cudaLibraryGetKernel(&bias_act, library, "bias_act"), "bias_act");
        check(cudaLibraryGetKernel(&fma_chains, library, "fma_chains"), "fma_chains");
    }
};

struct Timer {
    cudaStream_t stream;
    cudaEvent_t start, stop;
    explicit Timer(cudaStream_t s) : stream(s) {
        check(cudaEventCreate(&start), "cudaEventCreate");
        check(cudaEventCreate(&stop), "cudaEventCreate");
    }
    double ms(const std::function<void()> &f) {
        check(cudaEventRecord(start, stream), "cudaEventRecord");
        f();
        check(cudaEventRecord(stop, stream), "cudaEventRecord");
        check(cudaEventSynchronize(stop), "cudaEventSynchronize");
        float t = 0;
        check(cudaEventElapsedTime(&t, start, stop), "cudaEventElapsedTime");
        return t;
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Runs every contender `reps` times, alternating, after one warm-up each; median ms per contender.
std::vector<double> race(Timer &timer, const std::vector<std::function<void()>> &contenders, int reps) {
    for (const auto &f : contenders) f();
    check(cudaStreamSynchronize(timer.stream), "warm-up");
    std::vector<std::vector<double>> t(contenders.size());
    for (int r = 0; r < reps; r++) {
        for (size_t c = 0; c < contenders.size(); c++) t[c].push_back(timer.ms(contenders[c]));
    }
    std::vector<double> out;
    for (auto &v : t) out.push_back(median(v));
    return out;
}

void *device_alloc(size_t bytes, float fill_scale = 0.0f, bool half = false) {
    void *p = nullptr;
    check(cudaMalloc(&p, bytes), "cudaMalloc");
    const size_t n = bytes / (half ? 2 : 4);
    if (fill_scale == 0.0f) {
        check(cudaMemset(p, 0, bytes), "cudaMemset");
    } else if (half) {
        std::vector<__half> h(n);
        for (size_t k = 0; k < n; k++) h[k] = __float2half(fill_scale * float(int(k % 17) - 8));
        check(cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    } else {
        std::vector<float> h(n);
        for (size_t k = 0; k < n; k++) h[k] = fill_scale * float(int(k % 17) - 8);
        check(cudaMemcpy(p, h.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    }
    return p;
}

// One cuBLASLt matmul D = op(A) op(B) (+ epilogue), column-major, with its heuristic's best algorithm.
struct LtMatmul {
    cublasLtHandle_t lt;
    cublasLtMatmulDesc_t desc{};
    cublasLtMatrixLayout_t a{}, b{}, c{};
    cublasLtMatmulAlgo_t algo{};
    void *workspace;
    size_t workspace_bytes;
    const void *A, *B;
    void *C;
    cudaStream_t stream;

    LtMatmul(cublasLtHandle_t lt, cudaDataType_t type, bool trans_a, int64_t m, int64_t n, int64_t k, const void *A,
             int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc, cublasLtEpilogue_t epilogue, void *bias,
             void *aux, int64_t aux_ld, void *workspace, size_t workspace_bytes, cudaStream_t stream)
        : lt(lt), workspace(workspace), workspace_bytes(workspace_bytes), A(A), B(B), C(C), stream(stream) {
        check(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
        const cublasOperation_t op = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
        check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &op, sizeof op), "TRANSA");
        check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue), "EPILOGUE");
        if (bias) check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), "BIAS");
        if (aux) {
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, &aux, sizeof aux), "AUX");
            check(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, &aux_ld, sizeof aux_ld), "AUX_LD");
        }
        check(cublasLtMatrixLayoutCreate(&a, type, trans_a ? k : m, trans_a ? m : k, lda), "layout A");
        check(cublasLtMatrixLayoutCreate(&b, type, k, n, ldb), "layout B");
        check(cublasLtMatrixLayoutCreate(&c, type, m, n, ldc), "layout C");
        cublasLtMatmulPreference_t pref;
        check(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
        const uint64_t ws = workspace_bytes;
        check(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws), "WORKSPACE");
        cublasLtMatmulHeuristicResult_t result{};
        int found = 0;
        check(cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, pref, 1, &result, &found), "AlgoGetHeuristic");
        if (found == 0) throw std::runtime_error("cuBLASLt has no algorithm for this epilogue and shape");
        algo = result.algo;
        cublasLtMatmulPreferenceDestroy(pref);
    }
    void operator()() const {
        const float one = 1.0f, zero = 0.0f;
        check(cublasLtMatmul(lt, desc, &one, A, a, B, b, &zero, C, c, C, c, &algo, workspace, workspace_bytes, stream),
              "cublasLtMatmul");
    }
};

// Measured fp32 FMA peak of this GPU, GFLOP/s.
double measure_peak(Kernels &k, Timer &timer, int sms) {
    float *out = static_cast<float *>(device_alloc(4));
    int iterations = 4096;
    void *args[] = {&out, &iterations};
    const unsigned blocks = unsigned(sms) * 8, threads = 256;
    auto run = [&] {
        check(cudaLaunchKernel(reinterpret_cast<const void *>(k.fma_chains), dim3(blocks), dim3(threads), args, 0, timer.stream),
              "fma_chains");
    };
    const double ms = race(timer, {run}, 9)[0];
    cudaFree(out);
    return 2.0 * 8 * iterations * double(blocks) * threads / (ms * 1e6);
}

struct BenchShape {
    int M, K, N;
};

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"reluforge-cuda-bench: reluforge's CUDA kernels against cuBLASLt epilogues and cuBLAS + epilogue"};
    int reps = 21;
    bool f16 = false;
    std::vector<std::string> shape_texts{"4096x4096x4096", "256x4096x1024", "64x1024x4096", "128x1024x1024",
                                         "1024x1024x1024", "4096x1024x64"};
    app.add_option("--reps", reps, "timed repetitions per contender (median)")->capture_default_str();
    app.add_option("--shapes", shape_texts, "MxKxN shapes")->delimiter(',');
    app.add_flag("--f16", f16, "also f16 storage against cuBLASLt f16 (tensor cores)");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!cuda::available()) {
            fmt::print("reluforge-cuda-bench: no GPU: {}\n", cuda::unavailable_reason());
            return 77;
        }
        jit::enable();
        cudaStream_t stream;
        check(cudaStreamCreate(&stream), "cudaStreamCreate");
        cuda::set_context(nullptr, stream);  // the primary context cudart uses too
        cublasHandle_t blas;
        check(cublasCreate(&blas), "cublasCreate");
        check(cublasSetStream(blas, stream), "cublasSetStream");
        check(cublasSetMathMode(blas, CUBLAS_PEDANTIC_MATH), "no TF32");
        cublasLtHandle_t lt;
        check(cublasLtCreate(&lt), "cublasLtCreate");
        const size_t workspace_bytes = size_t(64) << 20;
        void *workspace = device_alloc(workspace_bytes);
        Kernels kernels;
        Timer timer(stream);
        const cuda::DeviceInfo dev = cuda::device();
        const double peak = measure_peak(kernels, timer, dev.multiprocessors);
        fmt::print("{} (capability {}, {} SMs); reluforge kernels for sm_{}; measured fp32 FMA peak {:.0f} GFLOP/s\n",
                   dev.name, dev.capability, dev.multiprocessors, cuda_build_capability(dev.capability), peak);
        fmt::print("{:>16} {:>10} {:>10} {:>7} {:>10} {:>8} {:>10} {:>8}\n", "MxKxN", "case", "reluforge", "%peak",
                   "cuBLASLt", "ratio", "cuBLAS+ep", "ratio");
        for (const auto &text : shape_texts) {
            BenchShape s{};
            if (std::sscanf(text.c_str(), "%dx%dx%d", &s.M, &s.K, &s.N) != 3) throw std::runtime_error("bad shape " + text);
            const double flops = 2.0 * s.M * s.N * s.K;
            const int64_t mask_ld_k = (s.K + 127) / 128 * 128;  // cuBLASLt's bit mask: ld a multiple of 128
            void *x = device_alloc(size_t(s.M) * s.K * 4, 0.01f), *w = device_alloc(size_t(s.K) * s.N * 4, 0.01f);
            void *b = device_alloc(size_t(s.N) * 4, 0.1f), *y = device_alloc(size_t(s.M) * s.N * 4);
            const auto on = Device::cuda;
            auto rf_forward = [&](const char *act) {
                const KernelSpec spec = parse_spec(fmt::format("forward:{}:bias=1:weight=kn", act));
                const std::vector<Tensor> args{Tensor::matrix(x, DType::f32, s.M, s.K).on(on),
                                               Tensor::matrix(w, DType::f32, s.K, s.N).on(on),
                                               Tensor::vector(b, DType::f32, s.N).on(on),
                                               Tensor::matrix(y, DType::f32, s.M, s.N).on(on)};
                return [spec, args] { run_kernel(spec, args); };
            };
            // Row-major Y[M,N] = X W is column-major Yᵀ[N,M] = Wᵀ Xᵀ: A = W (N x K, ld N), B = X.
            auto lt_forward = [&](cublasLtEpilogue_t e) {
                return LtMatmul(lt, CUDA_R_32F, false, s.N, s.M, s.K, w, s.N, x, s.K, y, s.N, e, b, nullptr, 0,
                                workspace, workspace_bytes, stream);
            };
            auto blas_then_epilogue = [&](int gelu) {
                return [&, gelu] {
                    const float one = 1.0f, zero = 0.0f;
                    check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, s.N, s.M, s.K, &one, static_cast<float *>(w), s.N,
                                      static_cast<float *>(x), s.K, &zero, static_cast<float *>(y), s.N),
                          "cublasSgemm");
                    int rows = s.M, cols = s.N, g = gelu;
                    void *args[] = {&y, &b, &rows, &cols, &g};
                    const long n = long(s.M) * s.N;
                    check(cudaLaunchKernel(reinterpret_cast<const void *>(kernels.bias_act), dim3(unsigned((n + 255) / 256)),
                                           dim3(256), args, 0, stream),
                          "bias_act");
                };
            };
            auto row = [&](const char *what, double rf_ms, double lt_ms, double blas_ms) {
                fmt::print("{:>16} {:>10} {:>10.0f} {:>6.1f}% {:>10.0f} {:>7.2f}x {:>10.0f} {:>7.2f}x\n", text, what,
                           flops / (rf_ms * 1e6), 100 * flops / (rf_ms * 1e6) / peak, flops / (lt_ms * 1e6),
                           lt_ms / rf_ms, blas_ms > 0 ? flops / (blas_ms * 1e6) : 0.0, blas_ms > 0 ? blas_ms / rf_ms : 0.0);
            };
            {
                const auto lt_relu = lt_forward(CUBLASLT_EPILOGUE_RELU_BIAS);
                const auto t = race(timer, {rf_forward("relu"), [&] { lt_relu(); }, blas_then_epilogue(0)}, reps);
                row("relu fwd", t[0], t[1], t[2]);
            }
            {
                const auto lt_gelu = lt_forward(CUBLASLT_EPILOGUE_GELU_BIAS);
                const auto t = race(timer, {rf_forward("gelu(approximate=tanh)"), [&] { lt_gelu(); }, blas_then_epilogue(1)}, reps);
                row("gelu fwd", t[0], t[1], t[2]);
            }
            {
                // Chained backward through relu: dZprev[M,K] = (dZ[M,N] Wᵀ) ⊙ relu'(mask), db_prev = Σ rows.
                // Column-major: dZprevᵀ[K,M] = op_T(W as N x K) dZᵀ; cuBLASLt's aux is its own bit mask.
                void *dz = device_alloc(size_t(s.M) * s.N * 4, 0.01f), *dzp = device_alloc(size_t(s.M) * s.K * 4);
                void *dbp = device_alloc(size_t(s.K) * 4);
                void *lt_mask = device_alloc(size_t(mask_ld_k) * s.M / 8 + 128, 1.0f);
                void *mask_k = device_alloc(size_t(s.M) * mask_row_bytes(s.K), 1.0f);
                const LtMatmul lt_drelu(lt, CUDA_R_32F, true, s.K, s.M, s.N, w, s.N, dz, s.N, dzp, s.K,
                                        CUBLASLT_EPILOGUE_DRELU_BGRAD, dbp, lt_mask, mask_ld_k, workspace,
                                        workspace_bytes, stream);
                const KernelSpec spec = parse_spec("backward_data:relu:prev_bias=1:weight=kn:save=mask");
                const std::vector<Tensor> args{
                    Tensor::matrix(dz, DType::f32, s.M, s.N).on(on), Tensor::matrix(w, DType::f32, s.K, s.N).on(on),
                    Tensor::matrix(mask_k, DType::u8, s.M, mask_bytes_per_row(s.K), mask_row_bytes(s.K)).on(on),
                    Tensor::matrix(dzp, DType::f32, s.M, s.K).on(on), Tensor::vector(dbp, DType::f32, s.K).on(on)};
                const auto t = race(timer, {[&] { run_kernel(spec, args); }, [&] { lt_drelu(); }}, reps);
                row("drelu bwd", t[0], t[1], 0);
                for (void *p : {dz, dzp, dbp, lt_mask, mask_k}) cudaFree(p);
            }
            if (f16) {
                void *xh = device_alloc(size_t(s.M) * s.K * 2, 0.01f, true), *wh = device_alloc(size_t(s.K) * s.N * 2, 0.01f, true);
                void *bh = device_alloc(size_t(s.N) * 2, 0.1f, true), *yh = device_alloc(size_t(s.M) * s.N * 2);
                const LtMatmul lt_h(lt, CUDA_R_16F, false, s.N, s.M, s.K, wh, s.N, xh, s.K, yh, s.N,
                                    CUBLASLT_EPILOGUE_RELU_BIAS, bh, nullptr, 0, workspace, workspace_bytes, stream);
                const KernelSpec spec = parse_spec("forward:relu:bias=1:weight=kn:dtype=f16");
                const std::vector<Tensor> args{Tensor::matrix(xh, DType::f16, s.M, s.K).on(on),
                                               Tensor::matrix(wh, DType::f16, s.K, s.N).on(on),
                                               Tensor::vector(b, DType::f32, s.N).on(on),
                                               Tensor::matrix(yh, DType::f16, s.M, s.N).on(on)};
                const auto t = race(timer, {[&] { run_kernel(spec, args); }, [&] { lt_h(); }}, reps);
                row("relu f16", t[0], t[1], 0);
                for (void *p : {xh, wh, bh, yh}) cudaFree(p);
            }
            for (void *p : {x, w, b, y}) cudaFree(p);
        }
        fmt::print("ratios: cuBLASLt time / reluforge time (above 1: reluforge faster); f16 cuBLASLt uses tensor cores\n");
        return 0;
    } catch (const std::exception &e) {
        fmt::print(stderr, "reluforge-cuda-bench: error: {}\n", e.what());
        return 1;
    }
}
