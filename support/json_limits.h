// support/json_limits.h - checks on JSON text before nlohmann parses it.
//
// nlohmann's parser is iterative, but dump(), comparison and copies recurse
// once per nesting level: a hostile file of 100000 '[' parses fine and then
// overflows the stack the first time an error message prints the value. No
// file gpt2c reads (config.json, safetensors headers, library metadata,
// vocab.json, generation_config.json, token id arrays) nests more than a few
// levels, so anything deeper than kMaxJsonDepth is rejected before parsing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gpt2c {

inline constexpr size_t kMaxJsonDepth = 256;

// Throws gpt2c::Error "<source>: JSON nested deeper than <max_depth> levels at byte N; expected at
// most <max_depth>" when arrays/objects in `text` nest deeper than `max_depth`. Brackets inside
// strings do not count; malformed text is left for the parser to report.
void check_json_depth(std::string_view text, const std::string& source, size_t max_depth = kMaxJsonDepth);

}  // namespace gpt2c
