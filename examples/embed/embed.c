/* embed.c - use a gpt2c-compiled model from C through libgpt2c_runtime.
 *
 *   embed LIB.so MODEL_DIR "prompt" [N]
 *
 * Loads the library (made by `gpt2c compile MODEL_DIR -o LIB.so`) and the
 * model directory, greedily generates up to N new tokens (default 32) after
 * the prompt and prints the text as it streams. Statistics go to stderr.
 * Every call's status is checked; on failure the runtime's message is printed
 * and the exit code is 1 (2 for a usage error).
 */
#include <gpt2c/runtime.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int print_token(void* user_data, int32_t token, const char* text, size_t length) {
    (void)token;
    FILE* out = (FILE*)user_data;
    if (length > 0 && fwrite(text, 1, length, out) != length) return 1; /* stop: cannot write */
    fflush(out);
    return 0;
}

static int fail(const char* what, gpt2c_status status) {
    fprintf(stderr, "embed: %s failed (status %d): %s\n", what, (int)status, gpt2c_last_error());
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s LIB.so MODEL_DIR \"prompt\" [N]\n", argv[0]);
        return 2;
    }
    long n = 32;
    if (argc == 5) {
        char* end = NULL;
        errno = 0;
        n = strtol(argv[4], &end, 10);
        if (errno || end == argv[4] || *end != '\0' || n < 0 || n > 1000000) {
            fprintf(stderr, "embed: N must be an integer in 0..1000000, got '%s'\n", argv[4]);
            return 2;
        }
    }

    gpt2c_model* model = NULL;
    gpt2c_status status = gpt2c_model_load(argv[1], argv[2], 0, &model);
    if (status != GPT2C_OK) return fail("gpt2c_model_load", status);

    gpt2c_sampling sampling;
    gpt2c_sampling_defaults(model, &sampling);
    sampling.greedy = 1;

    gpt2c_generation_stats stats;
    status = gpt2c_generate(model, argv[3], (int32_t)n, &sampling, print_token, stdout, &stats);
    if (status != GPT2C_OK) {
        gpt2c_model_free(model);
        return fail("gpt2c_generate", status);
    }
    fprintf(stderr, "\nembed: %lld prompt tokens, %lld generated; prefill %.3f s, decode %.3f s (%.1f tokens/s)\n",
            (long long)stats.prompt_tokens, (long long)stats.generated_tokens, stats.prefill_seconds,
            stats.decode_seconds,
            stats.decode_seconds > 0 ? (double)stats.generated_tokens / stats.decode_seconds : 0.0);
    gpt2c_model_free(model);
    if (fflush(stdout) != 0) {
        perror("embed: stdout");
        return 1;
    }
    return 0;
}
