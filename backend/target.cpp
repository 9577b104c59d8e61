// backend/target.cpp - resolves the target triple and CPU and creates the LLVM TargetMachine.
#include "backend/target.h"

#include "support/cpu_isa.h"
#include "support/error.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include <mutex>
#include <sstream>

namespace gpt2c::backend {

namespace {

// The two architectures gpt2c has kernels for (backend/kernels, compiled for each).
void initialize_llvm() {
    static std::once_flag once;
    std::call_once(once, [] {
        LLVMInitializeX86TargetInfo();
        LLVMInitializeX86Target();
        LLVMInitializeX86TargetMC();
        LLVMInitializeX86AsmPrinter();
        LLVMInitializeAArch64TargetInfo();
        LLVMInitializeAArch64Target();
        LLVMInitializeAArch64TargetMC();
        LLVMInitializeAArch64AsmPrinter();
    });
}

std::string host_features() {
    std::string features;
    for (const auto& feature : llvm::sys::getHostCPUFeatures()) {
        if (!features.empty()) features += ",";
        features += (feature.second ? "+" : "-") + feature.first().str();
    }
    return features;
}

}  // namespace

TargetSpec resolve_target(const std::string& triple, const std::string& cpu, const std::string& features) {
    initialize_llvm();
    const std::string host_triple = llvm::sys::getDefaultTargetTriple();
    TargetSpec spec;
    spec.triple = triple.empty() ? host_triple : llvm::Triple::normalize(triple);
    const llvm::Triple parsed(spec.triple);
    const CpuArch arch = arch_of_triple(spec.triple);
    if (arch == CpuArch::Unknown || !parsed.isOSLinux())
        fail("--target={}: gpt2c compiles for 64-bit x86 and ARM Linux (x86_64-linux-gnu, aarch64-linux-gnu)", triple);
    const bool host_arch = arch == arch_of_triple(host_triple);
    const bool native = cpu == "native" || cpu == "host";
    if (native && !host_arch)
        fail("--target-cpu={}: this machine is {}, the target {}; name the target's CPU (for example {})", cpu,
             arch_name(arch_of_triple(host_triple)), arch_name(arch),
             arch == CpuArch::AArch64 ? "cortex-a72, neoverse-n1" : "x86-64-v3");
    if (host_arch && (cpu.empty() || native)) {
        spec.cpu = llvm::sys::getHostCPUName().str();
        spec.features = !features.empty() ? features : host_features();
    } else {
        spec.cpu = !cpu.empty() ? cpu : arch == CpuArch::AArch64 ? "generic" : "x86-64";
        spec.features = features;
    }
    return spec;
}

std::vector<std::string> enabled_features(const TargetSpec& target) {
    std::unique_ptr<llvm::TargetMachine> machine = create_target_machine(target);
    const llvm::MCSubtargetInfo* info = machine->getMCSubtargetInfo();
    std::vector<std::string> features;
    for (const llvm::SubtargetFeatureKV& kv : info->getAllProcessorFeatures())
        if (info->getFeatureBits().test(kv.Value)) features.push_back(kv.Key);
    return features;
}

passes::TargetInfo pass_target_info(const TargetSpec& target) {
    std::unique_ptr<llvm::TargetMachine> machine = create_target_machine(target);
    const llvm::MCSubtargetInfo* info = machine->getMCSubtargetInfo();
    passes::TargetInfo out;
    if (arch_of_triple(target.triple) == CpuArch::X86_64) {
        out.vector_bytes = info->checkFeatures("+avx512f") ? 64 : info->checkFeatures("+avx") ? 32 : 16;
        out.bf16_dot = info->checkFeatures("+avx512f,+avx512bw,+avx512vl,+avx512bf16");
        out.int8_dot_bytes = info->checkFeatures("+avx512f,+avx512bw,+avx512vl,+avx512vnni") ? 64
                             : info->checkFeatures("+avx2,+fma,+avxvnni")                   ? 32
                                                                                             : 0;
        out.q4_dot_bytes = out.int8_dot_bytes > 0                                    ? out.int8_dot_bytes
                           : info->checkFeatures("+avx512f,+avx512bw,+avx512vl")     ? 64
                           : info->checkFeatures("+avx2,+fma")                       ? 32
                                                                                     : 0;
    } else {
        out.vector_bytes = 16;  // NEON; SVE's vector length is not known at compile time
        out.bf16_dot = false;  // the bf16 dot-product kernel is written for AVX512_BF16
        out.int8_dot_bytes = info->checkFeatures("+dotprod") ? 16 : 0;  // sdot (ARMv8.2 DotProd)
        out.q4_dot_bytes = out.int8_dot_bytes;
    }
    return out;
}

std::unique_ptr<llvm::TargetMachine> create_target_machine(const TargetSpec& spec) {
    initialize_llvm();
    std::string error;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(spec.triple, error);
    if (!target) fail("target triple {}: {}", spec.triple, error);
    // Check the CPU and every feature name first: LLVM only warns about unknown ones.
    std::unique_ptr<llvm::MCSubtargetInfo> probe(target->createMCSubtargetInfo(spec.triple, "", ""));
    if (!probe->isCPUStringValid(spec.cpu))
        fail("--target-cpu={}: not a CPU LLVM knows for {}", spec.cpu, spec.triple);
    std::stringstream features(spec.features);
    std::string feature;
    while (std::getline(features, feature, ',')) {
        if (feature.empty()) continue;
        std::string name = feature[0] == '+' || feature[0] == '-' ? feature.substr(1) : feature;
        bool known = false;
        for (const llvm::SubtargetFeatureKV& kv : probe->getAllProcessorFeatures())
            if (name == kv.Key) known = true;
        if (!known || (feature[0] != '+' && feature[0] != '-'))
            fail("--target-features: '{}' is not a feature LLVM knows for {} (write +name or -name)", feature, spec.triple);
    }
    llvm::TargetOptions options;
    std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
        spec.triple, spec.cpu, spec.features, options, llvm::Reloc::PIC_, std::nullopt,
        llvm::CodeGenOptLevel::Aggressive));
    if (!machine) fail("cannot create a target machine for cpu '{}' features '{}'", spec.cpu, spec.features);
    return machine;
}

}  // namespace gpt2c::backend
