// backend/codegen.h - lowers a graph Module to an LLVM module.
//
// The generated module holds the kernels (from the embedded bitcode), one
// specialized task function per distinct (kernel, constant scalars) pair,
// gpt2c_forward and gpt2c_prepare (a sequence of parallel_for calls, one per
// node), the metadata string and the descriptor returned by the one exported
// symbol, gpt2c_library_query (see include/gpt2c/abi.h).
#pragma once

#include "backend/buffer_plan.h"
#include "backend/target.h"
#include "ir/ir.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
}  // namespace llvm

namespace gpt2c::backend {

std::unique_ptr<llvm::Module> generate_llvm_module(const ir::Module& module, const BufferPlan& plan,
                                                   const TargetSpec& target, const std::string& metadata_json,
                                                   llvm::LLVMContext& context);

}  // namespace gpt2c::backend
