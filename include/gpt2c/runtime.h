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
    GPT2C_ERROR_INTERNAL = 5,
    GPT2C_ERROR_BUSY = 6              /* an engine's queue is full, or it is closed: try again later */
} gpt2c_status;

/* The message of the calling thread's last failed call ("" if none). */
const char* gpt2c_last_error(void);

typedef struct gpt2c_model gpt2c_model;

/* Loads a library made by `gpt2c compile` and the model directory it was
 * compiled for (model.safetensors, vocab.json, merges.txt, and
 * generation_config.json when present). threads <= 0: one per hardware thread.
 * When LIB.weights sits beside LIB.so (gpt2c pack-weights) and was made by this
 * library from this checkpoint, the weights are mapped from it in place: no
 * preparing, and processes share its pages. model.safetensors may then be absent.
 * A damaged LIB.weights is an error (GPT2C_ERROR_INPUT, naming it). */
gpt2c_status gpt2c_model_load(const char* library_path, const char* model_dir, int threads, gpt2c_model** out);
void gpt2c_model_free(gpt2c_model* model);

int32_t gpt2c_model_vocab_size(const gpt2c_model* model);
int32_t gpt2c_model_context_length(const gpt2c_model* model);
/* Where the weights came from, for a log line: "packed weights LIB.weights" (made
 * by `gpt2c pack-weights` or `gpt2c compile --pack-weights`, mapped in place), or
 * "checkpoint FILE" followed, in parentheses, by why a LIB.weights beside the
 * library was not used (made by another library or from another checkpoint).
 * Valid as long as the model. */
const char* gpt2c_model_weights_source(const gpt2c_model* model);

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
    float presence_penalty;    /* [-2, 2]: subtracted from a generated token's logit once it appeared (OpenAI's) */
    float frequency_penalty;   /* [-2, 2]: subtracted once per appearance among the generated tokens */
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

/* ---- Generating with options: stop strings, log-probabilities, events ---- */

typedef struct gpt2c_generate_options {
    gpt2c_sampling sampling;  /* its own seed: a sequence's tokens depend only on its prompt and options */
    int32_t max_new_tokens;   /* clipped to the room left in the context */
    const char* const* stop;  /* n_stop NUL-terminated UTF-8 strings: the text ends before the first one */
    size_t n_stop;
    int32_t logprobs;         /* -1: none; 0: the chosen token's; 1..20: also that many of the most likely */
    int32_t ignore_eos;       /* nonzero: <|endoftext|> does not end the text */
} gpt2c_generate_options;

/* The model's sampling defaults, 16 new tokens, no stop strings, no logprobs. */
void gpt2c_generate_options_defaults(const gpt2c_model* model, gpt2c_generate_options* options);

typedef enum gpt2c_finish_reason {
    GPT2C_FINISH_NONE = 0,        /* a token event: not finished */
    GPT2C_FINISH_LENGTH = 1,      /* max_new_tokens, or the context is full */
    GPT2C_FINISH_EOS = 2,         /* the model produced <|endoftext|> */
    GPT2C_FINISH_STOP_STRING = 3, /* the text reached a stop string (which is not in it) */
    GPT2C_FINISH_CANCELLED = 4,   /* the callback returned nonzero, or gpt2c_engine_cancel */
    GPT2C_FINISH_ERROR = 5        /* the runtime failed; see error */
} gpt2c_finish_reason;

typedef struct gpt2c_token_logprob {
    int32_t token;
    float logprob;
} gpt2c_token_logprob;

/* One event of a sequence: a generated token (token >= 0), or its end
 * (token == -1, finish != GPT2C_FINISH_NONE), which comes exactly once, last.
 * Pointers are valid during the callback only. */
typedef struct gpt2c_event {
    uint64_t request;                /* the engine's request id (0 for a session) */
    int32_t token;
    const char* text;                /* whole UTF-8 characters that became final (NUL-terminated) */
    size_t length;
    float logprob;                   /* log-probability of token under the model (options.logprobs >= 0) */
    const gpt2c_token_logprob* top;  /* the n_top most likely tokens, most likely first */
    int32_t n_top;
    gpt2c_finish_reason finish;
    const char* error;               /* GPT2C_FINISH_ERROR: what failed; else "" */
} gpt2c_event;

/* Return nonzero to cancel the sequence (its final event still follows). */
typedef int (*gpt2c_event_callback)(void* user_data, const gpt2c_event* event);

/* ---- Sessions: multi-turn use of one sequence ----------------------------
 *
 * A session is one conversation: text or tokens appended by the application
 * and tokens generated by the model, turn after turn, with its KV cache kept
 * between turns, so a turn runs only its own new tokens. Every token sampled
 * stays in the session (<|endoftext|> and a stop string's tokens too);
 * gpt2c_session_truncate rewinds it. One thread at a time per session;
 * sessions of one model may run concurrently (they take its threads in turn). */
