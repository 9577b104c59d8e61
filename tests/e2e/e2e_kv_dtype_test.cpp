// tests/e2e/e2e_kv_dtype_test.cpp - bf16 and int8 KV caches (--kv-dtype=bf16|int8).
//
// Keys and values are rounded to bf16, or quantized to int8 with a scale per
// position of each head, when stored, and widened back when read, so the
// logits move a little from float32's; how much is measured here on the
// trained example model and on the long-context reference model, against
// bounds about twice the measurement. Everything else must hold as for float32:
// decode equals prefill bit for bit, the thread count changes nothing, the
// fused and unfused attention kernels both read the cache, and AVX2 code
// computes what AVX-512 code does.
#include "runtime/model.h"
#include "tests/e2e/e2e_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>

using namespace gpt2c;
using namespace gpt2c::e2e;

namespace {

struct Drift {
    double worst = 0;  // max |logit diff| / max |logit|
    size_t agree = 0, total = 0;
};

// Every position of each sequence, f32 KV library `a` against bf16 or int8 KV library `b`.
Drift drift(const std::shared_ptr<Model>& a, const std::shared_ptr<Model>& b,
            const std::vector<std::vector<int32_t>>& sequences) {
    Drift d;
    const size_t V = size_t(a->config().vocab_size);
    for (const auto& tokens : sequences) {
        std::vector<float> la = prefill_logits(a, tokens), lb = prefill_logits(b, tokens);
        d.worst = std::max(d.worst, max_abs_diff(la, lb) / max_abs(la));
        for (size_t t = 0; t < tokens.size(); ++t, ++d.total) {
            auto ra = la.begin() + long(t * V), rb = lb.begin() + long(t * V);
            d.agree += std::max_element(ra, ra + long(V)) - ra == std::max_element(rb, rb + long(V)) - rb;
        }
    }
    return d;
}

}  // namespace

TEST_CASE("bf16 and int8 KV caches stay close to a float32 one", "[e2e][kv]") {
    // Measured when written: example model 0.00043 (f32 weights) and 0.00054 (int8 weights,
    // float32 arithmetic), top-1 322/322 for both; m8 (random weights, 170 positions) 0.0099,
    // top-1 169/170. With int8 dot products the inputs of every projection are rounded to
    // int8, and the cache's rounding moves some of them by a step: 0.0195, top-1 320/322.
    //
    // int8 (a scale per position of each head), measured when written: example model 0.0013
    // (f32 weights) and 0.00095 (int8 weights, float32 arithmetic), top-1 322/322 for both; m8
    // 0.054, top-1 166/170; int8 weights with int8 dot products (Zen 5, AVX512_VNNI) 0.0237,
    // top-1 320/322 (a bf16 cache there: 0.0195, 320/322).
    struct Case {
        std::string kv_dtype, model_dir, weights_dtype, target_features;
        double max_relative_diff, min_top1_agreement;
    };
    const std::string m8 = kDataDir + "/models/m8_long_context_f32";
    std::vector<Case> cases = {Case{"bf16", kExampleDir, "f32", "", 0.001, 0.99},
                               Case{"bf16", kExampleDir, "int8", "-avx512vnni,-avxvnni", 0.0012, 0.99},
                               Case{"bf16", m8, "f32", "", 0.02, 0.98},
                               Case{"int8", kExampleDir, "f32", "", 0.0026, 0.99},
                               Case{"int8", kExampleDir, "int8", "-avx512vnni,-avxvnni", 0.002, 0.99},
                               Case{"int8", m8, "f32", "", 0.11, 0.95}};
    if (host_has_int8_dot()) {
        cases.push_back(Case{"bf16", kExampleDir, "int8", "", 0.04, 0.98});
        cases.push_back(Case{"int8", kExampleDir, "int8", "", 0.05, 0.98});
    }
    for (const Case& c : cases) {
        INFO(c.kv_dtype << " KV, " << c.model_dir << " " << c.weights_dtype << " " << c.target_features);
        std::vector<std::vector<int32_t>> sequences;
        if (c.model_dir == kExampleDir) {
            for (const auto& item : read_json(kExampleDir + "/reference_continuations.json")) {
                auto tokens = item["prompt_ids"].get<std::vector<int32_t>>();
                for (int32_t id : item["ids"]) tokens.push_back(id);
                sequences.push_back(tokens);
            }
        } else {
            sequences.push_back(load_reference(c.model_dir).tokens);
        }
        auto f32 = Model::load(compile(c.model_dir, 3, c.weights_dtype, c.target_features), c.model_dir, 2);
        auto small = Model::load(compile(c.model_dir, 3, c.weights_dtype, c.target_features, "", "", c.kv_dtype),
                                 c.model_dir, 2);
        REQUIRE(small->library().kv_dtype() == c.kv_dtype);
        const ModelConfig& config = f32->config();
        if (c.kv_dtype == "bf16") REQUIRE(small->library().kv_cache_bytes() * 2 == f32->library().kv_cache_bytes());
        else  // a byte per element and a float32 scale per position of each head
            REQUIRE(small->library().kv_cache_bytes() ==
                    config.n_layer * 2 * config.n_positions * (config.n_embd + 4 * config.n_head));
        const Drift d = drift(f32, small, sequences);
        const double agreement = double(d.agree) / double(d.total);
        WARN(c.kv_dtype << " KV, " << c.weights_dtype << " weights"
                        << (c.target_features.empty() ? "" : " (" + c.target_features + ")") << ", " << c.model_dir
                        << ": max |logit diff| / max |logit| = " << d.worst << ", top-1 agreement = " << agreement
                        << " over " << d.total << " positions");
        CHECK(d.worst > 0);  // the cache really is smaller
        CHECK(d.worst < c.max_relative_diff);
        CHECK(agreement >= c.min_top1_agreement);
    }
}

