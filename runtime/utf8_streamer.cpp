// runtime/utf8_streamer.cpp - see utf8_streamer.h.
#include "runtime/utf8_streamer.h"

namespace gpt2c {

namespace {

// Length of the sequence a lead byte starts: 1 for ASCII, 0 for a byte that cannot start one.
size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// Whether `c` can be byte `k` (k >= 1) after `lead`; the second byte's range excludes
// overlongs, surrogates and code points above U+10FFFF.
bool continues(unsigned char lead, size_t k, unsigned char c) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (k == 1) {
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    }
    return c >= lo && c <= hi;
}

// How many leading bytes of `s` can be released: everything but a valid, incomplete trailing sequence.
size_t releasable(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        const auto lead = static_cast<unsigned char>(s[i]);
        const size_t length = sequence_length(lead);
        if (length <= 1) {  // ASCII, or a byte that is invalid on its own
            ++i;
            continue;
        }
        size_t k = 1;
        while (k < length && i + k < s.size() && continues(lead, k, static_cast<unsigned char>(s[i + k]))) ++k;
        if (k == length) {
            i += length;
        } else if (i + k == s.size()) {
            return i;  // may still complete
        } else {
            ++i;  // a broken sequence: the lead goes out as is, the rest is scanned again
        }
    }
    return i;
}

}  // namespace

void Utf8Streamer::push(std::string_view bytes, std::string& out) {
    pending_.append(bytes);
    const size_t n = releasable(pending_);
    out.append(pending_, 0, n);
    pending_.erase(0, n);
}

std::string Utf8Streamer::push(std::string_view bytes) {
    std::string out;
    push(bytes, out);
    return out;
}

std::string Utf8Streamer::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace gpt2c
