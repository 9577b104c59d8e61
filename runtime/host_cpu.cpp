// runtime/host_cpu.cpp - reads the host's ISA features (CPUID + XCR0, or AT_HWCAP/AT_HWCAP2).
#include "runtime/host_cpu.h"

#include "support/cpu_isa.h"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace gpt2c {

namespace {

#if defined(__x86_64__)
bool cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
    const uint32_t max_leaf = __get_cpuid_max(leaf & 0x80000000u, nullptr);
    if (max_leaf < leaf) return false;
    __cpuid_count(leaf, subleaf, out[0], out[1], out[2], out[3]);
    return true;
}

// The state components the OS saves (XCR0), or 0 without OSXSAVE.
uint64_t os_xcr0() {
    uint32_t r[4];
    if (!cpuid(1, 0, r) || !(r[2] & (1u << 27))) return 0;
    uint32_t lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t(hi) << 32) | lo;
}

std::set<std::string> read_features() {
    std::set<std::string> has;
    const uint64_t xcr0 = os_xcr0();
    for (const X86IsaFeature& f : x86_isa_features()) {
        uint32_t r[4];
        if (cpuid(f.leaf, f.subleaf, r) && (r[f.reg] & (1u << f.bit)) && (xcr0 & f.xcr0) == f.xcr0)
            has.insert(f.llvm_name);
    }
    return has;
}
#elif defined(__aarch64__)
std::set<std::string> read_features() {
    std::set<std::string> has;
    const uint64_t words[3] = {0, getauxval(AT_HWCAP), getauxval(AT_HWCAP2)};
    for (const AArch64IsaFeature& f : aarch64_isa_features())
        if ((words[f.hwcap_word] & f.mask) == f.mask) has.insert(f.llvm_name);
    return has;
}
#else
std::set<std::string> read_features() { return {}; }
#endif

}  // namespace

const std::set<std::string>& host_isa_features() {
    static const std::set<std::string> features = read_features();
    return features;
}

}  // namespace gpt2c