// m8 crosses every key-tile boundary, m9's 264-wide head takes the row-at-a-time
// path, m4 has one head of 16 (a partial vector nowhere) and m2 heads of 8.
TEST_CASE("bf16 and int8 KV caches: decode agrees with prefill, threads change nothing, AVX2 computes the same", "[e2e][kv]") {
    const std::string kv_dtype = GENERATE(as<std::string>(), "bf16", "int8");
    // Measured when written, the largest of these models: m9 (sharp attention over random
    // weights), bf16 0.0175 and int8 0.0643, at -O1 and -O3 alike.
    const double bound = kv_dtype == "bf16" ? 0.035 : 0.13;
    for (const char* name : {"m8_long_context_f32", "m9_wide_head_f16", "m4_quick_gelu_f32_1head_noscale",
                             "m2_gelu_erf_f16_untied"}) {
        const std::string dir = kDataDir + "/models/" + name;
        const std::vector<int32_t> tokens = load_reference(dir).tokens;
        // -O1: the unfused scores / mask / softmax / values kernels; -O3: fused attention.
        for (int level : {1, 3}) {
            INFO(kv_dtype << " KV, " << name << " -O" << level);
            auto one = Model::load(compile(dir, level, "f32", "", "", "", kv_dtype), dir, 1);
            auto two = Model::load(compile(dir, level, "f32", "", "", "", kv_dtype), dir, 2);
            auto avx2 = Model::load(compile(dir, level, "f32", "-avx512f", "", "", kv_dtype), dir, 2);
            const std::vector<float> prefill = prefill_logits(one, tokens);
            CHECK(prefill_logits(two, tokens) == prefill);
            CHECK(decode_logits(two, tokens) == prefill);
            CHECK(prefill_logits(avx2, tokens) == prefill);
            CHECK(decode_logits(avx2, tokens) == prefill);
            // And it is a smaller cache: close to float32's, not equal.
            auto f32 = Model::load(compile(dir, level), dir, 2);
            const std::vector<float> exact = prefill_logits(f32, tokens);
            const double relative = max_abs_diff(prefill, exact) / max_abs(exact);
            WARN(name << " -O" << level << ": " << kv_dtype << " KV against f32 KV, max |logit diff| / max |logit| = "
                      << relative);
            CHECK(prefill != exact);
            CHECK(relative < bound);
        }
    }
}
