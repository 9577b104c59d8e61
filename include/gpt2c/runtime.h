/* gpt2c/runtime.h - the C API of libgpt2c_runtime: load a compiled model, tokenize, generate.
 *
 * Every function that can fail returns a gpt2c_status; on failure
 * gpt2c_last_error() returns a message (naming the file, key or tensor) for
 * the calling thread. No C++ exception crosses this boundary. Objects are
 * freed with their *_free function; strings and arrays returned to the caller
 * with gpt2c_free.
 */
#ifndef GPT2C_RUNTIME_H
#define GPT2C_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gpt2c_status {
    GPT2C_OK = 0,
    GPT2C_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, an option out of range, a token id out of range */
    GPT2C_ERROR_INPUT = 2,            /* a file that is missing, unreadable or malformed; a library that does not fit */
    GPT2C_ERROR_CONTEXT_FULL = 3,     /* the prompt does not fit the model's context */
    GPT2C_ERROR_OUT_OF_MEMORY = 4,
    GPT2C_ERROR_INTERNAL = 5
} gpt2c_status;

/* The message of the calling thread's last failed call ("" if none). */
const char* gpt2c_last_error(void);

typedef struct gpt2c_model gpt2c_model;

/* Loads a library made by `gpt2c compile` and the model directory it was
 * compiled for (model.safetensors, vocab.json, merges.txt, and
 * generation_config.json when present). threads <= 0: one per hardware thread. */
gpt2c_status gpt2c_model_load(const char* library_path, const char* model_dir, int threads, gpt2c_model** out);
void gpt2c_model_free(gpt2c_model* model);

int32_t gpt2c_model_vocab_size(const gpt2c_model* model);
int32_t gpt2c_model_context_length(const gpt2c_model* model);

/* Encodes UTF-8 text (invalid sequences become U+FFFD). *ids is freed with gpt2c_free. */
gpt2c_status gpt2c_tokenize(const gpt2c_model* model, const char* text, size_t length, int32_t** ids, size_t* count);
/* Decodes ids to bytes (NUL-terminated for convenience). *text is freed with gpt2c_free. */
gpt2c_status gpt2c_detokenize(const gpt2c_model* model, const int32_t* ids, size_t count, char** text, size_t* length);
void gpt2c_free(void* pointer);

typedef struct gpt2c_sampling {
    int greedy;                /* nonzero: always the most likely token */
    float temperature;         /* > 0; <= 0 means greedy */
    int32_t top_k;             /* 0: no limit */
    float top_p;               /* (0, 1]; 1: no nucleus cut */
    float repetition_penalty;  /* >= 1 */
    uint64_t seed;
} gpt2c_sampling;

/* Defaults: the model's generation_config.json where present, else temperature 1, no filters, seed 0. */
void gpt2c_sampling_defaults(const gpt2c_model* model, gpt2c_sampling* sampling);

/* Called for each new token with the text that became complete (whole UTF-8
 * characters, possibly empty). Return nonzero to stop generating. */
typedef int (*gpt2c_token_callback)(void* user_data, int32_t token, const char* text, size_t length);

typedef struct gpt2c_generation_stats {
    int64_t prompt_tokens;
    int64_t generated_tokens;
    double prefill_seconds;
    double decode_seconds;
} gpt2c_generation_stats;

/* Generates up to max_new_tokens after `prompt` (UTF-8), stopping at
 * <|endoftext|>. sampling may be NULL (defaults); stats may be NULL. */
gpt2c_status gpt2c_generate(gpt2c_model* model, const char* prompt, int32_t max_new_tokens,
                            const gpt2c_sampling* sampling, gpt2c_token_callback callback, void* user_data,
                            gpt2c_generation_stats* stats);

/* ---- Several sequences at once: contexts and batched steps ----------------
 *
 * A context holds n_slots sequences (a KV cache of n_slots x context_length
 * positions) over one model and runs rows of any of them as one step: each
 * weight is read once per step for all rows, and each sequence gets exactly
 * the logits it gets alone, whatever else is in the step (prompt chunks of
 * some slots beside decode rows of others).
 *
 * Threads: a gpt2c_model may be used from any number of threads at once (its
 * weights are read-only; the steps of different contexts take the model's
 * thread pool in turn, op by op). Calls on one context must not overlap: one
 * thread at a time per context. gpt2c_generate calls on one model run one
 * after another. */
typedef struct gpt2c_context gpt2c_context;

/* n_slots >= 1 sequence slots of up to context_length positions each (0: the
 * model's context length). The step buffers are mapped in here, so the first
 * step is about as fast as later ones; the KV cache (n_slots x context_length
 * positions) is reserved, and takes memory as sequences reach its positions. */
gpt2c_status gpt2c_context_create(gpt2c_model* model, int32_t n_slots, int32_t context_length, gpt2c_context** out);
void gpt2c_context_free(gpt2c_context* context);

/* One row of a step: `token` at `position` of the sequence in `slot`. */
typedef struct gpt2c_batch_row {
    int32_t token;
    int32_t slot;
    int32_t position;
    int32_t want_logits; /* nonzero: the step returns this row's logits */
} gpt2c_batch_row;

/* Runs n_rows rows (1..the model's context length) as one step and writes the
 * logits of the rows that want them, in row order, to `logits` (rows wanting
 * logits x vocab_size floats; may be NULL when none does). A slot's rows must
 * continue it: the first at position gpt2c_context_length(slot), the next one
 * after, and so on. On any error nothing changes (INVALID_ARGUMENT for a bad
 * row, CONTEXT_FULL for a slot that would overflow). */
gpt2c_status gpt2c_context_step(gpt2c_context* context, const gpt2c_batch_row* rows, size_t n_rows, float* logits);

/* Positions the sequence in `slot` holds; -1 for a slot out of range. */
int32_t gpt2c_context_length(const gpt2c_context* context, int32_t slot);
/* Empties `slot`. */
gpt2c_status gpt2c_context_clear(gpt2c_context* context, int32_t slot);
/* Rewinds `slot` to its first `length` positions. */
gpt2c_status gpt2c_context_truncate(gpt2c_context* context, int32_t slot, int32_t length);
/* Makes slot `to` hold the first `length` positions of slot `from` (one prompt,
 * several continuations, without running the prompt again). */
gpt2c_status gpt2c_context_copy_prefix(gpt2c_context* context, int32_t from, int32_t to, int32_t length);

#ifdef __cplusplus
}
#endif

#endif /* GPT2C_RUNTIME_H */
