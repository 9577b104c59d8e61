// tools/cmd_run_model.cpp - `gpt2c logits` and `gpt2c generate`: run a compiled library on token ids.
#include "runtime/batch_generate.h"
#include "runtime/context.h"
#include "runtime/model.h"
#include "support/error.h"
#include "support/npy.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/driver.h"

#include <algorithm>
#include <iostream>

namespace gpt2c::tools {

namespace {

std::vector<OptionSpec> model_specs() {
    return {
        {"--lib", true, "the compiled library (from gpt2c compile)"},
        {"--model", true, "the model directory (with model.safetensors) or the checkpoint file"},
        {"--tokens", true, "comma-separated token ids"},
        {"--threads", true, "worker threads (default: one per hardware thread)"},
    };
}

std::shared_ptr<Model> load_model(const Args& args) {
    int threads = int(args.get_int("--threads", 0, 0, 1024));
    return load_model_noting_pack(args.require("--lib"), args.require("--model"), threads);
}

}  // namespace

int cmd_logits(int argc, char** argv) {
    auto specs = model_specs();
    specs.push_back({"--out", true, "the .npy file to write: float32 [T, vocab_size]"});
    specs.push_back({"--decode", false, "feed the tokens one at a time through the KV cache instead of one prefill"});
    Args args("logits", specs, argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " logits --lib LIB.so --model DIR --tokens 1,2,3 --out F.npy [--decode]\n\n"
                  << args.usage();
        return 0;
    }
    std::vector<int32_t> tokens = parse_token_list(args.require("--tokens"), "--tokens");
    std::string out = args.require("--out");
    auto model = load_model(args);
    Session session(model);
    const int64_t T = int64_t(tokens.size()), V = model->config().vocab_size;
    std::vector<float> logits(size_t(T * V));
    if (args.has("--decode")) {
        for (int64_t i = 0; i < T; ++i) session.forward({&tokens[size_t(i)], 1}, 1, &logits[size_t(i * V)]);
    } else {
        session.forward(tokens, T, logits.data());
    }
    write_npy_f32(out, logits.data(), {T, V});
    return 0;
}

int cmd_generate(int argc, char** argv) {
    auto specs = model_specs();
    specs[2].help = "comma-separated token ids of a prompt; repeat it to continue several prompts together";
    specs.push_back({"-n", true, "number of new tokens"});
    specs.push_back({"--greedy", false, "pick the most likely token at every step"});
    Args args("generate", specs, argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " generate --lib LIB.so --model DIR --tokens 1,2,3 [--tokens 4,5 ...] -n N --greedy\n"
                     "Prints one line of new ids per prompt, in the order given. Several prompts run together in\n"
                     "batched steps (each weight read once per step for all of them), with the ids each gets alone.\n\n"
                  << args.usage();
        return 0;
    }
    std::vector<std::vector<int32_t>> prompts;
    for (const std::string& list : args.all("--tokens")) prompts.push_back(parse_token_list(list, "--tokens"));
    if (prompts.empty()) args.require("--tokens");
    int64_t n = args.get_int("-n", 16, 0, 1 << 20);
    if (!args.has("--greedy"))
        fail("{0} generate: only --greedy decoding is available here (use {0} run to sample)", program_name());
    auto model = load_model(args);
    size_t longest = 0;
    for (const auto& p : prompts) longest = std::max(longest, p.size());
    if (int64_t(longest) + n > model->config().n_positions)
        fail("{} generate: {} prompt tokens plus {} new ones exceed the context of {} positions", program_name(),
             longest, n, model->config().n_positions);
    if (prompts.size() > 4096) fail("{} generate: at most 4096 prompts at once, got {}", program_name(), prompts.size());
    // Each slot reserves only what its sequence needs.
    Context context(model, int(prompts.size()), std::max<int64_t>(1, int64_t(longest) + n));
    for (const std::vector<int32_t>& ids : generate_greedy_batch(context, prompts, n)) {
        std::string line;
        for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
        std::cout << line << "\n";
    }
    return 0;
}

}  // namespace gpt2c::tools
