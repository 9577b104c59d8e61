// runtime/tokenizer.cpp - GPT-2 byte-level BPE: PCRE2 pre-tokenizer, heap-driven merges, piece cache.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "runtime/tokenizer.h"

#include "support/error.h"
#include "support/files.h"
#include "support/json_limits.h"

#include <nlohmann/json.hpp>
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <utility>

namespace gpt2c {
namespace {

constexpr std::string_view kEndOfText = "<|endoftext|>";
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD
// Piece cache bounds; the cache is simply cleared when one is reached.
constexpr size_t kCacheMaxEntries = 100000;
constexpr size_t kCacheMaxArenaBytes = size_t(16) << 20;
constexpr size_t kCacheMaxPieceBytes = 64;  // longer pieces rarely repeat

// Unicode White_Space, spelled out instead of \s: with PCRE2_UCP, \s also
// matches U+180E, which Python's `regex` (the reference encoder.py) does not.
constexpr std::string_view kSpaceClass =
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
    "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

// GPT-2's pre-tokenizer regex with \s and \S replaced by explicit classes.
std::string pretokenizer_pattern() {
    const std::string s(kSpaceClass);
    return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + s + "\\p{L}\\p{N}]+|[" + s + "]+(?![^" + s +
           "])|[" + s + "]+";
}

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the other
// 68 bytes to U+0100 onwards, in byte order.
std::array<char32_t, 256> bytes_to_unicode() {
    std::array<char32_t, 256> table{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
        bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        table[b] = printable ? char32_t(b) : next++;
    }
    return table;
}

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += char(c);
    } else if (c < 0x800) {
        out += char(0xC0 | (c >> 6));
        out += char(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += char(0xE0 | (c >> 12));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    } else {
        out += char(0xF0 | (c >> 18));
        out += char(0x80 | ((c >> 12) & 0x3F));
        out += char(0x80 | ((c >> 6) & 0x3F));
        out += char(0x80 | (c & 0x3F));
    }
}

// Length of the well-formed UTF-8 character at p[0..n) (n >= 1), or minus the
// length of its maximal ill-formed subpart: the bytes that one U+FFFD replaces,
// as in Unicode's recommended practice and Python's errors="replace".
int utf8_char_length(const unsigned char* p, size_t n) {
    const unsigned char lead = p[0];
    if (lead < 0x80) return 1;
    int length = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) lo = 0xA0;  // overlong
        if (lead == 0xED) hi = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) lo = 0x90;  // overlong
        if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return -1;
    }
    for (int i = 1; i < length; ++i) {
        if (size_t(i) >= n || p[i] < lo || p[i] > hi) return -i;
        lo = 0x80;
        hi = 0xBF;
    }
    return length;
}

// Returns `text` itself if it is valid UTF-8, else a copy in `storage` with
// every maximal ill-formed subpart replaced by U+FFFD.
std::string_view sanitize_utf8(std::string_view text, std::string& storage) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    bool copying = false;
    while (i < n) {
        if (p[i] < 0x80) {  // ASCII fast path
            if (copying) storage += char(p[i]);
            ++i;
            continue;
        }
        const int length = utf8_char_length(p + i, n - i);
        if (length < 0 && !copying) {
            storage.assign(text.substr(0, i));
            copying = true;
        }
        const size_t step = size_t(length < 0 ? -length : length);
        if (copying) {
            if (length < 0)
                storage += kReplacementChar;
            else
                storage.append(text.substr(i, step));
        }
        i += step;
    }
    return copying ? std::string_view(storage) : text;
}

// vocab.json and merges.txt of real models are about 1 MB; the limit only stops an endless file.
constexpr size_t kMaxTokenizerFileBytes = size_t(1) << 30;

std::string read_tokenizer_file(const std::string& path) { return read_file(path, kMaxTokenizerFileBytes); }

// Decodes one UTF-8 code point from s at i (advancing i); the caller has valid UTF-8 (from nlohmann).
char32_t next_code_point(std::string_view s, size_t& i) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const int length = std::max(1, utf8_char_length(p + i, s.size() - i));
    char32_t c = length == 1 ? p[i] : p[i] & (0x7F >> length);
    for (int k = 1; k < length; ++k) c = (c << 6) | (p[i + k] & 0x3F);
    i += size_t(length);
    return c;
}

// The vocabulary as read from vocab.json: byte-level key -> id, and raw bytes by id.
struct Vocab {
    std::unordered_map<std::string, int32_t> ids;
    std::vector<std::string> bytes;
};

