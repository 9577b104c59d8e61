// tests/unit/generator_test.cpp - Utf8Streamer (synthetic bytes and real GPT-2 tokens) and generation planning.
#include "runtime/generator.h"
#include "runtime/utf8_streamer.h"

#include "runtime/tokenizer.h"
#include "support/error.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

namespace {

using gpt2c::Tokenizer;
using gpt2c::Utf8Streamer;

const std::string kModelDir = GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare";

const Tokenizer& gpt2() {
    static const Tokenizer tokenizer = Tokenizer::load(kModelDir);
    return tokenizer;
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        size_t length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                                    : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
        if (length == 0 || i + length > s.size()) return false;
        for (size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        const auto second = static_cast<unsigned char>(length > 1 ? s[i + 1] : 0);
        if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
            (lead == 0xF4 && second > 0x8F))
            return false;
        i += length;
    }
    return true;
}

const std::string kUnicorn = "\xF0\x9F\xA6\x84";  // U+1F984

}  // namespace

TEST_CASE("utf8 streamer: a 4-byte character pushed byte by byte comes out whole", "[generator]") {
    Utf8Streamer s;
    CHECK(s.push(kUnicorn.substr(0, 1)).empty());
    CHECK(s.push(kUnicorn.substr(1, 1)).empty());
    CHECK(s.push(kUnicorn.substr(2, 1)).empty());
    CHECK(s.push(kUnicorn.substr(3, 1)) == kUnicorn);
    CHECK(s.flush().empty());

    // 2- and 3-byte characters too.
    CHECK(s.push("\xC3").empty());
    CHECK(s.push("\xA9") == "\xC3\xA9");  // é
    CHECK(s.push("\xE2\x82").empty());
    CHECK(s.push("\xAC") == "\xE2\x82\xAC");  // €
}

TEST_CASE("utf8 streamer: ASCII passes at once, a split character waits", "[generator]") {
    Utf8Streamer s;
    CHECK(s.push("hello") == "hello");
    CHECK(s.push("") == "");
    CHECK(s.push("ab\xF0\x9F") == "ab");
    CHECK(s.push("\xA6\x84" "cd") == kUnicorn + "cd");
    CHECK(s.push("x\xE4\xBD") == "x");
    CHECK(s.push("\xA0y\xE5") == "\xE4\xBD\xA0y");  // 你
    CHECK(s.push("\xA5\xBD") == "\xE5\xA5\xBD");     // 好

    // The appending overload adds to what `out` holds.
    std::string out = "so far: ";
    s.push("\xF0\x9F", out);
    CHECK(out == "so far: ");
    s.push("\xA6\x84!", out);
    CHECK(out == "so far: " + kUnicorn + "!");
}

TEST_CASE("utf8 streamer: bytes that can never be valid pass through unchanged", "[generator]") {
    Utf8Streamer s;
    CHECK(s.push("\xFF") == "\xFF");
    CHECK(s.push("a\xFE" "b") == "a\xFE" "b");
    CHECK(s.push("\x80") == "\x80");              // a continuation with no lead
    CHECK(s.push("\xC0\xAF") == "\xC0\xAF");      // overlong lead bytes
    CHECK(s.push("\xF5\x80") == "\xF5\x80");      // beyond U+10FFFF
    CHECK(s.push("\xE2" "A") == "\xE2" "A");      // a lead followed by a non-continuation
    CHECK(s.push("\xE0\x80") == "\xE0\x80");      // overlong 3-byte form
    CHECK(s.push("\xED\xA0") == "\xED\xA0");      // a surrogate
    CHECK(s.push("\xF4\x90") == "\xF4\x90");      // above U+10FFFF
    // A broken 4-byte start is released when the next lead arrives; the new lead waits.
    CHECK(s.push("\xF0\x9F\xA6").empty());
    CHECK(s.push("\xF0") == "\xF0\x9F\xA6");
    CHECK(s.push("\x9F\xA6\x84") == kUnicorn);
    CHECK(s.flush().empty());
}

