// runtime/c_api_engine.cpp - the C API's engines (include/gpt2c/runtime.h) over gpt2c::Engine.
#include "runtime/c_api_internal.h"
#include "runtime/c_api_model.h"
#include "runtime/c_api_options.h"
#include "runtime/engine.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

struct gpt2c_engine {
    gpt2c::Engine engine;
    gpt2c::c_api::EventTranslator translator;  // used on the stepping thread only
};

using namespace gpt2c::c_api;

static_assert(int(gpt2c::FinishReason::error) == GPT2C_FINISH_ERROR &&
              int(gpt2c::FinishReason::stop_string) == GPT2C_FINISH_STOP_STRING);

extern "C" {

void gpt2c_engine_options_defaults(gpt2c_engine_options* options) {
    if (!options) {
        null_argument("gpt2c_engine_options_defaults", "options");
        return;
    }
    const gpt2c::EngineOptions d;
    *options = gpt2c_engine_options{d.n_slots, int32_t(d.context), int32_t(d.max_step_rows), int32_t(d.max_queue)};
}

gpt2c_status gpt2c_engine_create(gpt2c_model* model, const gpt2c_engine_options* options, gpt2c_engine** out) {
    const char* fn = "gpt2c_engine_create";
    if (!out) return null_argument(fn, "out");
    *out = nullptr;
    if (!model) return null_argument(fn, "model");
    if (!options) return null_argument(fn, "options");
    if (options->n_slots < 1 || options->context_length < 0 || options->max_step_tokens < 0 || options->max_queue < 0)
        return set_error(GPT2C_ERROR_INVALID_ARGUMENT,
                         fmt::format("{}: options need n_slots >= 1 and context_length, max_step_tokens, max_queue "
                                     ">= 0; got {}, {}, {}, {}",
                                     fn, options->n_slots, options->context_length, options->max_step_tokens,
                                     options->max_queue));
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        gpt2c::EngineOptions o;
        o.n_slots = options->n_slots;
        o.context = options->context_length;
        o.max_step_rows = options->max_step_tokens;
        o.max_queue = size_t(options->max_queue);
        *out = new gpt2c_engine{gpt2c::Engine(model->model, model->tokenizer, model->eos_token_id, o), {}};
        return GPT2C_OK;
    });
}

void gpt2c_engine_free(gpt2c_engine* engine) { delete engine; }

gpt2c_status gpt2c_engine_submit(gpt2c_engine* engine, const int32_t* prompt, size_t count,
                                 const gpt2c_generate_options* options, gpt2c_event_callback callback,
                                 void* user_data, uint64_t* request) {
    const char* fn = "gpt2c_engine_submit";
    if (request) *request = 0;
    if (!engine) return null_argument(fn, "engine");
    if (!prompt && count) return null_argument(fn, "prompt");
    if (!options) return null_argument(fn, "options");
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        const gpt2c::GenerateOptions converted = to_generate_options(*options, fn);
        gpt2c::EventCallback on_event;
        if (callback)
            on_event = [engine, callback, user_data](const gpt2c::TokenEvent& event) {
                return callback(user_data, &engine->translator.translate(event)) == 0;
            };
        uint64_t id = 0;
        try {
            id = engine->engine.submit(std::vector<int32_t>(prompt, prompt + count), converted, std::move(on_event));
        } catch (const gpt2c::EngineBusy& e) {
            throw StepError{GPT2C_ERROR_BUSY, std::string(fn) + ": " + e.what()};
        } catch (const gpt2c::Error& e) {
            const std::string what = e.what();
            const bool full = what.find("context") != std::string::npos && what.find("prompt has") != std::string::npos;
            throw StepError{full ? GPT2C_ERROR_CONTEXT_FULL : GPT2C_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + what};
        }
        if (request) *request = id;
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_engine_cancel(gpt2c_engine* engine, uint64_t request) {
    if (!engine) return null_argument("gpt2c_engine_cancel", "engine");
    return guarded("gpt2c_engine_cancel", GPT2C_ERROR_INTERNAL, [&] {
        engine->engine.cancel(request);
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_engine_close(gpt2c_engine* engine) {
    if (!engine) return null_argument("gpt2c_engine_close", "engine");
    engine->engine.close();
    return GPT2C_OK;
}

gpt2c_status gpt2c_engine_wake(gpt2c_engine* engine) {
    if (!engine) return null_argument("gpt2c_engine_wake", "engine");
    engine->engine.wake();
    return GPT2C_OK;
}

gpt2c_status gpt2c_engine_step(gpt2c_engine* engine, int32_t wait_ms, int32_t* rows) {
    const char* fn = "gpt2c_engine_step";
    if (rows) *rows = 0;
    if (!engine) return null_argument(fn, "engine");
    return guarded(fn, GPT2C_ERROR_INTERNAL, [&] {
        const int64_t n = engine->engine.step(std::chrono::milliseconds(std::max(wait_ms, 0)));
        if (rows) *rows = int32_t(n);
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_engine_stats_get(const gpt2c_engine* engine, gpt2c_engine_stats* stats) {
    if (!engine) return null_argument("gpt2c_engine_stats_get", "engine");
    if (!stats) return null_argument("gpt2c_engine_stats_get", "stats");
    const gpt2c::EngineStats s = engine->engine.stats();
    *stats = gpt2c_engine_stats{int64_t(s.queued),        int64_t(s.active),           int64_t(s.steps),
                                int64_t(s.rows),          int64_t(s.prompt_tokens),    int64_t(s.generated_tokens),
                                s.last_step_rows,         s.last_step_sequences};
    return GPT2C_OK;
}

}  // extern "C"
