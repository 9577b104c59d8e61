// tools/driver.cpp - subcommand dispatch, usage text and error reporting (see driver.h).
#include "tools/driver.h"

#include "support/error.h"

#include <cstring>
#include <iostream>

namespace gpt2c::tools {

namespace {

const char* g_program = "gpt2c";

void print_usage(std::ostream& out, std::span<const Command> commands) {
    out << "usage: " << g_program << " <command> [options]   (" << g_program << " <command> --help for its options)\n"
        << "\ncommands:\n";
    for (const Command& c : commands)
        if (c.run) out << fmt::format("  {:<11} {}\n", c.name, c.summary);
}

}  // namespace

const char* program_name() { return g_program; }

int run_driver(const char* program, std::span<const Command> commands, int argc, char** argv) {
    g_program = program;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        print_usage(std::cout, commands);
        return argc < 2 ? 2 : 0;
    }
    const char* name = argv[1];
    try {
        for (const Command& c : commands) {
            if (std::strcmp(c.name, name) != 0) continue;
            if (!c.run) {
                std::cerr << program << ": '" << name << "' is not available: " << c.summary << "\n";
                return 2;
            }
            return c.run(argc, argv);
        }
        std::cerr << program << ": unknown command '" << name << "'\n";
        print_usage(std::cerr, commands);
        return 2;
    } catch (const gpt2c::Error& e) {
        std::cerr << program << ": error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << program << ": internal error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace gpt2c::tools