// Maps a byte-level key (e.g. "Ġthe") back to its raw bytes (" the").
std::string key_to_bytes(const std::string& path, const std::string& key) {
    static const auto unicode_to_byte = [] {
        std::unordered_map<char32_t, unsigned char> table;
        const auto forward = bytes_to_unicode();
        for (int b = 0; b < 256; ++b) table[forward[b]] = static_cast<unsigned char>(b);
        return table;
    }();
    std::string bytes;
    for (size_t i = 0; i < key.size();) {
        const char32_t c = next_code_point(key, i);
        auto it = unicode_to_byte.find(c);
        if (it == unicode_to_byte.end())
            fail("{}: key \"{}\": U+{:04X} is not a byte-level character (see bytes_to_unicode)", path, key,
                 uint32_t(c));
        bytes += char(it->second);
    }
    return bytes;
}

nlohmann::json parse_json(const std::string& path) {
    const std::string text = read_tokenizer_file(path);
    check_json_depth(text, path);  // before parsing: dump() in a message would recurse once per level
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers out of range (1e400)
        fail("{}: not valid JSON: {}", path, e.what());
    }
}

// Reads vocab.json: an object of string -> int with ids 0..n-1, each used once.
Vocab load_vocab(const std::string& path) {
    const nlohmann::json json = parse_json(path);
    if (!json.is_object()) fail("{}: expected a JSON object of token -> id, found a JSON {}", path, json.type_name());
    const size_t n = json.size();
    if (n == 0) fail("{}: the vocabulary is empty", path);
    Vocab vocab;
    vocab.bytes.resize(n);
    std::vector<const std::string*> key_of(n, nullptr);
    for (const auto& [key, value] : json.items()) {
        if (!value.is_number_integer())
            fail("{}: key \"{}\": expected an integer id, found {}", path, key, value.dump());
        // Unsigned first: 2^64-1 read as int64 would be reported as -1.
        if (value.is_number_unsigned() ? value.get<uint64_t>() >= n : value.get<int64_t>() < 0)
            fail("{}: key \"{}\": id {} is out of range: {} entries need dense ids 0..{}", path, key, value.dump(), n,
                 n - 1);
        const int64_t id = value.get<int64_t>();
        if (key_of[id] != nullptr)
            fail("{}: key \"{}\": id {} is already used by key \"{}\"", path, key, id, *key_of[id]);
        auto [it, inserted] = vocab.ids.emplace(key, int32_t(id));
        key_of[id] = &it->first;
        vocab.bytes[id] = key_to_bytes(path, key);
    }
    return vocab;
}

// A merge of the pair (a, b): its priority and the token it makes.
struct Merge {
    int32_t rank;
    int32_t merged;
};

uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

// Open-addressing hash table (pair_key -> Merge), probed on every adjacent pair
// in the BPE loop, where std::unordered_map's node chasing dominated the profile.
class PairTable {
public:
    const Merge* find(uint64_t key) const {
        if (slots_.empty()) return nullptr;
        for (size_t i = slot_of(key);; i = (i + 1) & mask_) {
            if (slots_[i].key == key) return &slots_[i].merge;
            if (slots_[i].key == kEmpty) return nullptr;
        }
    }

    void insert(uint64_t key, Merge merge) {
        if ((count_ + 1) * 8 > slots_.size() * 3) grow();  // load factor <= 3/8 keeps misses short
        size_t i = slot_of(key);
        while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
        slots_[i] = Slot{key, merge};
        ++count_;
    }

    size_t size() const { return count_; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0);  // pair_key(-1, -1): ids are never negative
    struct Slot {
        uint64_t key;
        Merge merge;
    };

    size_t slot_of(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_); }

    void grow() {
        std::vector<Slot> old = std::move(slots_);
        const size_t capacity = old.empty() ? 64 : old.size() * 2;
        slots_.assign(capacity, Slot{kEmpty, Merge{0, 0}});
        mask_ = capacity - 1;
        shift_ = 64 - std::countr_zero(capacity);
        count_ = 0;
        for (const Slot& slot : old)
            if (slot.key != kEmpty) insert(slot.key, slot.merge);
    }

    std::vector<Slot> slots_;
    size_t mask_ = 0;
    int shift_ = 64;
    size_t count_ = 0;
};

int32_t merge_token_id(const Vocab& vocab, const std::string& path, size_t line_no, const std::string& token) {
    auto it = vocab.ids.find(token);
    if (it == vocab.ids.end()) fail("{}:{}: token \"{}\" is not in the vocabulary", path, line_no, token);
    return it->second;
}

