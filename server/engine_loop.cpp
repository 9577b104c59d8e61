// server/engine_loop.cpp - the engine thread and request channels (see engine_loop.h).
#include "server/engine_loop.h"

#include <iostream>
#include <optional>

namespace gpt2c::server {

void RequestChannel::push(ChoiceEvent event) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (event.token < 0) ++finals_;
        events_.push_back(std::move(event));
    }
    ready_.notify_all();
}

bool RequestChannel::wait(std::vector<ChoiceEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait_for(lock, timeout, [&] { return !events_.empty(); });
    if (events_.empty()) return false;
    while (!events_.empty()) {
        out.push_back(std::move(events_.front()));
        events_.pop_front();
    }
    return true;
}

bool RequestChannel::finished() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return finals_ >= n_choices_;
}

void RequestChannel::set_ids(std::vector<uint64_t> ids) {
    std::lock_guard<std::mutex> lock(mutex_);
    ids_ = std::move(ids);
}

std::vector<uint64_t> RequestChannel::ids() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return ids_;
}

EngineLoop::EngineLoop(const gpt2c::api::Model& model, const gpt2c::api::EngineOptions& options, Metrics& metrics)
    : engine_(model, options), metrics_(metrics) {}

EngineLoop::~EngineLoop() { stop(); }

void EngineLoop::start() { thread_ = std::thread([this] { run(); }); }

void EngineLoop::stop() {
    stop_.store(true);
    if (thread_.joinable()) {
        try {
            engine_.wake();
        } catch (...) {
        }
        thread_.join();
    }
}

void EngineLoop::run() {
    int64_t steps_seen = 0;
    while (!stop_.load()) {
        try {
            const int32_t rows = engine_.step(50);
            if (rows > 0) {
                const gpt2c::api::EngineStats s = engine_.stats();
                if (s.steps != steps_seen) {
                    steps_seen = s.steps;
                    metrics_.step_rows.observe(double(s.last_step_rows));
                    metrics_.step_sequences.observe(double(s.last_step_sequences));
                }
            }
        } catch (const std::exception& e) {
            std::cerr << "gpt2c serve: engine step failed: " << e.what() << "\n";
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
}

void EngineLoop::submit(const std::vector<int32_t>& prompt, const gpt2c::api::GenerateOptions& options, int n,
                        uint64_t seed, const std::shared_ptr<RequestChannel>& channel) {
    std::vector<uint64_t> ids;
    const auto submitted = std::chrono::steady_clock::now();
    try {
        for (int i = 0; i < n; ++i) {
            gpt2c::api::GenerateOptions o = options;
            o.sampling.seed = seed + uint64_t(i);
            Metrics* metrics = &metrics_;
            std::optional<std::chrono::steady_clock::time_point> last;
            ids.push_back(engine_.submit(
                prompt, o, [channel, i, metrics, submitted, last](const gpt2c::api::Event& e) mutable -> bool {
                    ChoiceEvent event;
                    event.index = i;
                    event.token = e.token;
                    if (e.text && e.length) event.text.assign(e.text, e.length);
                    event.logprob = e.logprob;
                    if (e.top && e.n_top > 0)
                        for (int32_t k = 0; k < e.n_top; ++k) event.top.emplace_back(e.top[k].token, e.top[k].logprob);
                    event.finish = e.finish;
                    if (e.error) event.error = e.error;
                    if (e.token >= 0) {
                        const auto now = std::chrono::steady_clock::now();
                        if (last)
                            metrics->time_between_tokens.observe(std::chrono::duration<double>(now - *last).count());
                        else
                            metrics->time_to_first_token.observe(std::chrono::duration<double>(now - submitted).count());
                        last = now;
                    }
                    channel->push(std::move(event));
                    return !channel->cancelled();
                }));
        }
    } catch (...) {
        channel->cancel();
        for (uint64_t id : ids) {
            try {
                engine_.cancel(id);
            } catch (...) {
            }
        }
        throw;
    }
    channel->set_ids(ids);
    std::lock_guard<std::mutex> lock(live_mutex_);
    for (auto it = live_.begin(); it != live_.end();) it = it->expired() ? live_.erase(it) : std::next(it);
    live_.push_back(channel);
}

void EngineLoop::cancel(RequestChannel& channel) {
    channel.cancel();
    for (uint64_t id : channel.ids()) {
        try {
            engine_.cancel(id);
        } catch (...) {
        }
    }
}

void EngineLoop::cancel_all() {
    std::vector<std::shared_ptr<RequestChannel>> channels;
    {
        std::lock_guard<std::mutex> lock(live_mutex_);
        for (auto& w : live_)
            if (auto c = w.lock()) channels.push_back(std::move(c));
    }
    for (auto& c : channels)
        if (!c->finished()) cancel(*c);
}

void EngineLoop::close() { engine_.close(); }

gpt2c::api::EngineStats EngineLoop::stats() const { return engine_.stats(); }

}  // namespace gpt2c::server
