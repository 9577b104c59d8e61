// support/error.h - the one exception type gpt2c code throws for bad input.
//
// Every message names the file (or other source), the key or tensor, what was
// found and what was expected. The CLI prints what() and exits non-zero; the C
// API turns it into an error code plus message.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace gpt2c {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws gpt2c::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace gpt2c
