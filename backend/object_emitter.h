// backend/object_emitter.h - runs LLVM's optimization pipeline and writes an object file.
#pragma once

#include <string>

namespace llvm {
class Module;
class TargetMachine;
}  // namespace llvm

namespace gpt2c::backend {

// Optimizes `module` at LLVM -O`opt_level` (0-3) for `machine`.
void optimize_module(llvm::Module& module, llvm::TargetMachine& machine, int opt_level);

// Writes the module's machine code as an ELF object to `path`.
void emit_object_file(llvm::Module& module, llvm::TargetMachine& machine, const std::string& path);

// Writes textual LLVM IR (for --emit-llvm).
void write_llvm_ir(const llvm::Module& module, const std::string& path);

}  // namespace gpt2c::backend
