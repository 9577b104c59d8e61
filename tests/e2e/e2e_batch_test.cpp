// tests/e2e/e2e_batch_test.cpp - batched steps: several sequences in one forward call.
//
// A sequence's logits must not depend on the company it keeps: every row of a
// batched step is compared bit for bit with the same sequence run alone, for
// random mixes of prompt chunks and decode rows from several slots (rows of
// one slot interleaved with others' or not), 1 and 2 threads, and the slot
// operations (copy a prefix, truncate) continue sequences exactly.
#include "runtime/context.h"
#include "tests/e2e/e2e_support.h"

#include <gpt2c/runtime.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace gpt2c;
using namespace gpt2c::e2e;

namespace {

// Sequences of different lengths made from the reference tokens.
std::vector<std::vector<int32_t>> sequences_for(const Reference& ref, int64_t vocab, int64_t n_positions) {
    std::vector<std::vector<int32_t>> seqs;
    seqs.push_back(ref.tokens);
    std::vector<int32_t> reversed(ref.tokens.rbegin(), ref.tokens.rend());
    reversed.resize(std::max<size_t>(1, reversed.size() / 2));
    seqs.push_back(reversed);
    std::vector<int32_t> shifted;
    for (size_t i = 0; i < ref.tokens.size() && int64_t(shifted.size()) < n_positions; ++i)
        shifted.push_back(int32_t((ref.tokens[i] + 7) % vocab));
    shifted.resize(std::max<size_t>(1, shifted.size() * 3 / 4));
    seqs.push_back(shifted);
    seqs.push_back({ref.tokens[0]});  // a single token
    return seqs;
}

// All-position logits of each sequence run alone, in one prefill.
std::vector<std::vector<float>> alone(const std::shared_ptr<Model>& model, const std::vector<std::vector<int32_t>>& seqs) {
    std::vector<std::vector<float>> out;
    for (const auto& s : seqs) out.push_back(prefill_logits(model, s));
    return out;
}

// Runs every sequence to its end in random batched steps (chunks of 0..max_chunk rows per
// sequence per step, rows shuffled or grouped) and checks every row's logits against `expected`.
void run_mixed(const std::shared_ptr<Model>& model, const std::vector<std::vector<int32_t>>& seqs,
               const std::vector<std::vector<float>>& expected, uint32_t seed, bool interleave) {
    const size_t V = size_t(model->config().vocab_size);
    Context ctx(model, int(seqs.size()) + 1);  // one spare slot: slots need not be dense
    std::mt19937 rng(seed);
    std::vector<size_t> done(seqs.size(), 0);
    std::vector<int> slot_of(seqs.size());
    for (size_t k = 0; k < seqs.size(); ++k) slot_of[k] = int(seqs.size() - k);  // slots 1..n, reversed
    int steps = 0;
    while (true) {
        std::vector<BatchRow> rows;
        std::vector<std::pair<size_t, size_t>> owner;  // (sequence, position) of each row
        for (size_t k = 0; k < seqs.size(); ++k) {
            size_t left = seqs[k].size() - done[k];
            size_t chunk = std::min<size_t>(left, rng() % 9 == 0 ? 1 + rng() % 24 : rng() % 3);
            for (size_t j = 0; j < chunk; ++j) {
                size_t pos = done[k] + j;
                rows.push_back({seqs[k][pos], slot_of[k], int32_t(pos), true});
                owner.push_back({k, pos});
            }
        }
        if (rows.empty()) {
            bool finished = true;
            for (size_t k = 0; k < seqs.size(); ++k) finished = finished && done[k] == seqs[k].size();
            if (finished) break;
            continue;
        }
        if (interleave) {
            // A random order of the rows in which each sequence's rows keep their order: walk a
            // random permutation and, at each entry, take the next row of that entry's sequence.
            std::vector<size_t> order(rows.size());
            for (size_t i = 0; i < order.size(); ++i) order[i] = i;
            std::shuffle(order.begin(), order.end(), rng);
            std::vector<std::vector<size_t>> per(seqs.size());
            for (size_t i = 0; i < rows.size(); ++i) per[owner[i].first].push_back(i);
            std::vector<size_t> next(seqs.size(), 0);
            std::vector<BatchRow> shuffled_rows;
            std::vector<std::pair<size_t, size_t>> shuffled_owner;
            for (size_t i : order) {
                const size_t k = owner[i].first, row = per[k][next[k]++];
                shuffled_rows.push_back(rows[row]);
                shuffled_owner.push_back(owner[row]);
            }
            rows = std::move(shuffled_rows);
            owner = std::move(shuffled_owner);
        }
        std::vector<float> logits(rows.size() * V);
        ctx.step(rows, logits.data());
        ++steps;
        for (size_t i = 0; i < rows.size(); ++i) {
            auto [k, pos] = owner[i];
            INFO("sequence " << k << " position " << pos << " in a step of " << rows.size() << " rows");
            CHECK(std::equal(logits.begin() + long(i * V), logits.begin() + long((i + 1) * V),
                             expected[k].begin() + long(pos * V)));
            done[k] = std::max(done[k], pos + 1);
        }
        for (size_t k = 0; k < seqs.size(); ++k) CHECK(ctx.length(slot_of[k]) == int64_t(done[k]));
    }
    CHECK(steps > 1);
}

}  // namespace