TEST_CASE("utf8 streamer: flush releases what is held back", "[generator]") {
    Utf8Streamer s;
    CHECK(s.push("x\xF0\x9F") == "x");
    CHECK(s.flush() == "\xF0\x9F");
    CHECK(s.flush().empty());
    CHECK(s.push("ok") == "ok");  // usable after a flush
}

TEST_CASE("utf8 streamer: random bytes in random pieces: nothing lost, at most 3 held", "[generator]") {
    std::mt19937 rng(12345);
    const std::string alphabet[] = {"a", " ", "\xC3\xA9", "\xE2\x82\xAC", kUnicorn, "\xFF", "\x80", "\xF0\x9F",
                                    "\xE2", "\xED\xA0\x80"};
    for (int round = 0; round < 200; ++round) {
        std::string input;
        const int parts = int(rng() % 30);
        for (int i = 0; i < parts; ++i) input += alphabet[rng() % std::size(alphabet)];
        Utf8Streamer s;
        std::string output;
        size_t pos = 0;
        while (pos < input.size()) {
            const size_t n = std::min<size_t>(input.size() - pos, 1 + rng() % 5);
            output += s.push(std::string_view(input).substr(pos, n));
            pos += n;
            REQUIRE(output.size() + 3 >= pos);
            REQUIRE(input.compare(0, output.size(), output) == 0);
        }
        output += s.flush();
        CHECK(output == input);
    }
}

TEST_CASE("utf8 streamer: real GPT-2 tokens never yield part of a character", "[generator]") {
    const Tokenizer& tok = gpt2();
    const std::string text = "Hello \xF0\x9F\xA6\x84 and \xF0\x9F\xA4\x96, \xE4\xBD\xA0\xE5\xA5\xBD, na\xC3\xAFve "
                             "\xE2\x80\x94 \xD0\xBC\xD0\xB8\xD1\x80 \xF0\x9F\x8D\x95!";
    REQUIRE(is_valid_utf8(text));
    const std::vector<int32_t> ids = tok.encode(text);

    // The test means something only if some characters are split across tokens.
    int partial_tokens = 0;
    for (int32_t id : ids) partial_tokens += is_valid_utf8(tok.token_bytes(id)) ? 0 : 1;
    CHECK(partial_tokens >= 3);
    const std::vector<int32_t> unicorn = tok.encode(kUnicorn);
    CHECK(unicorn.size() > 1);

    Utf8Streamer s;
    std::string streamed;
    int empty_chunks = 0;
    for (int32_t id : ids) {
        const std::string chunk = s.push(tok.token_bytes(id));
        CHECK(is_valid_utf8(chunk));
        empty_chunks += chunk.empty() ? 1 : 0;
        streamed += chunk;
    }
    CHECK(empty_chunks > 0);
    CHECK(s.flush().empty());
    CHECK(streamed == text);
}

TEST_CASE("generation plan: the prompt must fit, new tokens are clipped", "[generator]") {
    using gpt2c::plan_new_tokens;
    CHECK(plan_new_tokens(3, 0, 256, 64) == 64);
    CHECK(plan_new_tokens(200, 0, 256, 64) == 56);
    CHECK(plan_new_tokens(255, 0, 256, 64) == 1);
    CHECK(plan_new_tokens(3, 0, 256, 0) == 0);
    CHECK(plan_new_tokens(3, 100, 256, 500) == 153);
    CHECK_THROWS_WITH(plan_new_tokens(300, 0, 256, 5),
                      Catch::Equals("prompt has 300 tokens but the model's context is 256 positions"));
    CHECK_THROWS_WITH(plan_new_tokens(256, 0, 256, 5),
                      Catch::Contains("256 tokens") && Catch::Contains("no room to generate"));
    CHECK_THROWS_WITH(plan_new_tokens(10, 250, 256, 5), Catch::Contains("only 6 of the model's 256"));
    CHECK_THROWS_WITH(plan_new_tokens(6, 250, 256, 5), Catch::Contains("no room to generate"));
    CHECK_THROWS_WITH(plan_new_tokens(3, 0, 256, -1), Catch::Contains("-1"));
}
