// runtime/c_api.cpp - the C API (include/gpt2c/runtime.h) over Model, Session, Tokenizer, Sampler and generate().
//
// Every entry point is a wall: no C++ exception crosses it. gpt2c::Error
// becomes GPT2C_ERROR_INPUT (or the code of the step that raised it: an
// option the Sampler rejects is INVALID_ARGUMENT, a prompt that does not fit
// is CONTEXT_FULL, checked here before generating), std::bad_alloc becomes
// OUT_OF_MEMORY and any other exception INTERNAL. The message goes to a
// thread_local string that gpt2c_last_error() returns.
// First, so the pragma applies: the C API is the library's interface, exported
// whatever the default visibility (e.g. -fvisibility=hidden).
#pragma GCC visibility push(default)
#include <gpt2c/runtime.h>
#pragma GCC visibility pop

#include "runtime/c_api_internal.h"
#include "runtime/c_api_model.h"
#include "runtime/c_api_options.h"
#include "runtime/generator.h"
#include "runtime/model.h"
#include "runtime/sampler.h"
#include "runtime/tokenizer.h"
#include "support/error.h"
#include "support/files.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>


namespace gpt2c::c_api {

namespace {
thread_local std::string t_last_error;
}  // namespace

gpt2c_status set_error(gpt2c_status status, std::string message) {
    try {
        t_last_error = std::move(message);
    } catch (...) {
        t_last_error.clear();  // no memory for the message: keep the code
    }
    return status;
}

}  // namespace gpt2c::c_api

using namespace gpt2c::c_api;

namespace {

// The models whose gpt2c_generate is running on this thread (to refuse
// re-entry from a callback instead of deadlocking).
thread_local std::vector<const gpt2c_model*> t_generating;


// Reads model_dir/generation_config.json (Hugging Face keys) into `m`'s
// sampling defaults and end-of-text id, when the file exists.
void read_generation_config(gpt2c_model& m, const std::string& model_dir) {
    m.defaults = builtin_defaults();
    const int64_t vocab = m.model->config().vocab_size;
    auto id_in_range = [&](int64_t id) { return id >= 0 && id < vocab; };
    // Fallbacks: config.json's ids, then the tokenizer's <|endoftext|>.
    const auto& config = m.model->config();
    const int32_t tokenizer_eos = m.tokenizer.eos_token_id();
    m.eos_token_id = config.eos_token_id && id_in_range(*config.eos_token_id) ? int32_t(*config.eos_token_id)
                                                                                : tokenizer_eos;
    m.bos_token_id = config.bos_token_id && id_in_range(*config.bos_token_id) ? int32_t(*config.bos_token_id)
                                                                                : m.eos_token_id;

    const std::filesystem::path path = std::filesystem::path(model_dir) / "generation_config.json";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return;
    const std::string source = path.string();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(gpt2c::read_file(source));
    } catch (const nlohmann::json::exception& e) {
        gpt2c::fail("{}: not valid JSON: {}", source, e.what());
    }
    if (!j.is_object()) gpt2c::fail("{}: expected a JSON object", source);

    auto number = [&](const char* key, double lo, double hi, const char* expected) -> std::optional<double> {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return std::nullopt;
        if (!it->is_number()) gpt2c::fail("{}: key \"{}\" must be a number, got {}", source, key, it->dump());
        double v = it->get<double>();
        if (!(v >= lo && v <= hi)) gpt2c::fail("{}: key \"{}\" must be {}, got {}", source, key, expected, v);
        return v;
    };
    if (auto it = j.find("do_sample"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean()) gpt2c::fail("{}: key \"do_sample\" must be true or false, got {}", source, it->dump());
        m.defaults.greedy = it->get<bool>() ? 0 : 1;
    } else {
        m.defaults.greedy = 1;  // Hugging Face's default: do_sample = false
    }
    if (auto v = number("temperature", 0.0, 1e30, ">= 0")) m.defaults.temperature = float(*v);
    if (auto v = number("top_k", 0.0, 2147483647.0, "an integer >= 0")) {
        if (*v != std::floor(*v)) gpt2c::fail("{}: key \"top_k\" must be an integer >= 0, got {}", source, *v);
        m.defaults.top_k = int32_t(*v);
    }
    if (auto v = number("top_p", 0.0, 1.0, "in (0, 1]")) {
        if (*v == 0.0) gpt2c::fail("{}: key \"top_p\" must be in (0, 1], got 0", source);
        m.defaults.top_p = float(*v);
    }
    if (auto v = number("repetition_penalty", 1.0, 1e30, ">= 1")) m.defaults.repetition_penalty = float(*v);
    if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null()) {
        // An integer, or a list of them (the first is the one generation stops at).
        const nlohmann::json* id = &*it;
        if (it->is_array()) {
            if (it->empty()) gpt2c::fail("{}: key \"eos_token_id\" is an empty list", source);
            id = &(*it)[0];
        }
        if (!id->is_number_integer() || !id_in_range(id->get<int64_t>()))
            gpt2c::fail("{}: key \"eos_token_id\" must be a token id in 0..{}, got {}", source, vocab - 1,
                        it->dump());
        m.eos_token_id = int32_t(id->get<int64_t>());
    }
    if (auto it = j.find("bos_token_id"); it != j.end() && it->is_number_integer() && id_in_range(it->get<int64_t>()))
        m.bos_token_id = int32_t(it->get<int64_t>());
}

}  // namespace

