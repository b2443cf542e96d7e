// Shape rules: parsing, canonical text, which shapes they hold for, and rejected rules.
#include "reluforge/detail/variants.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

using namespace reluforge;

TEST_CASE("shape rules parse to one canonical text and bound m, n, k", "[shape_rule]") {
    CHECK(ShapeRule::parse("").text() == "");
    CHECK(ShapeRule::parse("").any());
    CHECK(ShapeRule::parse("n<=64,k>=8,k<=128,m>=2").text() == "k<=128,k>=8,m>=2,n<=64");
    // Repeated bounds keep the tightest, whatever the order; the text parses to itself.
    CHECK(ShapeRule::parse("m<=5,m<=3").text() == "m<=3");
    CHECK(ShapeRule::parse("m<=3,m<=5").text() == "m<=3");
    CHECK(ShapeRule::parse("k>=2,n<=9,k>=8,n<=64").text() == "k>=8,n<=9");
    for (const char *text : {"m<=5,m<=3,k>=1", "n>=4,n>=2,n<=100,n<=50", "k<=64"}) {
        const std::string once = ShapeRule::parse(text).text();
        CHECK(ShapeRule::parse(once).text() == once);
    }
    const ShapeRule shallow = ShapeRule::parse("k<=64");
    CHECK(shallow.holds({1000, 10, 64}));
    CHECK_FALSE(shallow.holds({1000, 10, 65}));
    CHECK_FALSE(shallow.holds({1000, 10, 0}));  // no K known: the bound does not hold
    CHECK(ShapeRule::parse("").holds({}));
    const ShapeRule box = ShapeRule::parse("m>=1024,n<=64");
    CHECK(box.holds({1024, 64, 1}));
    CHECK_FALSE(box.holds({1023, 64, 1}));
    CHECK_FALSE(box.holds({1024, 65, 1}));
}

TEST_CASE("a divisibility clause holds for multiples of its divisor", "[shape_rule]") {
    // After the bounds on its dimension; two divisors of one dimension become their least common
    // multiple.
    CHECK(ShapeRule::parse("m%4=0,k>=4096,m<=256").text() == "k>=4096,m<=256,m%4=0");
    CHECK(ShapeRule::parse("n%4=0,n%6=0").text() == "n%12=0");
    CHECK(ShapeRule::parse("n%256=0,n%256=0").text() == "n%256=0");
    const std::string once = ShapeRule::parse("cpu=zen5,n%256=0,m>=96").text();
    CHECK(ShapeRule::parse(once).text() == once);
    const ShapeRule fours = ShapeRule::parse("m%4=0,m<=256");
    CHECK(fours.holds({256, 1, 1}));
    CHECK(fours.holds({4, 1, 1}));
    CHECK_FALSE(fours.holds({250, 1, 1}));
    CHECK_FALSE(fours.holds({260, 1, 1}));  // the bound still binds
    CHECK_FALSE(fours.holds({0, 1, 1}));     // an unknown extent is no multiple
    CHECK(ShapeRule::parse("k%1=0").holds({1, 1, 7}));
}

TEST_CASE("a layer shape is MxKxN, and a kernel's calls see the extents it has", "[shape_rule]") {
    const Shape s = parse_layer_shape("256x784x1024");
    CHECK((s.m == 256 && s.k == 784 && s.n == 1024));
    CHECK(parse_layer_shape("2147483647x1x1").m == 2147483647);
    for (const char *bad : {"", "256x784", "256x784x1024x1", "0x1x1", "1x-1x1", "axbxc", "1x1x1 ", " 1x1x1", "1X1X1",
                            "2147483648x1x1", "1x1x99999999999999999999", "1x1x"}) {
        INFO(bad);
        CHECK_THROWS_WITH(parse_layer_shape(bad), Catch::Contains("shape '" + std::string(bad) + "' is not MxKxN"));
    }
    const Shape layer{300, 20, 70};  // m, n, k
    const Shape fwd = call_shape(parse_spec("forward:relu"), layer);
    CHECK((fwd.m == 300 && fwd.n == 20 && fwd.k == 70));
    const Shape bwd = call_shape(parse_spec("backward_weight:bias=1"), layer);
    CHECK((bwd.m == 300 && bwd.n == 20 && bwd.k == 70));
    const Shape act = call_shape(parse_spec("activation_backward:gelu:bias=1:save=z"), layer);
    CHECK((act.m == 300 && act.n == 20 && act.k == 0));  // no tensor of it has K
}

