// backend/target.h - the CPU a library is compiled for, and its LLVM TargetMachine.
#pragma once

#include "passes/pass.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class TargetMachine;
}

namespace gpt2c::backend {

struct TargetSpec {
    std::string triple;    // normalized, e.g. "x86_64-pc-linux-gnu", "aarch64-unknown-linux-gnu"
    std::string cpu;       // e.g. "cascadelake", "x86-64-v3", "neoverse-n1"
    std::string features;  // LLVM feature string, e.g. "+avx2,+fma,-avx512f"
};

// Empty triple means the host's. Empty cpu means the host CPU for the host's
// architecture, and the architecture's baseline for another one ("generic" on
// AArch64: ARMv8-A with NEON). Empty features means the cpu's features (the host's
// actual features when cpu is the host). Throws gpt2c::Error for a triple gpt2c
// cannot compile for (it builds for x86_64 and aarch64 Linux).
TargetSpec resolve_target(const std::string& triple, const std::string& cpu, const std::string& features);

// Every feature the target enables: the CPU's own and the explicit ones, by LLVM name.
std::vector<std::string> enabled_features(const TargetSpec& target);

// What the graph passes may know of the target: the widest vector register
// (64 bytes with AVX-512F, 32 with AVX/AVX2, 16 otherwise: SSE, NEON), what the tiling
// passes size micro-kernels for, whether it has AVX512_BF16 dot products, and
// its integer dot products' width (AVX512_VNNI, AVX-VNNI).
passes::TargetInfo pass_target_info(const TargetSpec& target);

// Throws gpt2c::Error for an unknown CPU or triple.
std::unique_ptr<llvm::TargetMachine> create_target_machine(const TargetSpec& target);

}  // namespace gpt2c::backend
