// server/http_server.h - the HTTP side of `gpt2c serve`: routes, authentication, limits,
// completions (plain and streamed), the request log.
//
// The listener starts before the model is loaded (/health says 503 "loading" meanwhile);
// set_ready() hands it the model and the engine loop. begin_drain() turns /health and new
// completions to 503; wait_idle() waits for the completions in flight.
#pragma once

#include "server/completion_request.h"
#include "server/engine_loop.h"
#include "server/metrics.h"
#include "server/serve_options.h"

#include <gpt2c/runtime.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
struct Request;
struct Response;
class DataSink;
}  // namespace httplib

namespace gpt2c::server {

class HttpServer {
public:
    HttpServer(const ServeOptions& options, Metrics& metrics);
    ~HttpServer();

    // Binds and listens (accepting on a background thread); returns the port. Throws gpt2c::Error.
    int start();
    void set_ready(const gpt2c::api::Model& model, EngineLoop& engine, const CompletionLimits& limits);
    void begin_drain();
    // Waits until no completion is in flight or `deadline` passes; true when idle.
    bool wait_idle(std::chrono::steady_clock::time_point deadline);
    // Stops accepting, ends the connections and joins the listener.
    void stop();

    int in_flight() const { return in_flight_.load(); }

private:
    class InFlight;
    struct CompletionState;

    void routes();
    void completions(const httplib::Request& req, httplib::Response& res);
    void stream_completion(httplib::Response& res, std::shared_ptr<CompletionState> state);
    bool stream_step(CompletionState& state, httplib::DataSink& sink);
    void plain_completion(httplib::Response& res, std::shared_ptr<CompletionState> state);
    bool plain_step(CompletionState& state, httplib::DataSink& sink);
    void provide(httplib::Response& res, std::shared_ptr<CompletionState> state, const char* content_type,
                 bool (HttpServer::*step)(CompletionState&, httplib::DataSink&));
    void collect(CompletionState& state, std::chrono::milliseconds timeout);
    std::string plain_body(const CompletionState& state);
    void health(httplib::Response& res);
    void metrics(httplib::Response& res);

    const ServeOptions options_;
    Metrics& metrics_;
    std::unique_ptr<httplib::Server> server_;
    std::thread listener_;
    const int64_t started_ = 0;  // unix seconds, for /v1/models

    std::atomic<bool> ready_{false};
    std::atomic<bool> draining_{false};
    const gpt2c::api::Model* model_ = nullptr;
    EngineLoop* engine_ = nullptr;
    CompletionLimits limits_;
    gpt2c::api::Sampling defaults_{};

    std::atomic<int> in_flight_{0};
    std::mutex idle_mutex_;
    std::condition_variable idle_;
};

}  // namespace gpt2c::server
