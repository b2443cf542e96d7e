// Stand-ins when oneDNN or OpenBLAS is not installed: no competitors of that kind.
#include "mlp_step.h"
#include "problem.h"

namespace bench {
#ifndef RELUFORGE_BENCH_ONEDNN
std::vector<std::unique_ptr<Impl>> make_onednn(Problem &) { return {}; }
std::unique_ptr<MlpImpl> make_onednn_mlp(MlpProblem &) { return nullptr; }
#endif
#ifndef RELUFORGE_BENCH_OPENBLAS
std::vector<std::unique_ptr<Impl>> make_openblas(Problem &) { return {}; }
const char *openblas_core() { return nullptr; }
const char *openblas_better_core() { return nullptr; }
#endif
}  // namespace bench
