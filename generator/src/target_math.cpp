#include "reluforge/generator/target_math.h"

namespace reluforge::gen {

using Halide::Expr;
using Halide::Internal::Call;

namespace {
constexpr const char *kFusedMultiplyAdd = "reluforge_fused_multiply_add";
constexpr const char *kRoundDown = "reluforge_round_down";

class LowerTargetMath : public Halide::Internal::IRMutator {
public:
    // GPU pipelines (arch is the host's) keep the portable forms: OpenCL C has no LLVM intrinsics.
    explicit LowerTargetMath(const Halide::Target &t)
        : x86_(t.arch == Halide::Target::X86 && !t.has_gpu_feature()), fma_(x86_ && t.has_feature(Halide::Target::FMA)) {}

private:
    using IRMutator::visit;
    // A vector call of an LLVM intrinsic reaches code generation as one scalar call per lane, and
    // LLVM's SLP vectorizer puts the lanes back together (vfmadd*ps, vrndscaleps).
    Expr visit(const Call *op) override {
        if (op->name == kFusedMultiplyAdd) {
            const Expr a = mutate(op->args[0]), b = mutate(op->args[1]), c = mutate(op->args[2]);
            return fma_ ? Call::make(op->type, "llvm.fma.f32", {a, b, c}, Call::PureExtern) : a * b + c;
        }
        if (op->name == kRoundDown) {
            const Expr x = mutate(op->args[0]);
            return x86_ ? Call::make(op->type, "llvm.floor.f32", {x}, Call::PureExtern) : Halide::floor(x);
        }
        return IRMutator::visit(op);
    }
    bool x86_, fma_;
};
}  // namespace

Expr fused_multiply_add(const Expr &a, const Expr &b, const Expr &c) {
    return Call::make(Halide::Float(32), kFusedMultiplyAdd, {a, b, c}, Call::PureExtern);
}

Expr round_down(const Expr &x) { return Call::make(Halide::Float(32), kRoundDown, {x}, Call::PureExtern); }

void lower_target_math(Halide::Pipeline &p, const Halide::Target &target) {
    p.add_custom_lowering_pass(new LowerTargetMath(target));
}

}  // namespace reluforge::gen
