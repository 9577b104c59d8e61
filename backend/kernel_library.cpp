// backend/kernel_library.cpp - parses the bitcode that backend/kernel_bitcode.S embeds.
#include "backend/kernel_library.h"

#include "support/error.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>

extern "C" const char gpt2c_kernels_x86_64_bc_begin[];
extern "C" const char gpt2c_kernels_x86_64_bc_end[];
extern "C" const char gpt2c_kernels_aarch64_bc_begin[];
extern "C" const char gpt2c_kernels_aarch64_bc_end[];

namespace gpt2c::backend {

std::unique_ptr<llvm::Module> load_kernel_module(llvm::LLVMContext& context, CpuArch arch) {
    llvm::StringRef bytes;
    if (arch == CpuArch::X86_64)
        bytes = {gpt2c_kernels_x86_64_bc_begin, size_t(gpt2c_kernels_x86_64_bc_end - gpt2c_kernels_x86_64_bc_begin)};
    else if (arch == CpuArch::AArch64)
        bytes = {gpt2c_kernels_aarch64_bc_begin, size_t(gpt2c_kernels_aarch64_bc_end - gpt2c_kernels_aarch64_bc_begin)};
    else
        fail("internal error: no kernels for architecture {}", arch_name(arch));
    auto buffer = llvm::MemoryBuffer::getMemBuffer(bytes, std::string("gpt2c_kernels_") + arch_name(arch) + ".bc", false);
    auto module = llvm::parseBitcodeFile(buffer->getMemBufferRef(), context);
    if (!module) fail("internal error: the embedded kernel bitcode does not parse: {}", llvm::toString(module.takeError()));
    return std::move(*module);
}

}  // namespace gpt2c::backend
