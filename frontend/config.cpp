// frontend/config.cpp - parses and validates a Hugging Face GPT-2 config.json.
#include "frontend/config.h"

#include "support/error.h"
#include "support/files.h"
#include "support/json_limits.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

namespace gpt2c {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 7> kActivations{{
    {Activation::GeluNew, "gelu_new"},
    {Activation::GeluPytorchTanh, "gelu_pytorch_tanh"},
    {Activation::GeluFast, "gelu_fast"},
    {Activation::Gelu, "gelu"},
    {Activation::Relu, "relu"},
    {Activation::QuickGelu, "quick_gelu"},
    {Activation::Silu, "silu"},
}};

// Size limits: far above any real GPT-2, low enough that products of sizes
// cannot overflow int64 anywhere downstream.
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxEmbd = 65536;
constexpr int64_t kMaxInner = 262144;
constexpr int64_t kMaxPositions = 65536;
constexpr int64_t kMaxVocab = int64_t{1} << 22;
constexpr int64_t kMaxParams = int64_t{1} << 34;
constexpr size_t kMaxConfigBytes = size_t{16} << 20;

// A short human description of a JSON value for "found ..." in messages.
std::string describe(const json& value) {
    std::string text = value.dump();
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean " + text;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer " + text;
    case json::value_t::number_float: return "floating-point number " + text;
    case json::value_t::string: return "string " + text;
    case json::value_t::array: return "array " + text;
    case json::value_t::object: return "object " + text;
    default: return text;
    }
}

// Reads keys from the root object; every message is prefixed by the source.
class Reader {
public:
    Reader(const json& root, const std::string& source) : root_(root), source_(source) {}

    bool has(const char* key) const { return root_.contains(key); }
    // Present and not null.
    bool has_value(const char* key) const { return has(key) && !root_.at(key).is_null(); }

    template <typename... Args>
    [[noreturn]] void key_error(const char* key, fmt::format_string<Args...> format,
                                Args&&... args) const {
        fail("{}: key \"{}\": {}", source_, key,
             fmt::format(format, std::forward<Args>(args)...));
    }

    // An integer value of any sign that fits int64.
    int64_t integer(const char* key) const {
        const json& value = root_.at(key);
        if (!value.is_number_integer())
            key_error(key, "expected an integer, found {}", describe(value));
        if (value.is_number_unsigned() &&
            value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
            key_error(key, "integer {} is out of range", value.dump());
        return value.get<int64_t>();
    }

    // A size in [1, limit].
    int64_t size(const char* key, int64_t limit) const {
        const json& value = root_.at(key);
        if (!value.is_number_integer())
            key_error(key, "expected a positive integer, found {}", describe(value));
        if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(limit))
            key_error(key, "{} exceeds the limit of {}", value.dump(), limit);
        int64_t result = value.get<int64_t>();
        if (result <= 0) key_error(key, "expected a positive integer, found {}", result);
        return result;
    }

    bool boolean(const char* key, bool fallback) const {
        if (!has(key)) return fallback;
        const json& value = root_.at(key);
        if (!value.is_boolean())
            key_error(key, "expected a boolean, found {}", describe(value));
        return value.get<bool>();
    }

    std::optional<int64_t> token_id(const char* key) const {
        if (!has_value(key)) return std::nullopt;
        int64_t id = integer(key);
        if (id < 0) key_error(key, "expected a non-negative token id or null, found {}", id);
        return id;
    }

    const json& at(const char* key) const { return root_.at(key); }
    const std::string& source() const { return source_; }

private:
    const json& root_;
    const std::string& source_;
};

void reject_unsupported(const Reader& in) {
    if (in.has("model_type")) {
        const json& type = in.at("model_type");
        if (!type.is_string() || type.get<std::string>() != "gpt2")
            in.key_error("model_type",
                         "expected \"gpt2\", found {}; only GPT-2 models are supported",
                         describe(type));
    }
    if (in.boolean("add_cross_attention", false))
        in.key_error("add_cross_attention", "found true; cross-attention is not supported");
    if (in.boolean("is_encoder_decoder", false))
        in.key_error("is_encoder_decoder", "found true; encoder-decoder models are not supported");
}

Activation read_activation(const Reader& in) {
    const char* key = "activation_function";
    if (!in.has(key)) return Activation::GeluNew;
    const json& value = in.at(key);
    if (value.is_string()) {
        if (auto activation = parse_activation(value.get<std::string>())) return *activation;
    }
    std::string accepted;
    for (const auto& [activation, name] : kActivations)
        accepted += (accepted.empty() ? "" : ", ") + std::string(name);
    in.key_error(key, "unsupported activation {}; expected one of {}", describe(value), accepted);
}

double read_epsilon(const Reader& in) {
    const char* key = "layer_norm_epsilon";
    if (!in.has(key)) return 1e-5;
    const json& value = in.at(key);
    if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() <= 0)
        in.key_error(key, "expected a finite positive number, found {}", describe(value));
    return value.get<double>();
}

