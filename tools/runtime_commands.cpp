// tools/runtime_commands.cpp - the table of runtime-side subcommands, shared by gpt2c and gpt2c-run.
#include "tools/commands.h"
#include "tools/driver.h"

#ifdef GPT2C_HAVE_SERVER
#include "server/serve.h"
#endif

namespace gpt2c::tools {

std::span<const Command> runtime_commands() {
    static const Command kCommands[] = {
        {"logits", "write the logits of a token sequence to a .npy file", cmd_logits},
        {"generate", "greedily continue a token sequence", cmd_generate},
        {"run", "continue a text prompt (greedy or sampled), streaming the text", cmd_run},
        {"tokenize", "print the token ids of the text on stdin", cmd_tokenize},
        {"detokenize", "write the text of the token ids (a JSON array) on stdin", cmd_detokenize},
        {"bench", "measure prefill and decode speed, load time and memory", cmd_bench},
        {"pack-weights", "write LIB.weights: the prepared weights, mapped in place at load", cmd_pack_weights},
#ifdef GPT2C_HAVE_SERVER
        {"serve", "an OpenAI-compatible HTTP server (/v1/completions) with continuous batching",
         gpt2c::server::cmd_serve},
#endif
    };
    return kCommands;
}

}  // namespace gpt2c::tools
