// runtime/utf8_streamer.h - releases streamed bytes as whole UTF-8 characters.
#pragma once

#include <string>
#include <string_view>

namespace gpt2c {

// Buffers bytes and releases only complete UTF-8 characters. Invalid bytes
// (that can never start or continue a character) are released as they are.
// At most 3 bytes (an incomplete trailing character) are ever held back.
class Utf8Streamer {
public:
    std::string push(std::string_view bytes);             // the complete part
    void push(std::string_view bytes, std::string& out);  // appends the complete part to `out`
    std::string flush();                                  // whatever is held back, at the end
private:
    std::string pending_;
};

}  // namespace gpt2c
