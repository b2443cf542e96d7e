#include "spec_facts.h"

#include <array>
#include <cstdint>
#include <cstring>

namespace reluforge {
namespace {

bool same_bits(float a, float b) {
    std::uint32_t x, y;
    std::memcpy(&x, &a, sizeof x);
    std::memcpy(&y, &b, sizeof y);
    return x == y;
}

// Field by field, floats by their bits: cheaper than KernelSpec's ==, which compares canonical
// texts. Specs that differ only in fields their op ignores miss here and merely cost a lookup.
bool same_fields(const KernelSpec &a, const KernelSpec &b) {
    static_assert(sizeof(Activation) == 28 && sizeof(KernelSpec) == 52,
                  "a field was added to KernelSpec or Activation: compare it here too");
    const Activation &p = a.act, &q = b.act;
    return a.op == b.op && a.bias == b.bias && a.weight == b.weight && a.save == b.save && a.counts == b.counts &&
           a.dtype == b.dtype && p.kind == q.kind && same_bits(p.slope, q.slope) && same_bits(p.alpha, q.alpha) &&
           same_bits(p.beta, q.beta) && same_bits(p.threshold, q.threshold) && p.approximate == q.approximate &&
           p.slopes == q.slopes;
}

}  // namespace

const SpecFacts &spec_facts(const KernelSpec &spec) {
    constexpr std::size_t kKept = 8;  // a training step of a 4-layer MLP runs about 8 specs
    struct Kept {
        std::array<SpecFacts, kKept> facts;
        std::size_t filled = 0, next = 0;
    };
    thread_local Kept kept;  // one thread_local: each costs a call to reach from a shared library
    for (std::size_t k = 0; k < kept.filled; k++) {
        if (same_fields(kept.facts[k].spec, spec)) return kept.facts[k];
    }
    SpecFacts fresh{spec, to_string(spec), kernel_signature(spec)};  // may throw: nothing kept
    SpecFacts &slot = kept.facts[kept.next];
    slot = std::move(fresh);
    kept.next = (kept.next + 1) % kKept;
    if (kept.filled < kKept) kept.filled++;
    return slot;
}

}  // namespace reluforge