TEST_CASE("batched steps: each sequence's logits are exactly what it gets alone", "[e2e][batch]") {
    for (const std::string& dir : reference_models()) {
        const Reference ref = load_reference(dir);
        for (int level : {0, 3}) {
            const std::string lib = compile(dir, level);
            for (int threads : {1, 2}) {
                INFO(dir << " at -O" << level << " with " << threads << " threads");
                auto model = Model::load(lib, dir, threads);
                auto seqs = sequences_for(ref, model->config().vocab_size, model->config().n_positions);
                auto expected = alone(model, seqs);
                // And alone matches the float64 reference (the batched rows equal it bit for bit).
                CHECK(max_abs_diff(expected[0], ref.logits) / ref.scale < ref.tolerance);
                run_mixed(model, seqs, expected, uint32_t(17 + threads), false);
                run_mixed(model, seqs, expected, uint32_t(91 + threads), true);
            }
        }
    }
}

TEST_CASE("batched steps: bf16, int8 and q4 libraries (with and without dot products) and bf16 and int8 KV caches keep each sequence exact too", "[e2e][batch]") {
    struct Variant {
        std::string dtype, features, kv_dtype;
    };
    std::vector<Variant> variants = {{"bf16", "-avx512bf16", "f32"}, {"int8", "-avx512vnni,-avxvnni", "f32"},
                                     {"q4", "-avx512f,-avxvnni", "f32"},  // vpmaddubsw on AVX2
                                     {"f32", "", "bf16"}, {"int8", "", "int8"}};
    if (host_has_bf16_dot()) variants.push_back({"bf16", "", "f32"});
    if (host_has_int8_dot()) {
        variants.push_back({"int8", "", "f32"});
        variants.push_back({"q4", "", "f32"});
    }
    for (const char* name : {"m8_long_context_f32", "m9_wide_head_f16", "m10_deep_mlp_bf16"}) {
        const std::string dir = kDataDir + "/models/" + name;
        const Reference ref = load_reference(dir);
        for (const auto& [dtype, features, kv_dtype] : variants) {
            INFO(name << " " << dtype << " " << features << " KV " << kv_dtype);
            auto model = Model::load(compile(dir, 3, dtype, features, "", "", kv_dtype), dir, 2);
            auto seqs = sequences_for(ref, model->config().vocab_size, model->config().n_positions);
            run_mixed(model, seqs, alone(model, seqs), 5, true);
        }
    }
}

