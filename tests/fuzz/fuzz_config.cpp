// tests/fuzz/fuzz_config.cpp - libFuzzer target: gpt2c::parse_config on arbitrary bytes.
//
// Any input must either parse or throw gpt2c::Error: any other exception
// escapes LLVMFuzzerTestOneInput and libFuzzer reports it as a crash, as it
// does an ASan/UBSan report. A config that parses must survive the documented
// round trip parse_config(config_to_json(c).dump()) == c.
#include "frontend/config.h"
#include "support/error.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::optional<gpt2c::ModelConfig> config;
    try {
        config = gpt2c::parse_config(text, "fuzz");
    } catch (const gpt2c::Error&) {
        return 0;  // a clear error: what bad input must get
    }
    // Outside the try: the canonical JSON of a valid config must parse back to the same config.
    const gpt2c::ModelConfig again = gpt2c::parse_config(gpt2c::config_to_json(*config).dump(), "fuzz-roundtrip");
    if (!(again == *config)) __builtin_trap();
    return 0;
}
