// backend/target.h - the CPU a library is compiled for, and its LLVM TargetMachine.
#pragma once

#include "passes/pass.h"

#include <memory>
#include <string>

namespace llvm {
class TargetMachine;
}

namespace gpt2c::backend {

struct TargetSpec {
    std::string triple;
    std::string cpu;       // e.g. "cascadelake"
    std::string features;  // LLVM feature string, e.g. "+avx2,+fma,-avx512f"
};

// Empty cpu means the host CPU; empty features means the cpu's features
// (the host's actual features when cpu is the host).
TargetSpec resolve_target(const std::string& cpu, const std::string& features);

// What the graph passes may know of the target: the widest vector register
// (64 bytes with AVX-512F, 32 with AVX/AVX2, 16 otherwise), what the tiling
// passes size micro-kernels for, and whether it has AVX512_BF16 dot products.
passes::TargetInfo pass_target_info(const TargetSpec& target);

// Throws gpt2c::Error for an unknown CPU or triple.
std::unique_ptr<llvm::TargetMachine> create_target_machine(const TargetSpec& target);

}  // namespace gpt2c::backend
