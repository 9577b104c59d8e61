// tests/unit/tokenizer_test.cpp - GPT-2 BPE tokenizer: reference vectors, special tokens, UTF-8 policy, file errors.
#include "runtime/tokenizer.h"

#include "support/error.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using gpt2c::Tokenizer;
using Ids = std::vector<int32_t>;
namespace fs = std::filesystem;

const std::string kModelDir = GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare";
const std::string kVectorsPath = GPT2C_TEST_DATA_DIR "/tokenizer/vectors.json";

// Loading takes ~0.1 s, so the tests share one GPT-2 tokenizer.
const Tokenizer& gpt2() {
    static const Tokenizer tokenizer = Tokenizer::load(kModelDir);
    return tokenizer;
}

nlohmann::json read_vectors() {
    std::ifstream in(kVectorsPath);
    REQUIRE(in);
    return nlohmann::json::parse(in);
}

bool is_valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        size_t length = lead < 0x80 ? 1 : lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3
                                    : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
        if (length == 0 || i + length > s.size()) return false;
        for (size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        // Overlongs, surrogates and code points above U+10FFFF.
        const auto second = static_cast<unsigned char>(length > 1 ? s[i + 1] : 0);
        if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) || (lead == 0xF0 && second < 0x90) ||
            (lead == 0xF4 && second > 0x8F))
            return false;
        i += length;
    }
    return true;
}

// GPT-2's bytes_to_unicode() for one byte, as UTF-8 (for writing test vocabularies).
std::string byte_key(int b) {
    int next = 256;
    for (int x = 0; x < 256; ++x) {
        const bool printable = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
        const int c = printable ? x : next++;
        if (x != b) continue;
        std::string key;
        if (c < 0x80) {
            key += char(c);
        } else {
            key += char(0xC0 | (c >> 6));
            key += char(0x80 | (c & 0x3F));
        }
        return key;
    }
    return {};
}

// A small valid vocabulary: the 256 byte tokens (id = byte) plus `extra` tokens from id 256 on.
nlohmann::json small_vocab(const std::vector<std::string>& extra) {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[byte_key(b)] = b;
    for (size_t i = 0; i < extra.size(); ++i) vocab[extra[i]] = 256 + int(i);
    return vocab;
}

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
    fs::path path;
    TempDir() {
        static std::atomic<int> counter{0};
        path = fs::temp_directory_path() /
               ("gpt2c_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::string write(const std::string& name, const std::string& content) const {
        std::ofstream out(path / name, std::ios::binary);
        out << content;
        return (path / name).string();
    }
};