TEST_CASE("slots: a copied prefix and a truncated slot continue exactly", "[e2e][batch]") {
    const std::string dir = kDataDir + "/models/m8_long_context_f32";
    const Reference ref = load_reference(dir);
    // copy_prefix copies bytes of any, int8's scales with them.
    const std::string kv_dtype = GENERATE(as<std::string>(), "f32", "bf16", "int8");
    INFO("KV " << kv_dtype);
    auto model = Model::load(compile(dir, 3, "f32", "", "", "", kv_dtype), dir, 2);
    const size_t V = size_t(model->config().vocab_size);
    const std::vector<int32_t>& t = ref.tokens;
    const size_t prompt = 40;
    // Two continuations of one prompt: the reference's and a different one.
    std::vector<int32_t> other(t.begin(), t.begin() + long(prompt));
    for (size_t i = prompt; i < prompt + 30; ++i) other.push_back(int32_t((t[i] * 5 + 1) % int32_t(V)));
    std::vector<float> want_a = prefill_logits(model, std::vector<int32_t>(t.begin(), t.begin() + long(prompt + 30)));
    std::vector<float> want_b = prefill_logits(model, other);

    Context ctx(model, 2, 128);  // a context smaller than n_positions
    std::vector<BatchRow> rows;
    for (size_t i = 0; i < prompt; ++i) rows.push_back({t[i], 0, int32_t(i), i + 1 == prompt});
    std::vector<float> last(V);
    ctx.step(rows, last.data());
    CHECK(std::equal(last.begin(), last.end(), want_a.begin() + long((prompt - 1) * V)));
    ctx.copy_prefix(0, 1, int64_t(prompt));
    CHECK(ctx.length(1) == int64_t(prompt));
    for (size_t i = prompt; i < prompt + 30; ++i) {  // both continuations decode together
        std::vector<BatchRow> step = {{t[i], 0, int32_t(i), true}, {other[i], 1, int32_t(i), true}};
        std::vector<float> logits(2 * V);
        ctx.step(step, logits.data());
        CHECK(std::equal(logits.begin(), logits.begin() + long(V), want_a.begin() + long(i * V)));
        CHECK(std::equal(logits.begin() + long(V), logits.end(), want_b.begin() + long(i * V)));
    }
    // Rewind slot 1 to the prompt and take the reference's continuation there instead.
    ctx.truncate(1, int64_t(prompt));
    for (size_t i = prompt; i < prompt + 30; ++i) {
        std::vector<BatchRow> step = {{t[i], 1, int32_t(i), true}};
        ctx.step(step, last.data());
        CHECK(std::equal(last.begin(), last.end(), want_a.begin() + long(i * V)));
    }
    ctx.clear(0);
    CHECK(ctx.length(0) == 0);
}

TEST_CASE("batched steps: invalid rows are refused and change nothing", "[e2e][batch]") {
    const std::string dir = kDataDir + "/models/m1_gelu_new_f32";
    auto model = Model::load(compile(dir, 3), dir, 2);
    const size_t V = size_t(model->config().vocab_size);
    Context ctx(model, 2, 8);
    std::vector<float> logits(4 * V);
    std::vector<BatchRow> ok = {{1, 0, 0, true}, {2, 0, 1, true}};
    ctx.step(ok, logits.data());
    auto refuses = [&](std::vector<BatchRow> rows, const char* what) {
        INFO(what);
        CHECK_THROWS_WITH(ctx.step(rows, logits.data()), Catch::Contains(what));
        CHECK(ctx.length(0) == 2);
        CHECK(ctx.length(1) == 0);
    };
    refuses({}, "no rows");
    refuses({{1, 0, 3, true}}, "continues at position 2");   // a gap
    refuses({{1, 0, 1, true}}, "continues at position 2");   // rewriting without truncate
    refuses({{1, 1, 0, true}, {1, 1, 0, true}}, "continues at position 1");  // the same position twice
    refuses({{1, 2, 0, true}}, "slots 0..1");
    refuses({{int32_t(V), 1, 0, true}}, "out of range");
    std::vector<BatchRow> full;
    for (int32_t p = 2; p < 9; ++p) full.push_back({1, 0, p, true});
    refuses(full, "context overflow");
    CHECK_THROWS_WITH(Context(model, 0), Catch::Contains("sequence slots"));
    CHECK_THROWS_WITH(Context(model, 1, model->config().n_positions + 1), Catch::Contains("positions per sequence"));
    CHECK_THROWS_WITH(ctx.truncate(0, 3), Catch::Contains("cannot keep 3"));
    CHECK_THROWS_WITH(ctx.copy_prefix(0, 1, 3), Catch::Contains("cannot copy 3"));
}

