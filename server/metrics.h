// server/metrics.h - the server's Prometheus metrics (GET /metrics, text format 0.0.4).
#pragma once

#include <gpt2c/runtime.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace gpt2c::server {

// A cumulative histogram with fixed upper bounds. Thread-safe.
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double value);
    void render(std::string& out, const std::string& name, const std::string& help) const;

private:
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::vector<uint64_t> counts_;  // per bound, not cumulative; last: +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
};

class Metrics {
public:
    Metrics();
    void count_request(int status);  // every HTTP response
    Histogram step_rows;             // rows per engine step
    Histogram step_sequences;        // sequences per engine step
    Histogram time_to_first_token;   // seconds, submit to first token
    Histogram time_between_tokens;   // seconds, between a request's tokens
    std::atomic<int64_t> connections{0};  // connections a worker is serving (ConnectionPool counts them)

    // Everything, with the engine's counters and gauges (stats may be null while loading).
    std::string render(const gpt2c_engine_stats* stats, int slots, bool ready, bool draining) const;

private:
    mutable std::mutex mutex_;
    std::map<int, uint64_t> requests_;  // status -> count
};

}  // namespace gpt2c::server
