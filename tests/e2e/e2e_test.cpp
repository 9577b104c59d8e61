// tests/e2e/e2e_test.cpp - compiled libraries against the PyTorch float64 reference.
//
// Every model in tests/data/models (made by tests/reference/make_reference.py)
// is compiled at -O0 to -O3 and run with 1 and 2 threads; prefill logits,
// decode logits and greedy ids must match the reference. The bundled
// tiny-shakespeare example must reproduce its reference continuations.
#include "backend/compiler.h"
#include "backend/target.h"
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "passes/pass_manager.h"
#include "runtime/model.h"
#include "support/npy.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace gpt2c;

namespace {

const std::string kDataDir = GPT2C_TEST_DATA_DIR;
const std::string kExampleDir = GPT2C_SOURCE_DIR "/examples/tiny-shakespeare";

// About 1e-5 of the largest logit: float32 against a float64 reference.
constexpr double kRelativeTolerance = 1e-5;

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

fs::path scratch_dir() {
    static fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("gpt2c-e2e-" + std::to_string(::getpid()));
        fs::create_directories(d);
        return d;
    }();
    return dir;
}

// Compiles like `gpt2c compile`: for this machine, with `target_features` (an
// LLVM feature string appended to the host's, e.g. "-avx512bf16"), or for
// another `target_cpu` (with that CPU's features).
std::string compile(const std::string& model_dir, int level, const std::string& weights_dtype = "f32",
                    const std::string& target_features = "", const std::string& target_cpu = "") {
    std::string name = fs::path(model_dir).filename().string();
    std::string tag = target_features.empty() && target_cpu.empty()
                          ? ""
                          : "-" + std::to_string(std::hash<std::string>{}(target_cpu + "|" + target_features));
    std::string out =
        (scratch_dir() / (name + "-O" + std::to_string(level) + "-" + weights_dtype + tag + ".so")).string();
    if (fs::exists(out)) return out;
    ir::Module module = build_graph(load_config(model_dir), name);
    backend::CompileOptions options;
    options.output = out;
    options.target_cpu = target_cpu;
    if (!target_features.empty()) options.target_features = backend::resolve_target("", "").features + "," + target_features;
    passes::PassContext context;
    context.weights_dtype = weights_dtype;
    context.target = backend::pass_target_info(backend::resolve_target(options.target_cpu, options.target_features));
    passes::run_pipeline(module, passes::pipeline_for_level(level), context, {});
    backend::compile_library(module, options);
    return out;
}

bool host_has_bf16_dot() { return backend::pass_target_info(backend::resolve_target("", "")).bf16_dot; }

