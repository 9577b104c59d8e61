// tests/e2e/e2e_engine_test.cpp - continuous batching and multi-turn sessions on the example model.
//
// The Engine must give every request exactly what generate() gives it alone
// (token ids, text, log-probabilities, how it ended), with its own sampling
// options and seed, whatever else shares its steps: more requests than slots
// (so some wait), prompt chunks of one beside decode rows of others, requests
// that are cancelled or stopped by a stop string. A Conversation must
// continue exactly as a fresh generation over the same tokens would.
#include "runtime/conversation.h"
#include "runtime/engine.h"
#include "runtime/generator.h"
#include "tests/e2e/e2e_support.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace gpt2c;
using namespace gpt2c::e2e;

namespace {

// Everything an event says, owned.
struct Recorded {
    int32_t token;
    std::string text;
    double logprob;
    std::vector<std::pair<int32_t, double>> top;
    FinishReason finish;
    bool operator==(const Recorded&) const = default;
};

Recorded record(const TokenEvent& e) {
    Recorded r{e.token, std::string(e.text), e.logprob, {}, e.finish};
    for (const TokenLogprob& t : e.top) r.top.push_back({t.token, t.logprob});
    return r;
}

struct Example {
    std::shared_ptr<Model> model;
    Tokenizer tokenizer;
    int32_t eos;
};

Example& example() {
    static Example e{Model::load(compile(kExampleDir, 3), kExampleDir, 2), Tokenizer::load(kExampleDir), 50256};
    return e;
}

struct Job {
    std::vector<int32_t> prompt;
    GenerateOptions options;
};

std::vector<Job> jobs() {
    Example& ex = example();
    const std::string long_text =
        "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\nFirst Citizen:\n"
        "You are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\nFirst Citizen:\nFirst, "
        "you know Caius Marcius is chief enemy to the people.\n\nAll:\nWe know't, we know't.\n\nFirst Citizen:\n"
        "Let us kill him, and we'll have corn at our own price.\nIs't a verdict?";
    std::vector<Job> out;
    auto add = [&](const std::string& text, int64_t n, float temperature, uint64_t seed) {
        Job j;
        j.prompt = ex.tokenizer.encode(text);
        j.options.max_new_tokens = n;
        j.options.sampling.temperature = temperature;
        j.options.sampling.greedy = temperature == 0;
        j.options.sampling.seed = seed;
        out.push_back(j);
        return &out.back();
    };
    add("ROMEO:", 24, 0, 0);
    add(long_text, 20, 0.9f, 11)->options.sampling.top_k = 40;
    add("", 12, 1.0f, 5)->options.logprobs = 3;
    Job* stop = add("KING RICHARD III:\n", 40, 0.8f, 3);
    stop->options.stop = {"\n", "the"};
    stop->options.logprobs = 0;
    add(long_text + "\n\nSecond Citizen:", 16, 1.0f, 99)->options.sampling.top_p = 0.9f;
    Job* penalized = add("JULIET:\nO Romeo, Romeo!", 30, 0.7f, 123);
    penalized->options.sampling.presence_penalty = 0.8f;
    penalized->options.sampling.frequency_penalty = 0.4f;
    add("To be", 0, 1.0f, 1);  // nothing to generate: only the final event
    return out;
}

std::vector<Recorded> alone(const Job& job) {
    Example& ex = example();
    Session session(ex.model);
    std::vector<Recorded> events;
    generate(session, ex.tokenizer, job.prompt, job.options, ex.eos, [&](const TokenEvent& e) {
        events.push_back(record(e));
        return true;
    });
    return events;
}

void run_to_idle(Engine& engine) {
    for (int guard = 0; !engine.idle(); ++guard) {
        REQUIRE(guard < 10000);
        engine.step();
    }
}

}  // namespace

