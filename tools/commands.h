// tools/commands.h - the gpt2c subcommands; each returns the process exit code.
#pragma once

#include "runtime/model.h"

#include <memory>
#include <string>

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
int cmd_pack_weights(int argc, char** argv);

// Loads LIBRARY with MODEL's checkpoint and writes its prepared weights to OUTPUT
// (runtime/packed_weights.h). Shared by pack-weights and compile --pack-weights.
void pack_weights(const std::string& library, const std::string& model_path, int threads, const std::string& output);

// Loads a model like Model::load and, when a LIB.weights beside the library was
// not used (stale), says why on stderr: otherwise a stale pack only shows as a slow load.
std::shared_ptr<Model> load_model_noting_pack(const std::string& library, const std::string& model_path, int threads);

}  // namespace gpt2c::tools