// Reads merges.txt: optional "#version" first line, then one "A B" per line in rank order.
PairTable load_merges(const std::string& path, const Vocab& vocab) {
    const std::string text = read_tokenizer_file(path);
    PairTable merges;
    std::string_view rest(text);
    for (size_t line_no = 1; !rest.empty(); ++line_no) {
        const size_t eol = rest.find('\n');
        std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // tolerate CRLF
        if (line_no == 1 && line.starts_with("#version")) continue;
        if (line.empty() && rest.find_first_not_of("\r\n") == std::string_view::npos) break;  // trailing blank lines
        const size_t space = line.find(' ');
        if (space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            fail("{}:{}: expected \"A B\" (two tokens separated by one space), found \"{}\"", path, line_no, line);
        const std::string a(line.substr(0, space)), b(line.substr(space + 1));
        const int32_t a_id = merge_token_id(vocab, path, line_no, a);
        const int32_t b_id = merge_token_id(vocab, path, line_no, b);
        auto merged = vocab.ids.find(a + b);
        if (merged == vocab.ids.end())
            fail("{}:{}: the merge result \"{}\" is not in the vocabulary", path, line_no, a + b);
        const uint64_t key = pair_key(a_id, b_id);
        if (const Merge* seen = merges.find(key))  // merge lines are consecutive, so rank gives the line
            fail("{}:{}: duplicate merge \"{}\" (first on line {})", path, line_no, line,
                 line_no - (merges.size() - size_t(seen->rank)));
        merges.insert(key, Merge{int32_t(merges.size()), merged->second});
    }
    return merges;
}

// Piece -> ids cache: a power-of-two open-addressing table over one byte arena
// that holds each entry's ids followed by its key. No per-entry allocation; the
// whole cache is cleared when it reaches kCacheMaxEntries or kCacheMaxArenaBytes.
class PieceCache {
public:
    // Appends the cached ids of `piece` to `out` and returns true, or returns false.
    bool append_cached(std::string_view piece, size_t hash, std::vector<int32_t>& out) const {
        if (slots_.empty()) return false;
        for (size_t i = hash & kMask;; i = (i + 1) & kMask) {
            const Slot& slot = slots_[i];
            if (slot.id_count == 0) return false;
            if (slot.tag != tag_of(hash) || slot.key_length != piece.size()) continue;
            const char* entry = arena_.data() + slot.offset;
            const size_t id_bytes = slot.id_count * sizeof(int32_t);
            if (std::memcmp(entry + id_bytes, piece.data(), piece.size()) != 0) continue;
            const size_t size = out.size();
            out.resize(size + slot.id_count);
            std::memcpy(out.data() + size, entry, id_bytes);
            return true;
        }
    }

    // Adds a piece (at most kCacheMaxPieceBytes) that is not cached yet.
    void insert(std::string_view piece, size_t hash, const int32_t* ids, size_t count) {
        const size_t id_bytes = count * sizeof(int32_t);
        if (slots_.empty()) slots_.resize(kSlots);
        if (entries_ >= kCacheMaxEntries || arena_.size() + id_bytes + piece.size() > kCacheMaxArenaBytes) clear();
        size_t i = hash & kMask;
        while (slots_[i].id_count != 0) i = (i + 1) & kMask;
        slots_[i] = Slot{tag_of(hash), uint32_t(arena_.size()), uint8_t(piece.size()), uint8_t(count)};
        arena_.append(reinterpret_cast<const char*>(ids), id_bytes);
        arena_.append(piece);
        ++entries_;
    }

private:
    static constexpr size_t kSlots = size_t(1) << 18;  // load factor < 0.4 at kCacheMaxEntries
    static constexpr size_t kMask = kSlots - 1;
    static_assert(kCacheMaxEntries * 2 <= kSlots && kCacheMaxPieceBytes <= 255);

    struct Slot {
        uint32_t tag;  // high hash bits: most mismatches are rejected without touching the arena
        uint32_t offset;
        uint8_t key_length;
        uint8_t id_count;  // 0 = empty slot (a piece has at least one id)
    };

    static uint32_t tag_of(size_t hash) { return uint32_t(uint64_t(hash) >> 32); }

    void clear() {
        std::fill(slots_.begin(), slots_.end(), Slot{});
        arena_.clear();
        entries_ = 0;
    }

    std::vector<Slot> slots_;  // allocated on first insert
    std::string arena_;
    size_t entries_ = 0;
};

// A symbol of the piece being merged: a token id in a doubly linked list (-1 ends it; id -1 = merged away).
struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
};