// Loads vocab/merges text from a temp dir; returns the error message, or "" if loading succeeded.
std::string load_error(const std::string& vocab, const std::string& merges) {
    TempDir dir;
    dir.write("vocab.json", vocab);
    dir.write("merges.txt", merges);
    try {
        Tokenizer::load(dir.path.string());
    } catch (const gpt2c::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("tokenizer: vocabulary sanity facts", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    CHECK(tok.vocab_size() == 50257);
    CHECK(tok.eos_token_id() == 50256);
    CHECK(tok.token_bytes(50256) == "<|endoftext|>");
    CHECK(tok.token_bytes(262) == " the");
    CHECK(tok.token_bytes(31373) == "hello");
    CHECK(tok.token_bytes(995) == " world");
    CHECK(tok.token_bytes(220) == " ");
    CHECK(tok.token_bytes(198) == "\n");
    CHECK(tok.token_bytes(0) == "!");
    CHECK(tok.encode("Hello world") == Ids{15496, 995});
    CHECK(tok.encode("hello world") == Ids{31373, 995});
    // First merge "Ġ t" and last merge "Ġg azed".
    CHECK(tok.encode(" t") == Ids{256});
    CHECK(tok.token_bytes(256) == " t");
    CHECK(tok.encode(" gazed") == Ids{50255});
    CHECK(tok.token_bytes(50255) == " gazed");
}

TEST_CASE("tokenizer: every reference vector encodes to its ids and decodes back", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const nlohmann::json vectors = read_vectors();
    REQUIRE(vectors.size() == 42);
    for (const auto& v : vectors) {
        const std::string text = v.at("text").get<std::string>();
        const Ids ids = v.at("ids").get<Ids>();
        INFO("text: " << text);
        CHECK(tok.encode(text) == ids);
        CHECK(tok.decode(ids) == text);
        if (text.find("<|endoftext|>") == std::string::npos) CHECK(tok.encode(text, /*allow_special=*/true) == ids);
    }
}

TEST_CASE("tokenizer: repeated encodes hit the piece cache and agree", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const nlohmann::json vectors = read_vectors();
    for (int round = 0; round < 3; ++round)
        for (const auto& v : vectors) CHECK(tok.encode(v.at("text").get<std::string>()) == v.at("ids").get<Ids>());
}

TEST_CASE("tokenizer: whitespace follows Python regex's \\s (Unicode White_Space)", "[tokenizer]") {
    // Expected ids from OpenAI's encoder.py with Python's `regex` module.
    const Tokenizer& tok = gpt2();
    CHECK(tok.encode("a\xE1\xA0\x8E b") == Ids{64, 157, 254, 236, 275});                     // U+180E is not space
    CHECK(tok.encode("x\xE1\xA0\x8E\xE1\xA0\x8E y") == Ids{87, 157, 254, 236, 157, 254, 236, 331});
    CHECK(tok.encode("a\xC2\x85 b") == Ids{64, 126, 227, 275});                               // U+0085 is space
    CHECK(tok.encode("a\xC2\x85\xC2\x85" "b") == Ids{64, 126, 227, 126, 227, 65});
    CHECK(tok.encode("a\xC2\xA0 b") == Ids{64, 1849, 275});                                   // NBSP
    CHECK(tok.encode("a\xE3\x80\x80\xE3\x80\x80" "b") == Ids{64, 5099, 222, 5099, 222, 65});  // U+3000
    CHECK(tok.encode("a\x1c b") == Ids{64, 216, 275});                                        // U+001C is not
    CHECK(tok.encode("a \x1f\x1f" "b") == Ids{64, 220, 219, 219, 65});
    CHECK(tok.encode("a\xE2\x80\xA8" "b  \xE2\x80\xA9 c") == Ids{64, 447, 101, 65, 220, 564, 102, 269});
    CHECK(tok.encode("tab\v\f end") == Ids{8658, 199, 200, 886});
    CHECK(tok.encode("\xEF\xBB\xBF" "BOM here") == Ids{171, 119, 123, 33, 2662, 994});  // U+FEFF is not
    CHECK(tok.encode("  \xC2\xA0x") == Ids{220, 220, 1849, 87});
}

TEST_CASE("tokenizer: <|endoftext|> is plain text unless allow_special", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const Ids plain{27, 91, 437, 1659, 5239, 91, 29};
    CHECK(tok.encode("<|endoftext|>") == plain);
    CHECK(tok.encode("<|endoftext|>", true) == Ids{50256});
    CHECK(tok.encode("<|endoftext|><|endoftext|>", true) == Ids{50256, 50256});
    CHECK(tok.decode({50256}) == "<|endoftext|>");

    Ids expected = tok.encode("Hello world");
    expected.push_back(50256);
    const Ids tail = tok.encode(" next\n");
    expected.insert(expected.end(), tail.begin(), tail.end());
    CHECK(tok.encode("Hello world<|endoftext|> next\n", true) == expected);
    CHECK(tok.decode(expected) == "Hello world<|endoftext|> next\n");
    // Text around the special token is pre-tokenized separately (vector "Text before<|endoftext|>text after").
    CHECK(tok.encode("Text before<|endoftext|>text after", true) == Ids{8206, 878, 50256, 5239, 706});

    // Near misses stay text.
    CHECK(tok.encode("<|endoftext|", true) == tok.encode("<|endoftext|"));
    CHECK(tok.encode("<|ENDOFTEXT|>", true) == tok.encode("<|ENDOFTEXT|>"));
}

TEST_CASE("tokenizer: invalid UTF-8 becomes U+FFFD per maximal ill-formed subpart", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const std::string fffd = "\xEF\xBF\xBD";
    // Inputs and their replacement, as Python's bytes.decode("utf-8", errors="replace").
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"a\xFF" "b", "a" + fffd + "b"},
        {"\xE2\x82x", fffd + "x"},                          // truncated 3-byte sequence: one U+FFFD
        {"\xF0\x80\x80", fffd + fffd + fffd},               // overlong lead: each byte
        {"\xED\xA0\x80", fffd + fffd + fffd},               // surrogate
        {"\xC0\xAF", fffd + fffd},                          // overlong '/'
        {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},    // above U+10FFFF
        {"pizza \xF0\x9F\x8D", "pizza " + fffd},            // emoji cut at the end
        {"\xF0\x9F\x8D\x95\x80", "\xF0\x9F\x8D\x95" + fffd},  // stray continuation byte
        {"\xE2\x82\xAC ok", "\xE2\x82\xAC ok"},             // valid: unchanged
    };
    for (const auto& [input, replaced] : cases) {
        INFO("replaced: " << replaced);
        const Ids ids = tok.encode(input);
        CHECK(ids == tok.encode(replaced));
        const std::string decoded = tok.decode(ids);
        CHECK(decoded == replaced);
        CHECK(is_valid_utf8(decoded));
    }
    CHECK(tok.encode("a\xFF" "b") == Ids{64, 4210, 65});  // U+FFFD is token 4210 (encoder.py)
}

