// tools/cmd_run_model.cpp - `gpt2c logits` and `gpt2c generate`: run a compiled library on token ids.
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
    return Model::load(args.require("--lib"), args.require("--model"), threads);
}

int32_t argmax(const float* logits, int64_t n) { return int32_t(std::max_element(logits, logits + n) - logits); }

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
    specs.push_back({"-n", true, "number of new tokens"});
    specs.push_back({"--greedy", false, "pick the most likely token at every step"});
    Args args("generate", specs, argc, argv, 2);
    if (args.help()) {
        std::cout << "usage: " << program_name()
                  << " generate --lib LIB.so --model DIR --tokens 1,2,3 -n N --greedy\n\n" << args.usage();
        return 0;
    }
    std::vector<int32_t> tokens = parse_token_list(args.require("--tokens"), "--tokens");
    int64_t n = args.get_int("-n", 16, 0, 1 << 20);
    if (!args.has("--greedy"))
        fail("{0} generate: only --greedy decoding is available here (use {0} run to sample)", program_name());
    auto model = load_model(args);
    Session session(model);
    if (int64_t(tokens.size()) + n > session.capacity())
        fail("{} generate: {} prompt tokens plus {} new ones exceed the context of {} positions", program_name(),
             tokens.size(), n, session.capacity());
    std::vector<float> logits = session.next_logits(tokens);
    std::string line;
    for (int64_t i = 0; i < n; ++i) {
        int32_t next = argmax(logits.data(), int64_t(logits.size()));
        line += (i ? " " : "") + std::to_string(next);
        if (i + 1 < n) logits = session.next_logits({&next, 1});
    }
    std::cout << line << "\n";
    return 0;
}

}  // namespace gpt2c::tools
