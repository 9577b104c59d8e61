// backend/object_emitter.cpp - LLVM's new pass manager pipeline and the codegen to an object file.
#include "backend/object_emitter.h"

#include "support/error.h"

#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

namespace gpt2c::backend {

void optimize_module(llvm::Module& module, llvm::TargetMachine& machine, int opt_level) {
    module.setDataLayout(machine.createDataLayout());
    module.setTargetTriple(machine.getTargetTriple().str());
    std::string errors;
    llvm::raw_string_ostream error_stream(errors);
    if (llvm::verifyModule(module, &error_stream))
        fail("internal error: generated LLVM IR does not verify: {}", error_stream.str());

    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopVectorization = opt_level >= 2;
    tuning.SLPVectorization = opt_level >= 2;
    llvm::PassBuilder builder(&machine, tuning);
    builder.registerModuleAnalyses(mam);
    builder.registerCGSCCAnalyses(cgam);
    builder.registerFunctionAnalyses(fam);
    builder.registerLoopAnalyses(lam);
    builder.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::OptimizationLevel level = opt_level <= 0   ? llvm::OptimizationLevel::O0
                                    : opt_level == 1 ? llvm::OptimizationLevel::O1
                                    : opt_level == 2 ? llvm::OptimizationLevel::O2
                                                     : llvm::OptimizationLevel::O3;
    llvm::ModulePassManager passes = level == llvm::OptimizationLevel::O0
                                         ? builder.buildO0DefaultPipeline(level)
                                         : builder.buildPerModuleDefaultPipeline(level);
    passes.run(module, mam);
}

void emit_object_file(llvm::Module& module, llvm::TargetMachine& machine, const std::string& path) {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
    if (ec) fail("{}: cannot write the object file: {}", path, ec.message());
    llvm::legacy::PassManager pm;
    if (machine.addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
        fail("internal error: LLVM cannot emit an object file for this target");
    pm.run(module);
    out.flush();
    if (out.has_error()) fail("{}: write failed", path);
}

void write_llvm_ir(const llvm::Module& module, const std::string& path) {
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
    if (ec) fail("{}: cannot write: {}", path, ec.message());
    module.print(out, nullptr);
}

}  // namespace gpt2c::backend
