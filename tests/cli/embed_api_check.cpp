// tests/cli/embed_api_check.cpp - the installed C API and <gpt2c/runtime.hpp> on a real compiled model.
//
//   embed_api_check LIB.so MODEL_DIR PROMPT N
//
// Built by tests/cli/embed_test.sh against the installed headers and library
// only (C++17). Prints the greedy continuation of PROMPT (N tokens) to stdout
// for the script to compare with the reference; checks the rest itself and
// exits non-zero, naming the failed check, when one fails.
#include <gpt2c/runtime.h>
#include <gpt2c/runtime.hpp>

#include <algorithm>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int g_failures = 0;

#define EXPECT(cond)                                                                          \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::cerr << "embed_api_check: FAILED at line " << __LINE__ << ": " #cond << "\n"; \
            ++g_failures;                                                                     \
        }                                                                                     \
    } while (0)

bool contains(const char* haystack, const char* needle) { return std::strstr(haystack, needle) != nullptr; }

struct Collected {
    std::string text;
    std::vector<int32_t> tokens;
    int stop_after = -1;  // >= 0: ask to stop after this many tokens
};

int collect(void* user_data, int32_t token, const char* text, size_t length) {
    auto* c = static_cast<Collected*>(user_data);
    c->text.append(text, length);
    if (token >= 0) c->tokens.push_back(token);
    return c->stop_after >= 0 && int(c->tokens.size()) >= c->stop_after;
}

