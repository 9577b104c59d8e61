// tests/unit/sequence_test.cpp - SequenceGenerator: one sequence's tokens, text, stop strings, logprobs and end.
#include "runtime/sequence.h"

#include "support/error.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace gpt2c;

namespace {

const std::string kModelDir = GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare";

const Tokenizer& gpt2() {
    static const Tokenizer tokenizer = Tokenizer::load(kModelDir);
    return tokenizer;
}

// Logits that make `id` the clear favourite.
std::vector<float> favour(int32_t id) {
    std::vector<float> logits(size_t(gpt2().vocab_size()), 0.0f);
    logits[size_t(id)] = 10.0f;
    return logits;
}

// Feeds the ids of `script` as favourites until the generator finishes; returns the text of
// every event (the final one last) and the final event's reason.
std::pair<std::string, FinishReason> play(SequenceGenerator& g, const std::vector<int32_t>& script,
                                          std::vector<int32_t>* tokens = nullptr) {
    std::string text;
    for (int32_t id : script) {
        if (g.finished()) break;
        const TokenEvent* e = g.accept(favour(id));
        if (e) {
            CHECK(e->token == id);
            CHECK(e->finish == FinishReason::none);
            text += e->text;
            if (tokens) tokens->push_back(e->token);
        }
    }
    REQUIRE(g.finished());
    const TokenEvent& last = g.final_event();
    CHECK(last.token == -1);
    text += last.text;
    return {text, last.finish};
}

GenerateOptions greedy(int64_t n) {
    GenerateOptions o;
    o.sampling.greedy = true;
    o.max_new_tokens = n;
    return o;
}

}  // namespace

TEST_CASE("sequence: tokens, text and the end (length, end-of-text)", "[sequence]") {
    const Tokenizer& t = gpt2();
    const std::vector<int32_t> hello = t.encode(" Hello there, friend");
    SequenceGenerator g(t, {1}, greedy(3), 50256, 3);
    std::vector<int32_t> tokens;
    auto [text, reason] = play(g, hello, &tokens);
    CHECK(reason == FinishReason::length);
    CHECK(tokens == std::vector<int32_t>(hello.begin(), hello.begin() + 3));
    CHECK(text == t.decode(tokens));
    CHECK(g.history().size() == 4);
    CHECK(g.generated() == 3);

    SequenceGenerator eos(t, {1}, greedy(10), 50256, 10);
    auto [eos_text, eos_reason] = play(eos, {hello[0], 50256});
    CHECK(eos_reason == FinishReason::eos);
    CHECK(eos_text == t.decode({hello[0]}));
    CHECK(eos.generated() == 1);
    CHECK(std::string(finish_reason_name(FinishReason::eos)) == "stop");

    GenerateOptions ignore = greedy(3);
    ignore.ignore_eos = true;
    SequenceGenerator through(t, {1}, ignore, 50256, 3);
    auto [through_text, through_reason] = play(through, {50256, 50256, 50256});
    CHECK(through_reason == FinishReason::length);
    CHECK(through.generated() == 3);

    SequenceGenerator none(t, {1}, greedy(0), 50256, 0);
    CHECK(none.finished());
    CHECK(none.final_event().finish == FinishReason::length);
}

TEST_CASE("sequence: stop strings cut the text across tokens; split characters are held", "[sequence]") {
    const Tokenizer& t = gpt2();
    const std::vector<int32_t> ids = t.encode("To be, or not to be: that is the question.");
    GenerateOptions o = greedy(100);
    o.stop = {"not to"};
    SequenceGenerator g(t, {1}, o, 50256, 100);
    auto [text, reason] = play(g, ids);
    CHECK(reason == FinishReason::stop_string);
    CHECK(text == "To be, or ");

    // A stop string that never completes: the held-back prefix comes out at the end.
    o.stop = {"be: thus"};
    const std::vector<int32_t> short_ids = t.encode("To be: th");
    SequenceGenerator partial(t, {1}, o, 50256, int64_t(short_ids.size()));
    auto [partial_text, partial_reason] = play(partial, short_ids);
    CHECK(partial_reason == FinishReason::length);
    CHECK(partial_text == "To be: th");

    // A character split over two byte tokens arrives whole.
    const std::vector<int32_t> emoji = t.encode("\xF0\x9F\x98\x80!");
    REQUIRE(emoji.size() >= 2);
    SequenceGenerator chars(t, {1}, greedy(int64_t(emoji.size())), 50256, int64_t(emoji.size()));
    std::vector<std::string> pieces;
    for (int32_t id : emoji) {
        const TokenEvent* e = chars.accept(favour(id));
        REQUIRE(e);
        pieces.emplace_back(e->text);
    }
    CHECK(pieces.front().empty());  // the first byte token alone is no character yet
    std::string joined;
    for (const std::string& p : pieces) {
        CHECK((p.empty() || p == "!" || p.rfind("\xF0\x9F\x98\x80", 0) == 0));  // whole characters only
        joined += p;
    }
    CHECK(joined == "\xF0\x9F\x98\x80!");
}

TEST_CASE("sequence: log-probabilities of the chosen and the top tokens", "[sequence]") {
    const Tokenizer& t = gpt2();
    GenerateOptions o = greedy(1);
    o.logprobs = 3;
    SequenceGenerator g(t, {1}, o, 50256, 1);
    std::vector<float> logits(size_t(t.vocab_size()), 0.0f);
    logits[7] = 3.0f;
    logits[9] = 2.0f;
    logits[5] = 2.0f;
    const TokenEvent* e = g.accept(logits);
    REQUIRE(e);
    CHECK(e->token == 7);
    const double norm = std::log(std::exp(3.0) + 2 * std::exp(2.0) + double(t.vocab_size() - 3));
    CHECK(e->logprob == Approx(3.0 - norm).epsilon(1e-12));
    REQUIRE(e->top.size() == 3);
    CHECK(e->top[0].token == 7);
    CHECK(e->top[1].token == 5);  // ties: the lower id first
    CHECK(e->top[2].token == 9);
    CHECK(e->top[1].logprob == Approx(2.0 - norm).epsilon(1e-12));

    GenerateOptions bad = greedy(1);
    bad.logprobs = 21;
    CHECK_THROWS_WITH(SequenceGenerator(t, {1}, bad, 50256, 1), Catch::Contains("logprobs"));
    CHECK_THROWS_WITH(SequenceGenerator(t, {}, greedy(1), 50256, 1), Catch::Contains("at least one token"));
}

TEST_CASE("sequence: stopping early", "[sequence]") {
    const Tokenizer& t = gpt2();
    SequenceGenerator g(t, {1}, greedy(10), 50256, 10);
    g.accept(favour(40));
    g.stop(FinishReason::error, "boom");
    REQUIRE(g.finished());
    const TokenEvent& last = g.final_event();
    CHECK(last.finish == FinishReason::error);
    CHECK(last.error == "boom");
    CHECK_THROWS_WITH(g.accept(favour(1)), Catch::Contains("finished"));
}
