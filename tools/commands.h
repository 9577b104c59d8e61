// tools/commands.h - the gpt2c subcommands; each returns the process exit code.
#pragma once

namespace gpt2c::tools {

// The compiler's commands: only in gpt2c (they link LLVM).
int cmd_compile(int argc, char** argv);
int cmd_opt(int argc, char** argv);

// The runtime's commands: in gpt2c and gpt2c-run (see runtime_commands() in driver.h).
int cmd_logits(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_detokenize(int argc, char** argv);
int cmd_bench(int argc, char** argv);

}  // namespace gpt2c::tools