TEST_CASE("tokenizer: a token can be part of a UTF-8 character", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    // " 🍕" is 3 tokens: " \xF0\x9F", "\x8D", "\x95" (from the vector "I love 🍕 and 🎉!").
    const Ids pizza = tok.encode(" \xF0\x9F\x8D\x95");
    REQUIRE(pizza == Ids{12520, 235, 243});
    CHECK(tok.token_bytes(12520) == " \xF0\x9F");
    CHECK(tok.token_bytes(235) == "\x8D");
    CHECK(tok.token_bytes(243) == "\x95");
    CHECK_FALSE(is_valid_utf8(tok.token_bytes(12520)));
    CHECK(tok.decode({12520, 235}) == " \xF0\x9F\x8D");  // incomplete UTF-8 is returned as is
    CHECK(tok.decode(pizza) == " \xF0\x9F\x8D\x95");

    // Many vectors have such tokens; each whole sequence still decodes to valid UTF-8.
    int partial = 0;
    for (const auto& v : read_vectors()) {
        const Ids ids = v.at("ids").get<Ids>();
        for (int32_t id : ids) partial += is_valid_utf8(tok.token_bytes(id)) ? 0 : 1;
        CHECK(is_valid_utf8(tok.decode(ids)));
    }
    CHECK(partial > 10);
}

TEST_CASE("tokenizer: out-of-range ids throw naming the id and vocabulary size", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    CHECK_THROWS_AS(tok.decode({15496, 50257}), gpt2c::Error);
    CHECK_THROWS_WITH(tok.decode({50257}), Catch::Contains("50257") && Catch::Contains("50257 tokens"));
    CHECK_THROWS_WITH(tok.decode({-1}), Catch::Contains("-1") && Catch::Contains("50257 tokens"));
    CHECK_THROWS_WITH(tok.token_bytes(1 << 30), Catch::Contains("1073741824"));
    CHECK(tok.decode({}).empty());
    CHECK(tok.encode("").empty());
}

