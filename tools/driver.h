// tools/driver.h - the command-line driver shared by gpt2c and gpt2c-run.
//
// A program is a table of subcommands; run_driver picks argv[1] from it, prints
// the usage, and turns errors into exit codes: 0 ok, 1 "PROGRAM: error: ..."
// (a gpt2c::Error) or an internal error, 2 a usage error (no or unknown command).
#pragma once

#include <span>

namespace gpt2c::tools {

struct Command {
    const char* name;     // "run"
    const char* summary;  // one line for the usage text
    // nullptr: a command of the full gpt2c that this program refuses with `summary`
    // as the reason (gpt2c-run has no compiler); it is left out of the usage text.
    int (*run)(int argc, char** argv);
};

int run_driver(const char* program, std::span<const Command> commands, int argc, char** argv);

// The program run_driver runs as ("gpt2c" or "gpt2c-run"), for the commands'
// usage lines and messages; "gpt2c" before run_driver is called.
const char* program_name();

// logits, generate, run, tokenize, detokenize, bench: the commands that need only
// the runtime, in usage order (both programs list them).
std::span<const Command> runtime_commands();

}  // namespace gpt2c::tools
