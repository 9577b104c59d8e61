// tools/run_main.cpp - gpt2c-run, the runtime-only tool: runs libraries compiled by gpt2c.
// It links libgpt2c_runtime but not LLVM, so it builds where LLVM is not
// available (GPT2C_RUNTIME_ONLY, cross builds) and is small enough for a target board.
#include "tools/driver.h"

#include <vector>

int main(int argc, char** argv) {
    using namespace gpt2c::tools;
    const char* kNoCompiler = "gpt2c-run only runs compiled libraries; this needs gpt2c, the compiler (it links LLVM)";
    std::vector<Command> commands = {{"compile", kNoCompiler, nullptr}, {"opt", kNoCompiler, nullptr}};
    const auto runtime = runtime_commands();
    commands.insert(commands.end(), runtime.begin(), runtime.end());
    return run_driver("gpt2c-run", commands, argc, argv);
}
