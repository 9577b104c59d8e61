// backend/kernel_library.h - the kernels' LLVM bitcode embedded in gpt2c.
#pragma once

#include "support/cpu_isa.h"

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace gpt2c::backend {

// A fresh copy of the kernel module compiled for `arch`, in `context`; each
// compile starts from one. Clang lowers the same kernel sources for each
// architecture at build time (calling conventions and vector types differ).
std::unique_ptr<llvm::Module> load_kernel_module(llvm::LLVMContext& context, CpuArch arch);

}  // namespace gpt2c::backend
