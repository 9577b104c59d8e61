// runtime/compiled_library.h - a gpt2c-compiled model library, loaded and checked.
//
// dlopen()s the .so, asks gpt2c_library_query for this runtime's ABI
// version, parses and validates the metadata, and checks that this CPU has
// every feature the library was compiled for before any generated code runs.
#pragma once

#include "frontend/config.h"

#include <gpt2c/abi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace gpt2c {

struct TensorSpec {
    std::string name;
    std::vector<int64_t> shape;
    bool used_by_forward = true;
    int64_t bytes = 0;  // storage size (prepared tensors may be bf16/int8); numel() * 4 for raw weights
    // Prepared tensors only: what prepare reads to compute this one alone (indices
    // into weights() and into earlier prepared()); validated when the library is opened.
    std::vector<int64_t> raw_inputs, prepared_inputs;
    int64_t numel() const;
};

class CompiledLibrary {
public:
    static CompiledLibrary open(const std::string& path);  // throws gpt2c::Error
    CompiledLibrary(CompiledLibrary&&) noexcept;
    CompiledLibrary& operator=(CompiledLibrary&&) noexcept;
    CompiledLibrary(const CompiledLibrary&) = delete;
    CompiledLibrary& operator=(const CompiledLibrary&) = delete;
    ~CompiledLibrary();

    const std::string& path() const { return path_; }
    const gpt2c_library& entry() const { return *entry_; }
    const ModelConfig& config() const { return config_; }
    const std::vector<TensorSpec>& weights() const { return weights_; }
    const std::vector<TensorSpec>& prepared() const { return prepared_; }
    int64_t arena_bytes() const { return arena_bytes_; }
    // The weight bytes one decode step reads: every tensor forward uses, prepared or raw, whole,
    // but the embedding tables, of which it reads a row. What bounds decode speed from below
    // (bytes / memory bandwidth), before the KV cache's share.
    int64_t decode_weight_bytes() const;
    // One slot of n_positions: [n_layer][k|v][n_positions] of every head, in kv_dtype() ("f32", "bf16",
    // or "int8" with a float32 scale per position of each head): support/kv_layout.h, gpt2c/abi.h.
    int64_t kv_cache_bytes() const { return kv_cache_bytes_; }
    const std::string& kv_dtype() const { return kv_dtype_; }
    const std::string& target_cpu() const { return target_cpu_; }
    // The instruction-set features its code may use (support/cpu_isa.h).
    const std::vector<std::string>& isa_features() const { return isa_features_; }
    const std::string& pipeline() const { return pipeline_; }
    const std::string& metadata_json() const { return metadata_json_; }

private:
    CompiledLibrary() = default;
    std::string path_;
    void* handle_ = nullptr;
    const gpt2c_library* entry_ = nullptr;
    ModelConfig config_;
    std::vector<TensorSpec> weights_;
    std::vector<TensorSpec> prepared_;
    int64_t arena_bytes_ = 0;
    int64_t kv_cache_bytes_ = 0;
    std::string kv_dtype_;
    std::string target_cpu_;
    std::vector<std::string> isa_features_;
    std::string pipeline_;
    std::string metadata_json_;
};

}  // namespace gpt2c
