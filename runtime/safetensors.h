// runtime/safetensors.h - a memory-mapped, fully validated .safetensors file.
//
// The header is checked against the file before any tensor is handed out:
// header length within the file, header is a JSON object, every entry has a
// known dtype, a shape whose element count times the dtype size equals its
// byte range, ranges inside the data section and not overlapping. Each
// violation is a gpt2c::Error naming the file, the tensor and what was
// expected. Tensor data is never copied: views point into the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include "runtime/file_mapping.h"

#include <string>
#include <string_view>
#include <vector>

namespace gpt2c {

enum class DType { BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64, F8_E4M3, F8_E5M2 };

std::string_view dtype_name(DType dtype);  // the safetensors spelling, e.g. "BF16"
size_t dtype_size(DType dtype);            // bytes per element

struct TensorView {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const std::byte* data;  // into the mapping
    size_t nbytes;

    int64_t numel() const;
};

class SafetensorsFile {
public:
    // Maps and validates `path`. Throws gpt2c::Error.
    static SafetensorsFile open(const std::string& path);

    // Moves keep every TensorView valid: the mapping moves, its address does not.
    SafetensorsFile(SafetensorsFile&&) noexcept = default;
    SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;
    SafetensorsFile(const SafetensorsFile&) = delete;
    SafetensorsFile& operator=(const SafetensorsFile&) = delete;

    const std::string& path() const { return path_; }
    const std::vector<TensorView>& tensors() const { return tensors_; }
    const TensorView* find(std::string_view name) const;  // nullptr when absent

private:
    SafetensorsFile() = default;
    std::string path_;
    FileMapping mapping_;
    std::vector<TensorView> tensors_;
};

// Converts F32, F16 or BF16 elements to float32 (exactly; F16 subnormals,
// infinities and NaNs included). Any other dtype is a gpt2c::Error naming
// `file` and the tensor. `out` holds tensor.numel() floats. With
// require_finite, a NaN or infinity is a gpt2c::Error naming the tensor and
// the element's index (detected in the same pass as the conversion).
void convert_to_f32(const TensorView& tensor, const std::string& file, float* out,
                    bool require_finite = false);

}  // namespace gpt2c
