// server/connection_pool.h - httplib's task queue with a bound on connections served at once.
//
// httplib runs each accepted connection as one task. This queue runs up to `workers` of
// them on its threads; a connection arriving while all are taken runs on a short-lived
// overflow thread instead (at most `overflow` at once, beyond that it waits), where
// is_overflow_connection() is true and the server answers 503 with Retry-After and
// closes: a client beyond --max-connections is refused, not left hanging.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gpt2c::server {

bool is_overflow_connection();

class ConnectionPool : public httplib::TaskQueue {
public:
    // `serving` counts the connections on worker threads (overflow ones are refused, not served).
    ConnectionPool(size_t workers, size_t overflow, std::atomic<int64_t>& serving);
    ~ConnectionPool() override;

    void enqueue(std::function<void()> fn) override;
    void shutdown() override;

private:
    void work();

    std::mutex mutex_;
    std::condition_variable ready_, overflow_done_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    size_t workers_;
    size_t idle_ = 0;
    size_t overflow_max_, overflow_running_ = 0;
    bool shutdown_ = false;
    std::atomic<int64_t>& serving_;
};

}  // namespace gpt2c::server