extern "C" {

const char* gpt2c_last_error(void) { return gpt2c::c_api::t_last_error.c_str(); }

gpt2c_status gpt2c_model_load(const char* library_path, const char* model_dir, int threads, gpt2c_model** out) {
    constexpr const char* fn = "gpt2c_model_load";
    if (out) *out = nullptr;
    if (!library_path) return null_argument(fn, "library_path");
    if (!model_dir) return null_argument(fn, "model_dir");
    if (!out) return null_argument(fn, "out");
    return guarded(fn, GPT2C_ERROR_INPUT, [&] {
        std::shared_ptr<gpt2c::Model> model;
        try {
            model = gpt2c::Model::load(library_path, model_dir, threads);
        } catch (const nlohmann::json::exception& e) {
            // Metadata that parsed but does not have the expected shape.
            step_fail(GPT2C_ERROR_INPUT, fmt::format("{}: malformed library metadata: {}", library_path, e.what()));
        }
        auto m = std::make_unique<gpt2c_model>(std::move(model), gpt2c::Tokenizer::load(model_dir));
        read_generation_config(*m, model_dir);
        *out = m.release();
        return GPT2C_OK;
    });
}

void gpt2c_model_free(gpt2c_model* model) {
    try {
        delete model;
    } catch (...) {
        // Destructors do not throw; nothing to report if one did.
    }
}

int32_t gpt2c_model_vocab_size(const gpt2c_model* model) {
    if (!model) {
        null_argument("gpt2c_model_vocab_size", "model");
        return 0;
    }
    return int32_t(model->model->config().vocab_size);
}

int32_t gpt2c_model_context_length(const gpt2c_model* model) {
    if (!model) {
        null_argument("gpt2c_model_context_length", "model");
        return 0;
    }
    return int32_t(model->model->config().n_positions);
}

const char* gpt2c_model_weights_source(const gpt2c_model* model) {
    if (!model) {
        null_argument("gpt2c_model_weights_source", "model");
        return "";
    }
    return model->model->weights_source().c_str();
}

gpt2c_status gpt2c_tokenize(const gpt2c_model* model, const char* text, size_t length, int32_t** ids, size_t* count) {
    constexpr const char* fn = "gpt2c_tokenize";
    if (ids) *ids = nullptr;
    if (count) *count = 0;
    if (!model) return null_argument(fn, "model");
    if (!text && length) return null_argument(fn, "text");
    if (!ids) return null_argument(fn, "ids");
    if (!count) return null_argument(fn, "count");
    return guarded(fn, GPT2C_ERROR_INPUT, [&] {
        std::vector<int32_t> tokens = model->tokenizer.encode(std::string_view(text ? text : "", length));
        *ids = malloc_copy(tokens.data(), tokens.size());
        *count = tokens.size();
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_detokenize(const gpt2c_model* model, const int32_t* ids, size_t count, char** text,
                              size_t* length) {
    constexpr const char* fn = "gpt2c_detokenize";
    if (text) *text = nullptr;
    if (length) *length = 0;
    if (!model) return null_argument(fn, "model");
    if (!ids && count) return null_argument(fn, "ids");
    if (!text) return null_argument(fn, "text");
    return guarded(fn, GPT2C_ERROR_INPUT, [&] {
        const int32_t vocab = model->tokenizer.vocab_size();
        for (size_t i = 0; i < count; ++i)
            if (ids[i] < 0 || ids[i] >= vocab)
                step_fail(GPT2C_ERROR_INVALID_ARGUMENT,
                          fmt::format("{}: token id {} at index {} is out of range: the vocabulary has {} tokens (0..{})",
                                      fn, ids[i], i, vocab, vocab - 1));
        std::string bytes = model->tokenizer.decode(std::vector<int32_t>(ids, ids + count));
        char* out = malloc_copy(bytes.data(), bytes.size(), 1);
        out[bytes.size()] = '\0';
        *text = out;
        if (length) *length = bytes.size();
        return GPT2C_OK;
    });
}

void gpt2c_free(void* pointer) { std::free(pointer); }

void gpt2c_sampling_defaults(const gpt2c_model* model, gpt2c_sampling* sampling) {
    if (!sampling) {
        null_argument("gpt2c_sampling_defaults", "sampling");
        return;
    }
    *sampling = model ? model->defaults : builtin_defaults();
}

void gpt2c_generate_options_defaults(const gpt2c_model* model, gpt2c_generate_options* options) {
    if (!options) {
        null_argument("gpt2c_generate_options_defaults", "options");
        return;
    }
    *options = gpt2c_generate_options{};
    options->sampling = model ? model->defaults : builtin_defaults();
    options->max_new_tokens = 16;
    options->logprobs = -1;
}

gpt2c_status gpt2c_generate(gpt2c_model* model, const char* prompt, int32_t max_new_tokens,
                            const gpt2c_sampling* sampling, gpt2c_token_callback callback, void* user_data,
                            gpt2c_generation_stats* stats) {
    constexpr const char* fn = "gpt2c_generate";
    if (stats) *stats = gpt2c_generation_stats{};
    if (!model) return null_argument(fn, "model");
    if (!prompt) return null_argument(fn, "prompt");
    if (max_new_tokens < 0)
        return set_error(GPT2C_ERROR_INVALID_ARGUMENT,
                         fmt::format("{}: max_new_tokens must be >= 0, got {}", fn, max_new_tokens));
    const gpt2c_sampling options = sampling ? *sampling : model->defaults;
    if (std::string problem = check_sampling(options, std::string(fn) + ": sampling->"); !problem.empty())
        return set_error(GPT2C_ERROR_INVALID_ARGUMENT, problem);
    for (const gpt2c_model* busy : t_generating)
        if (busy == model)
            return set_error(GPT2C_ERROR_INVALID_ARGUMENT,
                             std::string(fn) + ": called from its own token callback on the same model");

    return guarded(fn, GPT2C_ERROR_INPUT, [&] {
        // Prompt: tokenized here, so its length is checked before generating.
        std::vector<int32_t> tokens = model->tokenizer.encode(prompt);
        if (tokens.empty()) {
            if (model->bos_token_id < 0)
                step_fail(GPT2C_ERROR_INVALID_ARGUMENT,
                          std::string(fn) + ": the prompt is empty and the model has no beginning-of-text token");
            tokens.push_back(model->bos_token_id);  // as Hugging Face does for an empty prompt
        }
        const int64_t context = model->model->config().n_positions;
        if (int64_t(tokens.size()) >= context)
            step_fail(GPT2C_ERROR_CONTEXT_FULL,
                      fmt::format("{}: the prompt has {} tokens, but the model's context holds {} positions: it must "
                                  "have at most {} tokens to leave room for a new one",
                                  fn, tokens.size(), context, context - 1));
        const int64_t vocab = model->model->config().vocab_size;
        for (size_t i = 0; i < tokens.size(); ++i)
            if (tokens[i] >= vocab)
                step_fail(GPT2C_ERROR_INPUT,
                          fmt::format("{}: the tokenizer produced id {} (prompt token {}), but the model's vocabulary "
                                      "has only {} tokens: vocab.json does not match the model",
                                      fn, tokens[i], i, vocab));
        if (stats) stats->prompt_tokens = int64_t(tokens.size());
        if (max_new_tokens == 0) return GPT2C_OK;

        gpt2c::GenerateOptions generate_options;
        generate_options.sampling = to_options(options);
        generate_options.max_new_tokens = max_new_tokens;
        try {
            gpt2c::Sampler check(generate_options.sampling);
        } catch (const gpt2c::Error& e) {
            step_fail(GPT2C_ERROR_INVALID_ARGUMENT, fmt::format("{}: sampling: {}", fn, e.what()));
        }

        std::lock_guard<std::mutex> lock(model->generate_mutex);
        t_generating.push_back(model);
        struct Pop {
            ~Pop() { t_generating.pop_back(); }
        } pop;
        if (!model->session) model->session = std::make_unique<gpt2c::Session>(model->model);
        model->session->reset();

        std::string text;  // the callback's text, NUL-terminated for convenience
        gpt2c::EventCallback on_event = [&](const gpt2c::TokenEvent& event) {
            // The final event only when it carries text the tokens left held back.
            const bool final = event.token < 0;
            if (!callback || (final && (event.text.empty() || event.finish == gpt2c::FinishReason::cancelled)))
                return true;
            text.assign(event.text);
            return callback(user_data, event.token, text.c_str(), text.size()) == 0;
        };
        gpt2c::GenerationStats result = gpt2c::generate(*model->session, model->tokenizer, tokens, generate_options,
                                                        model->eos_token_id, on_event);
        copy_stats(result, stats);
        return GPT2C_OK;
    });
}

}  // extern "C"
