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

std::unique_ptr<llvm::TargetMachine> create_target_machine(const TargetSpec& spec) {
    initialize_llvm();
    std::string error;
    const llvm::Target* target = llvm::TargetRegistry::lookupTarget(spec.triple, error);
    if (!target) fail("target triple {}: {}", spec.triple, error);
    llvm::TargetOptions options;
    std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
        spec.triple, spec.cpu, spec.features, options, llvm::Reloc::PIC_, std::nullopt,
        llvm::CodeGenOptLevel::Aggressive));
    if (!machine) fail("cannot create a target machine for cpu '{}' features '{}'", spec.cpu, spec.features);
    if (!target->createMCSubtargetInfo(spec.triple, spec.cpu, "")->isCPUStringValid(spec.cpu))
        fail("--target-cpu={}: not a CPU LLVM knows for {}", spec.cpu, spec.triple);
    return machine;
}

}  // namespace gpt2c::backend
