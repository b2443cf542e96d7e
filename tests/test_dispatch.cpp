// Variants: every library carries avx512, avx2 and sse41 kernels, each with the schedule variants
// of the default table (by shape rule); the runtime picks the best ISA this CPU runs and the
// variant for the call's shape, and every variant the CPU runs is correct, tails of each tile
// size included. Thread-count control.
#include "support/harness.h"

#include "reluforge/detail/variants.h"
#include "reluforge/reluforge.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <set>

using namespace reluforge;

namespace {
struct IsaLimit {
    explicit IsaLimit(Isa isa) { set_isa_limit(isa); }
    ~IsaLimit() { set_isa_limit(Isa::avx512); }
};
struct ForcedRule {
    explicit ForcedRule(const std::string &rule) { force_shape_rule(rule); }
    ~ForcedRule() { force_shape_rule(std::nullopt); }
};
}  // namespace

TEST_CASE("the best variant for this CPU is chosen, and a cap lowers it", "[dispatch]") {
    const KernelSpec spec = parse_spec("forward:relu:save=mask");
    CHECK(registered_isas(spec) == std::vector<Isa>{Isa::sse41, Isa::avx2, Isa::avx512});
    WARN("this CPU runs " << to_string(host_isa()) << " kernels");
    CHECK(find_kernel(spec).isa == host_isa());
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        CHECK(find_kernel(spec).isa == isa);
    }
}

