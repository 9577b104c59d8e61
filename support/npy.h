// support/npy.h - NumPy .npy files (version 1.0, little-endian float32, C order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpt2c {

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

// Writes through a temporary file renamed at the end, so a failure leaves no
// partial file. Throws gpt2c::Error.
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

// Reads a '<f4' or '<f8' (converted to float) C-order array. Throws gpt2c::Error.
NpyArray read_npy_f32(const std::string& path);

}  // namespace gpt2c
