// Kernel specs: canonical round trip, defaults, and rejected specs naming what is wrong.
#include "support/cases.h"

#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <set>

using namespace reluforge;

TEST_CASE("every spec round-trips through its canonical text", "[spec]") {
    std::set<std::uint64_t> hashes;
    std::set<std::string> ids;
    const auto specs = cases::kernel_specs();
    for (const auto &spec : specs) {
        const std::string text = to_string(spec);
        INFO(text);
        CHECK(parse_spec(text) == spec);
        CHECK(to_string(parse_spec(text)) == text);
        hashes.insert(hash(spec));
        ids.insert(identifier(spec));
    }
    CHECK(hashes.size() == specs.size());
    CHECK(ids.size() == specs.size());
}

TEST_CASE("omitted and reordered keys parse to the canonical form", "[spec]") {
    CHECK(to_string(parse_spec("forward:relu")) ==
          "forward:relu:bias=1:weight=kn:save=none:counts=0:dtype=f32");
    CHECK(to_string(parse_spec("forward:relu:save=mask:bias=0")) ==
          "forward:relu:bias=0:weight=kn:save=mask:counts=0:dtype=f32");
    CHECK(to_string(parse_spec("activation_backward:gelu")) ==
          "activation_backward:gelu(approximate=none):bias=1:save=z:dtype=f32");
    CHECK(to_string(parse_spec("activation_backward:relu")) ==
          "activation_backward:relu:bias=1:save=mask:dtype=f32");
    CHECK(to_string(parse_spec("forward:leaky_relu")) ==
          "forward:leaky_relu(slope=0.01):bias=1:weight=kn:save=none:counts=0:dtype=f32");
    CHECK(to_string(parse_spec("forward:softplus(threshold=10,beta=2)")) ==
          "forward:softplus(beta=2,threshold=10):bias=1:weight=kn:save=none:counts=0:dtype=f32");
    CHECK(to_string(parse_spec("backward_weight:weight=nk")) == "backward_weight:bias=1:weight=nk:dtype=f32");
    CHECK(parse_spec("forward:leaky_relu(slope=0.1)").act.slope == 0.1f);
    CHECK(hash(parse_spec("forward:relu:save=mask:bias=0")) == hash(parse_spec("forward:relu:bias=0:save=mask")));
    CHECK(hash(parse_spec("forward:relu")) != hash(parse_spec("forward:relu:bias=0")));
    CHECK(identifier(parse_spec("forward:leaky_relu(slope=-0.5)")) !=
          identifier(parse_spec("forward:leaky_relu(slope=0.5)")));
}

TEST_CASE("bad specs are rejected with a message naming the part and what is allowed", "[spec]") {
    const std::pair<const char *, const char *> bad[] = {
        {"", "empty spec"},
        {"forwards:relu", "op 'forwards' is not one of: forward, activation_backward"},
        {"forward:relux", "activation 'relux' is not one of: identity, relu"},
        {"forward", "needs an activation"},
        {"forward:bias=1", "needs an activation"},
        {"forward:relu:bias=2", "bias '2' is not one of: 0, 1"},
        {"forward:relu:sav=mask", "unknown key 'sav'; keys for forward: bias, weight, save, counts, dtype"},
        {"forward:relu:mask", "part 3 'mask' must be key=value"},
        {"forward:relu:bias=1:bias=0", "key 'bias' is given twice"},
        {"forward:relu:weight=kk", "weight 'kk' is not one of: kn, nk"},
        {"forward:relu:dtype=f64", "dtype 'f64' is not one of: f32, f16"},
        {"forward:gelu:save=mask", "save=mask needs a piecewise-linear activation"},
        {"forward:elu(alpha=-1):save=y", "save=y cannot give the derivative"},
        {"forward:prelu:save=mask", "save=mask needs"},
        {"forward:leaky_relu(slope=abc)", "slope='abc' is not a finite number"},
        {"forward:leaky_relu(slope=inf)", "is not a finite number"},
        {"forward:leaky_relu(alpha=1)", "has no parameter 'alpha'; allowed: slope"},
        {"forward:relu(slope=1)", "takes no parameters"},
        {"forward:celu(alpha=0)", "celu needs alpha != 0"},
        {"forward:gelu(approximate=fast)", "gelu approximate 'fast' is not one of: none, tanh"},
        {"forward:leaky_relu(slope=0.1", "must end with ')'"},
        {"activation_backward:relu:save=none", "needs what forward saved"},
        {"activation_backward:identity", "activation_backward needs an activation"},
        {"backward_weight:relu", "part 2 'relu' must be key=value"},
        {"forward:relu:counts=1:weight=nk:save=q", "save 'q' is not one of: none, z, y, mask"},
        {"backward_data:relu:counts=1", "unknown key 'counts'"},
        {"forward:identity:save=z", "identity needs nothing saved"},
    };
    for (const auto &[text, message] : bad) {
        INFO("spec: '" << text << "'");
        try {
            parse_spec(text);
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(e.code() == ErrorCode::bad_spec);
            CHECK_THAT(e.what(), Catch::Contains(message));
            CHECK_THAT(e.what(), Catch::Contains(std::string("'") + text + "'"));
        }
    }
}
