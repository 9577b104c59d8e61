/* tests/data/hostile/fake_library.c - broken "compiled model libraries" for tests/cli/hostile_test.sh.
 *
 * Built with `cc -shared -fPIC -DVARIANT_...` (and -include of a generated file defining
 * GPT2C_FAKE_METADATA, a C string literal). prepare and forward abort(): the runtime must
 * reject every variant before it calls into the library, so an abort (exit 134) is a failure.
 */
#include <stdint.h>
#include <stdlib.h>

#include <gpt2c/abi.h>

#ifndef GPT2C_FAKE_METADATA
#define GPT2C_FAKE_METADATA "{}"
#endif

static void fake_prepare(const gpt2c_prepare_args* args) {
    (void)args;
    abort();
}

static void fake_forward(const gpt2c_forward_args* args) {
    (void)args;
    abort();
}

static const gpt2c_library descriptor = {
#ifdef VARIANT_ABI_V2
    GPT2C_ABI_VERSION + 1u,
#else
    GPT2C_ABI_VERSION,
#endif
#ifdef VARIANT_SMALL_DESCRIPTOR
    8u,
#else
    sizeof(gpt2c_library),
#endif
#ifdef VARIANT_NULL_METADATA
    0,
#else
    GPT2C_FAKE_METADATA,
#endif
#ifdef VARIANT_NULL_PREPARE
    0,
#else
    fake_prepare,
#endif
#ifdef VARIANT_NULL_FORWARD
    0,
#else
    fake_forward,
#endif
};

#ifdef VARIANT_NO_SYMBOL
__attribute__((visibility("default"))) const gpt2c_library* gpt2c_library_lookup(uint32_t abi_version) {
    (void)abi_version;
    return &descriptor;
}
#else
__attribute__((visibility("default"))) const gpt2c_library* gpt2c_library_query(uint32_t abi_version) {
#ifdef VARIANT_QUERY_NULL
    /* A library that speaks only the next ABI version. */
    if (abi_version != GPT2C_ABI_VERSION + 1u) return 0;
#elif defined(VARIANT_ABI_V2)
    /* Answers whatever is asked, but its descriptor says the next version. */
    (void)abi_version;
#else
    if (abi_version != GPT2C_ABI_VERSION) return 0;
#endif
    return &descriptor;
}
#endif