TEST_CASE("the variant whose shape rule holds is chosen", "[dispatch]") {
    const KernelSpec fwd = parse_spec("forward:relu:save=mask"), bwd = parse_spec("backward_data:relu");
    std::set<std::string> fwd_rules, bwd_rules;
    for (const auto &v : registered_variants()) {
        if (v.spec == to_string(fwd)) fwd_rules.insert(v.shape_rule);
        if (v.spec == to_string(bwd)) bwd_rules.insert(v.shape_rule);
    }
    // k<=1024,m<=128,m>=6,n<=1024: AVX-512's (W read in place); m<=8: AVX-512's and AVX2's
    // cpu=intel_avx512,k<=1024,m<=128,m>=32,n<=1024 and cpu=intel_avx512,m<=8,m>=7 (packed
    // panels and the small batch's stream where the in-place entry lost on Intel), and
    // cpu=zen5,k>=256,m<=8,m>=7,n>=512 (the stream over a large W on Zen 5),
    // cpu=zen5,k<=1024,k>=768,m<=128,m>=96,n%1024=0 (packed panels where W's rows are 4 KiB
    // apart) and cpu=zen5,k>=4096,m<=256,m%4=0 (4-row blocks over a chunked deep reduction):
    // AVX-512's
    // cpu=zen5,k<=64,m>=2048: AVX-512's (column panels outermost on Zen 5)
    // cpu=intel_avx512,n<=63 (blocks of 6 rows rather than 12 into fewer than 64 columns): AVX-512's
    // m>=32,n<=15 (dot products into fewer than 16 columns): AVX-512's and AVX2's
    CHECK(fwd_rules == std::set<std::string>{"", "k<=64", "n<=63", "k<=1024,m<=128,m>=6,n<=1024", "m<=8", "cpu=zen5,k<=64,m>=2048",
                                             "cpu=intel_avx512,n<=63", "m>=32,n<=15",
                                             "cpu=intel_avx512,k<=1024,m<=128,m>=32,n<=1024", "cpu=intel_avx512,m<=8,m>=7",
                                             "cpu=zen5,k>=256,m<=8,m>=7,n>=512", "cpu=zen5,k<=1024,k>=768,m<=128,m>=96,n%1024=0", "cpu=zen3,k>=65,n>=512",
                                             "cpu=zen5,k>=4096,m<=256,m%4=0"});
    // cpu=<kind>,m<=511 for Zen 4, Zen 5 and Intel (the transposed product), m>=512 and
    // cpu=intel_avx512,m>=512 (W's panels packed in transposed tiles, and gathered): AVX-512's
    CHECK(bwd_rules == std::set<std::string>{"", "n<=64", "k<=63", "m>=512", "n<=256", "cpu=zen4,m<=511", "cpu=zen5,m<=511",
                                             "cpu=intel_avx512,m<=511", "m<=256", "cpu=intel_avx512,k>=512,n<=64",
                                             "cpu=intel_avx512,m>=512", "cpu=intel_avx512,k<=63",
                                             "cpu=zen4,k>=512,n<=64", "cpu=zen5,k>=512,n<=64", "cpu=zen3,m<=256"});
    const bool zen5 = host_isa() == Isa::avx512 && host_cpu().kind == CpuKind::zen5;
    const bool intel = host_isa() == Isa::avx512 && host_cpu().kind == CpuKind::intel_avx512;
    const bool zen4 = host_isa() == Isa::avx512 && host_cpu().kind == CpuKind::zen4;
    const bool avx2 = host_isa() == Isa::avx2, zen3 = avx2 && host_cpu().kind == CpuKind::zen3;
    const std::string product = zen5 ? "cpu=zen5,m<=511" : zen4 ? "cpu=zen4,m<=511" : "cpu=intel_avx512,m<=511";
    CHECK(find_kernel(fwd, {4096, 1024, 64}).shape_rule == (zen5 ? "cpu=zen5,k<=64,m>=2048" : "k<=64"));
    CHECK(find_kernel(fwd, {1024, 1024, 64}).shape_rule == "k<=64");
    // AVX2 has no entries for narrow outputs (but fewer than 16 columns); its shallow
    // backward_data reaches to a reduction of 256.
    CHECK(find_kernel(fwd, {4096, 32, 1024}).shape_rule == (intel ? "cpu=intel_avx512,n<=63" : avx2 ? "" : "n<=63"));
    CHECK(find_kernel(bwd, {4096, 256, 32}).shape_rule == (intel ? "cpu=intel_avx512,k<=63" : avx2 ? "n<=256" : "k<=63"));
    CHECK(find_kernel(fwd, {4096, 64, 1024}).shape_rule == "");
    CHECK(find_kernel(fwd).shape_rule == "");
    // Zen 3: 3x4 blocks from K = 65 into 512 columns or more.
    const std::string wide = zen3 ? "cpu=zen3,k>=65,n>=512" : "";
    const std::string in_place = host_isa() == Isa::avx512 ? "k<=1024,m<=128,m>=6,n<=1024" : wide;
    CHECK(find_kernel(fwd, {32, 1024, 1024}).shape_rule == (intel ? "cpu=intel_avx512,k<=1024,m<=128,m>=32,n<=1024" : in_place));
    CHECK(find_kernel(fwd, {31, 1024, 1024}).shape_rule == in_place);
    const bool small_batch = host_isa() >= Isa::avx2;
    CHECK(find_kernel(fwd, {6, 1024, 1024}).shape_rule == (avx2 ? "m<=8" : in_place));
    CHECK(find_kernel(fwd, {4, 1024, 1024}).shape_rule == (small_batch ? "m<=8" : ""));
    CHECK(find_kernel(fwd, {1, 4096, 4096}).shape_rule == (small_batch ? "m<=8" : ""));
    const std::string stream = intel ? "cpu=intel_avx512,m<=8,m>=7" : "cpu=zen5,k>=256,m<=8,m>=7,n>=512";
    CHECK(find_kernel(fwd, {8, 1024, 4096}).shape_rule == (intel || zen5 ? stream : small_batch ? "m<=8" : ""));
    CHECK(find_kernel(fwd, {8, 1024, 1024}).shape_rule ==
          (intel || zen5 ? stream : host_isa() == Isa::avx512 ? in_place : small_batch ? "m<=8" : ""));
    CHECK(find_kernel(fwd, {8, 128, 128}).shape_rule ==
          (intel ? stream : host_isa() == Isa::avx512 ? in_place : small_batch ? "m<=8" : ""));
    // Small batches and few rows ahead of the shallow entry (measured from 8192 rows).
    CHECK(find_kernel(fwd, {4, 4096, 64}).shape_rule == (small_batch ? "m<=8" : "k<=64"));
    CHECK(find_kernel(fwd, {16, 1024, 64}).shape_rule == (host_isa() == Isa::avx512 ? in_place : "k<=64"));
    // A deep reduction: on Zen 5, rows a multiple of 4 in chunks of it.
    const std::string deep_chunks = zen5 ? "cpu=zen5,k>=4096,m<=256,m%4=0" : wide;
    CHECK(find_kernel(fwd, {32, 1024, 4096}).shape_rule == deep_chunks);
    CHECK(find_kernel(fwd, {256, 1024, 4096}).shape_rule == deep_chunks);
    CHECK(find_kernel(fwd, {30, 1024, 4096}).shape_rule == wide);
    // W's rows 4 KiB apart: Zen 5 packs its panels from 96 rows.
    const std::string intel_packed = "cpu=intel_avx512,k<=1024,m<=128,m>=32,n<=1024";
    CHECK(find_kernel(fwd, {128, 1024, 1024}).shape_rule ==
          (zen5 ? "cpu=zen5,k<=1024,k>=768,m<=128,m>=96,n%1024=0" : intel ? intel_packed : in_place));
    CHECK(find_kernel(fwd, {32, 4096, 1024}).shape_rule == wide);  // a wide output
    CHECK(find_kernel(fwd, {256, 1024, 1024}).shape_rule == wide);
    CHECK(find_kernel(bwd, {4096, 64, 1024}).shape_rule ==
          (intel ? "cpu=intel_avx512,k>=512,n<=64" : zen5 ? "cpu=zen5,k>=512,n<=64" : zen4 ? "cpu=zen4,k>=512,n<=64" : "n<=64"));
    CHECK(find_kernel(bwd, {4096, 64, 256}).shape_rule == "n<=64");
    // Zen 3, Zen 4, Zen 5 and Intel: the transposed product (Zen 3 up to 256 rows); elsewhere dot
    // products.
    const std::string few_rows = zen4 || zen5 || intel ? product : zen3 ? "cpu=zen3,m<=256" : "m<=256";
    CHECK(find_kernel(bwd, {64, 1024, 1024}).shape_rule == few_rows);
    CHECK(find_kernel(bwd, {200, 1024, 1024}).shape_rule == few_rows);
    CHECK(find_kernel(bwd, {400, 1024, 1024}).shape_rule == (zen4 || zen5 || intel ? product : ""));
    CHECK(find_kernel(bwd, {200, 256, 1024}).shape_rule == "n<=256");  // a shallow reduction: packed panels
    CHECK(find_kernel(bwd, {1024, 1024, 1024}).shape_rule ==
          (intel ? "cpu=intel_avx512,m>=512" : host_isa() == Isa::avx512 ? "m>=512" : ""));
    ForcedRule forced("");
    CHECK(find_kernel(fwd, {4096, 1024, 64}).shape_rule == "");
}

