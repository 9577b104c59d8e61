// runtime/host_cpu.h - the instruction-set features of the CPU this process runs on.
#pragma once

#include <set>
#include <string>

namespace gpt2c {

// The ISA features (support/cpu_isa.h, by their LLVM names) this CPU has and the OS
// has enabled: on x86 from CPUID, with the register state each needs saved by the
// OS (XCR0); on AArch64 from the kernel's HWCAP words. Read once, then cached.
const std::set<std::string>& host_isa_features();

}  // namespace gpt2c