ModelConfig read_config(const Reader& in) {
    reject_unsupported(in);

    ModelConfig config;
    for (const char* key : {"n_layer", "n_head", "n_embd", "vocab_size"})
        if (!in.has(key)) fail("{}: missing required key \"{}\"", in.source(), key);
    config.n_layer = in.size("n_layer", kMaxLayers);
    config.n_head = in.size("n_head", kMaxHeads);
    config.n_embd = in.size("n_embd", kMaxEmbd);
    config.vocab_size = in.size("vocab_size", kMaxVocab);

    // HF reads n_positions and ignores the legacy n_ctx unless it is the only one.
    if (in.has("n_positions"))
        config.n_positions = in.size("n_positions", kMaxPositions);
    else if (in.has("n_ctx"))
        config.n_positions = in.size("n_ctx", kMaxPositions);
    else
        fail("{}: missing required key \"n_positions\" (or its legacy name \"n_ctx\")",
             in.source());

    if (config.n_embd % config.n_head != 0)
        fail("{}: key \"n_embd\" ({}) is not divisible by key \"n_head\" ({})", in.source(),
             config.n_embd, config.n_head);

    config.n_inner = in.has_value("n_inner") ? in.size("n_inner", kMaxInner) : 4 * config.n_embd;
    config.activation = read_activation(in);
    config.layer_norm_epsilon = read_epsilon(in);
    config.scale_attn_weights = in.boolean("scale_attn_weights", true);
    config.scale_attn_by_inverse_layer_idx = in.boolean("scale_attn_by_inverse_layer_idx", false);
    config.reorder_and_upcast_attn = in.boolean("reorder_and_upcast_attn", false);
    config.tie_word_embeddings = in.boolean("tie_word_embeddings", true);
    config.bos_token_id = in.token_id("bos_token_id");
    config.eos_token_id = in.token_id("eos_token_id");

    // The individual limits keep this product far from int64 overflow.
    const int64_t e = config.n_embd;
    const int64_t params = config.vocab_size * e + config.n_positions * e +
                           config.n_layer * (4 * e * e + 2 * e * config.n_inner);
    if (params > kMaxParams)
        fail("{}: the model has about {} parameters, more than the limit of {} (2^34)",
             in.source(), params, kMaxParams);
    return config;
}

}  // namespace

std::string_view activation_name(Activation activation) {
    for (const auto& [value, name] : kActivations)
        if (value == activation) return name;
    return "unknown";
}

std::optional<Activation> parse_activation(std::string_view name) {
    for (const auto& [value, spelling] : kActivations)
        if (spelling == name) return value;
    return std::nullopt;
}

// A UTF-8 byte order mark before the JSON is accepted (nlohmann skips one; Windows
// editors write it) even though Python's json.loads rejects it: the text after it
// is the same config. Anything nested deeper than kMaxJsonDepth is rejected
// before parsing (see support/json_limits.h).
ModelConfig parse_config(std::string_view json_text, const std::string& source) {
    check_json_depth(json_text, source);
    json root;
    try {
        root = json::parse(json_text);
    } catch (const json::parse_error& e) {
        fail("{}: not valid JSON (error at byte {}): {}", source, e.byte, e.what());
    } catch (const json::exception& e) {
        // e.g. a number too large for a double.
        fail("{}: not valid JSON: {}", source, e.what());
    }
    if (!root.is_object())
        fail("{}: expected a JSON object at the top level, found {}", source, describe(root));
    return read_config(Reader(root, source));
}

ModelConfig load_config(const std::string& path_or_dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path path = path_or_dir;
    fs::file_status status = fs::status(path, ec);
    if (fs::is_directory(status)) {
        path /= "config.json";
        status = fs::status(path, ec);
        if (!fs::exists(status))
            fail("{}: {} (model directory {} has no config.json)", path.string(),
                 ec ? ec.message() : "not found", path_or_dir);
    } else if (!fs::exists(status)) {
        fail("{}: {}", path_or_dir, ec ? ec.message() : "no such file or directory");
    }
    const std::string file = path.string();
    if (fs::is_directory(status)) fail("{}: is a directory, expected a config.json file", file);

    // A config.json is a few kilobytes; the limit stops /dev/zero or an endless pipe.
    return parse_config(read_file(file, kMaxConfigBytes), file);
}

json config_to_json(const ModelConfig& config) {
    json out = {
        {"model_type", "gpt2"},
        {"n_layer", config.n_layer},
        {"n_head", config.n_head},
        {"n_embd", config.n_embd},
        {"n_positions", config.n_positions},
        {"vocab_size", config.vocab_size},
        {"n_inner", config.n_inner},
        {"activation_function", std::string(activation_name(config.activation))},
        {"layer_norm_epsilon", config.layer_norm_epsilon},
        {"scale_attn_weights", config.scale_attn_weights},
        {"scale_attn_by_inverse_layer_idx", config.scale_attn_by_inverse_layer_idx},
        {"reorder_and_upcast_attn", config.reorder_and_upcast_attn},
        {"tie_word_embeddings", config.tie_word_embeddings},
    };
    if (config.bos_token_id) out["bos_token_id"] = *config.bos_token_id;
    if (config.eos_token_id) out["eos_token_id"] = *config.eos_token_id;
    return out;
}

}  // namespace gpt2c
