// tests/unit/config_test.cpp - unit tests for frontend/config (GPT-2 config.json parsing).
#include "frontend/config.h"

#include "support/error.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using gpt2c::Activation;
using gpt2c::ModelConfig;
using gpt2c::parse_config;
using Catch::Contains;
using nlohmann::json;

namespace {

// Normalized lexically so the test does not depend on tests/data existing yet.
const std::string kTinyShakespeare =
    std::filesystem::path(GPT2C_TEST_DATA_DIR "/../../examples/tiny-shakespeare")
        .lexically_normal()
        .string();

// A minimal valid config; tests patch or erase keys from it.
json minimal() {
    return {{"n_layer", 2}, {"n_head", 4}, {"n_embd", 64}, {"vocab_size", 100},
            {"n_positions", 32}};
}

ModelConfig parse(const json& j) { return parse_config(j.dump(), "config.json"); }

json with(const std::string& key, const json& value) {
    json j = minimal();
    j[key] = value;
    return j;
}

json without(const std::string& key) {
    json j = minimal();
    j.erase(key);
    return j;
}

// A fresh empty directory under the system temp dir, removed on destruction.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        path = std::filesystem::temp_directory_path() /
               ("gpt2c_config_test_" + std::to_string(::getpid()) + "_" +
                std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    static inline int counter = 0;
};

}  // namespace

TEST_CASE("config: minimal config gets the HF defaults", "[config]") {
    ModelConfig c = parse(minimal());
    CHECK(c.n_layer == 2);
    CHECK(c.n_head == 4);
    CHECK(c.n_embd == 64);
    CHECK(c.vocab_size == 100);
    CHECK(c.n_positions == 32);
    CHECK(c.n_inner == 256);
    CHECK(c.head_dim() == 16);
    CHECK(c.activation == Activation::GeluNew);
    CHECK(c.layer_norm_epsilon == 1e-5);
    CHECK(c.scale_attn_weights);
    CHECK_FALSE(c.scale_attn_by_inverse_layer_idx);
    CHECK_FALSE(c.reorder_and_upcast_attn);
    CHECK(c.tie_word_embeddings);
    CHECK_FALSE(c.bos_token_id);
    CHECK_FALSE(c.eos_token_id);
}

TEST_CASE("config: optional keys are honoured", "[config]") {
    json j = minimal();
    j["n_inner"] = 100;
    j["layer_norm_epsilon"] = 1e-6;
    j["scale_attn_weights"] = false;
    j["scale_attn_by_inverse_layer_idx"] = true;
    j["reorder_and_upcast_attn"] = true;
    j["tie_word_embeddings"] = false;
    j["bos_token_id"] = 7;
    j["eos_token_id"] = 0;
    j["activation_function"] = "relu";
    ModelConfig c = parse(j);
    CHECK(c.n_inner == 100);
    CHECK(c.layer_norm_epsilon == 1e-6);
    CHECK_FALSE(c.scale_attn_weights);
    CHECK(c.scale_attn_by_inverse_layer_idx);
    CHECK(c.reorder_and_upcast_attn);
    CHECK_FALSE(c.tie_word_embeddings);
    CHECK(c.bos_token_id == 7);
    CHECK(c.eos_token_id == 0);
    CHECK(c.activation == Activation::Relu);
}

TEST_CASE("config: null n_inner and null token ids mean unset", "[config]") {
    json j = minimal();
    j["n_inner"] = nullptr;
    j["bos_token_id"] = nullptr;
    j["eos_token_id"] = nullptr;
    ModelConfig c = parse(j);
    CHECK(c.n_inner == 4 * 64);
    CHECK_FALSE(c.bos_token_id);
    CHECK_FALSE(c.eos_token_id);
}

TEST_CASE("config: n_ctx is the fallback for n_positions", "[config]") {
    SECTION("only n_ctx") {
        json j = without("n_positions");
        j["n_ctx"] = 48;
        CHECK(parse(j).n_positions == 48);
    }
    SECTION("both: n_positions wins and n_ctx is ignored") {
        json j = with("n_ctx", 1024);
        CHECK(parse(j).n_positions == 32);
        j["n_ctx"] = "ignored";
        CHECK(parse(j).n_positions == 32);
    }
    SECTION("bad n_ctx is reported under its own name") {
        json j = without("n_positions");
        j["n_ctx"] = -1;
        REQUIRE_THROWS_WITH(parse(j), Contains("\"n_ctx\"") && Contains("-1"));
    }
    SECTION("neither") {
        REQUIRE_THROWS_WITH(parse(without("n_positions")),
                            Contains("n_positions") && Contains("n_ctx") &&
                                Contains("config.json"));
    }
}

