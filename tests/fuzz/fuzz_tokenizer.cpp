// tests/fuzz/fuzz_tokenizer.cpp - libFuzzer target: Tokenizer::encode / decode.
//
// One Tokenizer (examples/tiny-shakespeare, GPT-2's vocabulary; the path comes
// from GPT2C_FUZZ_TOKENIZER_MODEL) is loaded once. Every input is encoded with
// allow_special false and true and decoded again. Properties (trap on failure):
//   - every id is in range (decode would throw gpt2c::Error otherwise; it must not);
//   - valid UTF-8 round-trips exactly: decode(encode(x)) == x;
//   - invalid UTF-8 decodes to valid UTF-8 (each ill-formed part became U+FFFD),
//     which then round-trips;
//   - allow_special = false never yields <|endoftext|>; allow_special = true
//     yields one per occurrence in the text.
#include "runtime/tokenizer.h"
#include "support/error.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#ifndef GPT2C_FUZZ_TOKENIZER_MODEL
#error "GPT2C_FUZZ_TOKENIZER_MODEL must name a model directory with vocab.json and merges.txt"
#endif

using namespace gpt2c;

namespace {

// Strict UTF-8 validation (no overlongs, surrogates or code points above U+10FFFF),
// written independently of the tokenizer's own.
bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    for (size_t i = 0; i < n;) {
        const unsigned c = p[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

size_t count_occurrences(std::string_view text, std::string_view word) {
    size_t count = 0;
    for (size_t at = text.find(word); at != std::string_view::npos; at = text.find(word, at + word.size())) ++count;
    return count;
}

const Tokenizer& tokenizer() {
    static const Tokenizer t = Tokenizer::load(GPT2C_FUZZ_TOKENIZER_MODEL);
    return t;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    tokenizer();  // load before the first input, so its time is not charged to one
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const Tokenizer& tok = tokenizer();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const int32_t eos = tok.eos_token_id();
    const bool valid = valid_utf8(text);

    for (const bool allow_special : {false, true}) {
        const std::vector<int32_t> ids = tok.encode(text, allow_special);
        size_t eos_count = 0;
        for (int32_t id : ids) {
            if (id < 0 || id >= tok.vocab_size()) __builtin_trap();
            eos_count += id == eos;
        }
        // Plain text never becomes the special token; with allow_special each occurrence does
        // (U+FFFD replacement never creates or destroys one: it is ASCII).
        const size_t expected_eos = allow_special && eos >= 0 ? count_occurrences(text, "<|endoftext|>") : 0;
        if (eos_count != expected_eos) __builtin_trap();
        const std::string decoded = tok.decode(ids);
        if (valid) {
            if (decoded != text) __builtin_trap();
        } else {
            // Invalid input was sanitized: the result is valid UTF-8 and a fixed point.
            if (!valid_utf8(decoded)) __builtin_trap();
            if (tok.decode(tok.encode(decoded, allow_special)) != decoded) __builtin_trap();
        }
    }
    return 0;
}
