// tests/test_strings.h - string helpers the unit and e2e tests share.
#pragma once

#include <cstddef>
#include <string>

namespace gpt2c::testing {

// How often `what` occurs in `text` (overlapping occurrences count).
inline size_t count_occurrences(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

}  // namespace gpt2c::testing
