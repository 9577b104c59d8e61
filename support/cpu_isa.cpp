// support/cpu_isa.cpp - the ISA feature tables (see cpu_isa.h for why only these count).
#include "support/cpu_isa.h"

#include <algorithm>

namespace gpt2c {

namespace {

constexpr uint64_t kAvxState = 0x6;      // SSE + AVX
constexpr uint64_t kAvx512State = 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
constexpr uint64_t kAmxState = 0x60006;  // + XTILECFG, XTILEDATA

// What a compiler may emit for arithmetic, vector and bit-manipulation code.
// Deliberately absent: system and privileged features (invpcid, pcid, rdpid,
// fsgsbase, xsave*, sgx, pku, shstk, uintr, pconfig, hreset, serialize, ...),
// transactional memory (rtm, hle: disabled by microcode on many CPUs),
// instructions a compiler never emits on its own (rdrnd, rdseed, clflushopt, clwb,
// cldemote, movdiri, movdir64b, enqcmd, waitpkg, mwaitx, clzero, rdpru, wbnoinvd,
// cmpccxadd, prefetchi) and LLVM pseudo-features with no CPUID bit (evex512, crc32:
// avx512f and sse4.2 imply them).
constexpr X86IsaFeature kX86[] = {
    {"64bit", 0x80000001, 0, 3, 29, 0},
    {"cx8", 1, 0, 3, 8, 0},
    {"cmov", 1, 0, 3, 15, 0},
    {"mmx", 1, 0, 3, 23, 0},
    {"fxsr", 1, 0, 3, 24, 0},
    {"sse", 1, 0, 3, 25, 0},
    {"sse2", 1, 0, 3, 26, 0},
    {"sse3", 1, 0, 2, 0, 0},
    {"pclmul", 1, 0, 2, 1, 0},
    {"ssse3", 1, 0, 2, 9, 0},
    {"fma", 1, 0, 2, 12, kAvxState},
    {"cx16", 1, 0, 2, 13, 0},
    {"sse4.1", 1, 0, 2, 19, 0},
    {"sse4.2", 1, 0, 2, 20, 0},
    {"movbe", 1, 0, 2, 22, 0},
    {"popcnt", 1, 0, 2, 23, 0},
    {"aes", 1, 0, 2, 25, 0},
    {"avx", 1, 0, 2, 28, kAvxState},
    {"f16c", 1, 0, 2, 29, kAvxState},
    {"bmi", 7, 0, 1, 3, 0},
    {"avx2", 7, 0, 1, 5, kAvxState},
    {"bmi2", 7, 0, 1, 8, 0},
    {"avx512f", 7, 0, 1, 16, kAvx512State},
    {"avx512dq", 7, 0, 1, 17, kAvx512State},
    {"adx", 7, 0, 1, 19, 0},
    {"avx512ifma", 7, 0, 1, 21, kAvx512State},
    {"avx512cd", 7, 0, 1, 28, kAvx512State},
    {"sha", 7, 0, 1, 29, 0},
    {"avx512bw", 7, 0, 1, 30, kAvx512State},
    {"avx512vl", 7, 0, 1, 31, kAvx512State},
    {"avx512vbmi", 7, 0, 2, 1, kAvx512State},
    {"avx512vbmi2", 7, 0, 2, 6, kAvx512State},
    {"gfni", 7, 0, 2, 8, 0},
    {"vaes", 7, 0, 2, 9, kAvxState},
    {"vpclmulqdq", 7, 0, 2, 10, kAvxState},
    {"avx512vnni", 7, 0, 2, 11, kAvx512State},
    {"avx512bitalg", 7, 0, 2, 12, kAvx512State},
    {"avx512vpopcntdq", 7, 0, 2, 14, kAvx512State},
    {"avx512vp2intersect", 7, 0, 3, 8, kAvx512State},
    {"amx-bf16", 7, 0, 3, 22, kAmxState},
    {"avx512fp16", 7, 0, 3, 23, kAvx512State},
    {"amx-tile", 7, 0, 3, 24, kAmxState},
    {"amx-int8", 7, 0, 3, 25, kAmxState},
    {"avxvnni", 7, 1, 0, 4, kAvxState},
    {"avx512bf16", 7, 1, 0, 5, kAvx512State},
    {"amx-fp16", 7, 1, 0, 21, kAmxState},
    {"avxifma", 7, 1, 0, 23, kAvxState},
    {"avxvnniint8", 7, 1, 3, 4, kAvxState},
    {"avxneconvert", 7, 1, 3, 5, kAvxState},
    {"amx-complex", 7, 1, 3, 8, kAmxState},
    {"avxvnniint16", 7, 1, 3, 10, kAvxState},
    {"sahf", 0x80000001, 0, 2, 0, 0},
    {"lzcnt", 0x80000001, 0, 2, 5, 0},
    {"sse4a", 0x80000001, 0, 2, 6, 0},
    {"prfchw", 0x80000001, 0, 2, 8, 0},
    {"xop", 0x80000001, 0, 2, 11, kAvxState},
    {"fma4", 0x80000001, 0, 2, 16, kAvxState},
    {"tbm", 0x80000001, 0, 2, 21, 0},
};

// Bits of AT_HWCAP / AT_HWCAP2 (linux/arch/arm64/include/uapi/asm/hwcap.h).
constexpr uint64_t bit(int n) { return uint64_t(1) << n; }
// Absent for the same reasons as on x86: pointer authentication, BTI, MTE, SSBS,
// SB, DIT, the cache-maintenance and random-number instructions.
constexpr AArch64IsaFeature kAArch64[] = {
    {"fp-armv8", 1, bit(0)},            // FP
    {"neon", 1, bit(1)},                // ASIMD
    {"aes", 1, bit(3) | bit(4)},        // AES, PMULL
    {"sha2", 1, bit(5) | bit(6)},       // SHA1, SHA2
    {"crc", 1, bit(7)},                 // CRC32
    {"lse", 1, bit(8)},                 // ATOMICS
    {"fullfp16", 1, bit(9) | bit(10)},  // FPHP, ASIMDHP
    {"rdm", 1, bit(12)},                // ASIMDRDM
    {"jsconv", 1, bit(13)},             // JSCVT
    {"complxnum", 1, bit(14)},          // FCMA
    {"rcpc", 1, bit(15)},               // LRCPC
    {"sha3", 1, bit(17) | bit(21)},     // SHA3, SHA512
    {"sm4", 1, bit(18) | bit(19)},      // SM3, SM4
    {"dotprod", 1, bit(20)},            // ASIMDDP
    {"sve", 1, bit(22)},                // SVE
    {"fp16fml", 1, bit(23)},            // ASIMDFHM
    {"sve2", 2, bit(1)},                // SVE2
    {"frint3264", 2, bit(8)},           // FRINT
    {"i8mm", 2, bit(13)},               // I8MM
    {"bf16", 2, bit(14)},               // BF16
};

}  // namespace

CpuArch arch_of_triple(std::string_view triple) {
    std::string_view head = triple.substr(0, triple.find('-'));
    if (head == "x86_64" || head == "amd64") return CpuArch::X86_64;
    if (head == "aarch64" || head == "arm64") return CpuArch::AArch64;
    return CpuArch::Unknown;
}

const char* arch_name(CpuArch arch) {
    switch (arch) {
    case CpuArch::X86_64: return "x86_64";
    case CpuArch::AArch64: return "aarch64";
    case CpuArch::Unknown: break;
    }
    return "unknown";
}

CpuArch arch_from_name(std::string_view name) {
    for (CpuArch arch : {CpuArch::X86_64, CpuArch::AArch64})
        if (name == arch_name(arch)) return arch;
    return CpuArch::Unknown;
}

CpuArch build_arch() {
#if defined(__x86_64__)
    return CpuArch::X86_64;
#elif defined(__aarch64__)
    return CpuArch::AArch64;
#else
    return CpuArch::Unknown;
#endif
}

std::span<const X86IsaFeature> x86_isa_features() { return kX86; }
std::span<const AArch64IsaFeature> aarch64_isa_features() { return kAArch64; }

bool is_isa_feature(CpuArch arch, std::string_view llvm_name) {
    if (arch == CpuArch::X86_64)
        return std::any_of(std::begin(kX86), std::end(kX86), [&](const auto& f) { return llvm_name == f.llvm_name; });
    if (arch == CpuArch::AArch64)
        return std::any_of(std::begin(kAArch64), std::end(kAArch64),
                           [&](const auto& f) { return llvm_name == f.llvm_name; });
    return false;
}

std::vector<std::string> isa_features_of(CpuArch arch, const std::vector<std::string>& features) {
    std::vector<std::string> out;
    for (const std::string& f : features)
        if (is_isa_feature(arch, f)) out.push_back(f);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::string> missing_isa_features(CpuArch arch, const std::vector<std::string>& required,
                                              const std::set<std::string>& cpu_has) {
    std::vector<std::string> missing;
    for (const std::string& f : required)
        if (is_isa_feature(arch, f) && !cpu_has.count(f)) missing.push_back(f);
    return missing;
}

}  // namespace gpt2c