TEST_CASE("gelu (erf) reads W transposed through dot products up to 256 rows on AVX-512, 128 on AVX2", "[dispatch]") {
    // On AVX2, from 192 rows, packing won against the dot products and gelu's pass after them.
    const KernelSpec spec = parse_spec("backward_data:gelu:prev_bias=1:weight=kn:save=z");
    std::map<Isa, std::set<std::string>> rules;
    for (const auto &v : registered_variants()) {
        if (v.spec == to_string(spec)) rules[v.isa].insert(v.shape_rule);
    }
    CHECK(rules[Isa::avx512].count("m<=256"));
    CHECK(rules[Isa::avx2] == std::set<std::string>{"", "n<=64", "n<=256", "cpu=zen3,m<=256", "m<=128"});
}

TEST_CASE("a variant measured on one kind of CPU runs only there", "[dispatch]") {
    // The default table's chunked backward_weight won on Zen 5 and Intel; Zen 4 stages Xᵀ, and
    // Intel stages it at any batch.
    const KernelSpec spec = parse_spec("backward_weight:bias=0:weight=kn");
    std::set<std::string> rules;
    for (const auto &v : registered_variants()) {
        if (v.spec == to_string(spec) && v.isa == Isa::avx512) rules.insert(v.shape_rule);
    }
    REQUIRE(rules.count("cpu=zen5,k>=96,m>=1024,n<=128"));  // carried whatever CPU built it
    REQUIRE(rules.count("cpu=intel_avx512,k>=96,m>=1024,n<=128"));
    REQUIRE(rules.count("cpu=intel_avx512,k>=96,m>=1024,n<=80"));
    REQUIRE(rules.count("cpu=intel_avx512,k>=288,n>=128"));
    REQUIRE(rules.count("cpu=intel_avx512,k>=256,m>=128,n>=128"));
    REQUIRE(rules.count("cpu=zen5,k>=256,m>=128,n>=128"));
    REQUIRE(rules.count("cpu=intel_avx512,k>=64,m>=128,n>=512"));
    REQUIRE(rules.count("cpu=intel_avx512,k>=1024,m>=1024,n<=128,n>=96"));
    REQUIRE(rules.count("cpu=zen4,k>=256,m>=2048,n<=384"));
    REQUIRE(rules.count("k>=96,m>=1024"));
    REQUIRE(rules.count("k>=96,m>=1024,n<=127"));
    REQUIRE(rules.count("k>=512,m>=2048,n<=63,n>=32"));
    for (const char *product : {"cpu=intel_avx512,n<=31,n>=17", "cpu=intel_avx512,n<=47,n>=33", "cpu=intel_avx512,k>=512,m>=256,n<=63,n>=48",
                                "cpu=intel_avx512,m<=4096,n<=95,n>=65", "cpu=intel_avx512,k>=512,m>=256,n<=16",
                                "cpu=zen5,m>=128,n<=31,n>=17", "cpu=zen5,n<=47,n>=33", "cpu=zen5,m>=512,n<=63,n>=48",
                                "cpu=zen5,k>=64,n<=95,n>=65", "cpu=zen5,k>=1024,m>=256,n<=16"}) {
        REQUIRE(rules.count(product));
    }
    if (host_isa() == Isa::avx512) {
        const bool zen5 = host_cpu().kind == CpuKind::zen5, intel = host_cpu().kind == CpuKind::intel_avx512;
        const bool zen4 = host_cpu().kind == CpuKind::zen4;
        // Zen 4: dZ's rows in place over a batch of 2048 or more, into at most 384 columns.
        const std::string dz_rows = "cpu=zen4,k>=256,m>=2048,n<=384";
        CHECK(find_kernel(spec, {4096, 64, 1024}).shape_rule ==
              (zen5 ? "cpu=zen5,k>=96,m>=1024,n<=128" : intel ? "cpu=intel_avx512,k>=96,m>=1024,n<=80" : zen4 ? dz_rows : "k>=96,m>=1024,n<=127"));
        // 32 to 63 columns: Xᵀ staged over a large X, else the narrow panels; on Intel and Zen 5
        // the transposed product over other widths than 32 and 64.
        const std::string from48 = intel ? "cpu=intel_avx512,k>=512,m>=256,n<=63,n>=48" : "cpu=zen5,m>=512,n<=63,n>=48";
        CHECK(find_kernel(spec, {4096, 48, 1024}).shape_rule == (intel || zen5 ? from48 : zen4 ? dz_rows : "k>=512,m>=2048,n<=63,n>=32"));
        CHECK(find_kernel(spec, {4096, 32, 1024}).shape_rule == (zen4 ? dz_rows : "k>=512,m>=2048,n<=63,n>=32"));
        CHECK(find_kernel(spec, {1024, 48, 512}).shape_rule == (intel || zen5 ? from48 : "n<=63"));
        CHECK(find_kernel(spec, {128, 48, 512}).shape_rule == "n<=63");
        CHECK(find_kernel(spec, {256, 24, 128}).shape_rule ==
              (intel ? "cpu=intel_avx512,n<=31,n>=17" : zen5 ? "cpu=zen5,m>=128,n<=31,n>=17" : "n<=63"));
        CHECK(find_kernel(spec, {4096, 16, 1024}).shape_rule ==
              (intel ? "cpu=intel_avx512,k>=512,m>=256,n<=16" : zen5 ? "cpu=zen5,k>=1024,m>=256,n<=16" : zen4 ? dz_rows : "n<=63"));
        const std::string transposed = intel ? "cpu=intel_avx512,k>=256,m>=128,n>=128" : "cpu=zen5,k>=256,m>=128,n>=128";
        CHECK(find_kernel(spec, {4096, 256, 270}).shape_rule == (intel || zen5 ? transposed : zen4 ? dz_rows : "k>=96,m>=1024"));
        CHECK(find_kernel(spec, {4096, 256, 1024}).shape_rule == (intel || zen5 ? transposed : zen4 ? dz_rows : "k>=288,m>=1024,n>=128"));
        if (zen4) CHECK(find_kernel(spec, {4096, 512, 1024}).shape_rule == "k>=288,m>=1024,n>=128");
        CHECK(find_kernel(spec, {256, 256, 1024}).shape_rule == (intel || zen5 ? transposed : ""));
        // Intel: X transposed whole for a wide dW from 64 rows, and with the transposed product
        // over 96 to 128 columns of a deep one.
        CHECK(find_kernel(spec, {1024, 1024, 128}).shape_rule == (intel ? "cpu=intel_avx512,k>=64,m>=128,n>=512" : "k<=255,k>=128"));
        if (intel) CHECK(find_kernel(spec, {4096, 128, 1024}).shape_rule == "cpu=intel_avx512,k>=1024,m>=1024,n<=128,n>=96");
        CHECK(find_kernel(spec, {64, 256, 1024}).shape_rule == (intel ? "cpu=intel_avx512,k>=288,n>=128" : ""));
    }
}