TEST_CASE("engine: each request gets what it gets alone, whatever shares its steps", "[engine]") {
    Example& ex = example();
    const std::vector<Job> js = jobs();
    std::vector<std::vector<Recorded>> expected;
    for (const Job& j : js) expected.push_back(alone(j));
    // Sanity: the jobs cover what they are meant to.
    CHECK(expected[3].back().finish == FinishReason::stop_string);
    CHECK(expected[0].back().finish == FinishReason::length);
    CHECK(expected[6].size() == 1);

    for (int64_t step_rows : {3, 16, 200}) {
        for (int slots : {3, 7}) {
            if (step_rows < slots) continue;
            INFO("max_step_rows " << step_rows << ", slots " << slots);
            EngineOptions options;
            options.n_slots = slots;
            options.max_step_rows = step_rows;
            Engine engine(ex.model, ex.tokenizer, ex.eos, options);
            std::vector<std::vector<Recorded>> got(js.size());
            for (size_t k = 0; k < js.size(); ++k)
                engine.submit(js[k].prompt, js[k].options, [&got, k](const TokenEvent& e) {
                    got[k].push_back(record(e));
                    return true;
                });
            run_to_idle(engine);
            for (size_t k = 0; k < js.size(); ++k) {
                INFO("request " << k);
                CHECK(got[k] == expected[k]);
            }
            const EngineStats stats = engine.stats();
            CHECK(stats.active == 0);
            CHECK(stats.queued == 0);
            CHECK(stats.last_step_rows <= step_rows);
            for (int s = 0; s < slots; ++s) CHECK(engine.context().length(s) == 0);
        }
    }
}

TEST_CASE("engine: cancelled requests end at once and leave the others alone", "[engine]") {
    Example& ex = example();
    const std::vector<Job> js = jobs();
    const std::vector<Recorded> expected0 = alone(js[0]), expected1 = alone(js[1]);
    EngineOptions options;
    options.n_slots = 2;
    options.max_step_rows = 8;
    Engine engine(ex.model, ex.tokenizer, ex.eos, options);
    std::vector<Recorded> got0, got1, by_callback, queued;
    engine.submit(js[0].prompt, js[0].options, [&](const TokenEvent& e) {
        got0.push_back(record(e));
        return true;
    });
    // Stops itself after 3 tokens.
    engine.submit(js[4].prompt, js[4].options, [&](const TokenEvent& e) {
        by_callback.push_back(record(e));
        return by_callback.size() < 3;
    });
    engine.submit(js[1].prompt, js[1].options, [&](const TokenEvent& e) {
        got1.push_back(record(e));
        return true;
    });
    const uint64_t waiting = engine.submit(js[5].prompt, js[5].options, [&](const TokenEvent& e) {
        queued.push_back(record(e));
        return true;
    });
    engine.step();
    engine.cancel(waiting);  // still queued: both slots are taken
    run_to_idle(engine);
    CHECK(got0 == expected0);
    CHECK(got1 == expected1);
    REQUIRE(by_callback.size() == 4);
    CHECK(by_callback.back().finish == FinishReason::cancelled);
    REQUIRE(queued.size() == 1);
    CHECK(queued[0].finish == FinishReason::cancelled);
    CHECK(queued[0].token == -1);

    // Cancelled from another thread while it runs.
    std::atomic<int> tokens{0};
    std::vector<Recorded> running;
    const uint64_t id = engine.submit(js[0].prompt, js[0].options, [&](const TokenEvent& e) {
        running.push_back(record(e));
        ++tokens;
        return true;
    });
    std::thread canceller([&] {
        while (tokens < 2) std::this_thread::yield();
        engine.cancel(id);
    });
    for (int guard = 0; !engine.idle() && guard < 1000; ++guard) engine.step(std::chrono::milliseconds(10));
    canceller.join();
    REQUIRE(!running.empty());
    CHECK(running.back().finish == FinishReason::cancelled);
    CHECK(running.size() < expected0.size());
    for (size_t i = 0; i + 1 < running.size(); ++i) CHECK(running[i] == expected0[i]);
}

// An engine over the example with 64 positions per slot, for the admission tests.
static std::unique_ptr<Engine> small_engine(int n_slots, size_t max_queue) {
    Example& ex = example();
    EngineOptions options;
    options.n_slots = n_slots;
    options.max_queue = max_queue;
    options.context = 64;
    return std::make_unique<Engine>(ex.model, ex.tokenizer, ex.eos, options);
}

