// Finding and running kernels. Generated registration code (detail/registration.h) adds every
// variant of every spec a library was built with: one per ISA and shape rule, and one per CUDA
// capability. A lookup for the CPU picks the best ISA the CPU supports, then the first variant
// whose shape rule holds for the call; a lookup for CUDA picks the highest capability the device
// runs. Specs without an AOT kernel come from the JIT when it is enabled (reluforge/jit/engine.h).
#pragma once

#include "reluforge/isa.h"
#include "reluforge/shape_rule.h"
#include "reluforge/spec.h"
#include "reluforge/tensor.h"

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace reluforge {

// A Halide "argv" entry point: args[i] points at the halide_buffer_t of argument i of
// kernel_signature(spec).
using KernelFn = int (*)(void **args);

struct KernelHandle {
    KernelSpec spec;
    Isa isa;                 // the ISA chosen for this CPU
    std::string shape_rule;  // the shape rule of the variant chosen for the call
    KernelFn fn;
    bool jit = false;  // compiled (or loaded from the cache) at run time
    Device device = Device::cpu;
    int cuda_capability = 0;  // CUDA kernels: the capability built for
};

// Where kernels come from: the AOT registry, the JIT engine (reluforge_jit), or both with AOT
// kernels first.
enum class KernelPolicy { aot_only, jit_allowed, jit_only };
void set_kernel_policy(KernelPolicy policy);
KernelPolicy kernel_policy();
const char *to_string(KernelPolicy policy);

// The kernel for this CPU (and the ISA limit), or for the CUDA device, under the policy, for a
// call of the given shape (an unknown shape gets the variant for every shape). Throws
// Error(no_kernel), and for CUDA Error(no_device) when no driver or GPU is present.
KernelHandle find_kernel(const KernelSpec &spec, const Shape &shape = {}, Device device = Device::cpu);
bool has_kernel(const KernelSpec &spec);               // registered ahead of time
std::vector<Isa> registered_isas(const KernelSpec &spec);

// Checks the tensors against kernel_signature(spec), then runs the kernel on the device the
// tensors live on (all on one). CUDA kernels are queued on reluforge::cuda::stream() and run
// asynchronously, as cuBLAS calls do. Throws Error.
void run_kernel(const KernelSpec &spec, const std::vector<Tensor> &args);
void run_kernel(std::string_view canonical_spec, std::initializer_list<Tensor> args);
// The same checks, then this particular kernel (a variant from the JIT engine, say).
void run_kernel(const KernelHandle &kernel, const std::vector<Tensor> &args);

// Threads every CPU kernel runs on (Halide's thread pool, the calling thread included); 0 means
// one per core (or HL_NUM_THREADS). Waits for kernel calls running on other threads to finish;
// a lower count than before stops the pool's extra threads.
void set_num_threads(int n);
int num_threads();

}  // namespace reluforge
