// tools/main.cpp - gpt2c, the compiler and runner: compile and opt, then every runtime command.
#include "tools/commands.h"
#include "tools/driver.h"

#include <vector>

int main(int argc, char** argv) {
    using namespace gpt2c::tools;
    std::vector<Command> commands = {
        {"compile", "compile a GPT-2 config into a native shared library", cmd_compile},
        {"opt", "run graph passes on an IR file and print the result", cmd_opt},
    };
    const auto runtime = runtime_commands();
    commands.insert(commands.end(), runtime.begin(), runtime.end());
    return run_driver("gpt2c", commands, argc, argv);
}
