// backend/parallel_codegen.h - optimizes and emits a library's LLVM module in parallel partitions.
#pragma once

#include "backend/target.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class Module;
}  // namespace llvm

namespace gpt2c::backend {

// Splits `module` (generate_llvm_module's) into up to `partitions` modules (a
// number the caller fixes, not the host's core count, so the same inputs give
// the same library on every machine): the
// generated functions (entry points, task functions, the library query) are
// shared out by their estimated size after inlining, and every partition gets
// its own copy of the kernels and constants it uses. Each partition is
// optimized at LLVM -O`opt_level` and emitted to an object file in its own
// thread and LLVMContext, at most `threads` at once. Returns the object files
// (`object_base`.N.o). One partition optimizes `module` itself, as one unit.
// When `emit_llvm` is set, the optimized partitions are
// linked back into one module and its IR is written there.
std::vector<std::string> optimize_and_emit(llvm::Module& module, const TargetSpec& target, int opt_level,
                                           int partitions, int threads, const std::string& object_base,
                                           const std::string& emit_llvm);

}  // namespace gpt2c::backend
