// A spec's canonical text and argument list, as run_kernel needs them on every call. Building
// both was most of a small call's cost (forward 16x16x16 spent about half of its 0.9 us on them,
// Intel Xeon model 167), so each thread keeps those of the specs it ran last.
#pragma once

#include "reluforge/signature.h"
#include "reluforge/spec.h"

#include <string>
#include <vector>

namespace reluforge {

struct SpecFacts {
    KernelSpec spec;
    std::string text;            // to_string(spec)
    std::vector<ArgSlot> slots;  // kernel_signature(spec)
};

// This thread's facts about spec; the reference holds until this thread asks about eight other
// specs.
const SpecFacts &spec_facts(const KernelSpec &spec);

}  // namespace reluforge
