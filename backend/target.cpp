// backend/target.cpp - resolves the target CPU and creates the LLVM TargetMachine.
#include "backend/target.h"

#include "support/error.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/TargetParser/Host.h>

#include <mutex>
#include <sstream>

namespace gpt2c::backend {

namespace {

void initialize_llvm() {
    static std::once_flag once;
    std::call_once(once, [] {
        llvm::InitializeNativeTarget();
        llvm::InitializeNativeTargetAsmPrinter();
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

TargetSpec resolve_target(const std::string& cpu, const std::string& features) {
    initialize_llvm();
    TargetSpec spec;
    spec.triple = llvm::sys::getDefaultTargetTriple();
    bool host = cpu.empty() || cpu == "native" || cpu == "host";
    spec.cpu = host ? llvm::sys::getHostCPUName().str() : cpu;
    spec.features = !features.empty() ? features : (host ? host_features() : "");
    return spec;
}

passes::TargetInfo pass_target_info(const TargetSpec& target) {
    std::unique_ptr<llvm::TargetMachine> machine = create_target_machine(target);
    const llvm::MCSubtargetInfo* info = machine->getMCSubtargetInfo();
    passes::TargetInfo out;
    out.vector_bytes = info->checkFeatures("+avx512f") ? 64 : info->checkFeatures("+avx") ? 32 : 16;
    out.bf16_dot = info->checkFeatures("+avx512f,+avx512bw,+avx512vl,+avx512bf16");
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
