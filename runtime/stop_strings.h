// runtime/stop_strings.h - ends generated text before the first stop string, streaming.
//
// Text arrives in pieces (one token's complete UTF-8 characters at a time). A
// piece may end in the first part of a stop string, so the filter holds back
// the longest tail that could still grow into one, releases everything before
// it, and stops at the first complete stop string: the text before it is
// released, the stop string and everything after it never are.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

class StopStringFilter {
public:
    // Empty strings in `stops` are ignored.
    explicit StopStringFilter(std::vector<std::string> stops);

    // Appends `piece`; returns the text that is now safe to release (possibly empty).
    std::string push(std::string_view piece);
    // At the end of generation: what is held back (nothing once stopped).
    std::string flush();
    // True once a stop string has been seen; push then releases nothing more.
    bool stopped() const { return stopped_; }
    // The stop string that ended the text ("" before that).
    const std::string& matched() const { return matched_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;  // held back: may be the start of a stop string
    bool stopped_ = false;
    std::string matched_;
};

}  // namespace gpt2c