// A possible merge of symbols left and right, valid while both still hold left_id and right_id.
struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t left_id;
    int32_t right_id;
    int32_t merged;
};

// Heap order: lowest rank first, then leftmost, as GPT-2's encoder.py merges.
bool after(const Candidate& x, const Candidate& y) { return x.rank != y.rank ? x.rank > y.rank : x.left > y.left; }

struct CodeDeleter {
    void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
    void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::unique_ptr<pcre2_code, CodeDeleter> compile_pretokenizer() {
    const std::string pattern = pretokenizer_pattern();
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (code == nullptr) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        fail("tokenizer: cannot compile the pre-tokenizer regex at offset {}: {}", offset,
             reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // optional: pcre2_match falls back to the interpreter
    return std::unique_ptr<pcre2_code, CodeDeleter>(code);
}

}  // namespace

struct Tokenizer::Impl {
    // Immutable after load.
    std::string blob;               // all token bytes, concatenated
    std::vector<uint32_t> offsets;  // token i is blob[offsets[i], offsets[i+1])
    std::array<int32_t, 256> byte_ids{};
    PairTable merges;
    int32_t eos_id = -1;
    std::unique_ptr<pcre2_code, CodeDeleter> code;

    // Scratch state reused across encode() calls, guarded by mutex.
    std::mutex mutex;
    std::unique_ptr<pcre2_match_data, MatchDataDeleter> match_data;
    PieceCache cache;
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;

    int32_t size() const { return int32_t(offsets.size() - 1); }
    std::string_view bytes(int32_t id) const;
    void encode(std::string_view text, bool allow_special, std::vector<int32_t>& out);
    void encode_ordinary(std::string_view text, std::vector<int32_t>& out);
    void encode_piece(std::string_view piece, std::vector<int32_t>& out);
    void bpe(std::string_view piece, std::vector<int32_t>& out);
    void push_candidate(int32_t left, int32_t right);
};

std::string_view Tokenizer::Impl::bytes(int32_t id) const {
    if (id < 0 || id >= size())
        fail("token id {} is out of range: the vocabulary has {} tokens (ids 0..{})", id, size(), size() - 1);
    return std::string_view(blob).substr(offsets[id], offsets[id + 1] - offsets[id]);
}

void Tokenizer::Impl::encode(std::string_view text, bool allow_special, std::vector<int32_t>& out) {
    if (!allow_special || eos_id < 0) {
        encode_ordinary(text, out);
        return;
    }
    // Each segment between special tokens is pre-tokenized on its own, as tiktoken does.
    for (size_t at; (at = text.find(kEndOfText)) != std::string_view::npos;) {
        encode_ordinary(text.substr(0, at), out);
        out.push_back(eos_id);
        text.remove_prefix(at + kEndOfText.size());
    }
    encode_ordinary(text, out);
}

void Tokenizer::Impl::encode_ordinary(std::string_view text, std::vector<int32_t>& out) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    size_t offset = 0;
    while (offset < text.size()) {
        // The text is already valid UTF-8: skip PCRE2's check, which would rescan the rest on every call.
        const int rc = pcre2_match(code.get(), subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match_data.get(),
                                   nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) {  // unreachable: every character matches some alternative
            encode_piece(text.substr(offset), out);
            return;
        }
        if (rc < 0) {
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            fail("tokenizer: pre-tokenizer regex failed at byte {}: {}", offset,
                 reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data.get());
        if (ovector[0] > offset) encode_piece(text.substr(offset, ovector[0] - offset), out);  // unreachable too
        if (ovector[1] == ovector[0]) fail("tokenizer: pre-tokenizer regex matched empty at byte {}", offset);
        encode_piece(text.substr(ovector[0], ovector[1] - ovector[0]), out);
        offset = ovector[1];
    }
}

void Tokenizer::Impl::encode_piece(std::string_view piece, std::vector<int32_t>& out) {
    if (piece.size() == 1) {
        out.push_back(byte_ids[static_cast<unsigned char>(piece[0])]);
        return;
    }
    const bool cacheable = piece.size() <= kCacheMaxPieceBytes;
    const size_t hash = cacheable ? std::hash<std::string_view>{}(piece) : 0;
    if (cacheable && cache.append_cached(piece, hash, out)) return;
    const size_t start = out.size();
    bpe(piece, out);
    if (cacheable) cache.insert(piece, hash, out.data() + start, out.size() - start);
}

void Tokenizer::Impl::push_candidate(int32_t left, int32_t right) {
    const int32_t left_id = symbols[left].id, right_id = symbols[right].id;
    const Merge* merge = merges.find(pair_key(left_id, right_id));
    if (merge == nullptr) return;
    heap.push_back(Candidate{merge->rank, left, right, left_id, right_id, merge->merged});
    std::push_heap(heap.begin(), heap.end(), after);
}

// Merges the piece's bytes by rank: a linked list of symbols plus a min-heap
// of candidate pairs; stale candidates are skipped when popped. O(n log n).
void Tokenizer::Impl::bpe(std::string_view piece, std::vector<int32_t>& out) {
    const auto n = int32_t(piece.size());
    symbols.clear();
    heap.clear();
    for (int32_t i = 0; i < n; ++i)
        symbols.push_back(Symbol{byte_ids[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1});
    for (int32_t i = 0; i + 1 < n; ++i) push_candidate(i, i + 1);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), after);
        const Candidate c = heap.back();
        heap.pop_back();
        Symbol& left = symbols[c.left];
        if (left.id != c.left_id || left.next != c.right || symbols[c.right].id != c.right_id) continue;
        Symbol& right = symbols[c.right];
        left.id = c.merged;
        left.next = right.next;
        if (right.next != -1) symbols[right.next].prev = c.left;
        right.id = -1;
        if (left.prev != -1) push_candidate(left.prev, c.left);
        if (left.next != -1) push_candidate(c.left, left.next);
    }
    for (int32_t i = n > 0 ? 0 : -1; i != -1; i = symbols[i].next) out.push_back(symbols[i].id);
}