TEST_CASE("tokenizer: long inputs (long pieces, long whitespace runs)", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    for (const std::string& text : {std::string(300000, 'a'), std::string(300000, ' ') + "x",
                                    std::string(300000, '\n'), std::string(100000, '7') + std::string(100000, '!'),
                                    std::string(50000, ' ') + std::string(50000, '\t') + "end"}) {
        const Ids ids = tok.encode(text);
        CHECK(tok.decode(ids) == text);
    }
    // A run of n spaces before a word: n-1 single-space tokens, then " word".
    const Ids ids = tok.encode(std::string(1000, ' ') + "hello");
    REQUIRE(ids.size() == 1000);
    CHECK(ids.back() == tok.encode(" hello").back());
}

TEST_CASE("tokenizer: the piece cache is bounded and stays correct after clearing", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const Ids before = tok.encode(" Shakespearean sonnets");
    // 120k distinct words overflow the 100k-entry cache at least once.
    std::string text;
    for (int i = 0; i < 120000; ++i) {
        text += ' ';
        for (int n = i; n > 0 || text.back() == ' '; n /= 26) text += char('a' + n % 26);
    }
    CHECK(tok.decode(tok.encode(text)) == text);
    CHECK(tok.encode(" Shakespearean sonnets") == before);
}

TEST_CASE("tokenizer: merges use the vocabulary's ids, not 256 + rank", "[tokenizer]") {
    TempDir dir;
    // Merge ranks: "a b" = 0, "c d" = 1, "ab cd" = 2; their tokens have ids 258, 257, 256.
    const std::string vocab = dir.write("vocab.json", small_vocab({"abcd", "cd", "ab"}).dump());
    const std::string merges = dir.write("merges.txt", "#version: 0.2\na b\nc d\nab cd\n");
    const Tokenizer tok = Tokenizer::load(vocab, merges);
    CHECK(tok.vocab_size() == 259);
    CHECK(tok.eos_token_id() == -1);
    CHECK(tok.encode("abcd") == Ids{256});
    CHECK(tok.encode("abc") == Ids{258, 'c'});
    CHECK(tok.encode("xcd ab") == Ids{'x', 257, ' ', 258});
    CHECK(tok.encode("<|endoftext|>", true) == tok.encode("<|endoftext|>"));  // no such token: stays text
    CHECK(tok.decode({256, 257}) == "abcdcd");
}

TEST_CASE("tokenizer: merges.txt without a #version line, with CRLF", "[tokenizer]") {
    TempDir dir;
    const std::string vocab = dir.write("vocab.json", small_vocab({"ab", "abc"}).dump());
    const std::string merges = dir.write("merges.txt", "a b\r\nab c\r\n");
    const Tokenizer tok = Tokenizer::load(vocab, merges);
    CHECK(tok.encode("abc abc") == Ids{257, ' ', 257});
}

TEST_CASE("tokenizer: malformed vocab.json names the file and the line or key", "[tokenizer]") {
    const std::string merges = "#version: 0.2\n";
    using Catch::Contains;
    CHECK_THAT(load_error("{\"a\": 1,\n  oops}", merges), Contains("vocab.json") && Contains("line 2"));
    CHECK_THAT(load_error("", merges), Contains("vocab.json") && Contains("not valid JSON"));
    CHECK_THAT(load_error("[1, 2]", merges), Contains("vocab.json") && Contains("object"));

    nlohmann::json v = small_vocab({});
    v["hello"] = "256";
    CHECK_THAT(load_error(v.dump(), merges), Contains("vocab.json") && Contains("\"hello\"") && Contains("integer"));
    v["hello"] = 256.5;
    CHECK_THAT(load_error(v.dump(), merges), Contains("\"hello\"") && Contains("integer"));
    v["hello"] = 300;  // 257 entries: ids must be 0..256
    CHECK_THAT(load_error(v.dump(), merges), Contains("vocab.json") && Contains("\"hello\"") && Contains("300"));
    v["hello"] = -1;
    CHECK_THAT(load_error(v.dump(), merges), Contains("\"hello\"") && Contains("-1"));
    v["hello"] = 5;  // duplicate of byte 5's id
    CHECK_THAT(load_error(v.dump(), merges), Contains("\"hello\"") && Contains("already used by key"));

    nlohmann::json raw_space = small_vocab({"a b"});  // a raw space is not a byte-level character
    CHECK_THAT(load_error(raw_space.dump(), merges), Contains("\"a b\"") && Contains("U+0020"));

    nlohmann::json missing_byte = small_vocab({});
    missing_byte.erase(byte_key('\n'));
    missing_byte["hello"] = '\n';  // keep the ids dense
    CHECK_THAT(load_error(missing_byte.dump(), merges), Contains("vocab.json") && Contains("0x0A"));
}

