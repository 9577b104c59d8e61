// backend/compiler.h - from an optimized graph Module to LIB.so, LIB.h and LIB.json.
#pragma once

#include "ir/ir.h"

#include <string>

namespace gpt2c::backend {

struct CompileOptions {
    std::string output;           // the .so path
    std::string target_triple;    // empty: the host's (e.g. aarch64-linux-gnu to cross-compile)
    std::string target_cpu;       // empty: the host CPU, or the target architecture's baseline
    std::string target_features;  // empty: the CPU's features
    int llvm_opt_level = 3;
    // Parts the code is optimized and emitted in, in parallel (parallel_codegen.h);
    // the output is the same for the same value on any machine.
    int codegen_partitions = 4;
    std::string emit_llvm;        // when set, the optimized LLVM IR is written there
    std::string pipeline;         // the graph passes that ran, recorded in the metadata
};

struct CompileResult {
    std::string library;
    std::string header;
    std::string metadata;
    std::string metadata_json;
};

// Verifies, plans buffers, generates and optimizes LLVM IR, emits an object
// and links. On failure nothing is left at the output paths.
CompileResult compile_library(const ir::Module& module, const CompileOptions& options);

}  // namespace gpt2c::backend
