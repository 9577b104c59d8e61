// support/files.h - whole-file reads and all-or-nothing writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace gpt2c {

// Throws gpt2c::Error naming `path` when it cannot be read (missing, a
// directory, an I/O error) or holds more than `max_bytes` bytes (checked while
// reading, so /dev/zero or an endless pipe stops there).
std::string read_file(const std::string& path, size_t max_bytes = SIZE_MAX);

// Writes `content` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the whole new one, never a part.
void write_file_atomically(const std::string& path, const std::string& content);

// A temporary file name beside `path` (same directory, so rename is atomic).
std::string temporary_path_for(const std::string& path);

}  // namespace gpt2c