TEST_CASE("config: every activation spelling", "[config]") {
    const std::pair<const char*, Activation> cases[] = {
        {"gelu_new", Activation::GeluNew},     {"gelu_pytorch_tanh", Activation::GeluPytorchTanh},
        {"gelu_fast", Activation::GeluFast},   {"gelu", Activation::Gelu},
        {"relu", Activation::Relu},            {"quick_gelu", Activation::QuickGelu},
        {"silu", Activation::Silu},
    };
    for (const auto& [name, activation] : cases) {
        INFO(name);
        CHECK(parse(with("activation_function", name)).activation == activation);
        CHECK(gpt2c::activation_name(activation) == name);
        CHECK(gpt2c::parse_activation(name) == activation);
    }
    CHECK_FALSE(gpt2c::parse_activation("swish"));
    CHECK_FALSE(gpt2c::parse_activation(""));
}

TEST_CASE("config: unknown activation lists the accepted ones", "[config]") {
    REQUIRE_THROWS_WITH(parse(with("activation_function", "tanh")),
                        Contains("activation_function") && Contains("\"tanh\"") &&
                            Contains("gelu_new") && Contains("silu"));
    REQUIRE_THROWS_WITH(parse(with("activation_function", 3)),
                        Contains("activation_function") && Contains("3"));
}

TEST_CASE("config: missing required keys", "[config]") {
    for (const char* key : {"n_layer", "n_head", "n_embd", "vocab_size"}) {
        INFO(key);
        REQUIRE_THROWS_AS(parse(without(key)), gpt2c::Error);
        REQUIRE_THROWS_WITH(parse(without(key)),
                            Catch::StartsWith("config.json: ") && Contains(key) &&
                                Contains("missing"));
    }
}

TEST_CASE("config: non-positive sizes", "[config]") {
    REQUIRE_THROWS_WITH(parse(with("n_head", -3)),
                        Catch::Equals("config.json: key \"n_head\": expected a positive "
                                      "integer, found -3"));
    for (const char* key : {"n_layer", "n_embd", "vocab_size", "n_positions", "n_inner"}) {
        INFO(key);
        REQUIRE_THROWS_WITH(parse(with(key, 0)), Contains(key) && Contains("found 0"));
        REQUIRE_THROWS_WITH(parse(with(key, -5)), Contains(key) && Contains("found -5"));
    }
}

TEST_CASE("config: sizes above the limits", "[config]") {
    const std::pair<const char*, int64_t> limits[] = {
        {"n_layer", 1024},     {"n_head", 1024},     {"n_embd", 65536},
        {"n_inner", 262144},   {"n_positions", 65536}, {"vocab_size", 4194304},
    };
    for (const auto& [key, limit] : limits) {
        INFO(key);
        REQUIRE_THROWS_WITH(parse(with(key, limit + 1)),
                            Contains(key) && Contains(std::to_string(limit + 1)) &&
                                Contains(std::to_string(limit)));
    }
    // Larger than int64: still a clear message, not a conversion exception.
    std::string text = minimal().dump();
    text.replace(text.find("\"n_layer\":2"), 11, "\"n_layer\":18446744073709551615");
    REQUIRE_THROWS_WITH(parse_config(text, "config.json"),
                        Contains("n_layer") && Contains("18446744073709551615") &&
                            Contains("1024"));
    text.replace(text.find("18446744073709551615"), 20, "-9223372036854775808");
    REQUIRE_THROWS_WITH(parse_config(text, "config.json"),
                        Contains("n_layer") && Contains("-9223372036854775808"));
}

TEST_CASE("config: sizes at the limits are accepted individually", "[config]") {
    json j = minimal();
    j["n_layer"] = 1024;
    j["n_head"] = 1024;
    j["n_embd"] = 1024;
    j["n_positions"] = 65536;
    j["vocab_size"] = 4194304;
    j["n_inner"] = 1024;
    CHECK(parse(j).n_layer == 1024);
}

