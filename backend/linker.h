// backend/linker.h - links an object file into a shared library with the system's C compiler driver.
#pragma once

#include <string>

namespace gpt2c::backend {

// The driver is $GPT2C_CC when set, else the C compiler gpt2c was built with.
// Throws gpt2c::Error with the linker's output when linking fails.
void link_shared_library(const std::string& object_path, const std::string& output_path);

}  // namespace gpt2c::backend
