// support/files.h - whole-file reads and all-or-nothing writes.
#pragma once

#include <string>

namespace gpt2c {

// Throws gpt2c::Error naming `path` when it cannot be read.
std::string read_file(const std::string& path);

// Writes `content` to a temporary file beside `path`, then renames it over
// `path`: readers see the old file or the whole new one, never a part.
void write_file_atomically(const std::string& path, const std::string& content);

// A temporary file name beside `path` (same directory, so rename is atomic).
std::string temporary_path_for(const std::string& path);

}  // namespace gpt2c