TEST_CASE("a cpu clause restricts a rule to one kind of CPU", "[shape_rule]") {
    // Canonical: the clause first, once, whatever order it was written in.
    CHECK(ShapeRule::parse("k<=64,cpu=zen5").text() == "cpu=zen5,k<=64");
    CHECK(ShapeRule::parse("cpu=zen4,m>=8,cpu=zen4").text() == "cpu=zen4,m>=8");
    CHECK(ShapeRule::parse("cpu=intel_avx512").text() == "cpu=intel_avx512");
    const ShapeRule zen5 = ShapeRule::parse("cpu=zen5,k<=64");
    CHECK_FALSE(zen5.any());
    CHECK(zen5.holds({1000, 10, 64}, CpuKind::zen5));
    CHECK_FALSE(zen5.holds({1000, 10, 65}, CpuKind::zen5));  // the bounds still bind
    for (CpuKind other : {CpuKind::other, CpuKind::zen4, CpuKind::intel_avx512}) {
        CHECK_FALSE(zen5.holds({1000, 10, 64}, other));
    }
    const ShapeRule only_cpu = ShapeRule::parse("cpu=zen4");
    CHECK_FALSE(only_cpu.any());
    CHECK(only_cpu.holds({}, CpuKind::zen4));  // no bound on an unknown extent
    CHECK_FALSE(only_cpu.holds({}, CpuKind::zen5));
    // Without a kind, the rule asks about this CPU.
    CHECK(ShapeRule::parse(std::string("cpu=") + to_string(host_cpu().kind)).holds({1, 1, 1}));
}

TEST_CASE("a variant for another kind of CPU is passed over", "[shape_rule]") {
    const CpuKind here = host_cpu().kind, elsewhere = here == CpuKind::zen5 ? CpuKind::zen4 : CpuKind::zen5;
    const std::vector<ShapeRule> rules{ShapeRule::parse(std::string("cpu=") + to_string(elsewhere) + ",k<=64"),
                                       ShapeRule::parse(std::string("cpu=") + to_string(here) + ",k<=64"),
                                       ShapeRule::parse("")};
    CHECK(select_variant(rules, {100, 100, 32}) == 1);
    CHECK(select_variant(rules, {100, 100, 100}) == 2);
    force_shape_rule(rules[0].text());  // the tests run every variant, whatever the CPU
    CHECK(select_variant(rules, {100, 100, 100}) == 0);
    force_shape_rule(std::nullopt);
}

TEST_CASE("bad shape rules are refused with the part that is wrong", "[shape_rule]") {
    const std::pair<const char *, const char *> bad[] = {
        {"q<=3", "'q<=3' does not start with m, n or k"},
        {"k<64", "'k<64' has no <=, >= or %"},
        {"m%4", "'m%4' is too short"},
        {"m%16", "'m%16' is not '<dim>%<divisor>=0'"},
        {"m%4=1", "'m%4=1' is not '<dim>%<divisor>=0'"},
        {"m%4==0", "is not '<dim>%<divisor>=0'"},
        {"m%=0", "has no positive integer bound"},
        {"m%0=0", "has no positive integer bound"},
        {"m%-4=0", "has no positive integer bound"},
        {"m%x=0", "has no positive integer bound"},
        {"m%2147483648=0", "has a divisor above any extent"},
        {"m%65536=0,m%65537=0", "no extent reaches"},
        {"k<=", "'k<=' is too short"},
        {"k<=x4", "has no positive integer bound"},
        {"k<=0", "has no positive integer bound"},
        {"k<=4,", "trailing comma"},
        {"cpu=zen9,k<=4", "'cpu=zen9' names no CPU kind"},
        {"cpu=", "'cpu=' names no CPU kind"},
        {"cpu=zen4,cpu=zen5", "'cpu=zen5' is a second CPU kind"},
        {"k<=4,cpu=zen4,", "trailing comma"},
    };
    for (const auto &[text, message] : bad) {
        INFO(text);
        try {
            ShapeRule::parse(text);
            FAIL("accepted");
        } catch (const Error &e) {
            CHECK(e.code() == ErrorCode::bad_argument);
            CHECK_THAT(e.what(), Catch::Contains(message));
        }
    }
}

TEST_CASE("variants are tried in order and the last holds for every shape", "[shape_rule]") {
    const std::vector<ShapeRule> rules{ShapeRule::parse("k<=64"), ShapeRule::parse("n<=64"), ShapeRule::parse("")};
    CHECK(select_variant(rules, {100, 100, 32}) == 0);
    CHECK(select_variant(rules, {100, 32, 32}) == 0);
    CHECK(select_variant(rules, {100, 32, 100}) == 1);
    CHECK(select_variant(rules, {100, 100, 100}) == 2);
    CHECK(select_variant(rules, {}) == 2);
    force_shape_rule("n<=64");
    CHECK(select_variant(rules, {100, 100, 32}) == 1);
    force_shape_rule("m<=3");  // not among the rules: chosen as usual
    CHECK(select_variant(rules, {100, 100, 32}) == 0);
    force_shape_rule(std::nullopt);
    CHECK(select_variant(rules, {100, 100, 100}) == 2);
}
