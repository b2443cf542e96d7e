// The registry of compiled kernels. Generated registration code adds every variant of every spec
// it was built with: one per ISA and shape rule, and one per CUDA capability. A lookup for the
// CPU picks the best ISA the CPU supports, then the first variant whose shape rule holds for the
// call; a lookup for CUDA picks the highest capability the device runs.
#pragma once

#include "reluforge/shape_rule.h"
#include "reluforge/spec.h"
#include "reluforge/tensor.h"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reluforge {

// x86 instruction-set variants, in increasing order of preference.
enum class Isa { sse41 = 0, avx2 = 1, avx512 = 2 };
const char *to_string(Isa isa);
Isa parse_isa(std::string_view name);  // throws Error(bad_argument)

// A Halide "argv" entry point: args[i] points at the halide_buffer_t of argument i of
// kernel_signature(spec).
using KernelFn = int (*)(void **args);

struct KernelEntry {
    const char *spec;        // canonical text
    Isa isa;                 // CPU kernels: the ISA; CUDA kernels: that of their host code
    const char *shape_rule;  // canonical ShapeRule text; "" for every shape
    KernelFn fn;
    int cuda_capability = 0;  // 0 for CPU kernels; else the capability of the CUDA kernel
};

// Called by generated registration code at static-initialization time.
bool register_kernels(const KernelEntry *entries, std::size_t count);

struct KernelHandle {
    std::string spec;        // canonical text
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

// Used on a registry miss when the policy allows JIT; reluforge::jit::enable() installs one.
// Both functions throw Error.
struct JitProvider {
    // The shape rules of the spec's variants on isa, in the order they are tried; the last is "".
    std::vector<std::string> (*shape_rules)(const KernelSpec &spec, Isa isa);
    // Compiles (or loads) the variant with index `variant` in that list.
    KernelFn (*compile)(const KernelSpec &spec, Isa isa, std::size_t variant);
    // Compiles (or loads) the CUDA kernel for a build capability (see cuda_capability.h).
    KernelFn (*compile_cuda)(const KernelSpec &spec, int capability);
};
void set_jit_provider(JitProvider provider);

// The kernel for this CPU (and the ISA limit), or for the CUDA device, under the policy, for a
// call of the given shape (an unknown shape gets the variant for every shape). Throws
// Error(no_kernel), and for CUDA Error(no_device) when no driver or GPU is present.
KernelHandle find_kernel(const KernelSpec &spec, const Shape &shape = {}, Device device = Device::cpu);
bool has_kernel(const KernelSpec &spec);
std::vector<std::string> registered_specs();
std::vector<Isa> registered_isas(const KernelSpec &spec);

struct VariantInfo {
    std::string spec;
    Isa isa;
    std::string shape_rule;
    int cuda_capability = 0;  // 0 for CPU variants
};
std::vector<VariantInfo> registered_variants();  // the AOT registry, in registration order

// The index of the first rule that holds for shape (the last rule must be ""), or of the rule
// forced by force_shape_rule.
std::size_t select_variant(const std::vector<ShapeRule> &rules, const Shape &shape);

// For testing every variant on one machine: while set, a spec with a variant of exactly this
// rule runs that variant whatever the call's shape (other specs choose as usual).
void force_shape_rule(std::optional<std::string> rule);

// The best ISA this CPU runs, and a cap on it (for testing every variant on one machine).
Isa host_isa();
void set_isa_limit(Isa limit);
Isa isa_limit();

// Checks the tensors against kernel_signature(spec), then runs the kernel on the device the
// tensors live on (all on one). CUDA kernels are queued on reluforge::cuda::stream() and run
// asynchronously, as cuBLAS calls do. Throws Error.
void run_kernel(const KernelSpec &spec, const std::vector<Tensor> &args);
void run_kernel(std::string_view canonical_spec, std::initializer_list<Tensor> args);
// The same checks, then this particular kernel (a variant from the JIT engine, say).
void run_kernel(const KernelHandle &kernel, const std::vector<Tensor> &args);

// Worker threads used by every kernel (Halide's thread pool); 0 means one per core.
void set_num_threads(int n);
int num_threads();

}  // namespace reluforge
