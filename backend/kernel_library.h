// backend/kernel_library.h - the kernels' LLVM bitcode embedded in gpt2c.
#pragma once

#include <memory>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace gpt2c::backend {

// A fresh copy of the kernel module in `context`; each compile starts from one.
std::unique_ptr<llvm::Module> load_kernel_module(llvm::LLVMContext& context);

}  // namespace gpt2c::backend