TEST_CASE("engine: bad requests are refused, a full queue says busy", "[engine]") {
    auto owned = small_engine(1, 2);
    Engine& engine = *owned;
    GenerateOptions o;
    o.max_new_tokens = 4;
    CHECK_THROWS_WITH(engine.submit(std::vector<int32_t>(64, 11), o, nullptr),
                      Catch::Contains("64 tokens") && Catch::Contains("no room"));
    CHECK_THROWS_WITH(engine.submit({1, 50257}, o, nullptr), Catch::Contains("50257") && Catch::Contains("vocabulary"));
    GenerateOptions bad = o;
    bad.logprobs = 21;
    CHECK_THROWS_WITH(engine.submit({1}, bad, nullptr), Catch::Contains("logprobs"));
    bad = o;
    bad.sampling.top_p = 0;
    CHECK_THROWS_WITH(engine.submit({1}, bad, nullptr), Catch::Contains("top_p"));
    // Before any step: the first request will take the free slot, the next two wait, the fourth is refused.
    engine.submit({1}, o, nullptr);
    engine.submit({2}, o, nullptr);
    engine.submit({3}, o, nullptr);
    CHECK_THROWS_AS(engine.submit({4}, o, nullptr), EngineBusy);
    run_to_idle(engine);
    engine.close();
    CHECK_THROWS_AS(engine.submit({3}, o, nullptr), EngineBusy);
    CHECK(engine.stats().generated_tokens == 12);
}

TEST_CASE("engine: with no queue, each free slot still takes a request", "[engine]") {
    auto owned = small_engine(2, 0);
    Engine& engine = *owned;
    GenerateOptions o;
    o.max_new_tokens = 4;
    engine.submit({1}, o, nullptr);
    engine.submit({2}, o, nullptr);
    CHECK_THROWS_AS(engine.submit({3}, o, nullptr), EngineBusy);
    engine.step(std::chrono::milliseconds(0));  // both take their slots; still none free
    CHECK(engine.stats().active == 2);
    CHECK_THROWS_AS(engine.submit({3}, o, nullptr), EngineBusy);
    run_to_idle(engine);
    engine.submit({3}, o, nullptr);  // free again
    run_to_idle(engine);
    CHECK(engine.stats().generated_tokens == 12);
}

TEST_CASE("conversation: each turn continues exactly as a fresh generation over the same tokens", "[engine]") {
    Example& ex = example();
    Conversation chat(ex.model, ex.tokenizer, ex.eos, 200);
    GenerateOptions o;
    o.max_new_tokens = 12;
    o.sampling.temperature = 0.8f;
    o.sampling.seed = 42;
    o.stop = {"\n\n"};
    std::vector<std::vector<int32_t>> before;  // the conversation's tokens before each turn's generation
    std::vector<std::vector<Recorded>> turns;
    for (const std::string text : {"ROMEO:\n", "\n\nJULIET:\n", " And then?"}) {
        chat.append(ex.tokenizer.encode(text));
        before.push_back(chat.tokens());
        turns.emplace_back();
        chat.generate(o, [&](const TokenEvent& e) {
            turns.back().push_back(record(e));
            return true;
        });
    }
    for (size_t t = 0; t < turns.size(); ++t) {
        INFO("turn " << t);
        // The repetition penalty is off, so the history before the turn changes nothing but the logits.
        CHECK(turns[t] == alone({before[t], o}));
    }
    // The tokens generated stay in the conversation.
    CHECK(chat.length() > int64_t(before.back().size()));
    // Rewinding and generating again reproduces the turn (same seed).
    chat.truncate(int64_t(before[1].size()));
    std::vector<Recorded> again;
    chat.generate(o, [&](const TokenEvent& e) {
        again.push_back(record(e));
        return true;
    });
    CHECK(again == turns[1]);
    CHECK_THROWS_WITH(chat.append(std::vector<int32_t>(200, 11)), Catch::Contains("context"));
    CHECK_THROWS_WITH(chat.truncate(1000), Catch::Contains("0.."));
}
