// tests/unit/cpu_isa_test.cpp - which CPU features a library's load-time check compares.
//
// LLVM's feature list for a CPU holds system and privileged features (invpcid,
// pcid, rdpid, sgx, rtm, ...) that hypervisors hide; the check must count only
// instruction-set features. Each case takes the features LLVM enables for a CPU
// name, builds made-up CPU descriptions from them and runs the check the runtime
// runs (support/cpu_isa.h) against each.
#include "backend/target.h"
#include "runtime/host_cpu.h"
#include "support/cpu_isa.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace gpt2c;

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
}

// For a library built for `cpu` on `triple`: nothing is missing on a CPU that
// has exactly what LLVM says, nor on one without any system feature, nor
// without any single one; without one ISA feature, exactly that one is missing.
// Returns the library's ISA features for further checks.
std::vector<std::string> check_cpu(const std::string& triple, const std::string& cpu) {
    INFO("library for " << triple << " " << cpu);
    const CpuArch arch = arch_of_triple(triple);
    const std::vector<std::string> all = backend::enabled_features(backend::resolve_target(triple, cpu, ""));
    const std::vector<std::string> isa = isa_features_of(arch, all);
    REQUIRE(!isa.empty());
    const std::set<std::string> described(all.begin(), all.end());
    std::set<std::string> system;
    for (const std::string& f : all)
        if (!is_isa_feature(arch, f)) system.insert(f);

    CHECK(missing_isa_features(arch, isa, described).empty());
    // The runtime also ignores system features in a library that lists them (hand-made metadata).
    CHECK(missing_isa_features(arch, all, described).empty());
    const std::set<std::string> isa_only(isa.begin(), isa.end());
    CHECK(missing_isa_features(arch, isa, isa_only).empty());
    CHECK(missing_isa_features(arch, all, isa_only).empty());
    for (const std::string& s : system) {
        INFO("a CPU without the system feature " << s);
        std::set<std::string> without = described;
        without.erase(s);
        CHECK(missing_isa_features(arch, isa, without).empty());
        CHECK(missing_isa_features(arch, all, without).empty());
    }
    for (const std::string& f : isa) {
        INFO("a CPU without the ISA feature " << f);
        std::set<std::string> without = described;
        without.erase(f);
        CHECK(missing_isa_features(arch, isa, without) == std::vector<std::string>{f});
        CHECK(missing_isa_features(arch, all, without) == std::vector<std::string>{f});
    }
    return isa;
}

}  // namespace

TEST_CASE("x86 libraries are checked for instruction-set features only", "[cpu_isa]") {
    const std::string x86 = "x86_64-linux-gnu";
    for (const char* cpu : {"haswell", "x86-64-v2", "x86-64-v3", "x86-64-v4", "znver4", "sapphirerapids"}) {
        INFO(cpu);
        std::vector<std::string> isa = check_cpu(x86, cpu);
        for (const char* system : {"invpcid", "pcid", "rdpid", "sgx", "rtm", "xsaves", "fsgsbase", "rdrnd", "evex512"})
            CHECK(!contains(isa, system));
        CHECK(contains(isa, "sse2"));
    }
    // What each CPU name must bring.
    auto isa = [&](const char* cpu) { return isa_features_of(CpuArch::X86_64, backend::enabled_features(backend::resolve_target(x86, cpu, ""))); };
    CHECK(contains(isa("x86-64-v2"), "sse4.2"));
    CHECK(contains(isa("x86-64-v2"), "popcnt"));
    CHECK(!contains(isa("x86-64-v2"), "avx"));
    for (const char* f : {"avx2", "fma", "bmi2", "f16c", "movbe"}) {
        CHECK(contains(isa("haswell"), f));
        CHECK(contains(isa("x86-64-v3"), f));
    }
    CHECK(!contains(isa("x86-64-v3"), "avx512f"));
    for (const char* f : {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"}) CHECK(contains(isa("x86-64-v4"), f));
    CHECK(contains(isa("znver4"), "avx512bf16"));
    CHECK(contains(isa("sapphirerapids"), "amx-tile"));
    CHECK(contains(isa("sapphirerapids"), "avx512fp16"));
    // A Zen 4 library on a Zen 5 VM that hides invpcid, pcid and rdpid runs.
    std::vector<std::string> all = backend::enabled_features(backend::resolve_target(x86, "znver4", ""));
    std::set<std::string> vm(all.begin(), all.end());
    for (const char* hidden : {"invpcid", "pcid", "rdpid"}) vm.erase(hidden);
    CHECK(missing_isa_features(CpuArch::X86_64, isa("znver4"), vm).empty());
}

TEST_CASE("AArch64 libraries are checked for instruction-set features only", "[cpu_isa]") {
    const std::string arm = "aarch64-linux-gnu";
    std::vector<std::string> generic = check_cpu(arm, "generic");
    CHECK(contains(generic, "neon"));
    CHECK(contains(generic, "fp-armv8"));
    std::vector<std::string> a72 = check_cpu(arm, "cortex-a72");
    CHECK(contains(a72, "crc"));
    CHECK(!contains(a72, "dotprod"));
    std::vector<std::string> n1 = check_cpu(arm, "neoverse-n1");
    for (const char* f : {"dotprod", "lse", "rcpc", "fullfp16"}) CHECK(contains(n1, f));
    std::vector<std::string> v1 = check_cpu(arm, "neoverse-v1");
    for (const char* f : {"sve", "bf16", "i8mm", "dotprod"}) CHECK(contains(v1, f));
}

TEST_CASE("this CPU has every ISA feature of a library compiled for it", "[cpu_isa]") {
    const CpuArch arch = build_arch();
    const std::vector<std::string> native = isa_features_of(arch, backend::enabled_features(backend::resolve_target("", "", "")));
    CHECK(missing_isa_features(arch, native, host_isa_features()).empty());
    // The suite runs on x86-64 hosts with AVX2 or better.
    if (arch == CpuArch::X86_64) {
        CHECK(host_isa_features().count("avx2"));
        CHECK(host_isa_features().count("sse2"));
    }
}

TEST_CASE("target triples name their architecture", "[cpu_isa]") {
    CHECK(arch_of_triple("x86_64-pc-linux-gnu") == CpuArch::X86_64);
    CHECK(arch_of_triple("aarch64-unknown-linux-gnu") == CpuArch::AArch64);
    CHECK(arch_of_triple("arm64-linux-gnu") == CpuArch::AArch64);
    CHECK(arch_of_triple("riscv64-linux-gnu") == CpuArch::Unknown);
    CHECK(arch_from_name(arch_name(CpuArch::AArch64)) == CpuArch::AArch64);
    CHECK_THROWS_WITH(backend::resolve_target("riscv64-linux-gnu", "", ""), Catch::Contains("x86_64-linux-gnu, aarch64-linux-gnu"));
    CHECK_THROWS_WITH(backend::resolve_target("aarch64-linux-gnu", "native", ""), Catch::Contains("name the target's CPU"));
    CHECK(backend::resolve_target("aarch64-linux-gnu", "", "").cpu == "generic");
}