gpt2c_model* g_reentry_model = nullptr;
gpt2c_status g_reentry_status = GPT2C_OK;
int reenter(void*, int32_t, const char*, size_t) {
    g_reentry_status = gpt2c_generate(g_reentry_model, "x", 1, nullptr, nullptr, nullptr, nullptr);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: embed_api_check LIB.so MODEL_DIR PROMPT N\n";
        return 2;
    }
    const std::string lib = argv[1], dir = argv[2], prompt = argv[3];
    const int n = std::atoi(argv[4]);
    try {
        gpt2c::api::Model model = gpt2c::api::Model::load(lib, dir, 2);
        gpt2c_model* m = model.get();
        EXPECT(model.vocab_size() == 50257);
        EXPECT(model.context_length() == 256);

        // generation_config.json has no do_sample: greedy by default, stopping at 50256.
        gpt2c::api::Sampling defaults = model.sampling_defaults();
        EXPECT(defaults.greedy == 1);
        EXPECT(defaults.temperature == 1.0f && defaults.top_k == 0 && defaults.top_p == 1.0f);

        // The greedy continuation, streamed through the wrapper.
        std::string streamed;
        gpt2c::api::GenerationStats stats = model.generate(prompt, n, [&](int32_t, std::string_view text) {
            streamed.append(text);
            return true;
        });
        EXPECT(stats.generated_tokens == n);
        EXPECT(stats.prompt_tokens == int64_t(model.tokenize(prompt).size()));
        EXPECT(model.generate_text(prompt, n) == streamed);  // the session is reset between calls

        // tokenize / detokenize.
        std::vector<int32_t> ids = model.tokenize(prompt + streamed);
        EXPECT(model.detokenize(ids) == prompt + streamed);
        EXPECT(model.tokenize("").empty());
        EXPECT(model.detokenize(nullptr, 0).empty());
        const int32_t bad_id = 50257;
        char* text = nullptr;
        EXPECT(gpt2c_detokenize(m, &bad_id, 1, &text, nullptr) == GPT2C_ERROR_INVALID_ARGUMENT);
        EXPECT(contains(gpt2c_last_error(), "50257") && text == nullptr);

        // The C callback: token ids, stopping early, no callback at all.
        Collected c;
        gpt2c_generation_stats s{};
        EXPECT(gpt2c_generate(m, prompt.c_str(), n, nullptr, collect, &c, &s) == GPT2C_OK);
        EXPECT(c.text == streamed && int(c.tokens.size()) == n);
        EXPECT(model.detokenize(c.tokens) == streamed);
        Collected stop;
        stop.stop_after = 5;
        EXPECT(gpt2c_generate(m, prompt.c_str(), n, nullptr, collect, &stop, &s) == GPT2C_OK);
        EXPECT(stop.tokens.size() == 5 && s.generated_tokens == 5);
        EXPECT(gpt2c_generate(m, prompt.c_str(), 3, nullptr, nullptr, nullptr, &s) == GPT2C_OK);
        EXPECT(s.generated_tokens == 3);
        EXPECT(gpt2c_generate(m, prompt.c_str(), 0, nullptr, nullptr, nullptr, &s) == GPT2C_OK);
        EXPECT(s.generated_tokens == 0 && s.prompt_tokens > 0);
        Collected empty;
        EXPECT(gpt2c_generate(m, "", 4, nullptr, collect, &empty, &s) == GPT2C_OK);  // starts from <|endoftext|>
        EXPECT(s.prompt_tokens == 1);

        // Sampling: reproducible with a seed; bad options are INVALID_ARGUMENT naming the field.
        gpt2c_sampling sampled = defaults;
        sampled.greedy = 0;
        sampled.temperature = 0.9f;
        sampled.top_k = 40;
        sampled.top_p = 0.95f;
        sampled.repetition_penalty = 1.1f;
        sampled.seed = 1234;
        Collected a, b;
        EXPECT(gpt2c_generate(m, prompt.c_str(), 24, &sampled, collect, &a, nullptr) == GPT2C_OK);
        EXPECT(gpt2c_generate(m, prompt.c_str(), 24, &sampled, collect, &b, nullptr) == GPT2C_OK);
        EXPECT(a.tokens == b.tokens && !a.tokens.empty());
        gpt2c_sampling bad = defaults;
        bad.top_p = 1.5f;
        EXPECT(gpt2c_generate(m, prompt.c_str(), 4, &bad, nullptr, nullptr, nullptr) == GPT2C_ERROR_INVALID_ARGUMENT);
        EXPECT(contains(gpt2c_last_error(), "top_p"));
        bad = defaults;
        bad.repetition_penalty = 0.5f;
        EXPECT(gpt2c_generate(m, prompt.c_str(), 4, &bad, nullptr, nullptr, nullptr) == GPT2C_ERROR_INVALID_ARGUMENT);
        EXPECT(contains(gpt2c_last_error(), "repetition_penalty"));
        EXPECT(gpt2c_generate(m, prompt.c_str(), -1, nullptr, nullptr, nullptr, nullptr) ==
               GPT2C_ERROR_INVALID_ARGUMENT);
        EXPECT(contains(gpt2c_last_error(), "max_new_tokens"));

        // A prompt longer than the context is CONTEXT_FULL; the wrapper carries the status.
        std::string long_prompt;
        for (int i = 0; i < 300; ++i) long_prompt += " ROMEO";
        try {
            model.generate(long_prompt, 1);
            EXPECT(!"a too-long prompt did not throw");
        } catch (const gpt2c::api::Error& e) {
            EXPECT(e.status() == GPT2C_ERROR_CONTEXT_FULL);
            EXPECT(contains(e.what(), "256"));
        }

        // Calling generate from its own callback on the same model is refused, not a deadlock.
        g_reentry_model = m;
        EXPECT(gpt2c_generate(m, prompt.c_str(), 2, nullptr, reenter, nullptr, nullptr) == GPT2C_OK);
        EXPECT(g_reentry_status == GPT2C_ERROR_INVALID_ARGUMENT);

        // An exception from a wrapper callback stops generation and reaches the caller.
        try {
            model.generate(prompt, 4, [](int32_t, std::string_view) -> bool { throw std::runtime_error("stop"); });
            EXPECT(!"the callback's exception was lost");
        } catch (const std::runtime_error& e) {
            EXPECT(std::string(e.what()) == "stop");
        }

        // Two threads generating on one model are serialized and both get the greedy text.
        std::string t1, t2;
        std::thread w1([&] { t1 = model.generate_text(prompt, n); });
        std::thread w2([&] { t2 = model.generate_text(prompt, n); });
        w1.join();
        w2.join();
        EXPECT(t1 == streamed && t2 == streamed);

        // Contexts through the wrapper: the prompt in slot 0, copied to slot 1, both continued
        // greedily in shared steps, give the greedy ids; two contexts step from two threads at once.
        std::vector<int32_t> prompt_ids = model.tokenize(prompt);
        auto continue_both = [&](std::vector<int32_t>& a, std::vector<int32_t>& b) {
            gpt2c::api::Context context(model, 2, int32_t(prompt_ids.size()) + n);
            std::vector<gpt2c::api::BatchRow> rows;
            for (size_t i = 0; i < prompt_ids.size(); ++i)
                rows.push_back({prompt_ids[i], 0, int32_t(i), i + 1 == prompt_ids.size()});
            std::vector<float> logits;
            context.step(rows, logits);
            context.copy_prefix(0, 1, int32_t(prompt_ids.size()));
            auto argmax = [&](size_t row) {
                auto first = logits.begin() + long(row * size_t(model.vocab_size()));
                return int32_t(std::max_element(first, first + model.vocab_size()) - first);
            };
            a = {argmax(0)};
            b = {a[0]};
            for (int i = 1; i < n; ++i) {
                context.step({{a.back(), 0, context.length(0), 1}, {b.back(), 1, context.length(1), 1}}, logits);
                a.push_back(argmax(0));
                b.push_back(argmax(1));
            }
        };
        std::vector<int32_t> a1, b1, a2, b2;
        std::thread c1([&] { continue_both(a1, b1); });
        std::thread c2([&] { continue_both(a2, b2); });
        c1.join();
        c2.join();
        EXPECT(model.detokenize(a1) == streamed && a1 == b1 && a1 == a2 && b1 == b2);
        try {
            gpt2c::api::Context context(model, 1, 4);
            std::vector<float> logits;
            context.step({{1, 0, 0, 1}, {1, 0, 1, 1}, {1, 0, 2, 1}, {1, 0, 3, 1}, {1, 0, 4, 1}}, logits);
            EXPECT(!"a step past the context did not throw");
        } catch (const gpt2c::api::Error& e) {
            EXPECT(e.status() == GPT2C_ERROR_CONTEXT_FULL);
        }

        // A session: the greedy turn gives the greedy text, with log-probabilities; a
        // second turn runs after it and the conversation keeps every token.
        {
            gpt2c::api::Session chat(model);
            chat.append(prompt);
            gpt2c::api::GenerateOptions options = model.generate_options();
            options.sampling.greedy = 1;
            options.max_new_tokens = n;
            options.logprobs = 2;
            std::string text;
            gpt2c_finish_reason finish = GPT2C_FINISH_NONE;
            bool logprobs_ok = true;
            chat.generate(options, [&](const gpt2c::api::Event& e) {
                text.append(e.text, e.length);
                if (e.token >= 0)
                    logprobs_ok = logprobs_ok && e.n_top == 2 && e.top[0].token == e.token && e.logprob <= 0 &&
                                  e.logprob == e.top[0].logprob && e.top[1].logprob <= e.top[0].logprob;
                finish = e.finish;
                return true;
            });
            EXPECT(text == streamed);
            EXPECT(logprobs_ok);
            EXPECT(finish == GPT2C_FINISH_LENGTH);
            const int32_t after_first = chat.length();
            EXPECT(after_first == int32_t(prompt_ids.size()) + n);
            chat.append("\n");
            options.max_new_tokens = 2;
            chat.generate(options);
            EXPECT(chat.length() > after_first + 1);
            const std::vector<int32_t> all = chat.tokens();
            EXPECT(std::vector<int32_t>(all.begin(), all.begin() + long(prompt_ids.size())) == prompt_ids);
        }

        // An engine: requests from two threads, one stepping thread; each gets the greedy
        // text; a stop string cuts it; a full queue is refused with BUSY.
        {
            gpt2c::api::EngineOptions engine_options = gpt2c::api::Engine::default_options();
            engine_options.n_slots = 2;
            gpt2c::api::Engine engine(model, engine_options);
            gpt2c::api::GenerateOptions options = model.generate_options();
            options.sampling.greedy = 1;
            options.max_new_tokens = n;
            std::mutex mutex;
            std::vector<std::string> texts(4);
            std::vector<gpt2c_finish_reason> finishes(4, GPT2C_FINISH_NONE);
            auto submit = [&](size_t k, const gpt2c::api::GenerateOptions& o) {
                engine.submit(prompt_ids, o, [&, k](const gpt2c::api::Event& e) {
                    std::lock_guard<std::mutex> lock(mutex);
                    texts[k].append(e.text, e.length);
                    if (e.finish != GPT2C_FINISH_NONE) finishes[k] = e.finish;
                    return true;
                });
            };
            gpt2c::api::GenerateOptions stop = options;
            const std::string cut = streamed.substr(streamed.size() / 2, 3);
            stop.stop = {cut};
            std::thread s1([&] { submit(0, options); submit(1, options); });
            std::thread s2([&] { submit(2, options); submit(3, stop); });
            s1.join();
            s2.join();
            for (int guard = 0; guard < 100000 && (engine.stats().active || engine.stats().queued); ++guard) engine.step();
            for (size_t k = 0; k < 3; ++k) EXPECT(texts[k] == streamed && finishes[k] == GPT2C_FINISH_LENGTH);
            EXPECT(texts[3] == streamed.substr(0, streamed.find(cut)) && finishes[3] == GPT2C_FINISH_STOP_STRING);
            EXPECT(engine.stats().active == 0);

            gpt2c::api::EngineOptions tiny = engine_options;
            tiny.max_queue = 1;
            gpt2c::api::Engine full(model, tiny);
            // Free slots take their requests at the next step: n_slots + max_queue are accepted.
            for (int k = 0; k < tiny.n_slots + int(tiny.max_queue); ++k) full.submit(prompt_ids, options, nullptr);
            try {
                full.submit(prompt_ids, options, nullptr);
                EXPECT(!"a submit past the queue's limit did not throw");
            } catch (const gpt2c::api::Error& e) {
                EXPECT(e.status() == GPT2C_ERROR_BUSY);
            }
        }

        std::cout << streamed;
        return g_failures ? 1 : 0;
    } catch (const gpt2c::api::Error& e) {
        std::cerr << "embed_api_check: " << e.what() << " (status " << e.status() << ")\n";
        return 1;
    }
}
