// server/serve.cpp - `gpt2c serve`: listen, load, serve, drain on SIGTERM/SIGINT.
//
// Signals are blocked in every thread and taken by sigtimedwait on the main thread, so
// no work happens in a signal handler. The order at shutdown: /health and new
// completions turn 503 and the engine is closed; requests in flight finish (up to
// --drain-seconds, then they are cancelled); then the listener stops and the engine
// thread ends.
#include "server/serve.h"

#include "server/engine_loop.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/serve_options.h"
#include "support/error.h"

#include <gpt2c/runtime.hpp>

#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <thread>

#include <pthread.h>
#include <signal.h>

namespace gpt2c::server {

namespace {

using Clock = std::chrono::steady_clock;

sigset_t shutdown_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

// Waits up to `ms` for SIGTERM or SIGINT; returns the signal, or 0.
int wait_signal(int ms) {
    const sigset_t set = shutdown_signals();
    timespec ts{ms / 1000, long(ms % 1000) * 1000000L};
    const int sig = sigtimedwait(&set, nullptr, &ts);
    return sig > 0 ? sig : 0;
}

void say(const std::string& line) { std::cerr << "gpt2c serve: " << line << "\n" << std::flush; }

}  // namespace

int cmd_serve(int argc, char** argv) {
    std::optional<ServeOptions> parsed = parse_serve_options(argc, argv);
    if (!parsed) return 0;
    const ServeOptions options = *parsed;

    // Before any thread starts: every thread inherits the mask.
    const sigset_t set = shutdown_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    Metrics metrics;
    HttpServer http(options, metrics);
    const int port = http.start();
    say(fmt::format("listening on http://{}:{}", options.host, port));

    // Load while /health answers 503; a signal meanwhile ends the server once loading is done.
    std::atomic<bool> loaded{false};
    std::unique_ptr<gpt2c::api::Model> model;
    std::string load_error;
    std::thread loader([&] {
        try {
            model = std::make_unique<gpt2c::api::Model>(
                gpt2c::api::Model::load(options.lib, options.model_dir, options.threads));
        } catch (const std::exception& e) {
            load_error = e.what();
        }
        loaded.store(true);
    });
    int sig = 0;
    while (!loaded.load())
        if (int s = wait_signal(100)) sig = s;
    loader.join();
    if (!model) {
        http.stop();
        fail("serve: cannot load the model: {}", load_error);
    }

    say("weights from " + model->weights_source());
    const int32_t model_context = model->context_length();
    if (options.context > model_context) {
        http.stop();
        fail("serve: --context {} exceeds the model's context length {}", options.context, model_context);
    }
    gpt2c::api::EngineOptions engine_options = gpt2c::api::Engine::default_options();
    engine_options.n_slots = options.slots;
    engine_options.context_length = options.context;
    engine_options.max_queue = options.max_queue;
    if (options.step_tokens > 0) engine_options.max_step_tokens = options.step_tokens;
    std::unique_ptr<EngineLoop> engine;
    try {
        engine = std::make_unique<EngineLoop>(*model, engine_options, metrics);
    } catch (const std::exception& e) {
        http.stop();
        fail("serve: cannot create the engine: {}", e.what());
    }
    engine->start();

    CompletionLimits limits;
    limits.context = options.context > 0 ? options.context : model_context;
    limits.max_tokens = options.max_tokens_limit > 0 ? options.max_tokens_limit : limits.context;
    limits.max_n = options.max_n;
    limits.vocab_size = model->vocab_size();
    limits.model_id = options.model_id;
    http.set_ready(*model, *engine, limits);
    say(fmt::format("model '{}' loaded: {} slots of {} positions; ready", options.model_id, options.slots,
                    limits.context));

    while (!sig) sig = wait_signal(1000);

    // Drain.
    say(fmt::format("{}: draining ({} requests in flight, up to {} s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                    http.in_flight(), options.drain_seconds));
    http.begin_drain();
    engine->close();
    const auto deadline = Clock::now() + std::chrono::milliseconds(int64_t(options.drain_seconds * 1000));
    bool idle = false;
    while (!(idle = http.wait_idle(std::min(deadline, Clock::now() + std::chrono::milliseconds(100))))) {
        if (Clock::now() >= deadline) break;
        if (int s = wait_signal(0)) say(fmt::format("signal {} while draining: still draining", s));
    }
    if (!idle) {
        say(fmt::format("drain deadline: cancelling {} requests", http.in_flight()));
        engine->cancel_all();
        http.wait_idle(Clock::now() + std::chrono::seconds(5));
    }
    http.stop();
    engine->stop();
    engine.reset();
    model.reset();
    say("stopped");
    return 0;
}

}  // namespace gpt2c::server
