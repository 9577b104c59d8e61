// tests/e2e/e2e_support.cpp - compiling, running and comparing for the end-to-end tests.
#include "tests/e2e/e2e_support.h"

#include "backend/compiler.h"
#include "backend/target.h"
#include "frontend/config.h"
#include "frontend/graph_builder.h"
#include "passes/pass_manager.h"
#include "support/npy.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace gpt2c::e2e {

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

std::string compile(const std::string& model_dir, int level, const std::string& weights_dtype,
                    const std::string& target_features, const std::string& target_cpu,
                    const std::string& target_triple, const std::string& kv_dtype, const std::string& arithmetic) {
    std::string name = fs::path(model_dir).filename().string();
    std::string key = target_triple + "|" + target_cpu + "|" + target_features + (arithmetic == "native" ? "" : "|" + arithmetic);
    std::string tag = key == "||" ? "" : "-" + std::to_string(std::hash<std::string>{}(key));
    std::string out =
        (scratch_dir() / (name + "-O" + std::to_string(level) + "-" + weights_dtype + (kv_dtype == "f32" ? "" : "-kv" + kv_dtype) +
                          tag + ".so"))
            .string();
    if (fs::exists(out)) return out;
    ir::Module module = build_graph(load_config(model_dir), name);
    backend::CompileOptions options;
    options.output = out;
    options.target_triple = target_triple;
    options.target_cpu = target_cpu;
    options.target_features = target_features;
    if (!target_features.empty() && target_triple.empty() && target_cpu.empty())
        options.target_features = backend::resolve_target("", "", "").features + "," + target_features;
    passes::PassContext context;
    context.weights_dtype = weights_dtype;
    context.kv_dtype = kv_dtype;
    context.arithmetic = arithmetic;
    context.target = backend::pass_target_info(
        backend::resolve_target(options.target_triple, options.target_cpu, options.target_features));
    passes::run_pipeline(module, passes::pipeline_for_level(level), context, {});
    backend::compile_library(module, options);
    return out;
}

std::string compile_float32_arithmetic(const std::string& model_dir, int level, const std::string& weights_dtype,
                                       const std::string& target_features, const std::string& target_cpu,
                                       const std::string& target_triple) {
    return compile(model_dir, level, weights_dtype, target_features, target_cpu, target_triple, "f32", "float32");
}

bool host_has_bf16_dot() { return backend::pass_target_info(backend::resolve_target("", "", "")).bf16_dot; }
bool host_has_int8_dot() { return host_int8_dot_bytes("") > 0; }
static passes::TargetInfo host_target_info(const std::string& features) {
    const std::string host = backend::resolve_target("", "", "").features;
    return backend::pass_target_info(backend::resolve_target("", "", features.empty() ? host : host + "," + features));
}
int host_int8_dot_bytes(const std::string& features) { return host_target_info(features).int8_dot_bytes; }
int host_q4_dot_bytes(const std::string& features) { return host_target_info(features).q4_dot_bytes; }

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

Reference load_reference(const std::string& model_dir) {
    nlohmann::json ref = read_json(model_dir + "/reference.json");
    Reference r;
    r.tokens = ref["tokens"].get<std::vector<int32_t>>();
    NpyArray logits = read_npy_f32(model_dir + "/" + ref["logits_file"].get<std::string>());
    r.logits = std::move(logits.data);
    r.shape = logits.shape;
    r.scale = max_abs(r.logits);
    r.tolerance = std::max(kRelativeTolerance, 2 * ref["float32_relative_deviation"].get<double>());
    r.greedy_prompt = ref["greedy"]["prompt"].get<std::vector<int32_t>>();
    r.greedy_ids = ref["greedy"]["ids"].get<std::vector<int32_t>>();
    return r;
}

std::vector<std::string> reference_models() {
    std::vector<std::string> dirs;
    for (const auto& entry : fs::directory_iterator(kDataDir + "/models"))
        if (fs::exists(entry.path() / "reference.json")) dirs.push_back(entry.path().string());
    std::sort(dirs.begin(), dirs.end());
    return dirs;
}

}  // namespace gpt2c::e2e