TEST_CASE("C API contexts: steps, slot operations and their status codes", "[e2e][batch]") {
    const std::string dir = kExampleDir;  // the C API loads the tokenizer too
    const std::string lib = compile(dir, 3);
    gpt2c_model* model = nullptr;
    REQUIRE(gpt2c_model_load(lib.c_str(), dir.c_str(), 2, &model) == GPT2C_OK);
    const size_t V = size_t(gpt2c_model_vocab_size(model));
    gpt2c_context* ctx = nullptr;
    CHECK(gpt2c_context_create(model, 0, 0, &ctx) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK(ctx == nullptr);
    REQUIRE(gpt2c_context_create(model, 2, 4, &ctx) == GPT2C_OK);
    std::vector<float> logits(2 * V);
    gpt2c_batch_row rows[] = {{1, 0, 0, 0}, {2, 0, 1, 1}, {3, 1, 0, 1}};
    CHECK(gpt2c_context_step(ctx, rows, 3, logits.data()) == GPT2C_OK);
    CHECK(gpt2c_context_length(ctx, 0) == 2);
    CHECK(gpt2c_context_length(ctx, 1) == 1);
    CHECK(gpt2c_context_length(ctx, 2) == -1);
    // The same logits as the C++ Context gives each sequence alone.
    auto cxx = Model::load(lib, dir, 1);
    std::vector<float> alone0 = prefill_logits(cxx, {1, 2}), alone1 = prefill_logits(cxx, {3});
    CHECK(std::equal(logits.begin(), logits.begin() + long(V), alone0.begin() + long(V)));
    CHECK(std::equal(logits.begin() + long(V), logits.end(), alone1.begin()));
    gpt2c_batch_row gap{1, 0, 5, 1}, bad_token{int32_t(V), 0, 2, 1};
    CHECK(gpt2c_context_step(ctx, &gap, 1, logits.data()) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK_THAT(std::string(gpt2c_last_error()), Catch::Contains("continues at position 2"));
    CHECK(gpt2c_context_step(ctx, &bad_token, 1, logits.data()) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK(gpt2c_context_step(ctx, rows + 1, 1, nullptr) == GPT2C_ERROR_INVALID_ARGUMENT);  // logits wanted, none given
    gpt2c_batch_row fill[] = {{1, 0, 2, 0}, {1, 0, 3, 0}, {1, 0, 4, 1}};
    CHECK(gpt2c_context_step(ctx, fill, 3, logits.data()) == GPT2C_ERROR_CONTEXT_FULL);
    CHECK(gpt2c_context_length(ctx, 0) == 2);  // nothing changed
    CHECK(gpt2c_context_step(ctx, fill, 2, nullptr) == GPT2C_OK);  // no logits wanted: none written
    CHECK(gpt2c_context_length(ctx, 0) == 4);
    CHECK(gpt2c_context_copy_prefix(ctx, 0, 1, 3) == GPT2C_OK);
    CHECK(gpt2c_context_length(ctx, 1) == 3);
    CHECK(gpt2c_context_truncate(ctx, 1, 4) == GPT2C_ERROR_INVALID_ARGUMENT);
    CHECK(gpt2c_context_truncate(ctx, 1, 1) == GPT2C_OK);
    CHECK(gpt2c_context_clear(ctx, 0) == GPT2C_OK);
    CHECK(gpt2c_context_length(ctx, 0) == 0);
    CHECK(gpt2c_context_clear(ctx, 9) == GPT2C_ERROR_INVALID_ARGUMENT);
    gpt2c_context_free(ctx);
    gpt2c_model_free(model);
}
