// support/cpu_isa.h - which CPU features are instruction-set features, and how a CPU reports them.
//
// A compiled library may only run where every instruction its code can contain
// decodes. LLVM's feature list for a CPU name also holds system and privileged
// features (invpcid, pcid, rdpid, sgx, xsaves, rtm, ...) that user-mode code
// never executes and hypervisors often hide; a library built for `haswell` must
// not be refused because a VM hides invpcid. So both sides use this one table:
// the backend records only the features listed here, and the runtime checks only
// those, detecting each one the way the table says.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

enum class CpuArch { X86_64, AArch64, Unknown };

// "x86_64-pc-linux-gnu" -> X86_64, "aarch64-linux-gnu" / "arm64-..." -> AArch64.
CpuArch arch_of_triple(std::string_view triple);
// "x86_64", "aarch64" (the names the metadata and messages use), or "unknown".
const char* arch_name(CpuArch arch);
CpuArch arch_from_name(std::string_view name);
// The architecture this code was compiled for.
CpuArch build_arch();

// An x86 ISA feature as CPUID reports it: leaf, subleaf, register (0..3 = eax,
// ebx, ecx, edx), bit, and the XCR0 state components the OS must enable for it.
struct X86IsaFeature {
    const char* llvm_name;
    uint32_t leaf, subleaf;
    int reg, bit;
    uint64_t xcr0;
};

// An AArch64 ISA feature as Linux reports it: every bit of `mask` set in
// getauxval(AT_HWCAP) (hwcap_word 1) or AT_HWCAP2 (hwcap_word 2).
struct AArch64IsaFeature {
    const char* llvm_name;
    int hwcap_word;
    uint64_t mask;
};

std::span<const X86IsaFeature> x86_isa_features();
std::span<const AArch64IsaFeature> aarch64_isa_features();

// True for the features of `arch` that generated code may use (the tables above).
bool is_isa_feature(CpuArch arch, std::string_view llvm_name);

// The ISA features of `arch` among `features` (anything else is dropped), sorted.
std::vector<std::string> isa_features_of(CpuArch arch, const std::vector<std::string>& features);

// The ISA features in `required` that a CPU with `cpu_has` lacks, in the order of
// `required`. Features that are not ISA features of `arch` are never missing.
std::vector<std::string> missing_isa_features(CpuArch arch, const std::vector<std::string>& required,
                                              const std::set<std::string>& cpu_has);

}  // namespace gpt2c
