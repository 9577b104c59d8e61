// backend/linker.h - links object files into a shared library.
#pragma once

#include "support/cpu_isa.h"

#include <string>
#include <vector>

namespace gpt2c::backend {

// For this machine's architecture the system's C compiler driver links ($GPT2C_CC
// when set, else the C compiler gpt2c was built with); for another one LLVM's lld
// ($GPT2C_LLD, else the ld.lld found at build time). Throws gpt2c::Error with the
// linker's output when linking fails.
void link_shared_library(const std::vector<std::string>& objects, const std::string& output_path, CpuArch arch);

}  // namespace gpt2c::backend