double max_abs(const std::vector<float>& v) {
    double m = 0;
    for (float x : v) m = std::max(m, double(std::fabs(x)));
    return m;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

std::vector<float> prefill_logits(const std::shared_ptr<Model>& model, const std::vector<int32_t>& tokens) {
    Session session(model);
    std::vector<float> logits(tokens.size() * size_t(model->config().vocab_size));
    session.forward(tokens, int64_t(tokens.size()), logits.data());
    return logits;
}

std::vector<float> decode_logits(const std::shared_ptr<Model>& model, const std::vector<int32_t>& tokens) {
    Session session(model);
    const size_t V = size_t(model->config().vocab_size);
    std::vector<float> logits(tokens.size() * V);
    for (size_t i = 0; i < tokens.size(); ++i) session.forward({&tokens[i], 1}, 1, &logits[i * V]);
    return logits;
}

std::vector<int32_t> greedy(const std::shared_ptr<Model>& model, std::vector<int32_t> prompt, size_t n) {
    Session session(model);
    std::vector<int32_t> out;
    std::vector<float> logits = session.next_logits(prompt);
    while (out.size() < n) {
        int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        out.push_back(next);
        if (out.size() < n) logits = session.next_logits({&next, 1});
    }
    return out;
}

std::vector<std::string> reference_models() {
    std::vector<std::string> dirs;
    for (const auto& entry : fs::directory_iterator(kDataDir + "/models"))
        if (fs::exists(entry.path() / "reference.json")) dirs.push_back(entry.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
}

}  // namespace

TEST_CASE("every reference model matches PyTorch at -O0 to -O3, 1 and 2 threads", "[e2e]") {
    auto models = reference_models();
    REQUIRE(models.size() >= 10);
    for (const std::string& dir : models) {
        nlohmann::json ref = read_json(dir + "/reference.json");
        std::vector<int32_t> tokens = ref["tokens"].get<std::vector<int32_t>>();
        NpyArray expected = read_npy_f32(dir + "/" + ref["logits_file"].get<std::string>());
        const double scale = max_abs(expected.data);
        std::vector<float> first_run;
        for (int level : {0, 1, 2, 3}) {
            std::string lib = compile(dir, level);
            for (int threads : {1, 2}) {
                INFO(dir << " at -O" << level << " with " << threads << " threads");
                auto model = Model::load(lib, dir, threads);
                REQUIRE(expected.shape == std::vector<int64_t>{int64_t(tokens.size()), model->config().vocab_size});
                std::vector<float> prefill = prefill_logits(model, tokens);
                std::vector<float> decode = decode_logits(model, tokens);
                CHECK(max_abs_diff(prefill, expected.data) / scale < kRelativeTolerance);
                CHECK(max_abs_diff(decode, expected.data) / scale < kRelativeTolerance);
                CHECK(max_abs_diff(prefill, decode) / scale < kRelativeTolerance);
                // The packed kernels sum each output in one chain over k whether they see
                // one row or many, and attention visits keys in a fixed tile order.
                if (level == 3) CHECK(prefill == decode);
                // The thread count never changes a result, not even in the last bit.
                if (first_run.empty() || threads == 1) first_run = prefill;
                else CHECK(prefill == first_run);

                auto prompt = ref["greedy"]["prompt"].get<std::vector<int32_t>>();
                auto ids = ref["greedy"]["ids"].get<std::vector<int32_t>>();
                CHECK(greedy(model, prompt, ids.size()) == ids);
            }
            first_run.clear();
        }
    }
}

TEST_CASE("the tiny-shakespeare example reproduces its reference continuations", "[e2e]") {
    nlohmann::json ref = read_json(kExampleDir + "/reference_continuations.json");
    std::string lib = compile(kExampleDir, 3);
    auto model = Model::load(lib, kExampleDir, 2);
    for (const auto& c : ref) {
        INFO("prompt: " << c["prompt"].get<std::string>());
        auto prompt = c["prompt_ids"].get<std::vector<int32_t>>();
        auto ids = c["ids"].get<std::vector<int32_t>>();
        size_t comparable = c["comparable"].get<size_t>();
        ids.resize(comparable);
        CHECK(greedy(model, prompt, ids.size()) == ids);
    }
}

TEST_CASE("a full context runs and one more token is refused", "[e2e]") {
    std::string dir = kDataDir + "/models/m7_pytorch_tanh_f32_legacy_nctx";
    auto model = Model::load(compile(dir, 3), dir, 2);
    Session session(model);
    std::vector<int32_t> tokens(size_t(model->config().n_positions), 1);
    std::vector<float> logits = session.next_logits(tokens);
    CHECK(session.n_past() == model->config().n_positions);
    int32_t one = 1;
    CHECK_THROWS_WITH(session.next_logits({&one, 1}), Catch::Contains("context overflow"));
    CHECK(session.n_past() == model->config().n_positions);
}

// Smaller weights change the numbers a little; this measures how much on the
// trained example model. Bounds are about twice what was measured when the
// test was written (printed below), so a regression in packing or the
// dequantizing loads shows up, while bf16/int8 rounding does not.
TEST_CASE("bf16 and int8 weights stay close to float32 on the example model", "[e2e]") {
    nlohmann::json ref = read_json(kExampleDir + "/reference_continuations.json");
    auto f32 = Model::load(compile(kExampleDir, 3), kExampleDir, 2);
    struct Case {
        std::string dtype;
        std::string target_features;  // appended to the host's
        double max_relative_diff;
        double min_top1_agreement;
    };
    // Measured: bf16 weights with float32 arithmetic 0.0069, int8 0.0185 relative difference,
    // top-1 agreement 322/322 for both; bf16 dot products (bf16 inputs too) 0.0111, 322/322.
    std::vector<Case> cases = {Case{"bf16", "-avx512bf16", 0.015, 0.97}, Case{"int8", "", 0.04, 0.97}};
    if (host_has_bf16_dot()) cases.push_back(Case{"bf16", "", 0.025, 0.97});
    for (const Case& c : cases) {
        INFO(c.dtype << " " << c.target_features);
        auto model = Model::load(compile(kExampleDir, 3, c.dtype, c.target_features), kExampleDir, 2);
        double worst = 0;
        size_t agree = 0, total = 0;
        for (const auto& item : ref) {
            // Every position of prompt + reference continuation: a realistic text.
            auto tokens = item["prompt_ids"].get<std::vector<int32_t>>();
            for (int32_t id : item["ids"]) tokens.push_back(id);
            std::vector<float> a = prefill_logits(f32, tokens), b = prefill_logits(model, tokens);
            worst = std::max(worst, max_abs_diff(a, b) / max_abs(a));
            const size_t V = size_t(f32->config().vocab_size);
            for (size_t t = 0; t < tokens.size(); ++t, ++total) {
                auto row_a = a.begin() + long(t * V), row_b = b.begin() + long(t * V);
                agree += std::max_element(row_a, row_a + long(V)) - row_a == std::max_element(row_b, row_b + long(V)) - row_b;
            }
        }
        double agreement = double(agree) / double(total);
        WARN(c.dtype << (c.target_features.empty() ? "" : " (" + c.target_features + ")") << ": max |logit diff| / max |logit| = "
                     << worst << ", top-1 agreement with f32 = " << agreement << " over " << total << " positions");
        CHECK(worst < c.max_relative_diff);
        CHECK(agreement >= c.min_top1_agreement);
    }
}

// The bf16 and int8 kernels must keep the promises the float32 ones do: the
// thread count changes nothing, and decode computes exactly what prefill does.
// (With bf16 inputs that matters: a last-bit difference before a to_bf16 is a
// bf16 rounding step after it.)
// m8 crosses every blocking boundary, m9 has a 264-wide head, m4 an odd K (n_inner = 33,
// so bf16 k-pairs are padded), m10 a K (2900) deeper than one k block.
TEST_CASE("bf16 and int8 libraries: thread count changes nothing, decode agrees with prefill", "[e2e]") {
    std::vector<std::pair<std::string, std::string>> variants = {{"bf16", "-avx512bf16"}, {"int8", ""}};
    if (host_has_bf16_dot()) variants.push_back({"bf16", ""});
    for (const char* name :
         {"m8_long_context_f32", "m9_wide_head_f16", "m4_quick_gelu_f32_1head_noscale", "m10_deep_mlp_bf16"}) {
        const std::string dir = kDataDir + "/models/" + name;
        std::vector<int32_t> tokens = read_json(dir + "/reference.json")["tokens"].get<std::vector<int32_t>>();
        for (const auto& [dtype, features] : variants) {
            INFO(name << " " << dtype << " " << features);
            const std::string lib = compile(dir, 3, dtype, features);
            auto one = Model::load(lib, dir, 1), two = Model::load(lib, dir, 2);
            std::vector<float> prefill = prefill_logits(one, tokens);
            CHECK(prefill_logits(two, tokens) == prefill);
            CHECK(decode_logits(two, tokens) == prefill);
        }
    }
}

// Another target's code runs here too: AVX2 (4 x 16 tiles, 8-float halves of every
// 16-lane vector) and baseline x86-64 (SSE2) must match the reference like the native build.
TEST_CASE("libraries compiled for AVX2 and for baseline x86-64 match PyTorch", "[e2e]") {
    for (const char* name : {"m8_long_context_f32", "m2_gelu_erf_f16_untied"}) {
        const std::string dir = kDataDir + "/models/" + name;
        nlohmann::json ref = read_json(dir + "/reference.json");
        std::vector<int32_t> tokens = ref["tokens"].get<std::vector<int32_t>>();
        NpyArray expected = read_npy_f32(dir + "/" + ref["logits_file"].get<std::string>());
        const double scale = max_abs(expected.data);
        for (const char* cpu : {"haswell", "x86-64"}) {
            INFO(name << " for " << cpu);
            auto model = Model::load(compile(dir, 3, "f32", "", cpu), dir, 2);
            std::vector<float> prefill = prefill_logits(model, tokens);
            CHECK(max_abs_diff(prefill, expected.data) / scale < kRelativeTolerance);
            CHECK(decode_logits(model, tokens) == prefill);
        }
    }
}
