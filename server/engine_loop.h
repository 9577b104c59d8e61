// server/engine_loop.h - the engine thread and the per-request channels it feeds.
//
// One thread drives gpt2c::api::Engine::step; the engine calls each request's callback
// there. A callback copies its event into the request's RequestChannel (shared_ptr: it
// outlives whichever of the HTTP handler and the engine finishes last) and returns false
// once the channel was cancelled, so a cancelled request ends at the next step. HTTP
// handler threads submit requests and wait on their channel.
#pragma once

#include "server/metrics.h"

#include <gpt2c/runtime.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gpt2c::server {

// One event of one choice, copied out of the engine's callback.
struct ChoiceEvent {
    int index = 0;             // the choice (0..n-1)
    int32_t token = -1;        // -1: the final event
    std::string text;
    float logprob = 0;
    std::vector<std::pair<int32_t, float>> top;
    gpt2c_finish_reason finish = GPT2C_FINISH_NONE;
    std::string error;
};

// The events of one HTTP request's choices, in order. Thread-safe.
class RequestChannel {
public:
    explicit RequestChannel(int n_choices) : n_choices_(n_choices) {}

    void push(ChoiceEvent event);
    // Moves the events queued so far into `out` (appended), waiting up to `timeout` for one.
    bool wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout);
    // True once every choice's final event was pushed.
    bool finished() const;

    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

    void set_ids(std::vector<uint64_t> ids);
    std::vector<uint64_t> ids() const;

private:
    const int n_choices_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<ChoiceEvent> events_;
    int finals_ = 0;
    std::vector<uint64_t> ids_;
    std::atomic<bool> cancelled_{false};
};

class EngineLoop {
public:
    EngineLoop(const gpt2c::api::Model& model, const gpt2c::api::EngineOptions& options, Metrics& metrics);
    ~EngineLoop();  // stops the thread

    void start();
    void stop();

    // Submits n choices of one prompt, choice i with seed + i, feeding `channel`. On failure
    // the choices already submitted are cancelled and gpt2c::api::Error is rethrown.
    void submit(const std::vector<int32_t>& prompt, const gpt2c::api::GenerateOptions& options, int n,
                uint64_t seed, const std::shared_ptr<RequestChannel>& channel);
    // Ends the channel's requests at the next step (thread-safe).
    void cancel(RequestChannel& channel);
    // Cancels every request not finished yet (the drain deadline).
    void cancel_all();
    // New submissions fail with GPT2C_ERROR_BUSY from now on.
    void close();
    gpt2c::api::EngineStats stats() const;

private:
    void run();

    gpt2c::api::Engine engine_;
    Metrics& metrics_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex live_mutex_;
    std::list<std::weak_ptr<RequestChannel>> live_;  // channels of requests submitted
};

}  // namespace gpt2c::server
