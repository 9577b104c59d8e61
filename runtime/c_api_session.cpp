// runtime/c_api_session.cpp - the C API's sessions (include/gpt2c/runtime.h) over gpt2c::Conversation.
#include "runtime/c_api_internal.h"
#include "runtime/c_api_model.h"
#include "runtime/c_api_options.h"
#include "runtime/conversation.h"

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

struct gpt2c_session {
    gpt2c_model* model;
    gpt2c::Conversation conversation;
};

using namespace gpt2c::c_api;

namespace {

// A conversation's errors: overflow is CONTEXT_FULL, the rest INVALID_ARGUMENT.
template <typename Body>
gpt2c_status session_call(const char* fn, Body&& body) {
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        try {
            body();
        } catch (const gpt2c::Error& e) {
            const std::string what = e.what();
            const bool full = what.find("context overflow") != std::string::npos ||
                              what.find("no room to generate") != std::string::npos ||
                              what.find("context positions are free") != std::string::npos ||
                              what.find("but the model's context is") != std::string::npos;
            throw StepError{full ? GPT2C_ERROR_CONTEXT_FULL : GPT2C_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + what};
        }
        return GPT2C_OK;
    });
}

}  // namespace

extern "C" {

gpt2c_status gpt2c_session_create(gpt2c_model* model, int32_t context_length, gpt2c_session** out) {
    const char* fn = "gpt2c_session_create";
    if (!out) return null_argument(fn, "out");
    *out = nullptr;
    if (!model) return null_argument(fn, "model");
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        *out = new gpt2c_session{model, gpt2c::Conversation(model->model, model->tokenizer, model->eos_token_id,
                                                            context_length)};
        return GPT2C_OK;
    });
}

void gpt2c_session_free(gpt2c_session* session) { delete session; }

gpt2c_status gpt2c_session_append_text(gpt2c_session* session, const char* text, size_t length) {
    const char* fn = "gpt2c_session_append_text";
    if (!session) return null_argument(fn, "session");
    if (!text && length) return null_argument(fn, "text");
    return session_call(fn, [&] {
        const std::vector<int32_t> ids = session->model->tokenizer.encode(std::string(text ? text : "", length));
        session->conversation.append(ids);
    });
}

gpt2c_status gpt2c_session_append_tokens(gpt2c_session* session, const int32_t* ids, size_t count) {
    const char* fn = "gpt2c_session_append_tokens";
    if (!session) return null_argument(fn, "session");
    if (!ids && count) return null_argument(fn, "ids");
    return session_call(fn, [&] { session->conversation.append({ids, count}); });
}

gpt2c_status gpt2c_session_generate(gpt2c_session* session, const gpt2c_generate_options* options,
                                    gpt2c_event_callback callback, void* user_data, gpt2c_generation_stats* stats) {
    const char* fn = "gpt2c_session_generate";
    if (stats) *stats = gpt2c_generation_stats{};
    if (!session) return null_argument(fn, "session");
    if (!options) return null_argument(fn, "options");
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        const gpt2c::GenerateOptions converted = to_generate_options(*options, fn);
        EventTranslator translator;
        gpt2c::EventCallback on_event;
        if (callback)
            on_event = [&](const gpt2c::TokenEvent& event) {
                return callback(user_data, &translator.translate(event)) == 0;
            };
        gpt2c::GenerationStats result;
        const gpt2c_status status = session_call(fn, [&] { result = session->conversation.generate(converted, on_event); });
        if (status != GPT2C_OK) return status;
        copy_stats(result, stats);
        return GPT2C_OK;
    });
}

int32_t gpt2c_session_length(const gpt2c_session* session) {
    return session ? int32_t(session->conversation.length()) : -1;
}

gpt2c_status gpt2c_session_tokens(const gpt2c_session* session, int32_t** ids, size_t* count) {
    const char* fn = "gpt2c_session_tokens";
    if (ids) *ids = nullptr;
    if (count) *count = 0;
    if (!session) return null_argument(fn, "session");
    if (!ids) return null_argument(fn, "ids");
    if (!count) return null_argument(fn, "count");
    return guarded(fn, GPT2C_ERROR_INTERNAL, [&] {
        const std::vector<int32_t>& tokens = session->conversation.tokens();
        *ids = malloc_copy(tokens.data(), tokens.size());
        *count = tokens.size();
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_session_truncate(gpt2c_session* session, int32_t length) {
    const char* fn = "gpt2c_session_truncate";
    if (!session) return null_argument(fn, "session");
    return session_call(fn, [&] { session->conversation.truncate(length); });
}

}  // extern "C"