TEST_CASE("every variant this CPU runs matches the reference", "[dispatch]") {
    std::set<std::string> rules;
    for (const auto &v : registered_variants()) rules.insert(v.shape_rule);
    // Shapes beyond the harness's: more rows than 8 tasks of the deep variant (whole tasks, and
    // a shifted last one), columns past whole panels on every ISA, depths on both sides of 64,
    // small batches streamed over more than a page of columns and in tasks of two blocks.
    auto shapes = cases::shapes();
    shapes.push_back({389, 37, 131});
    shapes.push_back({401, 70, 67});
    shapes.push_back({3, 37, 1100});  // W streamed a page wide, the last page shifted inwards
    shapes.push_back({10, 37, 70});   // streamed in tasks of two blocks, the last shifted inwards
    unsigned seed = 900;
    for (Isa isa : {Isa::sse41, Isa::avx2, Isa::avx512}) {
        if (isa > host_isa()) continue;
        IsaLimit limit(isa);
        for (const std::string &rule : rules) {
            ForcedRule forced(rule);
            for (const Activation &act : cases::every_variant_activations()) {
                for (const auto &layer : cases::layers(act)) {
                    CHECK(find_kernel(layer.forward_spec(), {1, 1, 1}).isa == isa);
                    for (const auto &shape : shapes) {
                        INFO(to_string(isa) << " rule '" << rule << "' " << cases::describe(layer) << " M,K,N="
                                            << shape.M << "," << shape.K << "," << shape.N);
                        auto f = cases::check_forward(layer, shape, seed++, true);
                        INFO(f.report);
                        CHECK(f.failed == 0);
                        auto b = cases::check_backward(layer, shape, seed++, false);
                        INFO(b.report);
                        CHECK(b.failed == 0);
                        auto c = cases::check_chained(layer, shape, seed++, false);
                        INFO(c.report);
                        CHECK(c.failed == 0);
                    }
                }
            }
        }
    }
}