typedef struct gpt2c_session gpt2c_session;

/* context_length: positions (0: the model's context length). */
gpt2c_status gpt2c_session_create(gpt2c_model* model, int32_t context_length, gpt2c_session** out);
void gpt2c_session_free(gpt2c_session* session);
/* Tokenizes `text` on its own and appends it; CONTEXT_FULL when it does not fit. */
gpt2c_status gpt2c_session_append_text(gpt2c_session* session, const char* text, size_t length);
gpt2c_status gpt2c_session_append_tokens(gpt2c_session* session, const int32_t* ids, size_t count);
/* Generates after everything so far (from <|endoftext|> when empty); events go to callback (may be NULL). */
gpt2c_status gpt2c_session_generate(gpt2c_session* session, const gpt2c_generate_options* options,
                                    gpt2c_event_callback callback, void* user_data, gpt2c_generation_stats* stats);
/* Tokens in the session; -1 for NULL. */
int32_t gpt2c_session_length(const gpt2c_session* session);
/* A copy of the session's tokens; *ids is freed with gpt2c_free. */
gpt2c_status gpt2c_session_tokens(const gpt2c_session* session, int32_t** ids, size_t* count);
/* Keeps the first `length` tokens. */
gpt2c_status gpt2c_session_truncate(gpt2c_session* session, int32_t length);

/* ---- Engines: continuous batching for servers ------------------------------
 *
 * An engine runs many requests over one model in shared batched steps:
 * requests are submitted from any thread, wait in a bounded queue for one of
 * n_slots sequence slots, and one thread drives gpt2c_engine_step. Each step
 * runs a decode token of every generating request plus chunks of prompts
 * still being read (at most max_step_tokens rows), so a long prompt does not
 * stall the others. A request gets the same tokens as alone (gpt2c_session,
 * gpt2c generate) with the same prompt and options, whatever else runs.
 * Events are delivered from gpt2c_engine_step, on its thread. */
typedef struct gpt2c_engine gpt2c_engine;

typedef struct gpt2c_engine_options {
    int32_t n_slots;          /* requests generating at once (default 4) */
    int32_t context_length;   /* positions per slot (0: the model's) */
    int32_t max_step_tokens;  /* rows per step (0: 64, at least n_slots) */
    int32_t max_queue;        /* requests waiting for a slot, beyond the free ones; beyond it submit returns BUSY (default 64) */
} gpt2c_engine_options;

void gpt2c_engine_options_defaults(gpt2c_engine_options* options);
gpt2c_status gpt2c_engine_create(gpt2c_model* model, const gpt2c_engine_options* options, gpt2c_engine** out);
/* Requests still queued or running get no more events. */
void gpt2c_engine_free(gpt2c_engine* engine);
/* Thread-safe. Queues `prompt` (count ids; empty: start from <|endoftext|>).
 * INVALID_ARGUMENT for bad options or ids, CONTEXT_FULL for a prompt leaving
 * no room in a slot, BUSY when the queue is full or the engine is closed. */
gpt2c_status gpt2c_engine_submit(gpt2c_engine* engine, const int32_t* prompt, size_t count,
                                 const gpt2c_generate_options* options, gpt2c_event_callback callback,
                                 void* user_data, uint64_t* request);
/* Thread-safe: ends a request at the next step (final event CANCELLED). Unknown ids are ignored. */
gpt2c_status gpt2c_engine_cancel(gpt2c_engine* engine, uint64_t request);
/* Thread-safe: refuse new requests from now on; queued and running ones go on. */
gpt2c_status gpt2c_engine_close(gpt2c_engine* engine);
/* Runs one step if there is work, waiting up to wait_ms for some; *rows (may
 * be NULL) gets the rows run, 0 when idle. One thread at a time. */
gpt2c_status gpt2c_engine_step(gpt2c_engine* engine, int32_t wait_ms, int32_t* rows);
/* Thread-safe: a gpt2c_engine_step that is waiting returns now. */
gpt2c_status gpt2c_engine_wake(gpt2c_engine* engine);

typedef struct gpt2c_engine_stats {
    int64_t queued, active;       /* requests waiting for a slot, and holding one */
    int64_t steps, rows;          /* so far */
    int64_t prompt_tokens, generated_tokens;
    int64_t last_step_rows, last_step_sequences;
} gpt2c_engine_stats;

/* Thread-safe. */
gpt2c_status gpt2c_engine_stats_get(const gpt2c_engine* engine, gpt2c_engine_stats* stats);

#ifdef __cplusplus
}
#endif

#endif /* GPT2C_RUNTIME_H */
