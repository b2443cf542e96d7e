// Kernel specs: canonical round trip, defaults, and rejected specs naming what is wrong.
#include "support/cases.h"

#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <clocale>
#include <cstdlib>
#include <limits>
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
        {"forward:relu:weight=kk", "weight 'kk' is not one of: kn, nk, packed"},
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
        {"forward:leaky_relu(slope=1,slope=2)", "parameter 'slope' is given twice"},
        {"forward:softplus(beta=2, beta=3)", "parameter 'beta' is given twice"},
        {"forward:leaky_relu(slope=1e39)", "slope='1e39' is out of float32's range"},
        {"forward:leaky_relu(slope=1e-50)", "slope='1e-50' is out of float32's range"},
        {"forward:leaky_relu(slope=0,01)", "activation parameter '01' must be key=value"},
        {"backward_data:relu:bias=1", "backward_data's bias flag is prev_bias: whether the previous layer has a bias"},
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

TEST_CASE("whitespace around separators is allowed; the canonical text stays", "[spec]") {
    const char *canonical = "forward:softplus(beta=2,threshold=10):bias=0:weight=nk:save=z:counts=0:dtype=f32";
    for (const char *text : {" forward : softplus( beta = 2 , threshold = 10 ) : bias = 0 : weight=nk:save =z ",
                             "forward:softplus(beta=2, threshold=10):bias=0:weight=nk:save=z",
                             "forward:softplus (beta=2,\tthreshold=10):bias=0:weight=nk:save=z"}) {
        INFO(text);
        CHECK(to_string(parse_spec(text)) == canonical);
    }
    CHECK(to_string(parse_activation(" leaky_relu ( slope = 0.5 ) ")) == "leaky_relu(slope=0.5)");
    CHECK(to_string(parse_activation("relu ( )")) == "relu");
}

TEST_CASE("subnormal parameters are finite and round-trip", "[spec]") {
    const KernelSpec s = parse_spec("forward:leaky_relu(slope=1e-38)");
    CHECK(s.act.slope == 1e-38f);
    CHECK(std::fpclassify(s.act.slope) == FP_SUBNORMAL);
    CHECK(parse_spec(to_string(s)) == s);
    CHECK(parse_spec("forward:leaky_relu(slope=+0.5)").act.slope == 0.5f);
}

TEST_CASE("parameters are float32: 0.01 is 0.0099999998f and prints as 0.01", "[spec]") {
    const KernelSpec s = parse_spec("forward:leaky_relu(slope=0.01)");
    CHECK(s.act.slope == 0.0099999998f);
    CHECK(to_string(s.act) == "leaky_relu(slope=0.01)");
}

// glibc reads LOCPATH at each setlocale: the tests' build compiles de_DE into the build tree
// (localedef, from Debian's locales package), so this runs on a machine without installed locales.
TEST_CASE("parsing and printing numbers do not depend on the C locale", "[spec]") {
#ifdef RELUFORGE_TEST_LOCALE_DIR
    ::setenv("LOCPATH", RELUFORGE_TEST_LOCALE_DIR, 1);
#endif
    const char *old = std::setlocale(LC_ALL, nullptr);
    const std::string saved = old ? old : "C";
    const char *set = std::setlocale(LC_ALL, "de_DE.UTF-8");
    INFO("de_DE.UTF-8 could not be set: install Debian's locales package (./build.sh does)");
    REQUIRE(set != nullptr);
    REQUIRE(std::string(std::localeconv()->decimal_point) == ",");  // the locale is really in effect
    const KernelSpec s = parse_spec("forward:leaky_relu(slope=0.01):bias=0");
    const std::string text = to_string(s);
    const float parsed_under_locale = s.act.slope;
    CHECK_THROWS_AS(parse_spec("forward:leaky_relu(slope=0,01)"), Error);
    std::setlocale(LC_ALL, saved.c_str());
    CHECK(parsed_under_locale == 0.01f);
    CHECK(text == "forward:leaky_relu(slope=0.01):bias=0:weight=kn:save=none:counts=0:dtype=f32");
}

// validate() (and so Linear and every kernel) refuses what parse_spec refuses: a kernel is only
// ever built from a spec whose canonical text parses back to it.
TEST_CASE("specs built in code are validated like parsed ones", "[spec]") {
    auto refused = [](Activation act, const char *message) {
        KernelSpec s;
        s.act = act;
        INFO(to_string(act));
        try {
            validate(s);
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(e.code() == ErrorCode::bad_spec);
            CHECK_THAT(e.what(), Catch::Contains(message));
        }
        CHECK_THROWS_AS(Linear(act, true, WeightLayout::kn, Save::z), Error);
    };
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    Activation a;
    a.kind = Act::leaky_relu;
    a.slope = nan;
    refused(a, "parameter slope=nan is not a finite number");
    a = Activation{};
    a.kind = Act::celu;
    a.alpha = 0.0f;
    refused(a, "celu needs alpha != 0");
    a = Activation{};
    a.kind = Act::softplus;
    a.beta = 0.0f;
    refused(a, "softplus needs beta != 0");
    a.beta = 1.0f;
    a.threshold = inf;
    refused(a, "parameter threshold=inf is not a finite number");
    a = Activation{};
    a.kind = Act::elu;
    a.alpha = -inf;
    refused(a, "parameter alpha=-inf is not a finite number");

    // Parameters an activation does not take do not make a different spec.
    Activation gelu;
    gelu.kind = Act::gelu;
    gelu.slope = nan;
    KernelSpec s;
    s.act = gelu;
    CHECK_NOTHROW(validate(s));
    CHECK(parse_spec(to_string(s)) == s);
}

TEST_CASE("the activation table has one row per activation, in enum order", "[spec]") {
    const auto &table = activation_table();
    REQUIRE(table.size() == 13);
    for (size_t k = 0; k < table.size(); k++) {
        INFO(table[k].name);
        CHECK(static_cast<size_t>(table[k].kind) == k);
        Activation a;
        a.kind = table[k].kind;
        CHECK(parse_activation(to_string(a)) == a);
        CHECK(to_string(a.kind) == std::string(table[k].name));
        CHECK(has_one_bit_derivative(a) == (a.kind == Act::relu || a.kind == Act::leaky_relu || a.kind == Act::relu6));
    }
    CHECK(derivative_from_y_allowed(parse_activation("leaky_relu(slope=0.5)")));
    CHECK_FALSE(derivative_from_y_allowed(parse_activation("leaky_relu(slope=-0.5)")));
    CHECK(derivative_from_y_allowed(parse_activation("elu(alpha=0)")));
    CHECK_FALSE(derivative_from_y_allowed(parse_activation("elu(alpha=-1)")));
    CHECK(derivative_from_y_allowed(parse_activation("celu(alpha=-1)")));
    CHECK_FALSE(derivative_from_y_allowed(parse_activation("gelu")));
}
