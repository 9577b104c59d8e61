/* examples/continuations/continuations.c - several continuations of one prompt, decoded together.
 *
 *   continuations LIB.so MODEL_DIR "prompt" N_CONTINUATIONS N_TOKENS
 *
 * The prompt runs once, in slot 0 of a context; its KV cache is copied to the
 * other slots (gpt2c_context_copy_prefix), so the prompt is never run again.
 * Continuation k starts with the prompt's k-th most likely next token and then
 * continues greedily; every step decodes one token of every continuation in
 * one batched step. Prints one line per continuation: its token ids, a tab,
 * and its text (escaped newlines). Uses only the public C API (gpt2c/runtime.h).
 */
#include <gpt2c/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what) {
    fprintf(stderr, "continuations: %s: %s\n", what, gpt2c_last_error());
    return 1;
}

/* The index of the rank-th largest of n logits (rank 0: the largest; ties: the lower index):
 * rank + 1 passes, each taking the largest not taken yet. */
static int32_t ranked(const float* logits, int32_t n, int32_t rank) {
    int32_t taken[64];
    for (int32_t r = 0; r <= rank; ++r) {
        int32_t pick = -1;
        for (int32_t i = 0; i < n; ++i) {
            int32_t seen = 0;
            for (int32_t t = 0; t < r; ++t) seen |= taken[t] == i;
            if (!seen && (pick < 0 || logits[i] > logits[pick])) pick = i;
        }
        taken[r] = pick;
    }
    return taken[rank];
}

int main(int argc, char** argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s LIB.so MODEL_DIR PROMPT N_CONTINUATIONS N_TOKENS\n", argv[0]);
        return 2;
    }
    const int32_t n_seq = atoi(argv[4]), n_new = atoi(argv[5]);
    if (n_seq < 1 || n_seq > 64 || n_new < 1) {
        fprintf(stderr, "continuations: N_CONTINUATIONS must be 1..64 and N_TOKENS at least 1\n");
        return 2;
    }
    gpt2c_model* model = NULL;
    if (gpt2c_model_load(argv[1], argv[2], 0, &model) != GPT2C_OK) return fail("load");
    const int32_t vocab = gpt2c_model_vocab_size(model);

    int32_t* prompt = NULL;
    size_t prompt_len = 0;
    if (gpt2c_tokenize(model, argv[3], strlen(argv[3]), &prompt, &prompt_len) != GPT2C_OK) return fail("tokenize");
    if (prompt_len == 0) {
        fprintf(stderr, "continuations: the prompt is empty\n");
        return 2;
    }
    gpt2c_context* context = NULL;
    if (gpt2c_context_create(model, n_seq, (int32_t)prompt_len + n_new, &context) != GPT2C_OK) return fail("context");

    /* The prompt, once, in slot 0: only its last row's logits are needed. */
    gpt2c_batch_row* rows = calloc((size_t)(prompt_len > (size_t)n_seq ? prompt_len : (size_t)n_seq), sizeof *rows);
    float* logits = malloc((size_t)n_seq * (size_t)vocab * sizeof *logits);
    int32_t* ids = malloc((size_t)n_seq * (size_t)n_new * sizeof *ids);
    if (!rows || !logits || !ids) return fail("out of memory");
    for (size_t i = 0; i < prompt_len; ++i)
        rows[i] = (gpt2c_batch_row){prompt[i], 0, (int32_t)i, i + 1 == prompt_len};
    if (gpt2c_context_step(context, rows, prompt_len, logits) != GPT2C_OK) return fail("prompt");
    for (int32_t k = 0; k < n_seq; ++k) {
        if (k > 0 && gpt2c_context_copy_prefix(context, 0, k, (int32_t)prompt_len) != GPT2C_OK) return fail("copy");
        ids[k * n_new] = ranked(logits, vocab, k);
    }
    /* Then every continuation greedily, all of them in each step. */
    for (int32_t t = 1; t < n_new; ++t) {
        for (int32_t k = 0; k < n_seq; ++k)
            rows[k] = (gpt2c_batch_row){ids[k * n_new + t - 1], k, gpt2c_context_length(context, k), 1};
        if (gpt2c_context_step(context, rows, (size_t)n_seq, logits) != GPT2C_OK) return fail("step");
        for (int32_t k = 0; k < n_seq; ++k) ids[k * n_new + t] = ranked(logits + (size_t)k * (size_t)vocab, vocab, 0);
    }
    for (int32_t k = 0; k < n_seq; ++k) {
        char* text = NULL;
        size_t length = 0;
        if (gpt2c_detokenize(model, ids + k * n_new, (size_t)n_new, &text, &length) != GPT2C_OK) return fail("detokenize");
        for (int32_t t = 0; t < n_new; ++t) printf("%s%d", t ? "," : "", ids[k * n_new + t]);
        printf("\t");
        for (size_t i = 0; i < length; ++i) {
            if (text[i] == '\n') fputs("\\n", stdout);
            else putchar(text[i]);
        }
        printf("\n");
        gpt2c_free(text);
    }
    free(ids);
    free(logits);
    free(rows);
    gpt2c_free(prompt);
    gpt2c_context_free(context);
    gpt2c_model_free(model);
    return 0;
}