TEST_CASE("config: parameter count limit", "[config]") {
    // 1024 * (4*4096^2 + 2*4096*16384) + (100 + 32) * 4096 = 206158970880 > 2^34.
    json j = minimal();
    j["n_layer"] = 1024;
    j["n_head"] = 32;
    j["n_embd"] = 4096;
    REQUIRE_THROWS_WITH(parse(j), Contains("parameters") && Contains("206158970880") &&
                                      Contains("17179869184"));
    // GPT-2 XL fits comfortably.
    json xl = {{"n_layer", 48}, {"n_head", 25}, {"n_embd", 1600}, {"vocab_size", 50257},
               {"n_positions", 1024}};
    CHECK(parse(xl).n_inner == 6400);
}

TEST_CASE("config: n_embd must be divisible by n_head", "[config]") {
    json j = minimal();
    j["n_embd"] = 30;
    j["n_head"] = 4;
    REQUIRE_THROWS_WITH(parse(j), Contains("n_embd") && Contains("30") && Contains("n_head") &&
                                      Contains("4"));
}

TEST_CASE("config: unsupported model features", "[config]") {
    REQUIRE_THROWS_WITH(parse(with("model_type", "gpt_neox")),
                        Contains("model_type") && Contains("gpt_neox"));
    REQUIRE_THROWS_WITH(parse(with("model_type", 2)), Contains("model_type") && Contains("2"));
    REQUIRE_THROWS_WITH(parse(with("add_cross_attention", true)),
                        Contains("add_cross_attention") && Contains("true"));
    REQUIRE_THROWS_WITH(parse(with("is_encoder_decoder", true)),
                        Contains("is_encoder_decoder") && Contains("true"));
    // The harmless values are fine.
    CHECK_NOTHROW(parse(with("model_type", "gpt2")));
    CHECK_NOTHROW(parse(with("add_cross_attention", false)));
    CHECK_NOTHROW(parse(with("is_encoder_decoder", false)));
}

TEST_CASE("config: irrelevant keys are ignored", "[config]") {
    json j = minimal();
    j["attn_pdrop"] = 0.1;
    j["resid_pdrop"] = 0.1;
    j["embd_pdrop"] = 0.1;
    j["architectures"] = {"GPT2LMHeadModel"};
    j["summary_type"] = "cls_index";
    j["summary_use_proj"] = true;
    j["torch_dtype"] = "float32";
    j["use_cache"] = true;
    j["task_specific_params"] = {{"text-generation", {{"do_sample", true}}}};
    CHECK(parse(j) == parse(minimal()));
}

TEST_CASE("config: wrong JSON types", "[config]") {
    SECTION("float for an integer") {
        REQUIRE_THROWS_WITH(parse(with("n_layer", 4.0)),
                            Contains("n_layer") && Contains("floating-point number 4.0") &&
                                Contains("integer"));
    }
    SECTION("string for an integer") {
        REQUIRE_THROWS_WITH(parse(with("n_head", "4")),
                            Contains("n_head") && Contains("string \"4\"") &&
                                Contains("integer"));
    }
    SECTION("boolean for an integer") {
        REQUIRE_THROWS_WITH(parse(with("vocab_size", true)),
                            Contains("vocab_size") && Contains("boolean true"));
    }
    SECTION("null for a required integer") {
        REQUIRE_THROWS_WITH(parse(with("n_embd", nullptr)), Contains("n_embd") && Contains("null"));
    }
    SECTION("float n_inner and token ids") {
        REQUIRE_THROWS_WITH(parse(with("n_inner", 256.0)),
                            Contains("n_inner") && Contains("256.0"));
        REQUIRE_THROWS_WITH(parse(with("bos_token_id", "50256")),
                            Contains("bos_token_id") && Contains("\"50256\""));
        REQUIRE_THROWS_WITH(parse(with("eos_token_id", -1)),
                            Contains("eos_token_id") && Contains("-1"));
    }
    SECTION("non-boolean flags") {
        for (const char* key : {"scale_attn_weights", "scale_attn_by_inverse_layer_idx",
                                "reorder_and_upcast_attn", "tie_word_embeddings",
                                "add_cross_attention", "is_encoder_decoder"}) {
            INFO(key);
            REQUIRE_THROWS_WITH(parse(with(key, 1)),
                                Contains(key) && Contains("boolean") && Contains("integer 1"));
            REQUIRE_THROWS_WITH(parse(with(key, "true")),
                                Contains(key) && Contains("string \"true\""));
        }
    }
    SECTION("epsilon") {
        REQUIRE_THROWS_WITH(parse(with("layer_norm_epsilon", "1e-5")),
                            Contains("layer_norm_epsilon") && Contains("\"1e-5\""));
        REQUIRE_THROWS_WITH(parse(with("layer_norm_epsilon", 0.0)),
                            Contains("layer_norm_epsilon") && Contains("0.0"));
        REQUIRE_THROWS_WITH(parse(with("layer_norm_epsilon", -1e-5)),
                            Contains("layer_norm_epsilon") && Contains("-1e-05"));
        // An integer is still a number.
        CHECK(parse(with("layer_norm_epsilon", 1)).layer_norm_epsilon == 1.0);
    }
}