Tokenizer Tokenizer::load(const std::string& model_dir) {
    const std::filesystem::path dir(model_dir);
    return load((dir / "vocab.json").string(), (dir / "merges.txt").string());
}

Tokenizer Tokenizer::load(const std::string& vocab_json_path, const std::string& merges_txt_path) {
    Vocab vocab = load_vocab(vocab_json_path);
    auto impl = std::make_unique<Impl>();
    impl->merges = load_merges(merges_txt_path, vocab);

    const auto byte_chars = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) {
        std::string key;
        append_utf8(key, byte_chars[b]);
        auto it = vocab.ids.find(key);
        if (it == vocab.ids.end())
            fail("{}: no token for byte 0x{:02X} (key \"{}\"): every byte needs one", vocab_json_path, b, key);
        impl->byte_ids[b] = it->second;
    }
    if (auto it = vocab.ids.find(std::string(kEndOfText)); it != vocab.ids.end()) impl->eos_id = it->second;

    impl->offsets.reserve(vocab.bytes.size() + 1);
    for (const std::string& token : vocab.bytes) {
        impl->offsets.push_back(uint32_t(impl->blob.size()));
        impl->blob += token;
    }
    impl->offsets.push_back(uint32_t(impl->blob.size()));

    impl->code = compile_pretokenizer();
    impl->match_data.reset(pcre2_match_data_create_from_pattern(impl->code.get(), nullptr));
    if (!impl->match_data) fail("tokenizer: out of memory creating PCRE2 match data");
    return Tokenizer(std::move(impl));
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
    std::string storage;
    const std::string_view valid = sanitize_utf8(text, storage);  // PCRE2 in UTF mode must never see invalid UTF-8
    std::vector<int32_t> ids;
    ids.reserve(valid.size() / 4 + 1);
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->encode(valid, allow_special, ids);
    return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
    const Impl& impl = *impl_;
    size_t total = 0;
    for (int32_t id : ids) {
        if (id < 0 || id >= impl.size()) impl.bytes(id);  // throws, before any copying
        total += impl.offsets[id + 1] - impl.offsets[id];
    }
    std::string text(total, '\0');
    char* out = text.data();
    for (int32_t id : ids) {
        const uint32_t begin = impl.offsets[id], length = impl.offsets[id + 1] - begin;
        std::memcpy(out, impl.blob.data() + begin, length);
        out += length;
    }
    return text;
}

std::string_view Tokenizer::token_bytes(int32_t id) const { return impl_->bytes(id); }

int32_t Tokenizer::vocab_size() const { return impl_->size(); }

int32_t Tokenizer::eos_token_id() const { return impl_->eos_id; }

}  // namespace gpt2c
