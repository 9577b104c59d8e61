// runtime/c_api_context.cpp - the C API's contexts (include/gpt2c/runtime.h) over gpt2c::Context.
#include "runtime/c_api_internal.h"
#include "runtime/c_api_model.h"
#include "runtime/context.h"

#include <memory>
#include <string>
#include <vector>

struct gpt2c_context {
    gpt2c::Context context;
    int64_t vocab_size;
    std::vector<gpt2c::BatchRow> rows;  // reused by every step
};

using namespace gpt2c::c_api;

extern "C" {

gpt2c_status gpt2c_context_create(gpt2c_model* model, int32_t n_slots, int32_t context_length, gpt2c_context** out) {
    const char* fn = "gpt2c_context_create";
    if (!model) return null_argument(fn, "model");
    if (!out) return null_argument(fn, "out");
    *out = nullptr;
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        auto context = std::make_unique<gpt2c_context>(
            gpt2c_context{gpt2c::Context(model->model, n_slots, context_length), model->model->config().vocab_size, {}});
        *out = context.release();
        return GPT2C_OK;
    });
}

void gpt2c_context_free(gpt2c_context* context) { delete context; }

gpt2c_status gpt2c_context_step(gpt2c_context* context, const gpt2c_batch_row* rows, size_t n_rows, float* logits) {
    const char* fn = "gpt2c_context_step";
    if (!context) return null_argument(fn, "context");
    if (!rows && n_rows) return null_argument(fn, "rows");
    return guarded(fn, GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        context->rows.resize(n_rows);
        bool any_logits = false;
        for (size_t i = 0; i < n_rows; ++i) {
            context->rows[i] = {rows[i].token, rows[i].slot, rows[i].position, rows[i].want_logits != 0};
            any_logits = any_logits || rows[i].want_logits;
        }
        if (any_logits && !logits) return null_argument(fn, "logits");
        try {
            context->context.step(context->rows, logits);
        } catch (const gpt2c::Error& e) {
            const std::string what = e.what();
            throw StepError{what.rfind("context overflow", 0) == 0 ? GPT2C_ERROR_CONTEXT_FULL : GPT2C_ERROR_INVALID_ARGUMENT,
                            std::string(fn) + ": " + what};
        }
        return GPT2C_OK;
    });
}

int32_t gpt2c_context_length(const gpt2c_context* context, int32_t slot) {
    if (!context || slot < 0 || slot >= context->context.n_slots()) return -1;
    return int32_t(context->context.length(slot));
}

gpt2c_status gpt2c_context_clear(gpt2c_context* context, int32_t slot) {
    if (!context) return null_argument("gpt2c_context_clear", "context");
    return guarded("gpt2c_context_clear", GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        context->context.clear(slot);
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_context_truncate(gpt2c_context* context, int32_t slot, int32_t length) {
    if (!context) return null_argument("gpt2c_context_truncate", "context");
    return guarded("gpt2c_context_truncate", GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        context->context.truncate(slot, length);
        return GPT2C_OK;
    });
}

gpt2c_status gpt2c_context_copy_prefix(gpt2c_context* context, int32_t from, int32_t to, int32_t length) {
    if (!context) return null_argument("gpt2c_context_copy_prefix", "context");
    return guarded("gpt2c_context_copy_prefix", GPT2C_ERROR_INVALID_ARGUMENT, [&] {
        context->context.copy_prefix(from, to, length);
        return GPT2C_OK;
    });
}

}  // extern "C"
