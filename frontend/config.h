// frontend/config.h - a validated Hugging Face GPT-2 config.json.
//
// parse_config_* honours every key that changes the computation and rejects,
// with a gpt2c::Error naming the file, the key and the value, every key it
// cannot honour. Nothing downstream re-validates these fields.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpt2c {

enum class Activation { GeluNew, GeluPytorchTanh, GeluFast, Gelu, Relu, QuickGelu, Silu };

// The Hugging Face spelling ("gelu_new", ...).
std::string_view activation_name(Activation activation);
std::optional<Activation> parse_activation(std::string_view name);

struct ModelConfig {
    int64_t n_layer = 0;
    int64_t n_head = 0;
    int64_t n_embd = 0;
    int64_t n_positions = 0;  // from n_positions, or n_ctx when n_positions is absent
    int64_t vocab_size = 0;
    int64_t n_inner = 0;      // resolved: null/absent means 4 * n_embd
    Activation activation = Activation::GeluNew;
    double layer_norm_epsilon = 1e-5;
    bool scale_attn_weights = true;
    bool scale_attn_by_inverse_layer_idx = false;
    bool reorder_and_upcast_attn = false;
    bool tie_word_embeddings = true;
    std::optional<int64_t> bos_token_id;
    std::optional<int64_t> eos_token_id;

    int64_t head_dim() const { return n_embd / n_head; }
    bool operator==(const ModelConfig&) const = default;
};

// Reads MODEL: a config.json file, or a directory holding one.
ModelConfig load_config(const std::string& path_or_dir);

// Parses config text; `source` names the file in error messages.
ModelConfig parse_config(std::string_view json_text, const std::string& source);

// Canonical JSON of the resolved config (every field above, HF key names).
// parse_config(config_to_json(c).dump(), ...) == c.
nlohmann::json config_to_json(const ModelConfig& config);

}  // namespace gpt2c