TEST_CASE("the thread count is set and changes nothing in the results", "[dispatch]") {
    const int M = 300, K = 70, N = 130;
    std::vector<float> x(M * K), w(K * N), b(N), y1(M * N), y2(M * N);
    for (size_t k = 0; k < x.size(); k++) x[k] = float(k % 17) * 0.1f - 0.8f;
    for (size_t k = 0; k < w.size(); k++) w[k] = float(k % 13) * 0.1f - 0.6f;
    Linear layer(parse_activation("gelu"), true, WeightLayout::kn);
    auto run = [&](std::vector<float> &y) {
        ForwardArgs a;
        a.x = Tensor::matrix(x.data(), M, K);
        a.w = Tensor::matrix(w.data(), K, N);
        a.b = Tensor::vector(b.data(), N);
        a.y = Tensor::matrix(y.data(), M, N);
        layer.forward(a);
    };
    set_num_threads(1);
    CHECK(num_threads() == 1);
    run(y1);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    run(y2);
    CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
    set_num_threads(0);
}

// The process's threads, from /proc (Linux).
std::size_t process_threads() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto &entry : std::filesystem::directory_iterator("/proc/self/task")) n++;
    return n;
}

TEST_CASE("a lower thread count takes effect after kernels ran on more threads", "[dispatch]") {
    const int M = 256, K = 64, N = 128;  // several parallel tasks
    std::vector<float> x(M * K, 0.5f), w(K * N, 0.25f), b(N), y(M * N);
    Linear layer(parse_activation("gelu"), true, WeightLayout::kn);  // the kernel of the test above
    ForwardArgs a;
    a.x = Tensor::matrix(x.data(), M, K);
    a.w = Tensor::matrix(w.data(), K, N);
    a.b = Tensor::vector(b.data(), N);
    a.y = Tensor::matrix(y.data(), M, N);
    set_num_threads(1);
    layer.forward(a);
    const std::size_t alone = process_threads();
    set_num_threads(3);
    layer.forward(a);
    CHECK(process_threads() == alone + 2);  // the pool's two workers
    set_num_threads(1);
    layer.forward(a);
    CHECK(process_threads() == alone);  // Halide 14 on its own kept both
    set_num_threads(2);
    layer.forward(a);
    CHECK(process_threads() == alone + 1);
    CHECK(y[0] == Approx(64 * 0.5f * 0.25f));  // gelu(8) is 8 to float precision
    set_num_threads(0);
}

TEST_CASE("the CPU is identified: vendor, family and model, kind, caches", "[dispatch]") {
    const CpuInfo &cpu = host_cpu();
    WARN("CPU: " << cpu.model_name << " (" << cpu.vendor << " family " << cpu.family << " model " << cpu.model
                 << ", kind " << to_string(cpu.kind) << ", " << cpu.fma_bits << "-bit FMA)");
    CHECK_FALSE(cpu.vendor.empty());
    CHECK(cpu.family > 0);
    CHECK(&cpu == &host_cpu());  // read once
    // The kinds with schedules of their own run AVX-512, but Zen 3, AVX2.
    if (cpu.kind != CpuKind::other) CHECK(host_isa() == (cpu.kind == CpuKind::zen3 ? Isa::avx2 : Isa::avx512));
    CHECK((cpu.fma_bits == 128 || cpu.fma_bits == 256 || cpu.fma_bits == 512));
    CHECK(cpu.l1d_bytes >= 0);
}
