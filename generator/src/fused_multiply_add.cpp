#include "fused_multiply_add.h"

namespace reluforge::gen {

using Halide::Expr;
using Halide::Internal::Call;

namespace {
constexpr const char *kPlaceholder = "reluforge_fused_multiply_add";

class LowerFusedMultiplyAdds : public Halide::Internal::IRMutator {
public:
    explicit LowerFusedMultiplyAdds(bool fused) : fused_(fused) {}

private:
    using IRMutator::visit;
    Expr visit(const Call *op) override {
        if (op->name != kPlaceholder) return IRMutator::visit(op);
        const Expr a = mutate(op->args[0]), b = mutate(op->args[1]), c = mutate(op->args[2]);
        // A vector call reaches code generation as one scalar call per lane, and LLVM's SLP
        // vectorizer puts the lanes back together: vfmadd*ps, as for a * b + c outside strict_float.
        return fused_ ? Call::make(op->type, "llvm.fma.f32", {a, b, c}, Call::PureExtern) : a * b + c;
    }
    bool fused_;
};
}  // namespace

Expr fused_multiply_add(const Expr &a, const Expr &b, const Expr &c) {
    return Call::make(Halide::Float(32), kPlaceholder, {a, b, c}, Call::PureExtern);
}

void lower_fused_multiply_adds(Halide::Pipeline &p, const Halide::Target &target) {
    const bool fused = target.arch == Halide::Target::X86 && target.has_feature(Halide::Target::FMA);
    p.add_custom_lowering_pass(new LowerFusedMultiplyAdds(fused));
}

}  // namespace reluforge::gen
