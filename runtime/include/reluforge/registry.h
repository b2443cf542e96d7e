// The registry of compiled kernels. Generated registration code adds every variant of every spec
// it was built with; a lookup picks the best variant the CPU supports.
#pragma once

#include "reluforge/spec.h"
#include "reluforge/tensor.h"

#include <cstddef>
#include <initializer_list>
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
    const char *spec;  // canonical text
    Isa isa;
    KernelFn fn;
};

// Called by generated registration code at static-initialization time.
bool register_kernels(const KernelEntry *entries, std::size_t count);

struct KernelHandle {
    std::string spec;  // canonical text
    Isa isa;           // the variant chosen for this CPU
    KernelFn fn;
    bool jit = false;  // compiled (or loaded from the cache) at run time
};

// Where kernels come from: the AOT registry, the JIT engine (reluforge_jit), or both with AOT
// kernels first.
enum class KernelPolicy { aot_only, jit_allowed, jit_only };
void set_kernel_policy(KernelPolicy policy);
KernelPolicy kernel_policy();
const char *to_string(KernelPolicy policy);

// Called on a registry miss when the policy allows JIT: returns the kernel for the spec (for
// the best ISA up to the limit) or throws Error. reluforge::jit::enable() installs one.
using KernelProvider = KernelHandle (*)(const KernelSpec &spec, Isa best);
void set_jit_provider(KernelProvider provider);

// The best kernel for this CPU (and the ISA limit) under the policy; throws Error(no_kernel).
KernelHandle find_kernel(const KernelSpec &spec);
bool has_kernel(const KernelSpec &spec);
std::vector<std::string> registered_specs();
std::vector<Isa> registered_isas(const KernelSpec &spec);

// The best ISA this CPU runs, and a cap on it (for testing every variant on one machine).
Isa host_isa();
void set_isa_limit(Isa limit);
Isa isa_limit();

// Checks the tensors against kernel_signature(spec), then runs the kernel. Throws Error.
void run_kernel(const KernelSpec &spec, const std::vector<Tensor> &args);
void run_kernel(std::string_view canonical_spec, std::initializer_list<Tensor> args);

// Worker threads used by every kernel (Halide's thread pool); 0 means one per core.
void set_num_threads(int n);
int num_threads();

}  // namespace reluforge
