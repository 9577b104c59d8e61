// tests/e2e/e2e_support.h - what the end-to-end tests share: compiling reference
// models, running them, comparing logits.
#pragma once

#include "runtime/model.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace gpt2c::e2e {

inline const std::string kDataDir = GPT2C_TEST_DATA_DIR;
inline const std::string kExampleDir = GPT2C_SOURCE_DIR "/examples/tiny-shakespeare";

// About 1e-5 of the largest logit: float32 against a float64 reference. A model
// whose own float32 rounding is amplified more (Reference::tolerance) gets more.
constexpr double kRelativeTolerance = 1e-5;

nlohmann::json read_json(const std::string& path);

// A directory for this test process's libraries and outputs.
std::filesystem::path scratch_dir();

// Compiles like `gpt2c compile` (cached by its arguments in scratch_dir()): for this
// machine, with `target_features` (an LLVM feature string appended to the host's,
// e.g. "-avx512bf16"), or for another `target_cpu` (with that CPU's features and
// `target_features`, e.g. x86-64-v3 with "+avxvnni"), or
// for another architecture `target_triple` (then `target_features` stand alone), with
// the KV cache in `kv_dtype` ("f32", "bf16" or "int8"), and `arithmetic` ("native", or
// "float32": bf16, int8 and q4 weights multiplied in float32 whatever the target has).
std::string compile(const std::string& model_dir, int level, const std::string& weights_dtype = "f32",
                    const std::string& target_features = "", const std::string& target_cpu = "",
                    const std::string& target_triple = "", const std::string& kv_dtype = "f32",
                    const std::string& arithmetic = "native");
// The same with float32 arithmetic for every weights dtype.
std::string compile_float32_arithmetic(const std::string& model_dir, int level, const std::string& weights_dtype,
                                       const std::string& target_features = "", const std::string& target_cpu = "",
                                       const std::string& target_triple = "");

bool host_has_bf16_dot();
bool host_has_int8_dot();
// The integer dot products' register width (64, 32 or 0 bytes) of this host with `features` appended.
int host_int8_dot_bytes(const std::string& features);
// The same for 4-bit weights (AVX2 and AVX512BW multiply them in integers too).
int host_q4_dot_bytes(const std::string& features);

double max_abs(const std::vector<float>& v);
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);

// The logits of every position: one prefill call, or one token per call through the KV cache.
std::vector<float> prefill_logits(const std::shared_ptr<Model>& model, const std::vector<int32_t>& tokens);
std::vector<float> decode_logits(const std::shared_ptr<Model>& model, const std::vector<int32_t>& tokens);
// n greedily chosen tokens after `prompt`.
std::vector<int32_t> greedy(const std::shared_ptr<Model>& model, std::vector<int32_t> prompt, size_t n);

// What tests/reference/make_reference.py recorded for a model.
struct Reference {
    std::vector<int32_t> tokens;             // the sequence whose logits were recorded
    std::vector<float> logits;               // [tokens, vocab_size], float64 rounded to float32
    std::vector<int64_t> shape;              // of `logits`
    double scale = 0;                        // max |logit|: tolerances are relative to it
    // max |logit difference| / scale allowed for a float32 engine: kRelativeTolerance, or
    // twice what a plain PyTorch float32 forward measured on this model, if more
    // (reference.json "float32_relative_deviation"; only m9, with large weights and sharp
    // attention, needs more: 1.22e-5).
    double tolerance = kRelativeTolerance;
    std::vector<int32_t> greedy_prompt;      // and the greedy continuation of it
    std::vector<int32_t> greedy_ids;
};
Reference load_reference(const std::string& model_dir);

// Every tests/data/models/* directory with a reference.json, sorted.
std::vector<std::string> reference_models();

}  // namespace gpt2c::e2e