TEST_CASE("config: text that is not a JSON object", "[config]") {
    REQUIRE_THROWS_WITH(parse_config("{\"n_layer\": 2,", "model/config.json"),
                        Catch::StartsWith("model/config.json: ") && Contains("byte 15"));
    REQUIRE_THROWS_WITH(parse_config("", "empty.json"), Catch::StartsWith("empty.json: "));
    REQUIRE_THROWS_WITH(parse_config("[1, 2]", "config.json"),
                        Catch::StartsWith("config.json: ") && Contains("object") &&
                            Contains("array"));
    REQUIRE_THROWS_WITH(parse_config("1e999", "config.json"),
                        Catch::StartsWith("config.json: "));
}

TEST_CASE("config: round trip through config_to_json", "[config]") {
    ModelConfig c = parse(minimal());
    CHECK(parse_config(gpt2c::config_to_json(c).dump(), "x") == c);

    json j = minimal();
    j["n_inner"] = 100;
    j["activation_function"] = "quick_gelu";
    j["layer_norm_epsilon"] = 1.2345678901234567e-7;
    j["scale_attn_weights"] = false;
    j["scale_attn_by_inverse_layer_idx"] = true;
    j["reorder_and_upcast_attn"] = true;
    j["tie_word_embeddings"] = false;
    j["bos_token_id"] = 1;
    j["eos_token_id"] = 2;
    c = parse(j);
    json out = gpt2c::config_to_json(c);
    CHECK(parse_config(out.dump(), "x") == c);
    CHECK(out["n_inner"] == 100);
    CHECK(out["activation_function"] == "quick_gelu");
    CHECK(out["bos_token_id"] == 1);

    // Unset token ids are omitted rather than written as null.
    json bare = gpt2c::config_to_json(parse(minimal()));
    CHECK_FALSE(bare.contains("bos_token_id"));
    CHECK_FALSE(bare.contains("eos_token_id"));
    CHECK(bare["n_inner"] == 256);
}

TEST_CASE("config: load the tiny-shakespeare example", "[config]") {
    ModelConfig from_dir = gpt2c::load_config(kTinyShakespeare);
    ModelConfig from_file = gpt2c::load_config(kTinyShakespeare + "/config.json");
    CHECK(from_dir == from_file);
    CHECK(from_dir.n_layer == 4);
    CHECK(from_dir.n_head == 4);
    CHECK(from_dir.n_embd == 128);
    CHECK(from_dir.vocab_size == 50257);
    CHECK(from_dir.n_positions == 256);
    CHECK(from_dir.n_inner == 512);
    CHECK(from_dir.activation == Activation::GeluNew);
    CHECK(from_dir.bos_token_id == 50256);
    CHECK(from_dir.eos_token_id == 50256);
}

TEST_CASE("config: load_config errors name the path", "[config]") {
    TempDir dir;
    const std::string base = dir.path.string();

    SECTION("missing file") {
        REQUIRE_THROWS_WITH(gpt2c::load_config(base + "/nope.json"),
                            Catch::StartsWith(base + "/nope.json: "));
    }
    SECTION("directory without config.json") {
        REQUIRE_THROWS_WITH(gpt2c::load_config(base),
                            Catch::StartsWith(base + "/config.json: ") &&
                                Contains("no config.json"));
    }
    SECTION("config.json that is a directory") {
        std::filesystem::create_directory(dir.path / "config.json");
        REQUIRE_THROWS_WITH(gpt2c::load_config(base),
                            Catch::StartsWith(base + "/config.json: ") &&
                                Contains("directory"));
    }
    SECTION("errors in the file are prefixed with its path") {
        std::ofstream(dir.path / "config.json") << without("n_head").dump();
        REQUIRE_THROWS_WITH(gpt2c::load_config(base),
                            Catch::StartsWith(base + "/config.json: ") && Contains("n_head"));
    }
    SECTION("a valid file in a temp directory") {
        std::ofstream(dir.path / "config.json") << minimal().dump();
        CHECK(gpt2c::load_config(base) == parse(minimal()));
    }
}
