// server/serve_options.h - the options of `gpt2c serve` and their parsing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace gpt2c::server {

struct ServeOptions {
    std::string lib;                 // the compiled library
    std::string model_dir;           // the model directory
    std::string model_id;            // what /v1/models lists: the directory's basename
    std::string host = "127.0.0.1";
    int port = 8080;                 // 0: any free port
    int32_t slots = 4;               // requests generating at once
    int32_t context = 0;             // positions per slot (0: the model's)
    int threads = 0;                 // worker threads (0: one per hardware thread)
    int32_t max_queue = 64;          // requests waiting for a slot
    int32_t step_tokens = 0;         // rows per step (0: the engine's default)
    std::string api_key;             // empty: no authentication
    size_t max_body_bytes = 1 << 20;
    int max_connections = 64;        // connections served at once; more are refused with 503
    double drain_seconds = 30;       // how long running requests may finish after SIGTERM
    int32_t max_tokens_limit = 0;    // max_tokens above this is refused (0: the context length)
    int32_t max_n = 16;              // the largest `n`
};

// Parses argv[2..]; nullopt when --help was printed. Throws gpt2c::Error on bad options.
std::optional<ServeOptions> parse_serve_options(int argc, char** argv);

}  // namespace gpt2c::server
