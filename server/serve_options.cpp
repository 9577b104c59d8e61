// server/serve_options.cpp - the options of `gpt2c serve` (see serve_options.h).
#include "server/serve_options.h"

#include "support/error.h"
#include "tools/args.h"
#include "tools/driver.h"

#include <filesystem>
#include <iostream>

namespace gpt2c::server {

namespace {

constexpr const char* kServeHelp =
    "usage: {} serve --lib LIB.so --model DIR [--host 127.0.0.1] [--port 8080] [options]\n"
    "\n"
    "Serves the model over HTTP with OpenAI's wire format: POST /v1/completions\n"
    "(streaming with \"stream\": true), GET /v1/models, GET /health (503 while the\n"
    "model loads and while draining), GET /metrics (Prometheus text format).\n"
    "Requests share batched steps (continuous batching over --slots sequences).\n"
    "Prints 'gpt2c serve: listening on http://HOST:PORT' on stderr once listening,\n"
    "then loads the model, and logs one line per request to stderr. SIGTERM or\n"
    "SIGINT: /health turns 503, new completions are refused with 503, running ones\n"
    "finish (up to --drain-seconds, then they are cancelled), and the server exits 0.\n"
    "\n";

}  // namespace

std::optional<ServeOptions> parse_serve_options(int argc, char** argv) {
    using tools::Args;
    const char* program = tools::program_name();
    Args args("serve", {
        {"--lib", true, "the compiled library (from gpt2c compile)"},
        {"--model", true, "the model directory (model.safetensors, vocab.json, merges.txt); its name is the model id"},
        {"--host", true, "the address to listen on (default 127.0.0.1)"},
        {"--port", true, "the TCP port (default 8080; 0: any free port)"},
        {"--slots", true, "requests generating at once, sharing each step (default 4)"},
        {"--context", true, "positions per slot (default: the model's context length)"},
        {"--threads", true, "worker threads (default: one per hardware thread)"},
        {"--max-queue", true, "requests waiting for a slot before new ones get 429 (default 64)"},
        {"--step-tokens", true, "rows per batched step (default: the engine's, 64)"},
        {"--api-key", true, "require 'Authorization: Bearer KEY' on /v1/* (/health and /metrics stay open)"},
        {"--max-body-bytes", true, "largest request body (default 1048576); larger ones get 413"},
        {"--max-connections", true, "connections served at once (default 64); more get 503"},
        {"--drain-seconds", true, "after SIGTERM, how long running requests may finish (default 30)"},
        {"--max-tokens-limit", true, "largest max_tokens accepted (default: the context length)"},
        {"--max-n", true, "largest n accepted (default 16)"},
    }, argc, argv, 2);
    if (args.help()) {
        std::cout << fmt::format(fmt::runtime(kServeHelp), program) << args.usage();
        return std::nullopt;
    }
    if (!args.positionals().empty())
        fail("{} serve: unexpected argument '{}'", program, args.positionals()[0]);
    ServeOptions o;
    o.lib = args.require("--lib");
    o.model_dir = args.require("--model");
    std::filesystem::path dir(o.model_dir);
    while (!dir.empty() && dir.filename().empty()) dir = dir.parent_path();  // "dir/" -> "dir"
    std::error_code ec;
    if (std::filesystem::is_regular_file(o.model_dir, ec)) dir = dir.parent_path();  // --model DIR/config.json
    o.model_id = std::filesystem::absolute(dir, ec).lexically_normal().filename().string();
    if (o.model_id.empty() || o.model_id == "." || o.model_id == "..") o.model_id = "gpt2c";
    if (auto h = args.get("--host")) o.host = *h;
    o.port = int(args.get_int("--port", 8080, 0, 65535));
    o.slots = int32_t(args.get_int("--slots", 4, 1, 1024));
    o.context = int32_t(args.get_int("--context", 0, 0, 1 << 20));
    o.threads = int(args.get_int("--threads", 0, 0, 1024));
    o.max_queue = int32_t(args.get_int("--max-queue", 64, 0, 1 << 20));
    o.step_tokens = int32_t(args.get_int("--step-tokens", 0, 0, 1 << 16));
    if (auto k = args.get("--api-key")) {
        if (k->empty()) fail("{} serve: --api-key must not be empty", program);
        o.api_key = *k;
    }
    o.max_body_bytes = size_t(args.get_int("--max-body-bytes", 1 << 20, 64, int64_t(1) << 32));
    o.max_connections = int(args.get_int("--max-connections", 64, 1, 4096));
    o.drain_seconds = args.get_double("--drain-seconds", 30, 0, 86400);
    o.max_tokens_limit = int32_t(args.get_int("--max-tokens-limit", 0, 0, 1 << 20));
    o.max_n = int32_t(args.get_int("--max-n", 16, 1, 128));
    return o;
}

}  // namespace gpt2c::server