TEST_CASE("tokenizer: malformed merges.txt names the file and line", "[tokenizer]") {
    const std::string vocab = small_vocab({"ab", "abc"}).dump();
    using Catch::Contains;
    CHECK(load_error(vocab, "#version: 0.2\na b\nab c\n").empty());
    CHECK(load_error(vocab, "#version: 0.2\na b\nab c\n\n\n").empty());  // trailing blank lines are fine
    CHECK_THAT(load_error(vocab, "#version: 0.2\na b\nabc\n"), Contains("merges.txt:3") && Contains("\"A B\""));
    CHECK_THAT(load_error(vocab, "#version: 0.2\na  b\n"), Contains("merges.txt:2"));
    CHECK_THAT(load_error(vocab, "#version: 0.2\na b c\n"), Contains("merges.txt:2"));
    CHECK_THAT(load_error(vocab, "#version: 0.2\n\na b\n"), Contains("merges.txt:2"));
    CHECK_THAT(load_error(vocab, "#version: 0.2\na b\nab zz\n"),
               Contains("merges.txt:3") && Contains("\"zz\"") && Contains("not in the vocabulary"));
    CHECK_THAT(load_error(vocab, "#version: 0.2\na c\n"),
               Contains("merges.txt:2") && Contains("\"ac\"") && Contains("merge result"));
    CHECK_THAT(load_error(vocab, "#version: 0.2\na b\nab c\na b\n"),
               Contains("merges.txt:4") && Contains("duplicate") && Contains("line 2"));
    CHECK_THAT(load_error(vocab, "a b\nab c\na b\n"),
               Contains("merges.txt:3") && Contains("duplicate") && Contains("line 1"));
}

TEST_CASE("tokenizer: missing files are errors naming the file", "[tokenizer]") {
    TempDir dir;
    const std::string vocab = dir.write("vocab.json", small_vocab({}).dump());
    CHECK_THROWS_WITH(Tokenizer::load(dir.path.string()), Catch::Contains("merges.txt"));
    CHECK_THROWS_WITH(Tokenizer::load((dir.path / "nope.json").string(), vocab), Catch::Contains("nope.json"));
    CHECK_THROWS_AS(Tokenizer::load((dir.path / "nope").string()), gpt2c::Error);
}

TEST_CASE("tokenizer: concurrent encodes on one tokenizer agree", "[tokenizer]") {
    const Tokenizer& tok = gpt2();
    const nlohmann::json vectors = read_vectors();
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int round = 0; round < 5; ++round)
                for (const auto& v : vectors)
                    if (tok.encode(v.at("text").get<std::string>()) != v.at("ids").get<Ids>()) ++mismatches;
        });
    for (std::thread& thread : threads) thread.join();
    CHECK(mismatches == 0);
}

TEST_CASE("tokenizer: moves keep the tokenizer usable", "[tokenizer]") {
    Tokenizer a = Tokenizer::load(kModelDir);
    Tokenizer b = std::move(a);
    CHECK(b.encode("hello world") == Ids{31373, 995});
    Tokenizer c = Tokenizer::load(kModelDir);
    c = std::move(b);
    CHECK(c.decode({31373, 995}) == "hello world");
}
