// runtime/tokenizer.h - GPT-2's byte-level BPE (vocab.json + merges.txt).
//
// Pre-tokenization uses GPT-2's regex through PCRE2 (UTF-8, Unicode
// properties). Plain text never becomes a special token: "<|endoftext|>"
// typed by a user encodes as ordinary text unless allow_special is set.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

class Tokenizer {
public:
    // Loads vocab.json and merges.txt from `model_dir`. Throws gpt2c::Error
    // naming the file and the line or key on malformed input.
    static Tokenizer load(const std::string& model_dir);
    static Tokenizer load(const std::string& vocab_json_path, const std::string& merges_txt_path);

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // Invalid UTF-8 in `text` is replaced by U+FFFD before encoding (documented policy):
    // one U+FFFD per maximal ill-formed subsequence, as Python's bytes.decode(errors="replace").
    // Calls on one Tokenizer may come from several threads; they are serialized internally.
    std::vector<int32_t> encode(std::string_view text, bool allow_special = false) const;
    // Bytes of the tokens, concatenated (may be incomplete UTF-8 at the end). Throws on an id out of range.
    std::string decode(const std::vector<int32_t>& ids) const;
    // Bytes of one token (a token may be part of a multi-byte UTF-8 character).
    std::string_view token_bytes(int32_t id) const;

    int32_t vocab_size() const;
    int32_t eos_token_id() const;  // "<|endoftext|>", or -1 when the vocabulary has none

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace gpt2c
