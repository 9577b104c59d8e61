/* gpt2c/abi.h - the binary interface between a gpt2c-compiled model library and its host.
 *
 * A compiled library exports exactly one symbol, gpt2c_library_query. The
 * host (libgpt2c_runtime, or any program) calls it with the ABI version it
 * speaks; the library returns its descriptor, or NULL when it speaks another
 * version. Everything else (metadata, entry points) comes through the
 * descriptor, so adding a function never changes the symbol table.
 *
 * The library allocates nothing and creates no threads: the host passes the
 * weights, the KV cache, the activation arena and a parallel_for callback.
 */
#ifndef GPT2C_ABI_H
#define GPT2C_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GPT2C_ABI_VERSION 4u
#define GPT2C_KV_TILE_POSITIONS 16  /* positions per key tile in the KV cache (see forward) */

/* Runs fn(arg, begin, end) over disjoint ranges covering [0, n), possibly on
 * several threads, and returns when all are done. The library makes every
 * result independent of how [0, n) is split. */
typedef void (*gpt2c_task_fn)(void* arg, int64_t begin, int64_t end);
typedef struct gpt2c_host {
    void* context;
    void (*parallel_for)(void* context, gpt2c_task_fn fn, void* arg, int64_t n);
} gpt2c_host;

/* prepare: computes the prepared weights (folded, packed) from the raw ones.
 * raw_weights[i] is the float32 tensor metadata.weights[i] describes (in its
 * checkpoint layout); prepared[i] has room for metadata.prepared[i].
 * only < 0 computes every prepared tensor, in order. only = p computes just
 * prepared[p]: it reads the raw weights and earlier prepared tensors listed in
 * metadata.prepared[p].inputs (the others may be NULL), so a host can convert
 * each raw weight just before its first use and free it after its last. */
typedef struct gpt2c_prepare_args {
    const float* const* raw_weights;
    float* const* prepared;
    const gpt2c_host* host;
    int64_t only;
} gpt2c_prepare_args;

/* forward: runs one step of n_rows rows, which may come from several sequences.
 * Row i is token tokens[i] at position positions[i] of the sequence held in
 * slot slots[i] of kv_cache. Each row's key and value are stored there first;
 * then row i attends to its slot's positions 0..positions[i]. Projections, layer
 * norms and the MLP run on all rows as one matrix. Writes the logits of rows
 * logit_rows[0..n_logits-1] to logits ([n_logits, vocab_size], row-major).
 *
 * kv_cache holds the slots one after another, each [n_layer][k|v] parts of
 * P positions, P = kv_positions rounded up to a multiple of
 * GPT2C_KV_TILE_POSITIONS (16). In a part, head h (D = n_embd / n_head wide)
 * owns P * W elements of metadata.kv_dtype from h * P * W, in tiles of 16
 * positions, each 16 * W elements: keys [D][16] (dimension d of the 16
 * positions side by side), values [16][D]. For float32 and bfloat16 (stored as
 * uint16_t) W = D; for int8, W = D + 4 bytes: after the 16 positions' int8
 * elements come their 16 float32 scales (element = scale * byte). A host
 * copies a sequence's prefix head by head, in whole tiles. Requires 1 <= n_rows <= n_positions, 1 <= n_logits <= n_rows, logit
 * rows in 0..n_rows-1, kv_positions <= n_positions, every position < kv_positions,
 * every token id < vocab_size, no (slot, position) twice, and every position
 * below positions[i] of slot slots[i] already stored (by an earlier call or an
 * earlier row of this one): the host checks, the library trusts. A row's
 * results depend only on its own sequence, never on the other rows. */
typedef struct gpt2c_forward_args {
    const float* const* raw_weights;
    const float* const* prepared;
    void* kv_cache;       /* n_slots * P * (metadata.kv_cache_bytes / n_positions) bytes, 64-byte aligned */
    void* arena;          /* metadata.arena_bytes bytes, 64-byte aligned */
    const int32_t* tokens;      /* [n_rows] */
    const int32_t* positions;   /* [n_rows] */
    const int32_t* slots;       /* [n_rows] */
    const int32_t* logit_rows;  /* [n_logits] */
    int64_t n_rows;
    int64_t n_logits;
    int64_t kv_positions; /* positions each slot holds */
    float* logits;
    const gpt2c_host* host;
} gpt2c_forward_args;

typedef struct gpt2c_library {
    uint32_t abi_version;
    uint32_t descriptor_size; /* sizeof(gpt2c_library) of the compiler that built it */
    /* JSON: {"abi_version", "gpt2c_version", "config": {...HF keys},
     *        "target": {"triple", "arch", "cpu", "features" (all LLVM enabled),
     *                   "isa_features" (the instruction-set ones, which the runtime checks)},
     *        "weights": [{"name", "shape", "used_by_forward"}],
     *        "prepared": [{"name", "shape", "bytes", "used_by_forward",
     *                      "inputs": {"weights": [i...], "prepared": [j < p...]}}],
     *        "arena_bytes", "kv_dtype" ("f32", "bf16" or "int8"),
     *        "kv_cache_bytes" (one slot of n_positions), "pipeline"} */
    const char* metadata_json;
    void (*prepare)(const gpt2c_prepare_args* args);
    void (*forward)(const gpt2c_forward_args* args);
} gpt2c_library;

typedef const gpt2c_library* (*gpt2c_library_query_fn)(uint32_t abi_version);
#define GPT2C_LIBRARY_QUERY_SYMBOL "gpt2c_library_query"

#ifdef __cplusplus
}
#endif

#endif /* GPT2C_ABI_H */
