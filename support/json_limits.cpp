// support/json_limits.cpp - nesting depth check for JSON text (see json_limits.h).
#include "support/json_limits.h"

#include "support/error.h"

namespace gpt2c {

void check_json_depth(std::string_view text, const std::string& source, size_t max_depth) {
    size_t depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // the escaped character cannot end the string
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                fail("{}: JSON nested deeper than {} levels at byte {}; expected at most {}", source, max_depth, i,
                     max_depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
}

}  // namespace gpt2c
